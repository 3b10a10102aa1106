import HubCore

/// The uplink's timers.
public enum UplinkTimer: Equatable, Sendable {
    /// Send again the messages whose delivery failed.
    case retry
}

/// Forwards readings, alerts and health to the cloud, each with a stable message ID, and
/// keeps every message until the cloud acknowledges it.
///
/// IDs are `<thing>-<sequence>`, numbered in the order messages are handed over, so the
/// cloud can de-duplicate at-least-once delivery. Each cloud message is an envelope:
/// `{"message_id": ..., "readings": [...]}` for telemetry, `{"message_id": ..., "alert": {...}}`,
/// `{"message_id": ..., "health": {...}}`.
///
/// A message stays pending until its `acknowledged` completion arrives. One that `failed`
/// is sent again, with the same ID, on the retry timer (after `retryBackoff`, doubling per
/// failed round up to `retryBackoffMax`, back to the start after an acknowledgement); while
/// the connection is down nothing is sent, and when it comes back every pending message
/// not yet acknowledged goes again. Pending messages live in memory, at most
/// `pendingCountMax` (the oldest beyond that is dropped and reported, never silently); the
/// durable outbox replaces this memory with a file.
public struct UplinkComponent {
    public enum Action: Equatable, Sendable {
        case send(CloudMessage)
        case schedule(UplinkTimer, at: Instant)
        case record(HistoryEvent)
    }

    public let thing: String
    public let retryBackoff: Duration
    public let retryBackoffMax: Duration
    public let pendingCountMax: Int
    private var sequence = 0
    private var json = JSONWriter(capacity: 512)
    private let telemetry: Topic
    private let alerts: Topic
    private let health: Topic
    /// Unacknowledged messages in send order; `head` is the oldest still pending (acknowledged
    /// ones ahead of it are dropped in bulk, so an ack in order costs O(1)).
    private var pending: [Pending] = []
    private var head = 0
    private var connected = true
    private var retryScheduled = false
    private var backoff: Duration

    private struct Pending {
        var message: CloudMessage
        var acknowledged = false
        /// Failed, or sent while offline: to be sent again.
        var needsResend = false
    }

    public init(thing: String, retryBackoff: Duration = .seconds(1), retryBackoffMax: Duration = .seconds(60),
                pendingCountMax: Int = 100_000) {
        precondition(retryBackoff > .zero && retryBackoffMax >= retryBackoff && pendingCountMax > 0)
        self.thing = thing
        self.retryBackoff = retryBackoff
        self.retryBackoffMax = retryBackoffMax
        self.pendingCountMax = pendingCountMax
        backoff = retryBackoff
        telemetry = .cloudTelemetry(thing)
        alerts = .cloudAlerts(thing)
        health = .cloudHealth(thing)
    }

    /// Messages handed to the cloud and not yet acknowledged.
    public var unacknowledgedCount: Int { pending[head...].reduce(0) { $0 + ($1.acknowledged ? 0 : 1) } }

    public mutating func handle(_ message: BusMessage, now: Instant) -> [Action] {
        let topic: Topic
        let key: String
        switch message {
        case .reading: topic = telemetry; key = "readings"
        case .alert: topic = alerts; key = "alert"
        case .health: topic = health; key = "health"
        case .inference: return []
        }
        sequence += 1
        let id = thing + "-" + String(sequence)
        json.removeAll()
        json.beginObject()
        json.field("message_id", id)
        json.key(key)
        if case .reading = message { json.beginArray() }
        message.write(to: &json)
        if case .reading = message { json.endArray() }
        json.endObject()
        let cloudMessage = CloudMessage(topic: topic, messageID: id, payload: json.bytes)
        var actions: [Action] = []
        if pending.count - head >= pendingCountMax {
            let dropped = pending[head].message.messageID
            head += 1
            actions.append(.record(.componentError(component: "uplink",
                                                   error: "\(pendingCountMax) messages unacknowledged: dropped the oldest, \(dropped)")))
        }
        pending.append(Pending(message: cloudMessage, needsResend: !connected))
        compact()
        if connected { actions.append(.send(cloudMessage)) }
        return actions
    }

    public mutating func handle(_ completion: CloudCompletion, now: Instant) -> [Action] {
        switch completion {
        case .acknowledged(let id):
            guard let index = index(of: id) else { return [] }
            pending[index].acknowledged = true
            backoff = retryBackoff
            while head < pending.count, pending[head].acknowledged { head += 1 }
            compact()
            return []
        case .failed(let id, let reason):
            guard let index = index(of: id), !pending[index].acknowledged else { return [] }
            pending[index].needsResend = true
            return [.record(.componentError(component: "uplink", error: "\(id) not delivered: \(reason); will resend"))] + scheduleRetry(now: now)
        case .connection(let up, let reason):
            guard up != connected else { return [] }
            connected = up
            let event = HistoryEvent.componentError(component: "uplink", error: up ? "cloud connection up: \(reason)" : "cloud connection down: \(reason)")
            guard up else { return [.record(event)] }
            // Anything sent before the drop may not have arrived: send every pending message again.
            for i in head..<pending.count where !pending[i].acknowledged { pending[i].needsResend = true }
            return [.record(event)] + resend()
        }
    }

    public mutating func timer(_ timer: UplinkTimer, now: Instant) -> [Action] {
        switch timer {
        case .retry:
            retryScheduled = false
            guard connected else { return [] }
            let actions = resend()
            backoff = min(backoff * 2, retryBackoffMax)
            return actions
        }
    }

    private mutating func resend() -> [Action] {
        var actions: [Action] = []
        for i in head..<pending.count where pending[i].needsResend && !pending[i].acknowledged {
            pending[i].needsResend = false
            actions.append(.send(pending[i].message))
        }
        return actions
    }

    private mutating func scheduleRetry(now: Instant) -> [Action] {
        guard !retryScheduled else { return [] }
        retryScheduled = true
        return [.schedule(.retry, at: now + backoff)]
    }

    /// Acknowledgements usually arrive in order, so the search starts at the oldest.
    private func index(of id: String) -> Int? {
        var i = head
        while i < pending.count {
            if pending[i].message.messageID == id { return i }
            i += 1
        }
        return nil
    }

    /// Drops the acknowledged prefix once it is as large as what is left, so memory follows
    /// the pending count and the copying costs O(1) per message on average.
    private mutating func compact() {
        guard head > 0, head >= pending.count - head else { return }
        pending.removeFirst(head)
        head = 0
    }
}

extension UplinkComponent: HubComponent {
    public var name: String { "uplink" }
    public var subscriptions: [TopicFilter] { ["dt/local/sensor/+", "hbs/alerts/+", "hbs/health/#"] }
    public var publications: [TopicFilter] { [] }

    public mutating func handle(_ event: ComponentEvent<UplinkTimer>, now: Instant) -> [ComponentAction<UplinkTimer>] {
        let actions: [Action]
        switch event {
        case .message(_, let message): actions = handle(message, now: now)
        case .timer(let due): actions = timer(due, now: now)
        case .completion(.cloud(let completion)): actions = handle(completion, now: now)
        case .start, .completion, .input, .command: return []
        }
        var mapped: [ComponentAction<UplinkTimer>] = []
        for action in actions {
            switch action {
            case .send(let message):
                mapped.append(.record(.cloudSend(topic: message.topic, messageID: message.messageID)))
                mapped.append(.request(.sendCloud(message)))
            case .schedule(let timer, let at): mapped.append(.schedule(timer, at: at))
            case .record(let event): mapped.append(.record(event))
            }
        }
        return mapped
    }
}
