import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Scenario reports: shards, JSON round trips, merges, the events around a violation")
struct ScenarioReportTests {
    /// Two short scenarios: one that passes, one that loses its HTS221 for an hour (fails).
    static func catalogue() throws -> [Scenario] {
        [try ScenarioSweepTests.shortScenario(),
         try ScenarioLoader.parse(ScenarioRunnerTests.lostKit(third: "no-alert"), file: "lost.yaml")]
    }

    static func report(_ scenarios: [Scenario], plan: SweepPlan) throws -> ScenarioReport {
        let results = try ScenarioSweep.run(scenarios, plan: plan, workers: 2)
        return ScenarioReport(scenarios: scenarios, outcomes: results.flatMap(\.outcomes))
    }

    @Test("shards are disjoint, cover the plan, keep plan order and are even by simulated cost")
    func shardsCoverThePlan() throws {
        let scenarios = try Self.catalogue() + [try ScenarioSweepTests.shortScenario(name: "third", file: "third.yaml")]
        let plan = SweepPlan(scenarios, seeds: Array(1...40))
        for count in [1, 2, 3, 7, 200] {
            let shards = (1...count).map { plan.shard($0, of: count, scenarios: scenarios) }
            let union = shards.flatMap(\.runs)
            #expect(union.count == plan.runs.count)
            #expect(Set(union) == Set(plan.runs))
            for shard in shards {
                #expect(shard.runs == plan.runs.filter { shard.runs.contains($0) }, "plan order within a shard")
            }
            let costs = shards.map { $0.cost(scenarios) }
            let largestRun = scenarios.map(SweepPlan.cost).max()!
            #expect(costs.max()! - costs.min()! <= largestRun, "shards differ by at most one run's cost: \(costs)")
            #expect(shards == (1...count).map { plan.shard($0, of: count, scenarios: scenarios) }, "the same split every time")
        }
    }

    @Test("--shard refuses what is not K/N with 1 ≤ K ≤ N ≤ 1000", arguments: ["0/3", "4/3", "a/b", "1/0", "1/1001", "", "1/2/3", "-1/2", "2", "/", "1/", " 1/2", "99999999999999999999/1"])
    func hostileShard(text: String) {
        #expect(throws: ShardError.self) { try SweepPlan.parseShard(text) }
    }

    @Test("a report written as JSON reads back equal, failures with their violation instant and context")
    func jsonRoundTrip() throws {
        let scenarios = try Self.catalogue()
        let report = try Self.report(scenarios, plan: SweepPlan(scenarios, seeds: [4, 5]))
        let text = ReportJSON.write(report)
        let back = try ReportJSON.read(JSONField.parse(Array(text.utf8), file: "r.json"))
        #expect(back == report)
        #expect(ReportJSON.write(back) == text)
        let failed = try #require(report.entries[1].runs.first { !$0.passed })
        let check = try #require(failed.checks.first { !$0.passed && $0.expectation == "readings-every-poll" })
        #expect(check.atSeconds == 3590, "the last reading before the hour-long gap: \(String(describing: check.atSeconds))")
        #expect(check.context.contains { $0.contains("\"fault.start\"") && $0.contains("i2c.0x5f.absent") }, "\(check.context)")
        #expect(failed.replay?.hasSuffix("--seed \(failed.seed) --event-log lost-hts221-seed\(failed.seed).jsonl") == true)
    }

    @Test("a report file that is damaged is refused with the file and the field's path, never a trap")
    func hostileJSON() throws {
        let scenarios = try Self.catalogue()
        let text = ReportJSON.write(try Self.report(scenarios, plan: SweepPlan(scenarios, seeds: [4])))
        func error(_ mangled: String) -> String? {
            do {
                _ = try ReportJSON.read(JSONField.parse(Array(mangled.utf8), file: "bad.json"))
                return nil
            } catch { return error.description }
        }
        #expect(error("") == "bad.json: the file is empty")
        #expect(error(String(text.prefix(text.count / 2)))?.hasPrefix("bad.json: not valid JSON") == true)
        #expect(error("[1, 2]") == "bad.json: expected an object")
        #expect(error(#"{"format": "junit"}"#)?.contains("format: this is not a hubrig report") == true)
        #expect(error(text.replacingOccurrences(of: #""seed": 4"#, with: #""seed": -4"#)) == "bad.json: scenarios[0].runs[0].seed: -4 is outside 0…9007199254740992")
        #expect(error(text.replacingOccurrences(of: #""seed": 4"#, with: #""seed": 1e300"#))?.contains("scenarios[0].runs[0].seed: expected a whole number") == true)
        #expect(error(text.replacingOccurrences(of: #""seed": 4"#, with: #""seed": "4""#))?.contains("scenarios[0].runs[0].seed: expected a whole number") == true)
        #expect(error(text.replacingOccurrences(of: #""name": "sweep-probe""#, with: #""name": 7"#)) == "bad.json: scenarios[0].name: expected a string")
        #expect(error(text.replacingOccurrences(of: #""failed": 1"#, with: #""failed": 0"#))?.contains("failed: says 0 runs but the scenarios hold 1") == true)
        #expect(error(text.replacingOccurrences(of: #""checks""#, with: #""chex""#))?.contains("missing field 'checks'") == true)
        // Byte-level mutations of a good file: each is read or refused, none traps.
        var random = SeededRandom(seed: 99)
        let bytes = Array(text.utf8)
        for _ in 0..<400 {
            var mutated = bytes
            for _ in 0..<(1 + Int(random.nextDouble() * 4)) {
                let at = Int(random.nextDouble() * Double(mutated.count))
                mutated[at] = UInt8(truncatingIfNeeded: Int(random.nextDouble() * 256))
            }
            _ = try? ReportJSON.read(JSONField.parse(mutated, file: "fuzz.json"))
        }
    }

