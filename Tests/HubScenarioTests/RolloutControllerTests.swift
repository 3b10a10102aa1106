import HubCore
import HubScenario
import Testing

@Suite("Rollout controller")
struct RolloutControllerTests {
    static let t0 = Instant(secondsSinceEpoch: 1_000_000)
    static func at(_ minutes: Int64) -> Instant { t0 + .seconds(minutes * 60) }

    /// 20 hubs: canary 2, waves 8 and 10; watched 30 minutes or until all report.
    static func plan(untilTerminal: Bool = true, threshold: Double = 0.10) -> RolloutController.Plan {
        RolloutController.Plan(deploymentID: "d1", hubs: 20, groups: [2, 8, 10], watch: .seconds(1800),
                               untilTerminal: untilTerminal, threshold: threshold)
    }

    static func status(_ state: DeploymentStatus.State, id: String = "d1") -> DeploymentStatus {
        DeploymentStatus(timestamp: Instant(secondsSinceEpoch: 0), deploymentID: id, step: "health", state: state, detail: "")
    }

    static func result(_ actions: [RolloutController.Action]) -> RolloutController.WaveResult? {
        for case .waveResult(let result) in actions { return result }
        return nil
    }

    @Test("the canary goes out at the start, with its watch timer")
    func start() {
        var controller = RolloutController(plan: Self.plan())
        #expect(controller.handle(.start, now: Self.at(0)) == [.deploy(hubs: [0, 1]), .schedule(.watchEnds(group: 0), at: Self.at(30))])
        #expect(controller.phase == .rolling(group: 0))
        #expect(controller.handle(.start, now: Self.at(1)) == [], "a second start changes nothing")
    }

    @Test("a wave whose hubs all committed ends at the last status and the next wave goes out")
    func proceedsOnTerminal() throws {
        var controller = RolloutController(plan: Self.plan())
        _ = controller.handle(.start, now: Self.at(0))
        #expect(controller.handle(.status(hub: 0, Self.status(.inProgress)), now: Self.at(2)) == [])
        #expect(controller.handle(.status(hub: 0, Self.status(.committed)), now: Self.at(5)) == [])
        let actions = controller.handle(.status(hub: 1, Self.status(.committed)), now: Self.at(7))
        let result = try #require(Self.result(actions))
        #expect(result.group == 0 && result.committed == 2 && result.failed == 0 && result.ratio == 0 && result.decision == .proceed)
        #expect(result.started == Self.at(0) && result.decided == Self.at(7))
        #expect(actions.dropFirst() == [.deploy(hubs: Array(2..<10)), .schedule(.watchEnds(group: 1), at: Self.at(37))])
        #expect(controller.handle(.timer(.watchEnds(group: 0)), now: Self.at(30)) == [], "the canary's stale timer is ignored")
    }

    @Test("watching a fixed time, a wave is judged only when its watch ends")
    func fixedWatch() throws {
        var controller = RolloutController(plan: Self.plan(untilTerminal: false))
        _ = controller.handle(.start, now: Self.at(0))
        #expect(controller.handle(.status(hub: 0, Self.status(.committed)), now: Self.at(1)) == [])
        #expect(controller.handle(.status(hub: 1, Self.status(.committed)), now: Self.at(2)) == [])
        let result = try #require(Self.result(controller.handle(.timer(.watchEnds(group: 0)), now: Self.at(30))))
        #expect(result.decided == Self.at(30) && result.decision == .proceed)
    }

    @Test("the ratio counts every hub targeted so far; above the threshold the fleet stops and committed hubs roll back")
    func stopsAboveThreshold() throws {
        var controller = RolloutController(plan: Self.plan())
        _ = controller.handle(.start, now: Self.at(0))
        _ = controller.handle(.status(hub: 0, Self.status(.committed)), now: Self.at(1))
        _ = controller.handle(.status(hub: 1, Self.status(.committed)), now: Self.at(1))
        // Wave 1 (hubs 2...9): one rejects (1/10 = 0.10, not above), one rolls back (2/10).
        for hub in 2..<8 { _ = controller.handle(.status(hub: hub, Self.status(.committed)), now: Self.at(5)) }
        _ = controller.handle(.status(hub: 8, Self.status(.rejected)), now: Self.at(6))
        let actions = controller.handle(.status(hub: 9, Self.status(.rolledBack)), now: Self.at(9))
        let result = try #require(Self.result(actions))
        #expect(result.group == 1 && result.targeted == 8 && result.committed == 6 && result.failed == 2)
        #expect(result.targetedSoFar == 10 && result.failedSoFar == 2 && result.ratio == 0.2 && result.decision == .stop)
        #expect(actions.last == .rollback(hubs: [0, 1, 2, 3, 4, 5, 6, 7]))
        #expect(controller.phase == .stopped && controller.stoppedAt == Self.at(9))
        #expect(controller.restoredAt == nil)
        // The fleet is restored when the last hub sent the rollback commits it.
        for hub in 0..<7 { _ = controller.handle(.status(hub: hub, Self.status(.committed, id: "d1-rollback")), now: Self.at(12)) }
        #expect(controller.restoredAt == nil)
        _ = controller.handle(.status(hub: 7, Self.status(.committed, id: "d1-rollback")), now: Self.at(14))
        #expect(controller.restoredAt == Self.at(14))
    }

