import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Fleet runner")
struct FleetRunnerTests {
    static let text = """
        name: small-fleet
        seed: 3
        hubs: 5
        duration: 40m
        hub:
          thing: hbsfleet
          poll_interval: 10s
          appliances:
            - { id: hvac, kind: furnace, model: interim }
        rollout:
          at: 5m
          deployment: { id: d-small, components: { inference: 1.1.0 }, health_window: 5m }
          faults: [{ fault: deploy.crashloop-component, hubs: 100% }]
          canary: 1
          waves: [rest]
          watch: 10m
        expect:
          outcome: rolled-back
        """

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("the report and every hub's history are byte-identical on one worker and on several")
    func deterministic() throws {
        let fleet = try FleetLoader.parse(Self.text, file: "small.yaml")
        let one = try Self.directory()
        let three = try Self.directory()
        defer { for path in [one, three] { try? FileManager.default.removeItem(atPath: path) } }
        let first = try FleetRunner.run(fleet, workers: 1, eventLogDirectory: one)
        let second = try FleetRunner.run(fleet, workers: 3, eventLogDirectory: three)
        #expect(first.json == second.json)
        #expect(first.table == second.table)
        for hub in 0..<5 {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(one)/hub-\(hub).jsonl"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(three)/hub-\(hub).jsonl"))
            #expect(!a.isEmpty && a == b, "hub \(hub)")
        }
        #expect(first.readings == 5 * 241, "each hub reads every 10 s for 40 minutes, both ends included")
    }

    @Test("the deployment reaches the canary's hub at the rollout's start and no other hub before the canary's verdict")
    func canaryFirst() throws {
        let fleet = try FleetLoader.parse(Self.text, file: "small.yaml")
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try FleetRunner.run(fleet, workers: 2, eventLogDirectory: directory)
        let canary = try String(contentsOfFile: directory + "/hub-0.jsonl", encoding: .utf8)
        #expect(canary.contains("hbs/hbsfleet-0/deployments"))
        let decided = try #require(outcome.waves.first).decided
        #expect(decided >= fleet.start + .seconds(300))
        for hub in 1..<5 {
            let history = try String(contentsOfFile: "\(directory)/hub-\(hub).jsonl", encoding: .utf8)
            #expect(!history.contains("hbs/hbsfleet-\(hub)/deployments") || outcome.waves.count > 1, "hub \(hub)")
        }
        #expect(outcome.json.contains(#""group": "canary""#))
    }

    @Test("the derived rollback restores the built-in version of each component and the fleet's own package of each device the deployment changes")
    func rollbackSpec() throws {
        let text = Self.text.replacingOccurrences(of: "model: interim", with: "model: fixtures/models/furnace")
            .replacingOccurrences(of: "components: { inference: 1.1.0 }", with: "components: { inference: 1.1.0 }, models: { hvac: 2.3.0 }")
        let fleet = try FleetLoader.parse(text, file: FileManager.default.currentDirectoryPath + "/small.yaml")
        let spec = FleetRunner.rollbackSpec(fleet, rollout: try #require(fleet.rollout))
        #expect(spec.id == "d-small-rollback")
        #expect(spec.components.map(\.name) == ["inference"] && spec.components[0].version == SemanticVersion(1, 0, 0))
        #expect(spec.models.map(\.device) == ["hvac"] && spec.models[0].version == SemanticVersion(2, 2, 1))
    }
}
