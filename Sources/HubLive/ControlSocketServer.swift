import CLinuxDevices
import Foundation
import HubCore
import HubKernel
import Synchronization

/// The hub's control socket: a Unix socket (mode 0600, and a peer of another user is
/// refused even where the mode would let it in) carrying `ControlProtocol` lines.
///
/// One thread moves bytes: it accepts clients, cuts their input into lines, and writes
/// replies and events back. It never answers a request itself: each line goes to the
/// hub's loop thread (`serviceRequests`, which the live shell calls every turn, after
/// `wakeLoop` woke it), where `ControlDesk` reads the hub's state and acts on its bus and
/// supervisor. So a request sees the hub between two events, never in the middle of one.
///
/// Each client has its own buffer and its replies go only to it, so one client's garbage,
/// half line or hang-up costs only that client. A line longer than
/// `ControlProtocol.lineBytesMax` gets a `too_large` reply and the connection closes; a
/// client that does not read its replies or events for `sendTimeout` is dropped.
public final class ControlSocketServer: @unchecked Sendable {
    // @unchecked Sendable: the descriptors and the client table belong to the serving
    // thread while it runs (`stop` closes them only after it finished); what both threads
    // touch (the two queues, the subscriber count, the stop flag) is in Mutexes or atomics.

    public let socketPath: String
    private let wakeLoop: @Sendable () -> Void
    private var listener: OwnerOnlyListener?
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    /// Lines read, waiting for the loop: (client, line).
    private let incoming = Mutex<[(client: Int, line: [UInt8])]>([])
    /// Bytes for clients (client nil: every subscriber), and whether the client subscribes.
    private let outgoing = Mutex<[(client: Int?, bytes: [UInt8], subscribe: Bool)]>([])
    private let subscriberCount = Atomic<Int>(0)

    /// Clients served at once; another is accepted and closed.
    public static let clientsMax = 16
    static let sendTimeout = timeval(tv_sec: 2, tv_usec: 0)

    /// `wakeLoop` makes the hub's loop take a turn soon (it posts to the shell's inbox).
    public init(socketPath: String, wakeLoop: @escaping @Sendable () -> Void) {
        self.socketPath = socketPath
        self.wakeLoop = wakeLoop
    }

    /// Whether anyone listens to events: the loop encodes events for the socket only then.
    public var hasSubscribers: Bool { subscriberCount.load(ordering: .relaxed) > 0 }

    public func start() throws(I2CSocketServerError) {
        precondition(listener == nil, "ControlSocketServer started twice")
        listener = try OwnerOnlyListener(path: socketPath, backlog: 8)
        let thread = Thread { [self] in serve() }
        thread.name = "control-socket"
        thread.start()
    }

    /// Stops serving, waits for the serving thread and removes the socket file.
    public func stop() {
        guard let listener else { return }
        stopping.store(true, ordering: .relaxed)
        listener.wake()
        finished.wait()
        listener.close()
        self.listener = nil
    }

    // MARK: The loop's side

    /// Answers every request line waiting (on the hub's thread): `answer` gives the reply
    /// and whether the client now subscribes to events.
    public func serviceRequests(_ answer: (ArraySlice<UInt8>) -> (reply: [UInt8], subscribe: Bool)) {
        let lines = incoming.withLock { lines in
            defer { lines.removeAll(keepingCapacity: true) }
            return lines
        }
        guard !lines.isEmpty else { return }
        let replies = lines.map { item in
            let (reply, subscribe) = answer(item.line[...])
            return (client: Optional(item.client), bytes: reply, subscribe: subscribe)
        }
        outgoing.withLock { $0 += replies }
        listener?.wake()
    }

    /// Sends an event line to every subscriber (on the hub's thread).
    public func broadcast(_ bytes: [UInt8]) {
        outgoing.withLock { $0.append((client: nil, bytes: bytes, subscribe: false)) }
        listener?.wake()
    }

    // MARK: The serving thread

    private struct Client {
        let id: Int
        let fd: Int32
        var buffer: [UInt8] = []
        var subscribed = false
        /// Requests read and not yet answered.
        var pending = 0
        /// The client shut its side (`printf ... | socat`): it still gets the replies to
        /// what it sent, then the connection closes.
        var readClosed = false
    }

