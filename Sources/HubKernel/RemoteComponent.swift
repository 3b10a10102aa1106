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

    /// Messages written to the current session that the component has not confirmed yet,
    /// oldest first. A component reads its frames in order, so its answer to a probe confirms
    /// every message written before that probe; when the session ends, the unconfirmed go back
    /// to the front of the queue and are delivered again on the next session (at least once:
    /// a component can see a message twice, never miss one the bus accepted for it).
    private var unconfirmed: [BusDelivery] = []
    /// For each probe written: how many of `unconfirmed` it follows.
    private var probeMarks: [(probe: Int, count: Int)] = []

    override var takesMessages: Bool { super.takesMessages && session != nil }

    override func restore() {
        session = nil
        unconfirmed = []
        probeMarks = []
    }

    override func handle(_ event: HostEvent, node: HubNode, now: Instant) {
        guard case .message(let delivery) = event, let session else { return }
        node.ports.ipc?.send(.message(topic: delivery.topic, from: node.name(of: delivery.from), message: delivery.message), session: session)
        unconfirmed.append(delivery)
    }

    /// A probe was written to the current session.
    func probed(_ probe: Int) { probeMarks.append((probe, unconfirmed.count)) }

    /// The component answered `probe`: what was written before it arrived.
    func answered(_ probe: Int) {
        guard let index = probeMarks.firstIndex(where: { $0.probe == probe }) else { return }
        let confirmed = probeMarks[index].count
        unconfirmed.removeFirst(confirmed)
        probeMarks = probeMarks[(index + 1)...].map { ($0.probe, $0.count - confirmed) }
    }

    /// The session ended: its unconfirmed messages wait again at the front of the queue;
    /// returns the topics the queue's bound pushed out (counted as dropped by the node).
    func sessionEnded() -> [Topic] {
        defer {
            unconfirmed = []
            probeMarks = []
        }
        return requeue(unconfirmed)
    }

    override func fire(_ payload: any Sendable, node: HubNode, now: Instant) {
        preconditionFailure("a remote component sets no timers in the hub")
    }
}
