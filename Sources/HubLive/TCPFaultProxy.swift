import Foundation
import HubCore
import HubKernel
import Synchronization

// Fault model of the TCP fault proxy (`cloud.*` faults through `hubrig cloud proxy`):
// between the hub and its cloud broker, so "cloud offline" is a real broken connection.
// - `offline`: open connections are reset (RST) and the listening socket closes, so a new
//   connection is refused (ECONNREFUSED) until the fault ends;
// - `blackhole`: connections are accepted and what they send is read and dropped; nothing
//   is forwarded either way and nothing is answered (a route that swallows packets: the
//   client finds out only from its keepalive);
// - `latency` (extra, jitter): each chunk is delayed by extra + U(0, jitter), in order;
// - `bandwidth` (rate): each direction is paced at `rate` bytes per second;
// - `reset-after` (bytes): a connection is reset once it has carried that many bytes
//   (both directions) since the fault began;
// - `slow-close` (delay): when one side closes, the other is held open `delay` longer.
// Timing comes from `LinkShaper` with the proxy's seeded random stream.

/// A TCP proxy on loopback with the cloud faults of the catalogue, between the hub and its
/// (TLS) cloud broker. It never looks inside the stream, so TLS passes untouched.
///
/// One thread polls the listener, a wake pipe and every connection's two sockets, with the
/// next due delivery as its timeout. Faults are set from any thread (`set`); the thread
/// picks them up at its next turn.
public final class TCPFaultProxy: @unchecked Sendable {
    // @unchecked Sendable: sockets, queues and the listener belong to the serving thread;
    // what other threads touch (the fault set, counters, the stop flag) is in Mutexes or
    // atomics, and `stop` waits for the thread before closing anything.

    public struct Statistics: Equatable, Sendable {
        public var accepted = 0
        public var refusedUpstream = 0
        public var reset = 0
        public var bytesForwarded = 0
        public var bytesDropped = 0
    }

    public let upstreamHost: String
    public let upstreamPort: UInt16
    /// The port it listens on (the one asked for, or the kernel's choice for 0).
    public private(set) var port: UInt16 = 0
    private let requestedPort: UInt16
    private let faults = Mutex<[CloudLinkFault]>([])
    private let stats = Mutex(Statistics())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wakePipe: WakePipe
    private var random: SeededRandom
    private let clock = LiveClock()
    private var running = false

    public init(listenPort: UInt16, upstreamHost: String, upstreamPort: UInt16, seed: UInt64) {
        requestedPort = listenPort
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        random = SeededRandom(seed: seed)
        guard let pipe = WakePipe.make() else { preconditionFailure("pipe: \(String(cString: strerror(errno)))") }
        wakePipe = pipe
    }

    deinit { wakePipe.close() }

    public var statistics: Statistics { stats.withLock { $0 } }

    public var activeFaults: [CloudLinkFault] { faults.withLock { $0 } }

    /// Starts or ends a fault (a second of the same kind replaces the first's parameters).
    public func set(_ fault: CloudLinkFault, active: Bool) {
        faults.withLock { list in
            list.removeAll { $0.kind == fault.kind }
            if active { list.append(fault) }
        }
        wake()
    }

    public func start() throws {
        precondition(!running, "TCPFaultProxy started twice")
        let listener = try Self.listen(port: requestedPort)
        port = Self.localPort(listener)
        running = true
        let thread = Thread { [self] in serve(listener: listener) }
        thread.name = "fault-proxy"
        thread.start()
    }

    public func stop() {
        guard running else { return }
        stopping.store(true, ordering: .relaxed)
        wake()
        finished.wait()
        running = false
    }

    private func wake() { wakePipe.wake() }

    // MARK: The serving thread

    private struct Direction {
        var queue: [(due: Instant, bytes: [UInt8])] = []
        var shaper = LinkShaper()
        /// The reading side closed: once the queue is empty the writing side is shut.
        var ended = false
        /// When the writing side is shut (a slow close holds it open until then).
        var shutAt: Instant?
        var shut = false
    }

    private struct Connection {
        let client: Int32
        let upstream: Int32
        var up = Direction()    // client → upstream
        var down = Direction()  // upstream → client
        var carried = 0
    }

