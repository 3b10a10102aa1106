import Glibc
import HubCore

/// One blocking Unix-domain stream connection carrying IPC frames: what a component
/// process (or a benchmark's peer) uses to talk to the hub's bus server.
public final class IPCSocket {
    public let fd: Int32
    private var reader = IPCFrameReader()
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to `path`, retrying while it does not exist yet, for up to `seconds`.
    public static func connect(_ path: String, seconds: Double = 10) throws(IPCServerError) -> IPCSocket {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw IPCServerError(path: path, reason: "socket: \(String(cString: strerror(errno)))") }
            let connected = UnixSocketAddress.connect(fd, to: try Self.address(path))
            if connected == 0 { return IPCSocket(fd: fd) }
            let code = errno
            close(fd)
            guard (code == ENOENT || code == ECONNREFUSED), ContinuousClock.now < deadline else {
                throw IPCServerError(path: path, reason: "connect: \(String(cString: strerror(code)))")
            }
            usleep(20_000)
        }
    }

    /// Listens on `path` (owner-only) and accepts one connection.
    public static func acceptOne(_ path: String) throws(IPCServerError) -> IPCSocket {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw IPCServerError(path: path, reason: "socket: \(String(cString: strerror(errno)))") }
        defer { close(listener) }
        let address = try Self.address(path)
        unlink(path)
        let previous = umask(0o177)
        let bound = UnixSocketAddress.bind(listener, to: address)
        umask(previous)
        guard bound == 0, listen(listener, 1) == 0 else { throw IPCServerError(path: path, reason: "bind: \(String(cString: strerror(errno)))") }
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { throw IPCServerError(path: path, reason: "accept: \(String(cString: strerror(errno)))") }
        unlink(path)
        return IPCSocket(fd: fd)
    }

    private static func address(_ path: String) throws(IPCServerError) -> sockaddr_un {
        guard let address = UnixSocketAddress.make(path) else {
            throw IPCServerError(path: path, reason: "a socket path is 1...\(UnixSocketAddress.pathBytesMax) bytes")
        }
        return address
    }

    public func send(_ bytes: [UInt8]) throws(IPCServerError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { throw IPCServerError(path: "", reason: "send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// The frames of the next read (blocking); nil at the end of the stream.
    public func receive() throws(IPCProtocolError) -> [IPCFrame]? {
        var count = 0
        repeat { count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } } while count < 0 && errno == EINTR
        guard count > 0 else { return nil }
        reader.append(buffer[0..<count])
        var frames: [IPCFrame] = []
        while let frame = try reader.next() { frames.append(frame) }
        return frames
    }
}
