import HubCore

/// Why a driver could not bring up or read its chip, naming the chip and address.
///
/// The sensor component decides what to do from the case: an absent chip is retried
/// slowly, a wrong chip is a configuration error, a bus error is retried with backoff.
public enum DriverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing answered at the address (no ACK on the probe).
    case absent(chip: String, address: UInt8)
    /// Something answered, but WHO_AM_I is not this chip's.
    case wrongDevice(chip: String, address: UInt8, expected: UInt8, found: UInt8)
    /// A transfer failed after the chip had been found.
    case bus(chip: String, I2CError)
    /// The unit's calibration registers cannot describe a line (equal points, out of range).
    case invalidCalibration(chip: String, reason: String)
    /// Sampled before `initialise()` succeeded.
    case notInitialised(chip: String)
    /// The converted value lies outside what the chip can physically report: a corrupted
    /// transfer or a broken part, never a reading.
    case implausible(chip: String, channel: Channel, value: Double)
    /// The chip lost its configuration (power-on defaults): it must be initialised again.
    case chipReset(chip: String)
    /// Reads of the same registers disagreed (outputs, calibration, WHO_AM_I, FIFO count),
    /// or a FIFO burst showed the jump of a flipped bit: the bus corrupted a transfer.
    case verifyMismatch(chip: String)
    /// The outputs repeated bit for bit, which live conversions never do.
    case stuck(chip: String, repeats: Int)

    public var description: String {
        switch self {
        case .absent(let chip, let address):
            "\(chip) absent: no ACK at \(hexAddress(address))"
        case .wrongDevice(let chip, let address, let expected, let found):
            "\(chip) at \(hexAddress(address)): WHO_AM_I reads \(hexAddress(found)), expected \(hexAddress(expected))"
        case .bus(let chip, let error):
            "\(chip): \(error)"
        case .invalidCalibration(let chip, let reason):
            "\(chip): invalid calibration: \(reason)"
        case .notInitialised(let chip):
            "\(chip): sampled before initialisation"
        case .implausible(let chip, let channel, let value):
            "\(chip): implausible \(channel) \(value) \(channel.unit)"
        case .chipReset(let chip):
            "\(chip): lost its configuration (reset to power-on defaults)"
        case .verifyMismatch(let chip):
            "\(chip): reads of the same registers disagreed (corrupted transfer)"
        case .stuck(let chip, let repeats):
            "\(chip): outputs identical \(repeats) times in a row (stuck)"
        }
    }
}

/// A driver for one sensor chip that yields channel values.
///
/// The sensor component's shell holds one per chip of a monitoring kit and calls it when
/// the component's state machine asks; drivers never sleep or wait, so "not ready yet"
/// is a `nil` sample and the component decides when to look again.
public protocol SensorDriver: AnyObject {
    /// Short chip name for logs and errors (`HTS221`).
    var chip: String { get }
    /// Probes WHO_AM_I, configures the chip and reads its calibration; returns a detail line.
    func initialise() throws(DriverError) -> String
    /// One sample if the chip has fresh data, `nil` if its data-ready bits are not set.
    func sample() throws(DriverError) -> ChannelValues?
}

/// Reads WHO_AM_I and checks it; a missing ACK means the chip is absent.
///
/// A value other than the expected one is read again: a part is declared wrong only when
/// two reads agree on the same wrong value, so a bit flipped on the wire is a retryable
/// `verifyMismatch`, never "wrong device" (which the sensor component does not retry).
func probeWhoAmI(chip: String, bus: any I2CBus, address: UInt8, register: UInt8, expected: UInt8) throws(DriverError) {
    func read() throws(DriverError) -> UInt8 {
        do {
            return try bus.readRegister(address, register)
        } catch .noAck {
            throw .absent(chip: chip, address: address)
        } catch {
            throw .bus(chip: chip, error)
        }
    }
    let found = try read()
    guard found != expected else { return }
    let again = try read()
    if again == expected { return }
    guard again == found else { throw .verifyMismatch(chip: chip) }
    throw .wrongDevice(chip: chip, address: address, expected: expected, found: found)
}

/// Reads the same registers until three reads agree byte for byte, at most `readsMax`
/// reads; for registers that do not change while the chip runs (calibration), where one
/// read can carry a bit flipped on the wire and nothing else tells it from the truth.
/// Three, because two reads carrying the same flip is a rare event, not an impossible one.
func readAgreeing(chip: String, bus: any I2CBus, address: UInt8, register: UInt8, count: Int,
                  readsMax: Int = 5) throws(DriverError) -> [UInt8] {
    let agreeing = 3
    precondition(readsMax >= agreeing, "agreement needs \(agreeing) reads")
    var earlier: [[UInt8]] = []
    for _ in 0..<readsMax {
        let bytes = try onBus(chip) { () throws(I2CError) in try bus.readRegisters(address, register, count: count) }
        guard bytes.count == count else { throw .bus(chip: chip, .shortRead(address: address, expected: count, got: bytes.count)) }
        earlier.append(bytes)
        if earlier.count(where: { $0 == bytes }) == agreeing { return bytes }
    }
    throw .verifyMismatch(chip: chip)
}
