import HubCore

/// Proves the device was declared anomalous inside `[after, after + within]`: a failure
/// detected, and detected in time.
final class AlertWithinChecker: HistoryChecker {
    private let context: CheckContext
    private let device: DeviceID
    private let from: Instant
    private let to: Instant
    private var hit: Instant?
    private var first: Instant?

    init(_ context: CheckContext, device: DeviceID, after: Duration, within: Duration) {
        self.context = context
        self.device = device
        from = context.start + after
        to = context.start + after + within
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard hit == nil, let alert = event.anomalyAlert, alert.device == device else { return }
        if first == nil { first = time }
        if time >= from && time <= to { hit = time }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        if let hit { return (true, "\(device) anomalous at \(context.offset(hit)), \(DurationText.format(hit - from)) into the window") }
        if let first { return (false, "\(device) first anomalous at \(context.offset(first)), outside \(context.offset(from))…\(context.offset(to))") }
        return (false, "\(device) never declared anomalous")
    }
}
