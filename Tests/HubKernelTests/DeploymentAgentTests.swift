import HubCore
import HubKernel
import Testing

private let t0 = Instant(secondsSinceEpoch: 1_700_000_000)
private let recipeBytes = Array("name: inference\nversion: 1.1.0\n".utf8)
private let recipeArtifact = DeploymentDocument.Artifact(path: "components/inference/1.1.0/recipe.yaml", sha256: SHA256.hex(recipeBytes), bytes: recipeBytes.count)

private func document(_ id: String = "d1", window: Duration = .seconds(600), deferTo: [String] = [], disk: Int64 = 0) -> [UInt8] {
    DeploymentDocument(id: id, components: [("inference", SemanticVersion(1, 1, 0))], artifacts: [recipeArtifact],
                       diskBytesRequired: disk, healthWindow: window, deferTo: deferTo, deferMax: .seconds(60)).json
}

/// Plays the host: answers what a host answers at once, keeps the rest for the test.
private struct AgentHost {
    var agent = DeploymentAgent(record: nil)
    var statuses: [DeploymentStatus] = []
    var persisted: [DeploymentRecord] = []
    var fetches: [DeploymentDocument.Artifact] = []
    var applied: [(DeployedConfiguration, [String])] = []
    var timers: [(DeploymentAgent.Timer, Instant)] = []
    var blocking: String?
    var free: (disk: Int64, memory: Int64) = (1 << 30, 1 << 28)
    var validation: Result<Void, DeploymentFailure> = .success(())

    init() { agent.baseVersions = ["inference": SemanticVersion(1, 0, 0), "uplink": SemanticVersion(1, 0, 0)] }

    mutating func send(_ event: DeploymentAgent.Event, at now: Instant) { run(agent.handle(event, now: now), at: now) }

    mutating func run(_ actions: [DeploymentAgent.Action], at now: Instant) {
        var queue = actions
        while !queue.isEmpty {
            switch queue.removeFirst() {
            case .report(let status): statuses.append(status)
            case .persist(let record): persisted.append(record)
            case .askSafePoint: queue += agent.handle(.safePoint(blocking: blocking), now: now)
            case .measureResources: queue += agent.handle(.resources(diskFreeBytes: free.disk, memoryFreeBytes: free.memory), now: now)
            case .fetch(let artifact): fetches.append(artifact)
            case .keep: break
            case .validate: queue += agent.handle(.validated(validation), now: now)
            case .apply(let target, let changed): applied.append((target, changed))
            case .schedule(let timer, let at): timers.append((timer, at))
            }
        }
    }

    var steps: [String] { statuses.map { "\($0.step):\($0.state.rawValue)" } }
}

@Suite("Deployment agent")
struct DeploymentAgentTests {
    @Test("a good deployment: accepted, checked, downloaded and verified, applied, committed after its health window")
    func commits() {
        var host = AgentHost()
        host.send(.received(document()), at: t0)
        #expect(host.fetches == [recipeArtifact])
        host.send(.fetched(recipeArtifact, .success(recipeBytes)), at: t0 + .seconds(2))
        #expect(host.applied.count == 1 && host.applied[0].1 == ["inference"])
        #expect(host.persisted.last?.attempt?.target != nil, "the record says the hub may be half changed before anything changes")
        let (timer, at) = host.timers.last!
        #expect(at == t0 + .seconds(602))
        host.send(.timer(timer), at: at)
        #expect(host.steps == ["received:in-progress", "prerequisites:in-progress", "verify:in-progress", "apply:in-progress", "commit:committed"])
        #expect(host.agent.record.good.component("inference")?.version == SemanticVersion(1, 1, 0))
        #expect(host.agent.record.attempt == nil && host.persisted.last == host.agent.record)
    }

    @Test("a digest or size that does not match rejects the deployment before anything stops")
    func rejectsBadArtifacts() {
        var host = AgentHost()
        host.send(.received(document()), at: t0)
        var damaged = recipeBytes
        damaged[0] ^= 1
        host.send(.fetched(recipeArtifact, .success(damaged)), at: t0 + .seconds(1))
        #expect(host.statuses.last?.state == .rejected && host.statuses.last?.step == "verify")
        #expect(host.statuses.last?.detail.contains("SHA-256") == true && host.applied.isEmpty)
        var short = AgentHost()
        short.send(.received(document()), at: t0)
        short.send(.fetched(recipeArtifact, .success(Array(recipeBytes.dropLast()))), at: t0)
        #expect(short.statuses.last?.detail.contains("bytes, the document says") == true)
        var missing = AgentHost()
        missing.send(.received(document()), at: t0)
        missing.send(.fetched(recipeArtifact, .failure(DeploymentFailure("HTTP 404"))), at: t0)
        #expect(missing.statuses.last?.step == "download" && missing.statuses.last?.state == .rejected)
    }

    @Test("not enough disk rejects at the prerequisites, before any download")
    func prerequisites() {
        var host = AgentHost()
        host.free.disk = 1_048_576
        host.send(.received(document(disk: 64 * 1_048_576)), at: t0)
        #expect(host.fetches.isEmpty)
        #expect(host.statuses.last?.detail == "needs 64.0 MB of disk, 1.0 MB free")
    }

    @Test("a failed validation rejects; nothing is applied")
    func validation() {
        var host = AgentHost()
        host.validation = .failure(DeploymentFailure("golden.json: vector 0"))
        host.send(.received(document()), at: t0)
        host.send(.fetched(recipeArtifact, .success(recipeBytes)), at: t0)
        #expect(host.steps.last == "validate:rejected" && host.applied.isEmpty)
    }

