import Foundation
import HubCore

/// Why the socket server could not start, naming the socket path and the failed call.
public enum I2CSocketServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path does not fit `sockaddr_un.sun_path` (107 bytes plus the terminator).
    case pathTooLong(path: String, limit: Int)
    /// Something already lives at the path: a server that answers, or a file that is
    /// not a socket. Stale sockets of a dead server are replaced instead.
    case pathInUse(path: String)
    /// A system call failed (`socket`, `bind`, `chmod`, `listen`, `pipe`).
    case system(path: String, call: String, errno: Int32)

    public var description: String {
        switch self {
        case .pathTooLong(let path, let limit):
            "I²C socket path \(path) is longer than \(limit) bytes"
        case .pathInUse(let path):
            "I²C socket path \(path) is in use (a live server or not a socket)"
        case .system(let path, let call, let errno):
            "I²C socket \(path): \(call) failed: \(errnoText(errno)) (errno \(errno))"
        }
    }
}

/// Serves an `I2CBus` on a Unix socket, so the LD_PRELOAD stand-in for `/dev/i2c-N`
/// (Sources/I2CShim) can drive it through the production `LinuxI2CBus` path.
///
/// CI has no I²C adapter, but it can run the real `I2C_RDWR` code: the shim turns each
/// ioctl into a request (see I2CSocketProtocol.swift) and this server answers it from a
/// bus of simulated chips. It accepts one client at a time on its own thread; a client
/// that disconnects or sends a malformed frame is dropped and the next one accepted.
///
/// The serving thread keeps the server alive until `stop()`, which also removes the
/// socket file; a server must be stopped, not merely dropped.
///
/// Threading: the bus is not thread-safe, so every bus access — the serving thread's
/// transfers and the caller's `withBus` — happens while holding one lock. The counters
/// sit under the same lock.
public final class I2CSocketServer: @unchecked Sendable {
    // @unchecked Sendable: the mutable state (bus, counters, descriptors, running flag)
    // is only touched under `lock`, except the descriptors the serving thread owns while
    // it runs, which `stop()` closes only after that thread has finished.

    /// Requests and bytes served so far, for diagnostics and tests.
    public struct Statistics: Equatable, Sendable {
        /// Clients accepted.
        public var connections = 0
        /// Requests (ioctl calls) answered, successfully or with an errno.
        public var requests = 0
        /// Requests answered with an errno.
        public var failedRequests = 0
        /// `transfer` calls made on the bus.
        public var transfers = 0
        /// Bytes written to devices and read from them.
        public var bytesWritten = 0
        public var bytesRead = 0
        /// Frames that broke the protocol (the client was dropped).
        public var malformedFrames = 0
    }

    public let socketPath: String
    private let bus: any I2CBus
    private let lock = NSLock()
    private var stats = Statistics()
    private var running = false
    private var listenFD: Int32 = -1
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var socketInode: UInt64 = 0
    private let finished = DispatchSemaphore(value: 0)

    public init(bus: any I2CBus, socketPath: String) {
        self.bus = bus
        self.socketPath = socketPath
    }

    public var statistics: Statistics { lock.withLock { stats } }

    public var isRunning: Bool { lock.withLock { running } }

    /// Runs `body` with the bus while no request is being served, e.g. to inject a fault.
    public func withBus<R, E: Error>(_ body: (any I2CBus) throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(bus)
    }

