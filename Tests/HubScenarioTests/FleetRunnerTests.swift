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
          deployment: { deployment_id: d-small, models: { hvac: "furnace-ae@9.0.0" } }
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

    @Test("the derived rollback names the fleet's own model for each device the deployment changes, keys sorted")
    func rollbackDocument() throws {
        let fleet = try FleetLoader.parse(Self.text.replacingOccurrences(of: "model: interim", with: "model: fixtures/models/furnace"),
                                          file: FileManager.default.currentDirectoryPath + "/small.yaml")
        let rollout = try #require(fleet.rollout)
        let document = FleetRunner.rollbackDocument(fleet, rollout: rollout)
        guard case .package(let package) = fleet.appliances[0].detector else { Issue.record("no package"); return }
        #expect(document == ["deployment_id": .string("d-small-rollback"), "models": .object(["hvac": .string(package.manifest.identifier)])])
        #expect(String(decoding: FleetRunner.encode(["b": .number(1), "a": .array([.bool(true), .null])]), as: UTF8.self) == #"{"a": [true, null], "b": 1}"#)
    }
}
