import HubCore

/// Proves no device (or not the one named) was ever declared anomalous: a fault-free day,
/// or a sensor fault, must not look like a failing appliance.
final class NoAlertChecker: HistoryChecker {
    private let context: CheckContext
    private let device: DeviceID?
    private var count = 0
    private var first: (time: Instant, alert: Alert)?

    init(_ context: CheckContext, device: DeviceID?) {
        self.context = context
        self.device = device
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard let alert = event.anomalyAlert, device == nil || alert.device == device else { return }
        count += 1
        if first == nil { first = (time, alert) }
    }

    var violationAt: Instant? { first?.time }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let first else { return (true, "no anomaly alerts") }
        return (false, "\(count) anomaly alert(s); first: \(first.alert.device) at \(context.offset(first.time)), score \(first.alert.score)")
    }
}
