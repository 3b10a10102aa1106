/// One step of a deployment as the hub reports it: on the bus as `hbs/deployments/status`,
/// and through the uplink to the cloud on `hbs/<thing>/deployments/status` at once.
///
/// Payload: `{"timestamp", "deployment_id", "step", "state", "detail"}`. A deployment ends
/// in exactly one terminal state — `committed`, `rolled-back` or `rejected` — so a fleet's
/// rollout counts successes and failures from these alone.
public struct DeploymentStatus: Equatable, Sendable {
    public enum State: String, Sendable, CaseIterable {
        case inProgress = "in-progress"
        /// The new configuration runs and passed its health window.
        case committed
        /// The new configuration was started and failed (or a power loss interrupted it); the old one runs again.
        case rolledBack = "rolled-back"
        /// Refused before anything stopped: a bad document, missing prerequisites, a bad artifact or model.
        case rejected

        public var isTerminal: Bool { self != .inProgress }
        /// Rolled back and rejected are failures; committed is the one success.
        public var isFailure: Bool { self == .rolledBack || self == .rejected }
    }

    public var timestamp: Instant
    public var deploymentID: String
    /// `received`, `deferred`, `prerequisites`, `download`, `verify`, `validate`, `apply`,
    /// `health-window`, `commit`, `rollback` (docs/deployments.md).
    public var step: String
    public var state: State
    public var detail: String

    public init(timestamp: Instant, deploymentID: String, step: String, state: State, detail: String) {
        self.timestamp = timestamp
        self.deploymentID = deploymentID
        self.step = step
        self.state = state
        self.detail = detail
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("timestamp"); json.timestamp(timestamp)
        json.field("deployment_id", deploymentID)
        json.field("step", step)
        json.field("state", state.rawValue)
        json.field("detail", detail)
        json.endObject()
    }

    public static func decode(_ data: [UInt8]) throws(PayloadError) -> DeploymentStatus {
        try decode(try PayloadObject(data, type: "deployment status"))
    }

    static func decode(_ object: PayloadObject) throws(PayloadError) -> DeploymentStatus {
        try object.expectOnly(["timestamp", "deployment_id", "step", "state", "detail"])
        guard let state = State(rawValue: try object.string("state")) else {
            throw PayloadError(type: "deployment status", field: "state", reason: "must be in-progress, committed, rolled-back or rejected")
        }
        return DeploymentStatus(timestamp: try object.instant("timestamp"), deploymentID: try object.string("deployment_id"),
                                step: try object.string("step"), state: state, detail: try object.string("detail"))
    }
}