    private func serve() {
        defer { finished.signal() }
        guard let listener else { return }
        var clients: [Client] = []
        defer { for client in clients { close(client.fd) } }
        var nextID = 1
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while !stopping.load(ordering: .relaxed) {
            var fds = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener.wakeFD, events: Int16(POLLIN), revents: 0)]
            // A client that shut its side is not polled (its end of file would wake the
            // poll at once, again and again); it only waits for its replies.
            fds += clients.map { pollfd(fd: $0.readClosed ? -1 : $0.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 {
                listener.drainWakes()
                if stopping.load(ordering: .relaxed) { return }
            }
            var dropped: Set<Int> = []
            for offset in clients.indices where fds[offset + 2].revents != 0 {
                if !readLines(from: &clients[offset], chunk: &chunk) { dropped.insert(clients[offset].id) }
            }
            deliver(to: &clients, dropping: &dropped)
            if !dropped.isEmpty {
                for client in clients where dropped.contains(client.id) {
                    if client.subscribed { subscriberCount.subtract(1, ordering: .relaxed) }
                    close(client.fd)
                }
                clients.removeAll { dropped.contains($0.id) }
            }
            if fds[0].revents != 0, let client = accept(listener, id: nextID, open: clients.count) {
                clients.append(client)
                nextID += 1
            }
        }
    }

    /// A new client, or nil when it was refused (too many, or another user).
    private func accept(_ listener: OwnerOnlyListener, id: Int, open: Int) -> Client? {
        let fd = Glibc.accept(listener.fd, nil, nil)
        guard fd >= 0 else { return nil }
        _ = OwnerOnlyListener.setCloseOnExec(fd)
        guard open < Self.clientsMax, Self.peerIsAllowed(fd) else {
            close(fd)
            return nil
        }
        var timeout = Self.sendTimeout
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return Client(id: id, fd: fd)
    }

    /// The hub's own user, or root (who passes any mode anyway).
    private static func peerIsAllowed(_ fd: Int32) -> Bool {
        var uid: UInt32 = 0
        guard hubrig_peer_uid(fd, &uid) == 0 else { return false }
        return uid == geteuid() || uid == 0
    }

    /// Reads what the client sent and queues its complete lines; false to drop it.
    private func readLines(from state: inout Client, chunk: inout [UInt8]) -> Bool {
        let count = chunk.withUnsafeMutableBytes { read(state.fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EINTR || errno == EAGAIN }
        if count == 0 {
            state.readClosed = true
            return state.pending > 0
        }
        state.buffer.append(contentsOf: chunk[0..<count])
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = state.buffer[start...].firstIndex(of: 0x0A) {
            var line = Array(state.buffer[start..<newline])
            if line.last == 0x0D { line.removeLast() }  // CRLF from socat's crlf or a telnet
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { lines.append(line) }
            start = newline + 1
        }
        state.buffer.removeFirst(start)
        if state.buffer.count > ControlProtocol.lineBytesMax {
            _ = socketSendAll(state.fd, ControlProtocol.reply(
                id: .null, error: ControlError(.tooLarge, "a request line is at most \(ControlProtocol.lineBytesMax) bytes; closing")))
            return false
        }
        if !lines.isEmpty {
            state.pending += lines.count
            let id = state.id
            incoming.withLock { queue in for line in lines { queue.append((client: id, line: line)) } }
            wakeLoop()
        }
        return true
    }

    /// Writes the loop's replies and events to their clients.
    private func deliver(to clients: inout [Client], dropping dropped: inout Set<Int>) {
        let items = outgoing.withLock { items in
            defer { items.removeAll(keepingCapacity: true) }
            return items
        }
        for item in items {
            for index in clients.indices where !dropped.contains(clients[index].id) {
                let client = clients[index]
                if let target = item.client {
                    guard client.id == target else { continue }
                    clients[index].pending -= 1
                    if item.subscribe, !client.subscribed {
                        clients[index].subscribed = true
                        subscriberCount.add(1, ordering: .relaxed)
                    }
                } else if !client.subscribed {
                    continue
                }
                if !socketSendAll(client.fd, item.bytes) { dropped.insert(client.id) }
                if clients[index].readClosed, clients[index].pending == 0 { dropped.insert(client.id) }
            }
        }
    }
}

/// The hub's history, teed to the control socket's subscribers.
public final class ControlEventTee: HistorySink {
    private let base: any HistorySink
    private let server: ControlSocketServer
    private var json = JSONWriter(capacity: 512)

    public init(_ base: any HistorySink, server: ControlSocketServer) {
        self.base = base
        self.server = server
    }

    public func record(_ event: HistoryEvent, at time: Instant) {
        base.record(event, at: time)
        guard server.hasSubscribers else { return }
        json.removeAll()
        event.write(at: time, to: &json)
        server.broadcast(ControlProtocol.event(json.bytes))
    }
}
