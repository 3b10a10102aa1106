import Foundation
import HubCore

/// Why a socket server of the stand-in (the I²C server, the Sense HAT kernel server) could
/// not start, naming the socket path and the failed call.
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
            "socket path \(path) is longer than \(limit) bytes"
        case .pathInUse(let path):
            "socket path \(path) is in use (a live server or not a socket)"
        case .system(let path, let call, let errno):
            "socket \(path): \(call) failed: \(errnoText(errno)) (errno \(errno))"
        }
    }
}

/// Serves an `I2CBus` on a Unix socket, so the LD_PRELOAD stand-in for `/dev/i2c-N`
/// (Sources/I2CShim) can drive it through the production `LinuxI2CBus` path.
///
/// CI has no I²C adapter, but it can run the real `I2C_RDWR` code: the shim turns each
/// ioctl into a request (see I2CSocketProtocol.swift) and this server answers it from a
/// bus of simulated chips. One thread serves up to `clientsMax` clients (every open
/// descriptor of every process is one) and answers their requests one whole request at
/// a time, as one adapter serialises its bus; a client that disconnects, sends a
/// malformed frame or stops reading its replies is dropped, and the others are served on.
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
        /// Clients turned away because `clientsMax` were connected.
        public var refusedConnections = 0
    }

    public let socketPath: String
    private let bus: any I2CBus
    private let lock = NSLock()
    private var stats = Statistics()
    private var running = false
    private var listener: OwnerOnlyListener?
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
        listener = try OwnerOnlyListener(path: socketPath, backlog: 4)
        running = true
        let thread = Thread { [self] in serve() }
        thread.name = "i2c-socket-server"
        thread.start()
    }

    /// Stops serving, waits for the serving thread and removes the socket file.
    public func stop() {
        guard lock.withLock({ running }) else { return }
        listener?.wake()
        finished.wait()
        lock.withLock {
            listener?.close()
            listener = nil
            running = false
        }
    }

    // MARK: Serving thread

    /// One connected client: its descriptor and the bytes of a frame not yet complete.
    private struct Client {
        let fd: Int32
        var buffer: [UInt8] = []
    }

    /// Clients served at once; one more is accepted and closed at once (its transfers then
    /// fail with EIO), so a runaway script cannot exhaust the server's descriptors.
    public static let clientsMax = 64

    /// How long a reply may wait for a client that does not read: longer, and the client
    /// is dropped rather than stalling every other client's transfers.
    static let replyTimeout = timeval(tv_sec: 2, tv_usec: 0)

    /// Serves every client from one thread: a poll over the listener, the wake pipe and
    /// the clients. One thread is what serialises the transfers of all descriptors and
    /// processes on the one bus, as the adapter does on hardware.
    private func serve() {
        defer { finished.signal() }
        var clients: [Client] = []
        defer { for client in clients { close(client.fd) } }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        guard let listener = lock.withLock({ listener }) else { return }
        while true {
            var fds = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener.wakeFD, events: Int16(POLLIN), revents: 0)]
            fds += clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            // Clients first, in connection order, then the listener: each request is
            // answered whole before the next is read, so transfers never interleave.
            var keep: [Client] = []
            keep.reserveCapacity(clients.count)
            for (offset, var client) in clients.enumerated() {
                let events = fds[offset + 2].revents
                if events == 0 || serveReadable(&client, chunk: &chunk) {
                    keep.append(client)
                } else {
                    close(client.fd)
                }
            }
            clients = keep
            if fds[0].revents != 0 {
                let fd = accept(listener.fd, nil, nil)
                if fd >= 0 {
                    if clients.count >= Self.clientsMax {
                        lock.withLock { stats.refusedConnections += 1 }
                        close(fd)
                    } else {
                        _ = OwnerOnlyListener.setCloseOnExec(fd)
                        var timeout = Self.replyTimeout
                        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                        lock.withLock { stats.connections += 1 }
                        clients.append(Client(fd: fd))
                    }
                }
                // accept failed (EINTR, ECONNABORTED): the next client may do better
            }
        }
    }

    /// Reads what a client sent and answers its complete requests; false when the client
    /// is to be dropped (it hung up, broke the protocol, or does not read its replies).
    private func serveReadable(_ client: inout Client, chunk: inout [UInt8]) -> Bool {
        let count = chunk.withUnsafeMutableBytes { read(client.fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EINTR || errno == EAGAIN }
        if count == 0 { return false }  // the client hung up
        client.buffer.append(contentsOf: chunk[0..<count])
        while true {
            let parsed: I2CWire.Parsed<[I2CWireMessage]>
            do {
                parsed = try I2CWire.parseRequest(client.buffer[...])
            } catch {
                lock.withLock { stats.malformedFrames += 1 }
                return false
            }
            guard case .complete(let messages, let consumed) = parsed else { return true }
            client.buffer.removeFirst(consumed)
            let reply = lock.withLock { answer(messages) }
            guard socketSendAll(client.fd, I2CWire.encodeReply(reply)) else { return false }
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
            let allowed = message.isRead ? I2CWire.readFlag | I2CWire.receiveLengthFlag : 0
            guard message.flags & ~allowed == 0 else {
                // 10-bit addresses, NOSTART, protocol mangling: the Pi's adapter offers
                // none of them (i2c-bcm2835 reports I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL).
                return fail(EOPNOTSUPP)
            }
            guard message.address < 0x80 else { return fail(EINVAL) }
            var write = [UInt8]()
            var read: I2CWireMessage?
            if message.isRead {
                read = message
            } else {
                write = message.bytes
                if index + 1 < messages.count, messages[index + 1].isRead,
                   messages[index + 1].address == message.address,
                   messages[index + 1].flags & ~I2CWire.receiveLengthFlag == I2CWire.readFlag {
                    index += 1
                    read = messages[index]
                }
            }
            index += 1
            do {
                if let read, read.isReceiveLength {
                    reads.append(try receiveBlock(UInt8(message.address), write: write, trailing: read.readLength - 1))
                } else {
                    let bytes = try transfer(UInt8(message.address), write: write, readCount: read?.readLength ?? 0)
                    if read != nil { reads.append(bytes) }
                }
            } catch {
                return fail(error.errno)
            }
        }
        return .success(reads: reads)
    }

    /// A transfer failed with the errno the kernel would give.
    private struct TransferFailure: Error {
        let errno: Int32
    }

    private func transfer(_ address: UInt8, write: [UInt8], readCount: Int) throws(TransferFailure) -> [UInt8] {
        stats.transfers += 1
        let bytes: [UInt8]
        do {
            bytes = try bus.transfer(address: address, write: write, readCount: readCount)
        } catch {
            throw TransferFailure(errno: Self.errnoCode(for: error))
        }
        guard bytes.count == readCount else { throw TransferFailure(errno: EIO) }
        stats.bytesWritten += write.count
        stats.bytesRead += bytes.count
        return bytes
    }

    /// An I2C_M_RECV_LEN read: the device's length byte, then that many bytes and
    /// `trailing` more (an SMBus PEC), padded to the longest block for the wire.
    ///
    /// The `I2CBus` port moves a known number of bytes per transaction, so the block is a
    /// second read that continues at the device's register pointer; for the register
    /// chips here that reads what one transaction would, FIFO pops included.
    private func receiveBlock(_ address: UInt8, write: [UInt8], trailing: Int) throws(TransferFailure) -> [UInt8] {
        let length = try transfer(address, write: write, readCount: 1)[0]
        // The kernel's adapters refuse a block length outside 1...32 with EPROTO.
        guard (1...I2CWire.blockLengthMax).contains(Int(length)) else { throw TransferFailure(errno: EPROTO) }
        var bytes = [length] + (try transfer(address, write: [], readCount: Int(length) + trailing))
        bytes += [UInt8](repeating: 0, count: I2CWire.blockLengthMax - Int(length))
        return bytes
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
}