    @Test("a failure in the health window rolls back to the last good configuration; the rollback ends when it runs again")
    func rollsBack() {
        var host = AgentHost()
        host.send(.received(document()), at: t0)
        host.send(.fetched(recipeArtifact, .success(recipeBytes)), at: t0)
        host.send(.componentFailed("display", reason: "crashed"), at: t0 + .seconds(5))
        #expect(host.applied.count == 1, "a component the deployment did not change is not its failure")
        host.send(.componentFailed("inference", reason: "crashed while starting"), at: t0 + .seconds(6))
        #expect(host.applied.count == 2 && host.applied[1].0 == .factory && host.agent.awaitingRollback == ["inference"])
        host.run(host.agent.rollbackSettled(now: t0 + .seconds(9)), at: t0 + .seconds(9))
        #expect(host.statuses.last?.state == .rolledBack && host.statuses.last?.detail.hasSuffix("runs again after 3s") == true)
        let windowEnd = host.timers.first { if case .healthWindowEnd = $0.0 { true } else { false } }!
        host.send(.timer(windowEnd.0), at: windowEnd.1)
        #expect(host.statuses.last?.state == .rolledBack, "the window's end of a rolled-back attempt commits nothing")
        #expect(host.agent.record.good == .factory)
    }

    @Test("a deferral asks again every 10 s until the components are at a safe point, and goes ahead when its time is up")
    func defers() {
        var host = AgentHost()
        host.blocking = "the uplink's outbox holds 3 readings"
        host.send(.received(document(deferTo: ["uplink"])), at: t0)
        #expect(host.fetches.isEmpty && host.timers.last?.1 == t0 + .seconds(10))
        host.send(.timer(host.timers.last!.0), at: t0 + .seconds(10))
        host.blocking = nil
        host.send(.timer(host.timers.last!.0), at: t0 + .seconds(20))
        #expect(host.fetches.count == 1 && host.statuses.contains { $0.detail == "safe point reached after 20s" })
        var stubborn = AgentHost()
        stubborn.blocking = "busy"
        stubborn.send(.received(document(deferTo: ["uplink"])), at: t0)
        for second in stride(from: 10, through: 60, by: 10) { stubborn.send(.timer(stubborn.timers.last!.0), at: t0 + .seconds(second)) }
        #expect(stubborn.fetches.count == 1 && stubborn.statuses.contains { $0.detail.contains("are up: going ahead") })
    }

    @Test("a document sent again is answered from the record, not applied twice; one arriving meanwhile waits its turn")
    func duplicatesAndQueue() {
        var host = AgentHost()
        host.send(.received(document("d1")), at: t0)
        host.send(.received(document("d1")), at: t0)
        host.send(.received(document("d2")), at: t0)
        #expect(host.statuses.last?.detail == "queued behind d1" && host.fetches.count == 1)
        host.send(.fetched(recipeArtifact, .failure(DeploymentFailure("gone"))), at: t0)
        #expect(host.fetches.count == 2, "d2 starts when d1 ends")
        host.send(.received(document("d1")), at: t0)
        #expect(host.statuses.last?.detail.hasPrefix("already done") == true && host.statuses.last?.state == .rejected)
    }

    @Test("garbage, a bad id and configuration for an unknown component are rejected with a status")
    func rejectsDocuments() {
        var host = AgentHost()
        host.send(.received([0xFF, 0x00]), at: t0)
        host.send(.received(Array(#"{"deployment_id": "d9", "components": 3}"#.utf8)), at: t0)
        host.send(.received(DeploymentDocument(id: "d3", configuration: [("weather", .object([:]))]).json), at: t0)
        #expect(host.statuses.map(\.deploymentID) == ["unknown", "d9", "d3"])
        #expect(host.statuses.allSatisfy { $0.state == .rejected })
        #expect(host.statuses[2].detail.contains("no component weather"))
    }

    @Test("after a restart: an attempt that had begun changing things ends in the old configuration; one that had not starts over")
    func restart() {
        var host = AgentHost()
        host.send(.received(document()), at: t0)
        let beforeApply = host.persisted.first!
        host.send(.fetched(recipeArtifact, .success(recipeBytes)), at: t0)
        let applying = host.persisted.last!
        var rebooted = AgentHost()
        rebooted.agent = DeploymentAgent(record: applying)
        #expect(rebooted.agent.bootConfiguration == .factory)
        rebooted.run(rebooted.agent.boot(now: t0 + .seconds(60)), at: t0 + .seconds(60))
        #expect(rebooted.steps == ["rollback:rolled-back"] && rebooted.agent.record.attempt == nil)
        var resumed = AgentHost()
        resumed.agent = DeploymentAgent(record: beforeApply)
        resumed.agent.baseVersions = ["inference": SemanticVersion(1, 0, 0)]
        resumed.run(resumed.agent.boot(now: t0 + .seconds(60)), at: t0 + .seconds(60))
        #expect(resumed.statuses.first?.detail == "resumed after a restart" && resumed.fetches == [recipeArtifact])
    }

    @Test("the durable record reads back what was written")
    func recordRoundTrip() throws {
        var host = AgentHost()
        host.send(.received(document()), at: t0)
        host.send(.fetched(recipeArtifact, .success(recipeBytes)), at: t0)
        for record in host.persisted { #expect(try DeploymentRecord(json: record.json) == record) }
        #expect(throws: DeploymentRecordError.self) { try DeploymentRecord(json: Array("{}".utf8)) }
    }
}
