import HubCore

/// Runs one hub component in a process of its own: the component's value unchanged, its
/// bus over an `IPCClient` instead of the hub's in-process router.
///
/// This is what makes "any built-in component can run inside the hub process or as its own
/// process, with the same code" true: the component still answers `handle(event, now)`
/// with actions; here a `publish` goes to the client (held while the bus server is away),
/// a message the client delivers becomes the component's `.message`, and timers, port
/// requests and records go to the shell around it. Sans-I/O like the client: the shell
/// connects, moves frames and fires timers.
public struct ComponentOverIPC<C: HubComponent> {
    public private(set) var component: C
    public private(set) var client: IPCClient

    /// What the shell must do.
    public enum Action: Sendable {
        case client(IPCClient.Action)
        case schedule(C.Timer, at: Instant)
        case request(PortRequest)
        case record(HistoryEvent)
    }

    public init(component: C, backoff: ReconnectBackoff, bufferCountMax: Int = 10_000) {
        self.component = component
        client = IPCClient(component: component.name, subscriptions: component.subscriptions, bufferCountMax: bufferCountMax,
                           backoff: backoff)
    }

    /// The process starts: the component's own start (it may publish at once; the client holds that).
    public mutating func start(now: Instant) -> [Action] { run(.start, now: now) }

    public mutating func connected(now: Instant) -> [Action] { client.connected(now: now).map(Action.client) }

    public mutating func disconnected(now: Instant, reason: String) -> [Action] {
        client.disconnected(now: now, reason: reason).map(Action.client)
    }

    /// A frame from the bus server: protocol work goes back to the shell, bus messages to the component.
    public mutating func received(_ frame: IPCFrame, now: Instant) -> [Action] {
        var actions: [Action] = []
        for action in client.received(frame, now: now) {
            if case .deliver(let topic, _, let message) = action {
                actions += run(.message(topic, message), now: now)
            } else {
                actions.append(.client(action))
            }
        }
        return actions
    }

    public mutating func timer(_ timer: C.Timer, now: Instant) -> [Action] { run(.timer(timer), now: now) }

    /// The answer to a port request the shell carried out for the component.
    public mutating func completion(_ completion: PortCompletion, now: Instant) -> [Action] { run(.completion(completion), now: now) }

    /// Carries out the port requests among `actions` against `ports` and hands the component
    /// their completions (drivers answer within the call), until only the shell's own work is
    /// left — frames, connection attempts, logs, timers, records — in the order it arose. One
    /// place for it, so every shell (the live process, the simulator's) runs requests alike.
    public mutating func performingRequests(_ actions: [Action], with ports: HubPorts, now: Instant) -> [Action] {
        var pending = actions
        var next = 0
        var rest: [Action] = []
        while next < pending.count {
            let action = pending[next]
            next += 1
            guard case .request(let request) = action else {
                rest.append(action)
                continue
            }
            if let completion = ports.perform(request, now: now) { pending += self.completion(completion, now: now) }
        }
        return rest
    }

    private mutating func run(_ event: ComponentEvent<C.Timer>, now: Instant) -> [Action] {
        var actions: [Action] = []
        for action in component.handle(event, now: now) {
            switch action {
            case .publish(let topic, let message): actions += client.publish(message, on: topic, now: now).map(Action.client)
            case .schedule(let timer, let at): actions.append(.schedule(timer, at: at))
            case .record(let event): actions.append(.record(event))
            case .request(let request): actions.append(.request(request))
            }
        }
        return actions
    }
}
