import Foundation
import HubCore

extension DeploymentStatus {
    /// The status a payload from a hub holds, or nil when it is not one: the cloud ignores
    /// what it cannot read (the rollout controller decides on statuses alone, so the same
    /// controller can judge simulated hubs and statuses brought back from real ones).
    /// The cloud message is the uplink's envelope, `{"message_id", "deployment": {status}}`;
    /// a bare status object is read too.
    public static func parse(_ payload: [UInt8]) -> DeploymentStatus? {
        guard case .object(let root)? = try? JSONValue.parse(payload) else { return nil }
        guard let inner = root["deployment"] else { return try? decode(payload) }
        var json = JSONWriter()
        inner.write(to: &json)
        return try? decode(json.bytes)
    }
}

/// The rollout of one deployment over a fleet, as a synchronous sans-I/O state machine.
///
/// Why a state machine: the cloud's decisions (who gets the deployment when, when to stop,
/// who is rolled back) are the part of a fleet rollout worth testing, and as
/// `handle(event, now) -> [Action]` they are tested with synthetic statuses at
/// hand-picked instants, while the fleet runner feeds it simulated hubs' real statuses.
///
/// The plan: a canary group, then waves, each watched for `watch` (or, with
/// `untilTerminal`, until every hub of the wave reported a terminal status, `watch` being
/// then the timeout). After each wave the **failure ratio over every hub targeted so far**
/// is compared with the threshold (as AWS IoT Jobs' abort criteria count over the
/// executions of the whole job): failures are hubs whose latest status is rolled-back or
/// rejected, and hubs with no terminal status when their wave's watch ended (timed out).
/// Counting over all targeted hubs rather than the last wave alone keeps a small canary's
/// one failure from reading as a rate, and a late failure of an earlier wave still counts.
/// Above the threshold the rollout stops: no further wave, and every hub that committed
/// gets the previous configuration as a new deployment (also a hub that commits later).
public struct RolloutController: Sendable {
    /// Who gets the deployment when, and when to stop.
    public struct Plan: Equatable, Sendable {
        public var deploymentID: String
        public var rollbackID: String
        /// Hubs in the fleet (ids `0..<hubs`); waves take them in id order.
        public var hubs: Int
        /// Sizes of the canary group (first) and each wave after it.
        public var groups: [Int]
        public var watch: Duration
        /// End a wave's watch as soon as all its hubs reported a terminal status.
        public var untilTerminal: Bool
        /// Stop when the failure ratio is above this (0.10 in the product's review).
        public var threshold: Double

        public static let defaultThreshold = 0.10

        public init(deploymentID: String, rollbackID: String? = nil, hubs: Int, groups: [Int], watch: Duration,
                    untilTerminal: Bool = true, threshold: Double = defaultThreshold) {
            precondition(groups.allSatisfy { $0 >= 1 } && groups.reduce(0, +) <= hubs, "groups of hubs within the fleet")
            precondition(watch > .zero && (0...1).contains(threshold))
            self.deploymentID = deploymentID
            self.rollbackID = rollbackID ?? deploymentID + "-rollback"
            self.hubs = hubs
            self.groups = groups
            self.watch = watch
            self.untilTerminal = untilTerminal
            self.threshold = threshold
        }
    }

    public enum Event: Equatable, Sendable {
        /// The rollout begins (the canary goes out).
        case start
        case status(hub: Int, DeploymentStatus)
        case timer(Timer)
    }

    public enum Timer: Equatable, Sendable {
        /// The watch of group `index` (0 the canary) ends.
        case watchEnds(group: Int)
    }

    public enum Decision: String, Sendable {
        /// At or under the threshold: the next wave goes out.
        case proceed
        /// The last wave, at or under the threshold: the rollout is complete.
        case complete
        /// Above the threshold: stop and roll the fleet back.
        case stop
    }

    /// A wave's verdict, as the report shows it.
    public struct WaveResult: Equatable, Sendable {
        /// 0 the canary, then 1, 2, ... the waves.
        public var group: Int
        public var targeted: Int
        public var committed: Int
        public var failed: Int
        public var timedOut: Int
        /// Over every hub targeted so far (see the type's documentation).
        public var targetedSoFar: Int
        public var failedSoFar: Int
        public var ratio: Double
        public var decision: Decision
        public var started: Instant
        public var decided: Instant
    }

    public enum Action: Equatable, Sendable {
        /// Send the deployment to these hubs.
        case deploy(hubs: [Int])
        /// Send the previous configuration to these hubs (they had committed).
        case rollback(hubs: [Int])
        case schedule(Timer, at: Instant)
        case waveResult(WaveResult)
    }