    @Test("shards merged give the unsharded report byte for byte: JSON and JUnit")
    func mergeEqualsWhole() throws {
        let scenarios = try Self.catalogue()
        let plan = SweepPlan(scenarios, seeds: Array(3...6))
        let whole = try Self.report(scenarios, plan: plan)
        let parts = try (1...3).map { k in
            let shard = try Self.report(scenarios, plan: plan.shard(k, of: 3, scenarios: scenarios))
            return (file: "shard\(k).json", report: try ReportJSON.read(JSONField.parse(Array(ReportJSON.write(shard).utf8), file: "shard\(k).json")))
        }
        let merged = try ScenarioReport.merge(parts.reversed())
        #expect(ReportJSON.write(merged) == ReportJSON.write(whole))
        #expect(ResultFiles.junit(merged) == ResultFiles.junit(whole))
        #expect(ReportSummary.text(merged).contains("FAIL lost-hts221  (lost.yaml, seeds 3..6: 0 of 4 passed; failed on seeds 3, 4, 5, 6)"))
    }

    @Test("overlapping shards and shards of different catalogues are refused")
    func mergeRefusals() throws {
        let scenarios = try Self.catalogue()
        let one = try Self.report(scenarios, plan: SweepPlan(scenarios, seeds: [4]))
        #expect(throws: ReportMergeError.self) { try ScenarioReport.merge([("a.json", one), ("b.json", one)]) }
        var other = one
        other.entries[0].durationSeconds += 60
        other.entries[0].runs = []
        other.entries[1].runs = []
        let error = #expect(throws: ReportMergeError.self) { try ScenarioReport.merge([("a.json", one), ("b.json", other)]) }
        #expect(error?.description.contains("duration_s") == true)
    }

    @Test("alerts-delivered-within and cloud-messages-max judge the shipped alerts-at-once day")
    func alertsAtOnce() throws {
        let scenario = try ScenarioLoader.load(path: ScenarioRunnerTests.scenarios.appendingPathComponent("alerts-at-once.yaml").path)
        let outcome = try ScenarioRunner.run(scenario, seed: 2)
        #expect(outcome.passed, "\(ScenarioRunner.summary(outcome))")
        let delivery = try #require(outcome.checks.first { $0.expectation == .alertsDeliveredWithin(.seconds(60)) })
        #expect(delivery.evidence.hasPrefix("1 of 1 alerts reached the cloud"))
        var strict = scenario
        strict.expectations = [.cloudMessagesMax(topic: "telemetry", count: 2), .alertsDeliveredWithin(.zero)]
        let failed = try ScenarioRunner.run(strict, seed: 2)
        #expect(failed.checks.map(\.passed) == [false, true] || failed.checks.map(\.passed) == [false, false])
        #expect(failed.checks[0].evidence.contains("limit 2"))
    }

    @Test("an expectation that can never hold is refused at load", arguments: [
        ("alerts-delivered-within: 1m", "nothing scores any appliance"),
        ("cloud-messages-max: { topic: telemetri, count: 3 }", "did you mean 'telemetry'"),
        ("cloud-messages-max: { topic: telemetry }", "count"),
    ])
    func refusals(expectation: String, message: String) throws {
        let yaml = ScenarioRunnerTests.lostKit(appliance: "{ id: hvac, kind: furnace, model: none }", third: expectation)
        let error = #expect(throws: ScenarioError.self) { try ScenarioLoader.parse(yaml, file: "x.yaml") }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test("the schema example at the top of docs/scenarios.md loads, uses every section, and passes")
    func docsExample() throws {
        let docs = ScenarioRunnerTests.scenarios.deletingLastPathComponent().appendingPathComponent("docs/scenarios.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "```yaml\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let scenario = try ScenarioLoader.parse(String(text[start.upperBound..<end.lowerBound]), file: docs.path + ".example.yaml")
        #expect(scenario.timeline.count >= 6 && scenario.expectations.count >= 6 && !scenario.questions.isEmpty && !scenario.tags.isEmpty)
        let outcome = try ScenarioRunner.run(scenario)
        #expect(outcome.passed, "\(ScenarioRunner.summary(outcome))")
    }
}
