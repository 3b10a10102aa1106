import HubCore

/// Proves a message on one of the hub's cloud topics reached the cloud inside the window:
/// an alert raised during an outage arrives within minutes of the reconnect.
final class DeliveredToCloudChecker: HistoryChecker {
    private let context: CheckContext
    private let topic: String
    private let window: CheckWindow
    private var hit: (time: Instant, id: String)?
    private var count = 0

    init(_ context: CheckContext, topic: String, after: Duration, within: Duration) {
        self.context = context
        self.topic = "/" + topic
        window = context.window(after: after, within: within)
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard hit == nil else { return }
        let received: (Topic, String)? = switch event {
        case .cloudReceive(let topic, let id): (topic, id)
        case .cloudReceiveBatch(let topic, let id, _): (topic, id)
        default: nil
        }
        guard let (topic, id) = received, topic.name.hasSuffix(self.topic) else { return }
        count += 1
        if window.contains(time) { hit = (time, id) }
    }

    var violationAt: Instant? { window.to }

    func verdict() -> (passed: Bool, evidence: String) {
        if let hit { return (true, "\(hit.id) reached the cloud at \(context.offset(hit.time))") }
        return (false, "nothing on \(topic.dropFirst()) reached the cloud within \(window.text) (\(count) before it)")
    }
}

/// Judges the totals a simulated run reports at its end (`sim.end`): outbox depth, bytes
/// sent to the cloud per day, refused connection attempts.
final class RunEndChecker: HistoryChecker {
    enum Limit {
        case outboxDepthMax(Int)
        case cloudBytesPerDayMax(Int)
        case cloudAttemptsMax(Int)
        case kitRejectedMin(Int)
    }

    private let context: CheckContext
    private let limit: Limit
    private var end: SimulationEndReport?

    init(_ context: CheckContext, _ limit: Limit) {
        self.context = context
        self.limit = limit
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        if case .simulationEnd(let report) = event { end = report }
    }

    var violationAt: Instant? { context.end }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let end else { return (false, "the run has no end report (sim.end): nothing to judge") }
        switch limit {
        case .outboxDepthMax(let maximum):
            return (end.outboxDepthMax <= maximum, "the outbox held at most \(end.outboxDepthMax) messages (limit \(maximum))")
        case .cloudBytesPerDayMax(let maximum):
            let days = (context.end - context.start).secondsValue / 86_400
            let perDay = Int((Double(end.cloudBytes) / days).rounded())
            return (perDay <= maximum, "\(end.cloudBytes) bytes in \(DurationText.format(context.end - context.start)): \(perDay) per day (limit \(maximum))")
        case .cloudAttemptsMax(let maximum):
            return (end.cloudRefusedAttempts <= maximum, "\(end.cloudRefusedAttempts) connection attempts refused (limit \(maximum))")
        case .kitRejectedMin(let minimum):
            return (end.kitRejected >= minimum, "the kit bridge rejected \(end.kitRejected) kit messages (at least \(minimum) expected)")
        }
    }
}