    /// Creates the socket (owner-only, 0600) and starts the serving thread.
    public func start() throws(I2CSocketServerError) {
        lock.lock()
        defer { lock.unlock() }
        precondition(!running, "I2CSocketServer started twice")
        let address = try socketAddress()
        try removeStaleSocket()

        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw .system(path: socketPath, call: "socket", errno: errno) }
        let bound = UnixSocketAddress.bind(listener, to: address)
        guard bound == 0 else {
            let code = errno
            close(listener)
            throw code == EADDRINUSE ? .pathInUse(path: socketPath) : .system(path: socketPath, call: "bind", errno: code)
        }
        // bind honours the umask, so the mode is set afterwards; nobody can connect in
        // between because the socket is not listening yet.
        guard chmod(socketPath, 0o600) == 0 else {
            let code = errno
            close(listener)
            unlink(socketPath)
            throw .system(path: socketPath, call: "chmod", errno: code)
        }
        var info = stat()
        if lstat(socketPath, &info) == 0 { socketInode = UInt64(info.st_ino) }
        guard listen(listener, 4) == 0 else {
            let code = errno
            close(listener)
            unlink(socketPath)
            throw .system(path: socketPath, call: "listen", errno: code)
        }
        var pipeFDs: [Int32] = [-1, -1]
        // pipe2/accept4 are GNU extensions Swift's Glibc module does not export, hence
        // pipe + fcntl; a child spawned in between could inherit the descriptors, which
        // would only keep them open a little longer.
        guard pipe(&pipeFDs) == 0 else {
            let code = errno
            close(listener)
            unlink(socketPath)
            throw .system(path: socketPath, call: "pipe", errno: code)
        }
        guard setCloseOnExec(pipeFDs[0]), setCloseOnExec(pipeFDs[1]) else {
            let code = errno
            close(pipeFDs[0])
            close(pipeFDs[1])
            close(listener)
            unlink(socketPath)
            throw .system(path: socketPath, call: "fcntl", errno: code)
        }
        listenFD = listener
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        running = true
        let thread = Thread { [self] in serve() }
        thread.name = "i2c-socket-server"
        thread.start()
    }

    /// Stops serving, waits for the serving thread and removes the socket file.
    public func stop() {
        lock.lock()
        guard running else {
            lock.unlock()
            return
        }
        lock.unlock()
        var byte: UInt8 = 1
        while write(wakeWrite, &byte, 1) < 0 && errno == EINTR {}
        finished.wait()
        lock.lock()
        defer { lock.unlock() }
        close(listenFD)
        close(wakeRead)
        close(wakeWrite)
        listenFD = -1
        wakeRead = -1
        wakeWrite = -1
        // Only our own socket file goes: another server may have taken the path since.
        var info = stat()
        if lstat(socketPath, &info) == 0, UInt64(info.st_ino) == socketInode { unlink(socketPath) }
        running = false
    }

    // MARK: Setup helpers

    private func socketAddress() throws(I2CSocketServerError) -> sockaddr_un {
        guard let address = UnixSocketAddress.make(socketPath) else { throw .pathTooLong(path: socketPath, limit: UnixSocketAddress.pathBytesMax) }
        return address
    }

    /// Replaces a socket no server answers on (left by a crashed run); refuses anything else.
    private func removeStaleSocket() throws(I2CSocketServerError) {
        var info = stat()
        guard lstat(socketPath, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .pathInUse(path: socketPath) }
        let address = try socketAddress()
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw .system(path: socketPath, call: "socket", errno: errno) }
        defer { close(probe) }
        let connected = UnixSocketAddress.connect(probe, to: address)
        guard connected != 0, errno == ECONNREFUSED else { throw .pathInUse(path: socketPath) }
        unlink(socketPath)
    }

    private func setCloseOnExec(_ fd: Int32) -> Bool {
        fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
    }

    // MARK: Serving thread

    private enum Wait { case ready, stop, failed }

    /// Waits until `fd` is readable or `stop()` writes to the wake pipe.
    private func waitReadable(_ fd: Int32) -> Wait {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            let result = poll(&fds, nfds_t(fds.count), -1)
            if result < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if fds[1].revents != 0 { return .stop }
            if fds[0].revents != 0 { return .ready }
        }
    }

    private func serve() {
        defer { finished.signal() }
        while waitReadable(listenFD) == .ready {
            let client = accept(listenFD, nil, nil)
            if client < 0 { continue }  // EINTR, ECONNABORTED: the next client may do better
            _ = setCloseOnExec(client)
            lock.withLock { stats.connections += 1 }
            let keepServing = serveClient(client)
            close(client)
            if !keepServing { return }
        }
    }

    /// Answers one client's requests until it leaves; false once `stop()` was called.
    private func serveClient(_ client: Int32) -> Bool {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            switch waitReadable(client) {
            case .stop: return false
            case .failed: return true
            case .ready: break
            }
            let count = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return true }  // the client hung up (or the socket broke)
            buffer.append(contentsOf: chunk[0..<count])
            while true {
                let parsed: I2CWire.Parsed<[I2CWireMessage]>
                do {
                    parsed = try I2CWire.parseRequest(buffer[...])
                } catch {
                    lock.withLock { stats.malformedFrames += 1 }
                    return true
                }
                guard case .complete(let messages, let consumed) = parsed else { break }
                buffer.removeFirst(consumed)
                let reply = lock.withLock { answer(messages) }
                guard sendAll(client, I2CWire.encodeReply(reply)) else { return true }
            }
        }
    }

    /// Runs one request's messages on the bus (caller holds `lock`).
    ///
    /// A write followed by a read of the same address is one combined transfer, as the
    /// drivers' register reads are; any other message is a transfer of its own. The first
    /// failure ends the request, as it ends an I2C_RDWR in the kernel.
    private func answer(_ messages: [I2CWireMessage]) -> I2CWireReply {
        stats.requests += 1
        var reads = [[UInt8]]()
        var index = 0
        while index < messages.count {
            let message = messages[index]
            guard message.flags & ~I2CWire.readFlag == 0 else {
                // 10-bit addresses, NOSTART, RECV_LEN, protocol mangling: a Sense HAT
                // adapter offers none of them.
                return fail(EOPNOTSUPP)
            }
            guard message.address < 0x80 else { return fail(EINVAL) }
            let address = UInt8(message.address)
            var write = [UInt8]()
            var readCount = 0
            if message.isRead {
                readCount = message.readLength
            } else {
                write = message.bytes
                if index + 1 < messages.count, messages[index + 1].isRead,
                   messages[index + 1].address == message.address, messages[index + 1].flags == I2CWire.readFlag {
                    index += 1
                    readCount = messages[index].readLength
                }
            }
            index += 1
            stats.transfers += 1
            let bytes: [UInt8]
            do {
                bytes = try bus.transfer(address: address, write: write, readCount: readCount)
            } catch {
                return fail(Self.errnoCode(for: error))
            }
            guard bytes.count == readCount else { return fail(EIO) }
            stats.bytesWritten += write.count
            stats.bytesRead += bytes.count
            if readCount > 0 { reads.append(bytes) }
        }
        return .success(reads: reads)
    }

    private func fail(_ code: Int32) -> I2CWireReply {
        stats.failedRequests += 1
        return .failure(errno: code)
    }

    /// The errno a Linux adapter would report for each port error, so that the shim's
    /// caller (`LinuxI2CBus`) turns it back into the same case.
    public static func errnoCode(for error: I2CError) -> Int32 {
        switch error {
        case .noAck: EREMOTEIO
        case .timeout: ETIMEDOUT
        case .busy: EAGAIN
        case .shortRead: EIO
        case .other(_, let code, _): code > 0 ? code : EIO
        }
    }

    /// Writes all of `bytes`; false if the client is gone. MSG_NOSIGNAL keeps a vanished
    /// client from raising SIGPIPE, which would kill the whole process.
    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }
}
