import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Resource budgets (PERF 7)")
struct ResourceBudgetTests {
    static func scenario(modes: String, resources: String) -> String {
        """
        name: budget
        modes: \(modes)
        seed: 4
        duration: 2h
        hub:
          appliances: [{ id: hvac, kind: furnace }]
        timeline:
          - { at: 10m, fault: cloud.offline, for: 1h }
        expect:
          - no-reading-lost
          - resources: \(resources)
        """
    }

    @Test("a simulation judges the hub's disk from its real (in-memory) SQLite stores, sampled every 10 minutes of hub time")
    func simulatedDisk() throws {
        let loose = try ScenarioLoader.parse(Self.scenario(modes: "[sim]", resources: "{ disk: 10MB }"), file: "b.yaml")
        let outcome = try ScenarioRunner.run(loose)
        let check = try #require(outcome.checks.last)
        #expect(check.passed, "\(check.evidence)")
        #expect(check.evidence.hasPrefix("13 samples: disk "), "every 10 minutes and at the end: \(check.evidence)")
        let tight = try ScenarioLoader.parse(Self.scenario(modes: "[sim]", resources: "{ disk: 40kB }"), file: "b.yaml")
        let failed = try ScenarioRunner.withContext(try ScenarioRunner.run(tight))
        let over = try #require(failed.checks.last)
        #expect(!over.passed && over.evidence.contains("(limit 39.1 KiB)"), "\(over.evidence)")
        #expect(over.at != nil && over.context.contains { $0.contains("\"hub.resources\"") }, "the largest sample is the violation")
    }

    @Test("a budget that only a simulation would judge, or a limit that is not a size, is refused at load", arguments: [
        ("[sim]", "{ memory: 40MB, disk: 1MB }", "memory and cpu are a real hub process's"),
        ("[sim, live]", "{ memory: 40MB }", "a simulation judges only the hub's disk"),
        ("[sim]", "{ disk: 40 }", "disk must be a size from 4kB to 1TiB"),
        ("[sim]", "{ disk: -5MB }", "disk must be a size"),
        ("[sim]", "{ disk: 2TiB }", "disk must be a size"),
        ("[sim]", "{ disk: 1e400MB }", "disk must be a size"),
        ("[sim]", "{ disk: [1] }", "disk must be a size"),
        ("[live]", "{ cpu: 2 }", "cpu must be a share of one core"),
        ("[live]", "{ cpu: 0% }", "cpu must be a share of one core"),
        ("[live]", "{ cpu: 500% }", "cpu must be a share of one core"),
        ("[live]", "{ cpu: nan% }", "cpu must be a share of one core"),
        ("[sim]", "{ disc: 1MB }", "did you mean 'disk'"),
        ("[sim]", "{}", "resources needs memory, cpu or disk"),
    ])
    func refusals(modes: String, resources: String, message: String) {
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.parse(Self.scenario(modes: modes, resources: resources), file: "b.yaml") }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test("sizes read as scenarios write them", arguments: [
        ("40MB", 40_000_000), ("38MiB", 39_845_888), ("512kB", 512_000), ("1.5GiB", 1_610_612_736), ("4096", 4096), (" 2 MB ", 2_000_000),
    ])
    func sizes(text: String, bytes: Int) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("what is not a size reads as nil", arguments: ["", "MB", "-1MB", "1e3MB", "0x10", "12 parsecs", "1.2.3MB", "inf MB", "99999999999999999999"])
    func notSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }
}
