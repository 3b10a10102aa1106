import Foundation
import HubCore

/// A blocking client of `I2CSocketServer`, speaking the protocol the C shim speaks.
///
/// What `hubrig bench bus` drives the stand-in with, one connection per simulated
/// program: the frames are the shim's own (I2CSocketProtocol.swift), so the figures are
/// the server's and the socket's, without a preloaded process around them. It is also an
/// `I2CBus`, so the production drivers can run over a served bus from another thread.
///
/// Not for concurrent use: one client is one descriptor, as in the shim.
public final class I2CSocketClient: I2CBus {
    /// Why a call failed: the server's errno, or a broken connection.
    public enum Failure: Error, Equatable, Sendable {
        /// The server could not be reached (`connect`'s errno).
        case connect(errno: Int32)
        /// The connection broke or the reply was malformed.
        case connection(String)
    }

    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    public init(socketPath: String) throws(Failure) {
        guard let address = UnixSocketAddress.make(socketPath) else { throw .connect(errno: ENAMETOOLONG) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .connect(errno: errno) }
        guard UnixSocketAddress.connect(descriptor, to: address) == 0 else {
            let code = errno
            close(descriptor)
            throw .connect(errno: code)
        }
        fd = descriptor
    }

    deinit { close(fd) }

    /// One I2C_RDWR: the messages go out as one frame, the reply comes back whole.
    public func call(_ messages: [I2CWireMessage]) throws(Failure) -> I2CWireReply {
        let frame: [UInt8]
        do { frame = try I2CWire.encodeRequest(messages) } catch { throw .connection("\(error)") }
        var offset = 0
        while offset < frame.count {
            let sent = frame[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw .connection("send: errno \(errno)") }
            offset += sent
        }
        let lengths = messages.filter(\.isRead).map(\.replyLength)
        var received = [UInt8]()
        while true {
            do {
                if case .complete(let reply, _) = try I2CWire.parseReply(received[...], readLengths: lengths) { return reply }
            } catch {
                throw .connection("\(error)")
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .connection(count == 0 ? "server closed the connection" : "recv: errno \(errno)") }
            received += buffer[0..<count]
        }
    }

    public func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        let reply: I2CWireReply
        do { reply = try call(I2CWireMessage.transfer(address, write: write, readCount: readCount)) } catch {
            throw .other(address: address, errno: EIO, detail: "I²C socket: \(error)")
        }
        switch reply {
        case .success(let reads): return reads.first ?? []
        case .failure(let code): throw LinuxI2CBus.error(errno: code, address: address)
        }
    }
}
