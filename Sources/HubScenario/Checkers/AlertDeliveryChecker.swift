import HubCore

/// Proves every alert the hub raised reached the cloud within a bound of being raised —
/// alerts go at once, whatever the telemetry batching (IOTPERF 10) — and that there was
/// an alert to deliver.
///
/// The uplink forwards alerts in the order the bus carried them, each with a message id;
/// the cloud may receive one twice (at-least-once), so receipts are de-duplicated on the
/// id and matched to the raised alerts in order. Memory follows the alerts in flight and
/// the ids seen, which are few: alerts are rare by design.
final class AlertDeliveryChecker: HistoryChecker {
    private let context: CheckContext
    private let within: Duration
    private var pending: [Instant] = []
    private var head = 0
    private var seen: Set<String> = []
    private var raised = 0
    private var slowest: Duration = .zero
    private var late: (raised: Instant, took: Duration?)?

    init(_ context: CheckContext, within: Duration) {
        self.context = context
        self.within = within
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .busPublish(_, _, .alert):
            raised += 1
            pending.append(time)
        case .cloudReceive(let topic, let id) where topic.name.hasSuffix("/alerts"):
            guard seen.insert(id).inserted, head < pending.count else { return }
            let took = time - pending[head]
            slowest = max(slowest, took)
            if took > within, late == nil { late = (pending[head], took) }
            head += 1
        default:
            break
        }
    }

    var violationAt: Instant? { late?.raised }

    func verdict() -> (passed: Bool, evidence: String) {
        guard raised > 0 else { return (false, "no alert was raised, so none could be delivered: nothing to check") }
        if late == nil, head < pending.count, context.end - pending[head] > within { late = (pending[head], nil) }
        if let late {
            let what = late.took.map { "reached the cloud after \(DurationText.format($0))" } ?? "never reached the cloud"
            return (false, "the alert raised at \(context.offset(late.raised)) \(what) (limit \(DurationText.format(within)))")
        }
        let waiting = pending.count - head
        return (true, "\(head) of \(raised) alerts reached the cloud, the slowest after \(DurationText.format(slowest))"
            + (waiting > 0 ? "; \(waiting) raised in the last \(DurationText.format(within)) still on their way" : ""))
    }
}

/// Counts the messages the cloud received on one of the hub's topics (a telemetry batch
/// is one message): the bill is per message, so telemetry must go in batches.
final class CloudMessagesChecker: HistoryChecker {
    private let topic: String
    private let maximum: Int
    private var count = 0
    private var carried = 0

    init(topic: String, maximum: Int) {
        self.topic = "/" + topic
        self.maximum = maximum
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .cloudReceive(let topic, _) where topic.name.hasSuffix(self.topic):
            count += 1
            carried += 1
        case .cloudReceiveBatch(let topic, _, let ids) where topic.name.hasSuffix(self.topic):
            count += 1
            carried += ids.count
        default:
            break
        }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        (count <= maximum, "the cloud received \(count) message(s) on \(topic.dropFirst()) carrying \(carried) (limit \(maximum))")
    }
}