    private func serve(listener initial: Int32) {
        defer { finished.signal() }
        var listener: Int32? = initial
        var connections: [Connection] = []
        defer {
            if let listener { close(listener) }
            for connection in connections { close(connection.client); close(connection.upstream) }
        }
        var chunk = [UInt8](repeating: 0, count: 16_384)
        /// The bytes forwarded when `reset-after` began (or last reset a connection); nil without it.
        var resetBase: Int?
        while !stopping.load(ordering: .relaxed) {
            let active = faults.withLock { $0 }
            let now = clock.now
            // offline: cut everything and stop listening; back on when it ends.
            if active.contains(.offline) {
                if let open = listener { close(open); listener = nil }
                for connection in connections { reset(connection) }
                connections.removeAll()
            } else if listener == nil {
                listener = try? Self.listen(port: port)
            }
            let resetAfter = active.lazy.compactMap { if case .resetAfter(let bytes) = $0 { bytes } else { nil } }.first
            if resetAfter == nil { resetBase = nil } else if resetBase == nil { resetBase = stats.withLock { $0.bytesForwarded } }
            for index in connections.indices { configure(&connections[index], active) }

            var fds = [pollfd(fd: wakePipe.readFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener ?? -1, events: Int16(POLLIN), revents: 0)]
            for connection in connections {
                fds.append(pollfd(fd: connection.up.ended ? -1 : connection.client, events: Int16(POLLIN), revents: 0))
                fds.append(pollfd(fd: connection.down.ended ? -1 : connection.upstream, events: Int16(POLLIN), revents: 0))
            }
            let nextDue = connections.flatMap { [$0.up.queue.first?.due, $0.down.queue.first?.due, $0.up.shutAt, $0.down.shutAt] }
                .compactMap { $0 }.min()
            // At least a millisecond: a due chunk the peer cannot take yet (EAGAIN) waits for
            // the next turn instead of spinning the thread.
            let timeout = nextDue.map { Int32(clamping: max(1, ($0 - now).nanoseconds / 1_000_000 + 1)) } ?? 200
            if poll(&fds, nfds_t(fds.count), min(timeout, 200)) < 0, errno != EINTR { return }
            if fds[0].revents != 0 { wakePipe.drain() }
            let blackhole = active.contains(.blackhole)
            let arrived = clock.now
            for (index, _) in connections.enumerated() {
                if fds[2 + 2 * index].revents != 0 {
                    pull(from: connections[index].client, into: &connections[index].up, blackhole: blackhole, at: arrived, chunk: &chunk)
                }
                if fds[3 + 2 * index].revents != 0 {
                    pull(from: connections[index].upstream, into: &connections[index].down, blackhole: blackhole, at: arrived, chunk: &chunk)
                }
            }
            let slowClose = active.lazy.compactMap { if case .slowClose(let delay) = $0 { delay } else { nil } }.first ?? .zero
            var kept: [Connection] = []
            for var connection in connections {
                let before = connection.carried
                push(&connection.up, to: connection.upstream, carried: &connection.carried, now: arrived, closeDelay: slowClose)
                push(&connection.down, to: connection.client, carried: &connection.carried, now: arrived, closeDelay: slowClose)
                let forwarded = stats.withLock { stats in
                    stats.bytesForwarded += connection.carried - before
                    return stats.bytesForwarded
                }
                if let resetAfter, let base = resetBase, forwarded - base >= resetAfter {
                    reset(connection)
                    resetBase = forwarded
                    continue
                }
                // One side closed and the other has been told: the connection is done (MQTT
                // never half-closes a session that goes on).
                if connection.up.shut || connection.down.shut {
                    close(connection.client)
                    close(connection.upstream)
                    continue
                }
                kept.append(connection)
            }
            connections = kept
            if let open = listener, fds[1].revents != 0, let connection = accept(open, active) {
                connections.append(connection)
            }
        }
    }

    private func configure(_ connection: inout Connection, _ active: [CloudLinkFault]) {
        var latency = Duration.zero, jitter = Duration.zero
        var rate: Int?
        for fault in active {
            switch fault {
            case .latency(let extra, let spread): latency = extra; jitter = spread
            case .bandwidth(let bytesPerSecond): rate = bytesPerSecond
            default: break
            }
        }
        for keyPath in [\Connection.up, \Connection.down] {
            connection[keyPath: keyPath].shaper.latency = latency
            connection[keyPath: keyPath].shaper.jitter = jitter
            connection[keyPath: keyPath].shaper.bytesPerSecond = rate
        }
    }

