/// The I²C port: combined write-then-read transactions to 7-bit addresses.
///
/// One method is enough for every Sense HAT access: a register read is a write of the
/// register address followed by a repeated-start read (Linux `I2C_RDWR` with two
/// messages), a register write or the 193-byte LED frame is a write with no read. The
/// Linux backend and the simulated bus implement it the same way and raise the same
/// errors, so drivers cannot tell which one they have.
public protocol I2CBus: AnyObject {
    /// Writes `write` (if not empty) then reads `readCount` bytes (if not zero) from
    /// `address` in one transaction without a STOP between the parts.
    func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8]
}

/// The 256 one-byte register pointers, made once: every register read writes one, and an
/// array literal per transfer was an allocation per transfer.
private enum RegisterPointer {
    static let all: [[UInt8]] = (0...255).map { [UInt8($0)] }
}

extension I2CBus {
    /// Reads `count` consecutive registers starting at `register`; `autoIncrementBit`
    /// is ORed into the register address for chips that need it (ST sensors use 0x80).
    public func readRegisters(_ address: UInt8, _ register: UInt8, count: Int, autoIncrementBit: UInt8 = 0x80) throws(I2CError) -> [UInt8] {
        let pointer = count > 1 ? register | autoIncrementBit : register
        return try transfer(address: address, write: RegisterPointer.all[Int(pointer)], readCount: count)
    }

    public func readRegister(_ address: UInt8, _ register: UInt8) throws(I2CError) -> UInt8 {
        let bytes = try transfer(address: address, write: RegisterPointer.all[Int(register)], readCount: 1)
        guard bytes.count == 1 else { throw .shortRead(address: address, expected: 1, got: bytes.count) }
        return bytes[0]
    }

    public func writeRegister(_ address: UInt8, _ register: UInt8, _ value: UInt8) throws(I2CError) {
        _ = try transfer(address: address, write: [register, value], readCount: 0)
    }
}

/// An I²C transaction failure, as both the Linux backend (from errno) and the simulator raise it.
public enum I2CError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nobody acknowledged the address (ENXIO / EREMOTEIO on Linux).
    case noAck(address: UInt8)
    /// The transaction did not complete in time (ETIMEDOUT).
    case timeout(address: UInt8)
    /// The bus or the adapter was busy or lost arbitration (EAGAIN, EBUSY).
    case busy(address: UInt8)
    /// Fewer bytes came back than asked for.
    case shortRead(address: UInt8, expected: Int, got: Int)
    /// Any other failure, with the OS error number where there is one.
    case other(address: UInt8, errno: Int32, detail: String)

    public var address: UInt8 {
        switch self {
        case .noAck(let a), .timeout(let a), .busy(let a): a
        case .shortRead(let a, _, _), .other(let a, _, _): a
        }
    }

    public var description: String {
        let where_ = "at 0x\(String(address, radix: 16, uppercase: true))"
        switch self {
        case .noAck: return "no ACK \(where_)"
        case .timeout: return "timeout \(where_)"
        case .busy: return "bus busy \(where_)"
        case .shortRead(_, let expected, let got): return "short read \(where_): expected \(expected) bytes, got \(got)"
        case .other(_, let errno, let detail): return "I²C error \(where_): \(detail) (errno \(errno))"
        }
    }
}

/// Formats a 7-bit address the way the docs and fault names spell it (`0x5f`).
public func hexAddress(_ address: UInt8) -> String {
    let digits = String(address, radix: 16)
    return "0x" + (digits.count == 1 ? "0" + digits : digits)
}
