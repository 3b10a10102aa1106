import HubCore

/// Proves the kit's sensor health (or a component's own) was reported as `state` inside
/// the window: a failing or recovering chip, or a cloud that refuses the hub, is visible,
/// not silent.
final class HealthStateChecker: HistoryChecker {
    private let context: CheckContext
    private let device: HealthSubject
    private let state: HealthState
    private let window: CheckWindow
    private var hit: (time: Instant, report: HealthReport)?
    /// The first few reports, for the evidence of a failure.
    private var seen: [String] = []

    init(_ context: CheckContext, subject: HealthSubject, state: HealthState, after: Duration, within: Duration) {
        self.context = context
        self.device = subject
        self.state = state
        window = context.window(after: after, within: within)
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard hit == nil, case .busPublish(_, _, .health(let report)) = event else { return }
        switch device {
        case .device(let id): guard report.device == id else { return }
        case .component(let name): guard report.device == nil, report.component == name else { return }
        }
        if seen.count < 6 { seen.append("\(report.state.rawValue)@\(context.offset(time))") }
        if window.contains(time) && report.state == state { hit = (time, report) }
    }

    var violationAt: Instant? { window.to }

    func verdict() -> (passed: Bool, evidence: String) {
        if let hit { return (true, "\(device) \(state.rawValue) at \(context.offset(hit.time)): \(hit.report.detail)") }
        let reports = seen.isEmpty ? "none" : seen.joined(separator: ", ")
        return (false, "\(device) not \(state.rawValue) within \(window.text); reports: \(reports)")
    }
}
