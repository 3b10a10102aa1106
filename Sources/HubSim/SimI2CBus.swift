import HubCore

// Fault model of the simulated I²C bus and the chips on it (fault names `i2c.<addr>.<kind>`).
//
// Faults the wire injects, per address, drawn from the bus's own random stream so a
// flaky bus replays exactly from the seed:
// - `absent`: the address is not acknowledged at all (unplugged HAT, broken trace);
//   every transfer throws `noAck`. The chip keeps its register state.
// - `nack` (probability p): each transfer is refused with `noAck` with probability p.
// - `timeout` (probability p): each transfer fails with `timeout` with probability p, as
//   the Linux adapter reports a transfer that did not complete in time (ETIMEDOUT).
// - `slow` (stretch d): the device stretches the clock by d on every transfer. The mainline
//   i2c-bcm2835 driver leaves the controller's clock-stretch timeout off (CLKT = 0), so a
//   stretch ends only at the adapter's transfer timeout (the I²C core's default, one
//   second): a stretch beyond that is a `timeout`, a shorter one succeeds and only adds bus
//   time (`stretchTime`). The simulated hub does not advance virtual time during a transfer.
// - `bitflip` (probability p): with probability p one random bit of the bytes read back
//   in a transfer is inverted on the wire.
// Faults the chip itself shows (see `SimFaultableChip`):
// - `stuck`: the output registers stop updating while STATUS keeps reporting new data.
// - `reset`: the chip returns to its power-on defaults (powered down, default control
//   registers) at that instant; a driver must notice and re-initialise.
// - `whoami` (value): WHO_AM_I reads `value` (a different or counterfeit part).
//
// An address with no device is always a no-ACK, exactly like an empty socket on a real bus.

/// A device on the simulated bus, answering at the register level.
public protocol SimI2CDevice: AnyObject {
    /// The write part of a transaction (first byte is usually a register pointer).
    func write(_ bytes: [UInt8], now: Instant)
    /// The read part: `count` bytes from the current register pointer.
    func read(count: Int, now: Instant) -> [UInt8]
}

/// A chip model that can show chip-level faults.
public protocol SimFaultableChip: SimI2CDevice, FaultApplying {
    /// Freezes (or releases) the output registers; STATUS keeps reporting new data.
    func setOutputsFrozen(_ frozen: Bool)
    /// Back to power-on defaults, as after a brown-out.
    func powerOnReset()
    /// Makes WHO_AM_I read `value` (nil: the chip's own).
    func setWhoAmIOverride(_ value: UInt8?)
}

extension SimFaultableChip {
    /// The chip-level faults (`i2c.<addr>.stuck|reset|whoami`); a reset is an instant, so its end does nothing.
    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        switch fault {
        case .i2cStuck: setOutputsFrozen(active)
        case .i2cReset: if active { powerOnReset() }
        case .i2cWhoAmI(_, let value): setWhoAmIOverride(active ? value : nil)
        default: preconditionFailure("\(fault.name) routed to a chip")
        }
    }
}

/// An I²C bus inside the simulator: routes each transfer to the device at its address.
///
/// It implements the same `I2CBus` port as the Linux backend, so the production drivers
/// run unchanged above it. Devices sit in a 128-slot array indexed by address; iteration
/// order never matters and lookups are O(1).
public final class SimI2CBus: I2CBus, FaultApplying {
    private var devices: [(any SimI2CDevice)?] = Array(repeating: nil, count: 128)
    private var faults = I2CWireFaults()
    private let clock: any HubClock
    private var random: SeededRandom
    /// How long a stretch may last: the adapter's transfer timeout (`adap->timeout`, which
    /// the I²C core sets to HZ, one second), since i2c-bcm2835 writes CLKT = 0.
    public static let stretchTimeout = I2CWireFaults.stretchTimeout
    /// Transfers attempted and bytes moved (address bytes and data, both directions).
    public private(set) var transferCount = 0
    public private(set) var byteCount = 0
    /// Extra time slow devices held the bus (clock stretching).
    public private(set) var stretchTime: Duration = .zero

    public init(clock: any HubClock, random: SeededRandom) {
        self.clock = clock
        self.random = random
    }

    public func attach(_ device: any SimI2CDevice, at address: UInt8) {
        precondition(address < 128, "7-bit address")
        precondition(devices[Int(address)] == nil, "two devices at \(hexAddress(address))")
        devices[Int(address)] = device
    }

    public func device(at address: UInt8) -> (any SimI2CDevice)? { devices[Int(address)] }

    /// The wire faults (`i2c.<addr>.absent|nack|timeout|slow|bitflip`).
    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .i2cWire(let address, let wire) = fault else { preconditionFailure("\(fault.name) routed to the bus") }
        set(wire, active: active, at: address)
    }

    /// Starts (`active`) or ends a wire fault at `address`.
    public func set(_ fault: I2CWireFault, active: Bool, at address: UInt8) {
        faults.set(fault, active: active, at: address)
    }

    public func setAbsent(_ absent: Bool, at address: UInt8) { set(.absent, active: absent, at: address) }

    public func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        precondition(address < 128 && readCount >= 0, "invalid transfer")
        transferCount += 1
        byteCount += 1 + (readCount > 0 && !write.isEmpty ? 1 : 0)
        guard let device = devices[Int(address)] else { throw .noAck(address: address) }
        if faults.anyActive { stretchTime += try faults.admit(address: address, random: &random) }
        byteCount += write.count + readCount
        let now = clock.now
        if !write.isEmpty { device.write(write, now: now) }
        guard readCount > 0 else { return [] }
        var bytes = device.read(count: readCount, now: now)
        if faults.anyActive { faults.corrupt(&bytes, from: address, random: &random) }
        return bytes
    }
}

extension SimI2CBus {
    /// The wire faults this bus applies (`i2c.<addr>.<kind>`), as the fault model above describes them.
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "i2c", name: "absent", summary: "the address stops answering (loose connector)", port: "SimI2CBus") { target, _ in
            .i2cWire(address: target.address, .absent)
        },
        FaultKind(layer: "i2c", name: "nack", parameters: [probability], summary: "transfers refused with no-ACK", port: "SimI2CBus") {
            .i2cWire(address: $0.address, .nack(probability: $1.number("probability")))
        },
        FaultKind(layer: "i2c", name: "timeout", parameters: [probability], summary: "transfers time out", port: "SimI2CBus") {
            .i2cWire(address: $0.address, .timeout(probability: $1.number("probability")))
        },
        FaultKind(layer: "i2c", name: "slow",
                  parameters: [FaultParameter("stretch", .duration(.milliseconds(1)...Duration.seconds(60)),
                                              summary: "clock stretching per transfer")],
                  summary: "clock stretching; past the adapter's 1 s transfer timeout (CLKT = 0) the transfer times out", port: "SimI2CBus") {
            .i2cWire(address: $0.address, .slow(stretch: $1.duration("stretch")))
        },
        FaultKind(layer: "i2c", name: "bitflip", parameters: [probability], summary: "one bit of the bytes read flips",
                  port: "SimI2CBus") {
            .i2cWire(address: $0.address, .bitflip(probability: $1.number("probability")))
        },
    ]

    private static let probability = FaultParameter("probability", .probability, default: "1", summary: "chance per transfer")
}
