import HubCore

/// The component side of the IPC protocol as a state machine: it greets the hub's bus
/// server, subscribes, publishes, answers probes, and survives the server going away.
///
/// IPC loss is the point: when the connection drops (the server crashed, restarted or
/// was killed for stalling), publishes wait in a bounded buffer, oldest dropped and
/// counted when it is full; publishes sent but not acknowledged go back to the front of
/// that buffer (delivery is at least once); after the next `welcome` the client
/// resubscribes every filter and flushes the buffer in order. It does no I/O: the shell
/// connects, writes the frames it is given and feeds back what it reads, with the time.
public struct IPCClient: Sendable {
    public enum State: Equatable, Sendable {
        case disconnected
        /// Connected, `hello` sent, waiting for `welcome`.
        case greeting
        case ready(session: Int)
    }

    /// What the shell must do.
    public enum Action: Equatable, Sendable {
        case send(IPCFrame)
        /// Connect again at this instant (after a drop, with backoff).
        case connect(at: Instant)
        /// A bus message for the component.
        case deliver(Topic, from: String, BusMessage)
        /// Something for the component's log: refusals, drops, protocol trouble.
        case log(String)
        /// The server broke the protocol or refused the hello: close the connection.
        case close(reason: String)
    }

    public let component: String
    public private(set) var subscriptions: [TopicFilter]
    public private(set) var state: State = .disconnected
    /// Publishes waiting for a connection, oldest first.
    public private(set) var buffered: [(Topic, BusMessage)] = []
    /// Publishes sent and not yet acknowledged, by request id, in the order sent.
    private var unacknowledged: [(id: Int, topic: Topic, message: BusMessage)] = []
    private var nextID = 0
    private var backoff: ReconnectBackoff

    public let bufferCountMax: Int
    /// Publishes on the wire unacknowledged at most (more wait in the buffer).
    public let windowCountMax: Int
    /// Publishes dropped because the buffer was full (oldest first): counted, never silent.
    public private(set) var droppedCount = 0
    /// Requests the server refused.
    public private(set) var refusedCount = 0
    /// Publishes the component handed over (each once, however often it went on the wire).
    public private(set) var publishedCount = 0
    /// Publishes not yet acknowledged: buffered, or on the wire. With `droppedCount` and what
    /// the bus recorded, every publish is accounted for.
    public var heldCount: Int { buffered.count + unacknowledged.count }

    public init(component: String, subscriptions: [TopicFilter], bufferCountMax: Int = 10_000, windowCountMax: Int = 100,
                backoff: ReconnectBackoff) {
        precondition(ComponentRecipe.isName(component), "component name \(component)")
        precondition(bufferCountMax > 0 && windowCountMax > 0)
        self.component = component
        self.subscriptions = subscriptions
        self.bufferCountMax = bufferCountMax
        self.windowCountMax = windowCountMax
        self.backoff = backoff
    }

    /// The shell connected: greet.
    public mutating func connected(now: Instant) -> [Action] {
        state = .greeting
        return [.send(.hello(component: component, versions: IPCFrame.versions))]
    }

    /// The connection is gone (or could not be made): keep everything, try again later.
    public mutating func disconnected(now: Instant, reason: String) -> [Action] {
        let wasReady = if case .ready = state { true } else { false }
        state = .disconnected
        // What the server did not acknowledge may not have reached anyone: it goes first
        // when the connection is back.
        let resend = unacknowledged.map { ($0.topic, $0.message) }
        unacknowledged.removeAll()
        buffered.insert(contentsOf: resend, at: 0)
        var actions: [Action] = [.log("IPC connection lost: \(reason); \(buffered.count) publishes held")]
        actions += trimBuffer()
        if wasReady { backoff.reset() }
        actions.append(.connect(at: now + backoff.nextDelay()))
        return actions
    }

    /// A frame from the server.
    public mutating func received(_ frame: IPCFrame, now: Instant) -> [Action] {
        switch (state, frame) {
        case (.greeting, .welcome(let version, let session)):
            guard IPCFrame.versions.contains(version) else {
                return [.close(reason: "the server chose protocol version \(version), which this client does not speak")]
            }
            state = .ready(session: session)
            var actions = subscriptions.map { filter -> Action in .send(.subscribe(id: takeID(), filter: filter)) }
            actions += flush()
            return actions
        case (.greeting, .refused(nil, let reason)):
            return [.close(reason: "the hub refused \(component): \(reason)")]
        case (.ready, .ack(let id)):
            unacknowledged.removeAll { $0.id == id }
            return flush()
        case (.ready, .refused(let id?, let reason)):
            refusedCount += 1
            let what = unacknowledged.first { $0.id == id }.map { "publish on \($0.topic)" } ?? "request \(id)"
            unacknowledged.removeAll { $0.id == id }
            return [.log("the hub refused \(what): \(reason)")] + flush()
        case (.ready, .message(let topic, let from, let message)):
            return [.deliver(topic, from: from, message)]
        case (.ready, .probe(let probe)), (.greeting, .probe(let probe)):
            return [.send(.pong(probe: probe))]
        default:
            return [.close(reason: "unexpected \(frame.type) frame while \(state)")]
        }
    }

    /// The component publishes: at once if connected and the window has room, else held.
    public mutating func publish(_ message: BusMessage, on topic: Topic, now: Instant) -> [Action] {
        publishedCount += 1
        buffered.append((topic, message))
        let dropped = trimBuffer()
        return dropped + flush()
    }

    /// Subscribes now if connected; remembered for every later connection either way.
    public mutating func subscribe(_ filter: TopicFilter) -> [Action] {
        guard !subscriptions.contains(filter) else { return [] }
        subscriptions.append(filter)
        guard case .ready = state else { return [] }
        return [.send(.subscribe(id: takeID(), filter: filter))]
    }

    /// Sends held publishes in order while the window has room.
    private mutating func flush() -> [Action] {
        guard case .ready = state else { return [] }
        var actions: [Action] = []
        var taken = 0
        while taken < buffered.count, unacknowledged.count < windowCountMax {
            let (topic, message) = buffered[taken]
            taken += 1
            let id = takeID()
            unacknowledged.append((id, topic, message))
            actions.append(.send(.publish(id: id, topic: topic, message: message)))
        }
        buffered.removeFirst(taken)
        return actions
    }

    private mutating func trimBuffer() -> [Action] {
        let excess = buffered.count - bufferCountMax
        guard excess > 0 else { return [] }
        buffered.removeFirst(excess)
        droppedCount += excess
        return [.log("IPC buffer full (\(bufferCountMax)): dropped the \(excess) oldest publishes, \(droppedCount) in all")]
    }

    private mutating func takeID() -> Int {
        defer { nextID = nextID == IPCFrame.idRange.upperBound ? 0 : nextID + 1 }
        return nextID
    }
}
