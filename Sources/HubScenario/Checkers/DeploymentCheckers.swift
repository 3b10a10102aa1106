import HubCore
import HubKernel

/// The statuses the hub published for one deployment, from the `bus.publish` events on
/// `hbs/deployments/status`.
private func deploymentStatus(_ event: HistoryEvent, id: String) -> DeploymentStatus? {
    guard case .busPublish(let topic, _, .deployment(let status)) = event, topic == Topic.deploymentStatus, status.deploymentID == id else { return nil }
    return status
}

/// Proves a deployment ended in the expected state (committed, rolled back or rejected)
/// within a bound of the cloud publishing it, and that the cloud received a status after
/// that end — the product's rollout decides from those.
final class DeploymentOutcomeChecker: HistoryChecker {
    private let context: CheckContext
    private let id: String
    private let state: DeploymentStatus.State
    private let within: Duration
    private var publishedAt: Instant?
    private var end: (status: DeploymentStatus, at: Instant)?
    private var cloudHeardAfterEnd = false

    init(_ context: CheckContext, id: String, state: DeploymentStatus.State, within: Duration) {
        self.context = context
        self.id = id
        self.state = state
        self.within = within
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        if case .faultStart(let name) = event, name == "deploy.publish.\(id)" { publishedAt = time }
        if end == nil, let status = deploymentStatus(event, id: id), status.state.isTerminal { end = (status, time) }
        if let end, time >= end.at, case .cloudReceive(let topic, _) = event, topic.name.hasSuffix("/deployments/status") { cloudHeardAfterEnd = true }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let publishedAt else { return (false, "the cloud never published \(id)") }
        guard let end else { return (false, "\(id) never ended (published at \(context.offset(publishedAt)))") }
        let took = end.at - publishedAt
        let what = "\(id) \(end.status.state.rawValue) at step \(end.status.step) after \(DurationText.format(took)): \(end.status.detail)"
        guard end.status.state == state else { return (false, what) }
        guard took <= within else { return (false, "\(what) (limit \(DurationText.format(within)))") }
        guard cloudHeardAfterEnd else { return (false, "\(what), but the cloud received no status after it") }
        return (true, what)
    }
}

/// Proves a deployment that failed its health window was rolled back, and measures the
/// rollback: from the first failure the agent saw to the previous configuration running again.
final class RollbackTimeChecker: HistoryChecker {
    private let context: CheckContext
    private let id: String
    private let within: Duration
    private var failedAt: Instant?
    private var failure = ""
    private var rolledBackAt: Instant?

    init(_ context: CheckContext, id: String, within: Duration) {
        self.context = context
        self.id = id
        self.within = within
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard let status = deploymentStatus(event, id: id) else { return }
        if status.step == "health-window", failedAt == nil {
            failedAt = time
            failure = status.detail
        }
        if status.state == .rolledBack, rolledBackAt == nil { rolledBackAt = time }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let failedAt else { return (false, "\(id) never failed its health window, so no rollback was tested") }
        guard let rolledBackAt else { return (false, "\(id) failed at \(context.offset(failedAt)) (\(failure)) and was never rolled back") }
        let took = rolledBackAt - failedAt
        let what = "\(id) failed at \(context.offset(failedAt)) and ran the previous configuration again \(DurationText.format(took)) later"
        return (took <= within, took <= within ? what : "\(what) (limit \(DurationText.format(within)))")
    }
}

/// Proves which model package scores a device at the end: the model named by its last
/// inference result.
final class ModelAtEndChecker: HistoryChecker {
    private let device: DeviceID
    private let identifier: String
    private var last: String?
    private var changes: [String] = []

    init(_ context: CheckContext, device: DeviceID, identifier: String) {
        self.device = device
        self.identifier = identifier
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .busPublish(_, _, .inference(let result)) where result.device == device: last = result.model
        case .modelChange(let changed, let from, let to) where changed == device: changes.append("\(from) → \(to)")
        default: break
        }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let last else { return (false, "\(device) was never scored") }
        let history = changes.isEmpty ? "no model change" : "changes: \(changes.joined(separator: ", "))"
        return (last == identifier, "\(device) is scored by \(last) at the end (\(history))")
    }
}
