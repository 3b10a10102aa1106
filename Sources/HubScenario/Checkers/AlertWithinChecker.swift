import HubCore

/// Proves the device was declared anomalous inside `[after, after + within]`: a failure
/// detected, and detected in time.
final class AlertWithinChecker: HistoryChecker {
    private let context: CheckContext
    private let device: DeviceID
    private let window: CheckWindow
    private var hit: Instant?
    private var first: Instant?

    init(_ context: CheckContext, device: DeviceID, after: Duration, within: Duration) {
        self.context = context
        self.device = device
        window = context.window(after: after, within: within)
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard hit == nil, let alert = event.anomalyAlert, alert.device == device else { return }
        if first == nil { first = time }
        if window.contains(time) { hit = time }
    }

    var violationAt: Instant? { window.to }

    func verdict() -> (passed: Bool, evidence: String) {
        if let hit { return (true, "\(device) anomalous at \(context.offset(hit)), \(DurationText.format(hit - window.from)) into the window") }
        if let first { return (false, "\(device) first anomalous at \(context.offset(first)), outside \(window.text)") }
        return (false, "\(device) never declared anomalous")
    }
}