    public enum Phase: Equatable, Sendable {
        case waiting
        case rolling(group: Int)
        case completed
        case stopped
    }

    public let plan: Plan
    public private(set) var phase: Phase = .waiting
    /// Each hub's latest status for the deployment, by hub id.
    public private(set) var latest: [DeploymentStatus.State?]
    /// Each hub's latest status for the rollback deployment, by hub id.
    public private(set) var rollbackLatest: [DeploymentStatus.State?]
    /// Hubs whose watch ended without a terminal status (they count as failed until one comes).
    private var watchEnded: [Bool]
    /// Hubs sent the rollback, in the order sent.
    public private(set) var rolledBackHubs: [Int] = []
    public private(set) var results: [WaveResult] = []
    /// When the rollout stopped, if it did.
    public private(set) var stoppedAt: Instant?
    /// When the last hub sent the rollback reported it committed (the fleet restored).
    public private(set) var restoredAt: Instant?
    private var groupStart: Instant?

    public init(plan: Plan) {
        self.plan = plan
        latest = Array(repeating: nil, count: plan.hubs)
        rollbackLatest = Array(repeating: nil, count: plan.hubs)
        watchEnded = Array(repeating: false, count: plan.hubs)
    }

    /// The hub ids of group `index`.
    public func hubs(ofGroup index: Int) -> Range<Int> {
        let first = plan.groups.prefix(index).reduce(0, +)
        return first..<(first + plan.groups[index])
    }

    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        switch event {
        case .start:
            guard phase == .waiting else { return [] }
            return begin(group: 0, now: now)
        case .timer(.watchEnds(let group)):
            guard phase == .rolling(group: group) else { return [] }
            for hub in hubs(ofGroup: group) where !(latest[hub]?.isTerminal ?? false) { watchEnded[hub] = true }
            return decide(group: group, now: now)
        case .status(let hub, let status):
            guard latest.indices.contains(hub) else { return [] }
            if status.deploymentID == plan.rollbackID {
                rollbackLatest[hub] = status.state
                if status.state == .committed, restoredAt == nil, phase == .stopped,
                   rolledBackHubs.allSatisfy({ rollbackLatest[$0] == .committed }) {
                    restoredAt = now
                }
                return []
            }
            guard status.deploymentID == plan.deploymentID else { return [] }
            latest[hub] = status.state
            if phase == .stopped, status.state == .committed, !rolledBackHubs.contains(hub) {
                // Committed after the stop: it goes back too.
                rolledBackHubs.append(hub)
                restoredAt = nil
                return [.rollback(hubs: [hub])]
            }
            guard case .rolling(let group) = phase, plan.untilTerminal, hubs(ofGroup: group).contains(hub),
                  hubs(ofGroup: group).allSatisfy({ latest[$0]?.isTerminal ?? false }) else { return [] }
            return decide(group: group, now: now)
        }
    }

    private mutating func begin(group: Int, now: Instant) -> [Action] {
        phase = .rolling(group: group)
        groupStart = now
        return [.deploy(hubs: Array(hubs(ofGroup: group))), .schedule(.watchEnds(group: group), at: now + plan.watch)]
    }

    private func isFailed(_ hub: Int) -> Bool {
        guard let state = latest[hub], state.isTerminal else { return watchEnded[hub] }
        return state.isFailure
    }

    private mutating func decide(group: Int, now: Instant) -> [Action] {
        let wave = hubs(ofGroup: group)
        let soFar = 0..<wave.upperBound
        let failedSoFar = soFar.count(where: isFailed)
        let ratio = Double(failedSoFar) / Double(soFar.count)
        let decision: Decision = ratio > plan.threshold ? .stop : group + 1 == plan.groups.count ? .complete : .proceed
        let result = WaveResult(
            group: group, targeted: wave.count,
            committed: wave.count { latest[$0] == .committed },
            failed: wave.count { latest[$0]?.isFailure ?? false },
            timedOut: wave.count { !(latest[$0]?.isTerminal ?? false) },
            targetedSoFar: soFar.count, failedSoFar: failedSoFar, ratio: ratio, decision: decision,
            started: groupStart ?? now, decided: now)
        results.append(result)
        var actions: [Action] = [.waveResult(result)]
        switch decision {
        case .proceed:
            actions += begin(group: group + 1, now: now)
        case .complete:
            phase = .completed
        case .stop:
            phase = .stopped
            stoppedAt = now
            rolledBackHubs = soFar.filter { latest[$0] == .committed }
            if rolledBackHubs.isEmpty {
                restoredAt = now
            } else {
                actions.append(.rollback(hubs: rolledBackHubs))
            }
        }
        return actions
    }
}
