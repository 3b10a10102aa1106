import HubCore

/// A component in a process of its own, behind the IPC bus server: to the bus it is a
/// subscriber like any other, with the same recipe checks, rate and queue.
///
/// It takes messages only while its process is connected (`session`); in between — the
/// process restarting, or the bus server's connection lost — the bus queues for it as for
/// an in-process component that is down, and the queue goes over the new session in order.
/// Its subscriptions come over the wire (`subscribe` frames), so it is subscribed when it
/// asks and the recipe grants, not at `add`.
final class RemoteComponent: HostedComponent {
    var session: Int?
    /// Filters subscribed so far (a reconnecting component asks again; once is enough).
    var filters: [TopicFilter] = []

    override var takesMessages: Bool { super.takesMessages && session != nil }

    override func restore() { session = nil }

    override func handle(_ event: HostEvent, node: HubNode, now: Instant) {
        guard case .message(let delivery) = event, let session else { return }
        node.ports.ipc?.send(.message(topic: delivery.topic, from: node.name(of: delivery.from), message: delivery.message), session: session)
    }

    override func fire(_ payload: any Sendable, node: HubNode, now: Instant) {
        preconditionFailure("a remote component sets no timers in the hub")
    }
}
