/// A wire-level fault on one I²C address (`i2c.<addr>.absent|nack|timeout|slow|bitflip`).
public enum I2CWireFault: Equatable, Sendable {
    case absent
    case nack(probability: Double)
    case timeout(probability: Double)
    case slow(stretch: Duration)
    case bitflip(probability: Double)

    /// The fault's kind as fault names spell it.
    public var kind: String {
        switch self {
        case .absent: "absent"
        case .nack: "nack"
        case .timeout: "timeout"
        case .slow: "slow"
        case .bitflip: "bitflip"
        }
    }
}

/// The wire faults active on a bus, per 7-bit address, and what they do to one transfer.
///
/// Why one type: the simulated bus and the faultable wrapper the real hub puts around
/// `/dev/i2c-1` must break transfers the same way, so a bench rehearses exactly the loose
/// connector a scenario ran in simulation. The caller supplies the random stream (the
/// simulator's seeded one; the live hub's, seeded at start), so draws stay in one order.
///
/// Per transfer, in this order: `absent` refuses it (no-ACK); `nack` and `timeout` refuse
/// it with their probabilities; `slow` stretches the clock by its duration, and a stretch
/// longer than the adapter's transfer timeout (`stretchTimeout`, one second: i2c-bcm2835
/// leaves CLKT at 0) is a timeout; after the transfer, `bitflip` inverts one random bit of
/// the bytes read with its probability.
public struct I2CWireFaults: Sendable {
    /// How long a stretch may last before the adapter gives up on the transfer.
    public static let stretchTimeout: Duration = .seconds(1)

    private struct AddressFaults: Sendable {
        var absent = false
        var nackProbability = 0.0
        var timeoutProbability = 0.0
        var stretch: Duration = .zero
        var bitflipProbability = 0.0
        var any: Bool { absent || nackProbability > 0 || timeoutProbability > 0 || stretch > .zero || bitflipProbability > 0 }
    }

    private var faults = [AddressFaults](repeating: AddressFaults(), count: 128)
    /// True while any address has a fault: the common case (none) costs one branch.
    public private(set) var anyActive = false

    public init() {}

    /// Starts (`active`) or ends `fault` at `address`.
    public mutating func set(_ fault: I2CWireFault, active: Bool, at address: UInt8) {
        precondition(address < 128, "7-bit address")
        let index = Int(address)
        switch fault {
        case .absent: faults[index].absent = active
        case .nack(let p): faults[index].nackProbability = active ? Self.checked(p) : 0
        case .timeout(let p): faults[index].timeoutProbability = active ? Self.checked(p) : 0
        case .slow(let stretch):
            precondition(stretch >= .zero, "a stretch is not negative")
            faults[index].stretch = active ? stretch : .zero
        case .bitflip(let p): faults[index].bitflipProbability = active ? Self.checked(p) : 0
        }
        anyActive = faults.contains { $0.any }
    }

    /// Ends every fault at every address.
    public mutating func clearAll() {
        faults = [AddressFaults](repeating: AddressFaults(), count: 128)
        anyActive = false
    }

    private static func checked(_ p: Double) -> Double {
        precondition((0...1).contains(p), "probability in 0...1")
        return p
    }

    /// Decides a transfer to `address` before it reaches the wire: throws the error the
    /// faults give it, or returns how long the device stretches the clock (zero without
    /// `slow`).
    public func admit(address: UInt8, random: inout some RandomSource) throws(I2CError) -> Duration {
        let fault = faults[Int(address)]
        guard fault.any else { return .zero }
        if fault.absent { throw .noAck(address: address) }
        if fault.nackProbability > 0, random.chance(fault.nackProbability) { throw .noAck(address: address) }
        if fault.timeoutProbability > 0, random.chance(fault.timeoutProbability) { throw .timeout(address: address) }
        if fault.stretch > Self.stretchTimeout { throw .timeout(address: address) }
        return fault.stretch
    }

    /// Corrupts the bytes a transfer from `address` read back, as `bitflip` says.
    public func corrupt(_ bytes: inout [UInt8], from address: UInt8, random: inout some RandomSource) {
        let p = faults[Int(address)].bitflipProbability
        guard p > 0, !bytes.isEmpty, random.chance(p) else { return }
        let bit = random.nextInt(in: 0...(bytes.count * 8 - 1))
        bytes[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
    }
}
