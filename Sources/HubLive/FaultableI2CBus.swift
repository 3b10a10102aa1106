import HubCore

// Fault model of the faultable bus (the same as the simulated bus's wire faults, see
// `I2CWireFaults`): faults injected through the control socket (`hubrig fault inject
// i2c.<addr>.<kind>`) act between the drivers and the real `/dev/i2c-N`:
// - `absent`, `nack`: the transfer is refused with no-ACK before it reaches the wire;
// - `timeout`: it is refused with a timeout (at once: the simulator spends no time on it
//   either, and a hub blocked a second per refusal would only be slower, not different);
// - `slow` (stretch d): the transfer waits d first, as a device holding SCL low holds the
//   adapter's ioctl; past the adapter's 1 s timeout it is refused with a timeout;
// - `bitflip`: one bit of the bytes the real chip sent back is inverted.
// Chip-level faults (stuck outputs, a reset, another WHO_AM_I) need the chip itself and
// exist only in simulation.

/// The hub's real I²C bus with the simulator's wire faults laid over it, so a bench can
/// rehearse a loose connector on a real Sense HAT.
///
/// Why a wrapper at this layer: the drivers, the verification and the sensor component's
/// retries above it run exactly as they would over a bad cable, and nothing below it (the
/// kernel, the chips) is touched. Without a fault it adds one branch per transfer. It
/// is used only from the hub's loop thread, like the bus it wraps.
public final class FaultableI2CBus: I2CBus {
    public let base: any I2CBus
    public private(set) var faults = I2CWireFaults()
    private var random: SeededRandom
    private let sleep: (Duration) -> Void

    /// `seed` starts the stream the probabilistic faults draw from (a run states it, so a
    /// bench session can be repeated); `sleep` waits out a stretch (real time in the hub).
    public init(_ base: any I2CBus, seed: UInt64, sleep: @escaping (Duration) -> Void = LiveShell.sleep) {
        self.base = base
        self.random = SeededRandom(seed: seed)
        self.sleep = sleep
    }

    /// Starts (`active`) or ends `fault` at `address`.
    public func set(_ fault: I2CWireFault, active: Bool, at address: UInt8) {
        faults.set(fault, active: active, at: address)
    }

    public func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        guard faults.anyActive else { return try base.transfer(address: address, write: write, readCount: readCount) }
        let stretch = try faults.admit(address: address, random: &random)
        if stretch > .zero { sleep(stretch) }
        var bytes = try base.transfer(address: address, write: write, readCount: readCount)
        faults.corrupt(&bytes, from: address, random: &random)
        return bytes
    }
}
