import CI2C
import Foundation
import HubCore

/// Why the Linux I²C device could not be opened or used at all, naming the path.
///
/// Kept apart from `I2CError`, which describes one transaction at one address: a missing
/// `/dev/i2c-1` is a setup problem (overlay not enabled, no permission), not a chip that
/// failed to answer, and the shell reports it once instead of per chip.
public enum LinuxI2CError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `open(2)` failed (ENOENT: no such adapter; EACCES: not in the i2c group).
    case open(path: String, errno: Int32, detail: String)
    /// The I2C_FUNCS ioctl failed: the file is not an i2c-dev adapter.
    case functionality(path: String, errno: Int32, detail: String)
    /// The adapter speaks only SMBus, so the combined I2C_RDWR transfers cannot work.
    case noPlainI2C(path: String, functionality: UInt)

    public var description: String {
        switch self {
        case .open(let path, let errno, let detail):
            "cannot open I²C adapter \(path): \(detail) (errno \(errno))"
        case .functionality(let path, let errno, let detail):
            "\(path) is not an I²C adapter: I2C_FUNCS failed: \(detail) (errno \(errno))"
        case .noPlainI2C(let path, let functionality):
            "I²C adapter \(path) cannot do plain I²C transfers (functionality 0x\(String(functionality, radix: 16)))"
        }
    }
}

/// The production `I2CBus`: a Linux i2c-dev adapter driven with one `I2C_RDWR` per transfer.
///
/// `I2C_RDWR` rather than `I2C_SLAVE` + read/write because the Sense HAT overlay binds
/// kernel drivers to most of its addresses and `I2C_SLAVE` then fails with EBUSY, while
/// `I2C_RDWR` does not check; it also keeps a register read one transaction (write the
/// pointer, repeated start, read) and lets the 193-byte LED frame go as one message,
/// which the 32-byte SMBus block calls cannot. Failures raise the same `I2CError` cases
/// as the simulator, so drivers behave the same on both.
///
/// Not thread-safe: like every `I2CBus`, one owner uses it from one thread.
public final class LinuxI2CBus: I2CBus {
    /// The device file this bus was opened from (`/dev/i2c-1`).
    public let path: String
    private let fd: Int32

    /// Opens `path` and checks that the adapter can do plain I²C transfers.
    public init(path: String = "/dev/i2c-1") throws(LinuxI2CError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw .open(path: path, errno: code, detail: errnoText(code))
        }
        var functionality: UInt = 0
        guard hubrig_i2c_funcs(fd, &functionality) == 0 else {
            let code = errno
            close(fd)
            throw .functionality(path: path, errno: code, detail: errnoText(code))
        }
        guard functionality & UInt(I2C_FUNC_I2C) != 0 else {
            close(fd)
            throw .noPlainI2C(path: path, functionality: functionality)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        // Checked here rather than left to the kernel so a bad argument names itself
        // instead of coming back as a bare EINVAL.
        guard address < 0x80 else {
            throw .other(address: address, errno: EINVAL, detail: "not a 7-bit address")
        }
        guard (0...I2CWire.maxMessageLength).contains(readCount), write.count <= I2CWire.maxMessageLength else {
            throw .other(address: address, errno: EINVAL,
                         detail: "message of \(max(readCount, write.count)) bytes exceeds the \(I2CWire.maxMessageLength)-byte I2C_RDWR limit")
        }
        var outgoing = write
        var incoming = [UInt8](repeating: 0, count: readCount)
        // A read with nothing to write is a lone read message; nothing at all is a
        // zero-length write (a "quick" probe), so every transfer sends at least one message.
        let sendsWrite = !write.isEmpty || readCount == 0
        let messageCount = (sendsWrite ? 1 : 0) + (readCount > 0 ? 1 : 0)
        let (result, code) = outgoing.withUnsafeMutableBufferPointer { out in
            incoming.withUnsafeMutableBufferPointer { into in
                var messages = [i2c_msg]()
                if sendsWrite {
                    messages.append(i2c_msg(addr: UInt16(address), flags: 0, len: UInt16(out.count), buf: out.baseAddress))
                }
                if readCount > 0 {
                    messages.append(i2c_msg(addr: UInt16(address), flags: UInt16(I2C_M_RD), len: UInt16(into.count), buf: into.baseAddress))
                }
                return messages.withUnsafeMutableBufferPointer { list in
                    var data = i2c_rdwr_ioctl_data(msgs: list.baseAddress, nmsgs: UInt32(list.count))
                    let result = hubrig_i2c_rdwr(fd, &data)
                    return (result, result < 0 ? errno : 0)
                }
            }
        }
        if result < 0 { throw Self.error(errno: code, address: address) }
        // The kernel returns how many messages it completed; fewer than sent means the
        // read part never happened.
        guard Int(result) >= messageCount else {
            if readCount > 0 { throw .shortRead(address: address, expected: readCount, got: 0) }
            throw .other(address: address, errno: EIO, detail: "adapter completed \(result) of \(messageCount) messages")
        }
        return incoming
    }

    /// Maps an errno from I2C_RDWR onto the port's error cases, as drivers expect them;
    /// `I2CSocketServer.errnoCode(for:)` is its inverse for the cases that have one.
    public static func error(errno code: Int32, address: UInt8) -> I2CError {
        switch code {
        case ENXIO, EREMOTEIO: .noAck(address: address)
        case ETIMEDOUT: .timeout(address: address)
        case EAGAIN, EBUSY: .busy(address: address)
        default: .other(address: address, errno: code, detail: errnoText(code))
        }
    }
}

/// The C library's text for an errno (`No such file or directory`).
func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