    @Test("exactly at the threshold the rollout goes on; just above it stops")
    func thresholdIsStrict() throws {
        var controller = RolloutController(plan: RolloutController.Plan(deploymentID: "d1", hubs: 10, groups: [10], watch: .seconds(60)))
        _ = controller.handle(.start, now: Self.at(0))
        _ = controller.handle(.status(hub: 0, Self.status(.rejected)), now: Self.at(0))
        for hub in 1..<10 { _ = controller.handle(.status(hub: hub, Self.status(.committed)), now: Self.at(0)) }
        #expect(controller.results.map(\.decision) == [.complete])
        #expect(controller.phase == .completed)

        var strict = RolloutController(plan: RolloutController.Plan(deploymentID: "d1", hubs: 10, groups: [10], watch: .seconds(60), threshold: 0.05))
        _ = strict.handle(.start, now: Self.at(0))
        _ = strict.handle(.status(hub: 0, Self.status(.rejected)), now: Self.at(0))
        for hub in 1..<10 { _ = strict.handle(.status(hub: hub, Self.status(.committed)), now: Self.at(0)) }
        #expect(strict.results.map(\.decision) == [.stop])
    }

    @Test("hubs silent when the watch ends count as failed (timed out); a later commit is rolled back too")
    func timeouts() throws {
        var controller = RolloutController(plan: Self.plan())
        _ = controller.handle(.start, now: Self.at(0))
        _ = controller.handle(.status(hub: 0, Self.status(.committed)), now: Self.at(3))
        let result = try #require(Self.result(controller.handle(.timer(.watchEnds(group: 0)), now: Self.at(30))))
        #expect(result.timedOut == 1 && result.failedSoFar == 1 && result.ratio == 0.5 && result.decision == .stop)
        #expect(controller.rolledBackHubs == [0])
        #expect(controller.handle(.status(hub: 1, Self.status(.committed)), now: Self.at(40)) == [.rollback(hubs: [1])])
        #expect(controller.rolledBackHubs == [0, 1])
        #expect(controller.handle(.status(hub: 1, Self.status(.committed)), now: Self.at(41)) == [], "sent once")
    }

    @Test("a stop with no committed hub restores the fleet at once; statuses of other deployments and unknown hubs are ignored")
    func nothingToRollBack() {
        var controller = RolloutController(plan: Self.plan())
        _ = controller.handle(.start, now: Self.at(0))
        #expect(controller.handle(.status(hub: 0, Self.status(.rejected, id: "other")), now: Self.at(1)) == [])
        #expect(controller.handle(.status(hub: 99, Self.status(.rejected)), now: Self.at(1)) == [])
        _ = controller.handle(.status(hub: 0, Self.status(.rejected)), now: Self.at(2))
        let actions = controller.handle(.status(hub: 1, Self.status(.rejected)), now: Self.at(4))
        #expect(Self.result(actions)?.decision == .stop)
        #expect(!actions.contains { if case .rollback = $0 { true } else { false } })
        #expect(controller.restoredAt == Self.at(4))
    }

    @Test("the last wave within the threshold completes the rollout")
    func completes() {
        var controller = RolloutController(plan: Self.plan())
        _ = controller.handle(.start, now: Self.at(0))
        for hub in 0..<20 { _ = controller.handle(.status(hub: hub, Self.status(.committed)), now: Self.at(Int64(hub))) }
        #expect(controller.results.map(\.decision) == [.proceed, .proceed, .complete])
        #expect(controller.results.map(\.targeted) == [2, 8, 10])
        #expect(controller.phase == .completed && controller.stoppedAt == nil)
    }

    @Test("a status payload reads as the hub's contract has it; anything else is nil")
    func parsesStatus() {
        let payload = Array(#"{"deployment_id": "d1", "step": "health", "state": "rolled-back", "detail": "golden failed", "timestamp": 12.5}"#.utf8)
        #expect(DeploymentStatus.parse(payload) == DeploymentStatus(timestamp: Instant(nanosecondsSinceEpoch: 12_500_000_000), deploymentID: "d1", step: "health",
                                                                    state: .rolledBack, detail: "golden failed"))
        let envelope = Array(#"{"message_id": "hub-7", "deployment": {"deployment_id": "d1", "step": "health", "state": "rolled-back", "detail": "golden failed", "timestamp": 12.5}}"#.utf8)
        #expect(DeploymentStatus.parse(envelope) == DeploymentStatus.parse(payload))
        #expect(DeploymentStatus.parse(Array(#"{"deployment_id": "d1", "step": "x", "state": "done"}"#.utf8)) == nil)
        #expect(DeploymentStatus.parse(Array(#"{"step": "x", "state": "committed"}"#.utf8)) == nil)
        #expect(DeploymentStatus.parse(Array("[1]".utf8)) == nil)
        #expect(DeploymentStatus.parse([0xFF, 0x00]) == nil)
        #expect(DeploymentStatus.State.allCases.filter(\.isFailure) == [.rolledBack, .rejected])
    }
}