    private func pull(from fd: Int32, into direction: inout Direction, blackhole: Bool, at now: Instant, chunk: inout [UInt8]) {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 { if errno != EINTR && errno != EAGAIN { direction.ended = true }; return }
        if count == 0 { direction.ended = true; return }
        if blackhole {
            stats.withLock { $0.bytesDropped += count }
            return
        }
        let due = direction.shaper.due(count: count, arrived: now, random: &random)
        direction.queue.append((due, Array(chunk[0..<count])))
    }

    /// Writes what is due; shuts the writing side once the reading side ended and all went.
    private func push(_ direction: inout Direction, to fd: Int32, carried: inout Int, now: Instant, closeDelay: Duration) {
        while let head = direction.queue.first, head.due <= now {
            let sent = head.bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent < 0 {
                if errno == EAGAIN || errno == EINTR { return }
                direction.queue.removeAll()
                direction.ended = true
                break
            }
            carried += sent
            if sent < head.bytes.count {
                direction.queue[0].bytes.removeFirst(sent)
                return
            }
            direction.queue.removeFirst()
        }
        if direction.ended, direction.queue.isEmpty, !direction.shut {
            let at = direction.shutAt ?? now + closeDelay
            direction.shutAt = at
            if now >= at {
                shutdown(fd, Int32(SHUT_WR))
                direction.shut = true
            }
        }
    }

    /// Closes both sockets with a reset (SO_LINGER 0), as a cut connection looks.
    private func reset(_ connection: Connection) {
        // Counted first: the peers see the reset the moment the sockets close.
        stats.withLock { $0.reset += 1 }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        for fd in [connection.client, connection.upstream] {
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(fd)
        }
    }

    private func accept(_ listener: Int32, _ active: [CloudLinkFault]) -> Connection? {
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return nil }
        stats.withLock { $0.accepted += 1 }
        guard let upstream = Self.connect(host: upstreamHost, port: upstreamPort) else {
            stats.withLock { $0.refusedUpstream += 1 }
            close(client)
            return nil
        }
        var connection = Connection(client: client, upstream: upstream)
        configure(&connection, active)
        return connection
    }

    // MARK: Sockets

    static func listen(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProxyError.system(call: "socket", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard LoopbackAddress.bind(fd, port: port), Glibc.listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw ProxyError.system(call: "bind 127.0.0.1:\(port)", errno: code)
        }
        return fd
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        LoopbackAddress.port(of: fd) ?? 0
    }

    /// A connected, non-blocking socket to the upstream broker, or nil when it refuses.
    static func connect(host: String, port: UInt16) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return nil }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}

/// Why the fault proxy could not start.
public enum ProxyError: Error, Equatable, CustomStringConvertible {
    case system(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .system(let call, let code): "fault proxy: \(call) failed: \(errnoText(code))"
        }
    }
}

/// What the fault proxy answers to `status` on its control socket.
public struct ProxyStatus: ControlStatus, Sendable {
    public var listenPort: UInt16
    public var upstream: String
    public var statistics: TCPFaultProxy.Statistics
    public var faults: [ActiveFault]

    public init(listenPort: UInt16, upstream: String, statistics: TCPFaultProxy.Statistics, faults: [ActiveFault]) {
        self.listenPort = listenPort
        self.upstream = upstream
        self.statistics = statistics
        self.faults = faults
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("thing", "cloud-proxy")
        json.field("listen", "127.0.0.1:\(listenPort)")
        json.field("upstream", upstream)
        for (key, value) in [("accepted", statistics.accepted), ("refused_upstream", statistics.refusedUpstream), ("reset", statistics.reset),
                             ("bytes_forwarded", statistics.bytesForwarded), ("bytes_dropped", statistics.bytesDropped)] {
            json.field(key, value)
        }
        json.key("faults")
        json.beginArray()
        for fault in faults { fault.write(to: &json) }
        json.endArray()
        json.endObject()
    }
}
