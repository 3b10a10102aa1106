import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Seed sweeps")
struct ScenarioSweepTests {
    /// A short furnace day with a bus fault, so seeds really differ.
    static func shortScenario(name: String = "sweep-probe", file: String = "probe.yaml") throws -> Scenario {
        try ScenarioLoader.parse("""
            name: \(name)
            seed: 1
            duration: 2h
            hub:
              appliances: [{ id: hvac, kind: furnace }]
            timeline:
              - { at: 30m, fault: i2c.0x5f.nack, for: 30m, probability: 0.2 }
            expect:
              - readings-every-poll
              - no-reading-lost
            """, file: file)
    }

    @Test("a sweep reports the same bytes on one worker and on several")
    func deterministicReport() throws {
        let scenarios = [try Self.shortScenario(), try Self.shortScenario(name: "sweep-probe-2", file: "probe2.yaml")]
        let parallel = ScenarioSweep.report(try ScenarioSweep.run(scenarios, seeds: 1...6, workers: 3))
        let serial = ScenarioSweep.report(try ScenarioSweep.run(scenarios, seeds: 1...6, workers: 1))
        #expect(parallel == serial)
        #expect(parallel.hasSuffix("12 passed, 0 failed"))
        #expect(parallel.contains("PASS sweep-probe  (probe.yaml, seeds 1..6: 6 of 6 passed, 2h each)"))
    }

    @Test("each run of a sweep is the single run of that seed")
    func sweepMatchesSingleRuns() throws {
        let scenario = try Self.shortScenario()
        let sweep = try ScenarioSweep.run([scenario], seeds: 3...5, workers: 2)[0]
        for outcome in sweep.outcomes {
            let single = try ScenarioRunner.run(scenario, seed: outcome.seed)
            #expect(single.readings == outcome.readings)
            #expect(single.checks.map(\.evidence) == outcome.checks.map(\.evidence))
        }
        #expect(sweep.outcomes.map(\.seed) == [3, 4, 5])
    }

    @Test("a failing seed is named with its evidence and replay command")
    func failingSeedNamed() throws {
        var scenario = try Self.shortScenario()
        // The HTS221 vanishes for an hour on every seed: readings-every-poll must fail.
        scenario.timeline = try ScenarioLoader.parse("""
            name: x
            seed: 1
            duration: 2h
            hub:
              appliances: [{ id: hvac, kind: furnace }]
            timeline:
              - { at: 30m, fault: i2c.0x5f.absent, for: 1h }
              - { at: 30m, fault: i2c.0x5c.absent, for: 1h }
            """, file: "x.yaml").timeline
        let report = ScenarioSweep.report(try ScenarioSweep.run([scenario], seeds: 7...8, workers: 2))
        #expect(report.contains("FAIL sweep-probe  (probe.yaml, seeds 7..8: 0 of 2 passed; failed on seeds 7, 8, 2h each)"))
        #expect(report.contains("replay: hubrig scenario run probe.yaml --seed 8 --event-log sweep-probe-seed8.jsonl"))
        #expect(report.contains("FAIL readings-every-poll"))
        #expect(report.hasSuffix("0 passed, 2 failed"))
    }

    @Test("--seeds takes A..B and refuses anything else with the reason",
          arguments: [
              ("1..100", "ok"), ("7..7", "ok"), ("0..99999", "ok"),
              ("5", "expected A..B"), ("5..", "\"\" is not a seed"), ("..5", "\"\" is not a seed"),
              ("9..1", "must not be greater"), ("-1..3", "\"-1\" is not a seed"), ("1..2..3", "expected A..B"),
              ("1..99999999999999999999", "is not a seed"), ("a..b", "\"a\" is not a seed"),
              ("0..100000", "at most 100000 seeds"), ("1 ..2", "is not a seed"), ("", "expected A..B"),
          ])
    func seedRanges(text: String, expected: String) {
        do {
            let range = try ScenarioSweep.parseSeeds(text)
            #expect(expected == "ok", "accepted \(text) as \(range)")
        } catch {
            #expect(expected != "ok" && error.description.contains(expected), "\(text): \(error.description)")
        }
    }
}

@Suite("Scenario names")
struct ScenarioNameTests {
    @Test("a name that is not a plain file name is refused where it is written",
          arguments: ["../../x", "a/b", ".hidden", "-flag", "", "tab\tname", "naïve", String(repeating: "x", count: 101)])
    func unsafeNames(name: String) {
        let text = "name: \(name.debugDescription)\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n"
        #expect {
            _ = try ScenarioLoader.parse(text, file: "bad.yaml")
        } throws: { error in
            let description = String(describing: error)
            return description.hasPrefix("bad.yaml:1:") && description.contains("name")
        }
    }

    @Test("two scenarios with one name are an error naming both files")
    func duplicateNames() throws {
        let a = try ScenarioSweepTests.shortScenario(name: "same", file: "a.yaml")
        let b = try ScenarioSweepTests.shortScenario(name: "same", file: "b.yaml")
        let errors = ScenarioName.duplicates([a, b])
        #expect(errors.count == 1)
        #expect(errors.first?.description == "b.yaml: name: \"same\" is also the name of a.yaml; names must be unique in one run")
        #expect(ScenarioName.duplicates([a]).isEmpty)
    }
}
