import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Fleet file loader")
struct FleetLoaderTests {
    static let valid = """
        name: sample-fleet
        seed: 5
        hubs: 40
        duration: 3h
        epoch: 30s
        hub:
          thing: hbsfleet
          poll_interval: 10s
          appliances:
            - { id: hvac, kind: furnace, model: interim }
        rollout:
          at: 20m
          deployment:
            id: inference-9
            components: { inference: 9.0.0 }
            health_window: 5m
          faults: [{ fault: deploy.crashloop-component, hubs: 30% }]
          canary: 4
          waves: [0.25, 50%, rest]
          watch: 30m
          failure_threshold: 0.2
        expect:
          outcome: rolled-back
          restored_within: 2h
        """

    @Test("a complete fleet file loads into typed values, its groups resolved against the fleet")
    func valid() throws {
        let fleet = try FleetLoader.parse(Self.valid, file: "fleet.yaml")
        #expect(fleet.name == "sample-fleet" && fleet.seed == 5 && fleet.hubs == 40)
        #expect(fleet.duration == .seconds(10_800) && fleet.epoch == .seconds(30) && fleet.pollInterval == .seconds(10))
        #expect(fleet.thing(ofHub: 7) == "hbsfleet-7")
        let rollout = try #require(fleet.rollout)
        #expect(rollout.at == .seconds(1200) && rollout.deploymentID == "inference-9" && rollout.untilTerminal)
        #expect(rollout.deployment.healthWindow == .seconds(300) && rollout.deployment.components.map(\.name) == ["inference"])
        #expect(rollout.faults.count == 1 && rollout.faults[0].fault == .deployment(.crashloopComponent) && rollout.faults[0].share == 0.3)
        let hit = (0..<40).filter { fleet.isHit(hub: $0, fault: 0) }
        #expect((4...20).contains(hit.count), "about 30 % of 40 hubs: \(hit)")
        let plan = try #require(fleet.plan())
        #expect(plan.groups == [4, 10, 20, 6])
        #expect(plan.threshold == 0.2 && plan.watch == .seconds(1800) && plan.rollbackID == "inference-9-rollback")
        #expect(fleet.expectations == [.outcome("rolled-back"), .restoredWithin(.seconds(7200))])
        #expect(try FleetLoader.parse(Self.valid, file: "fleet.yaml", hubs: 100).plan()?.groups == [4, 25, 50, 21])
    }

    @Test("each hub has its own seed, the same whatever the fleet's size")
    func seeds() throws {
        let fleet = try FleetLoader.parse(Self.valid, file: "fleet.yaml")
        let seeds = (0..<40).map(fleet.seed(ofHub:))
        #expect(Set(seeds).count == 40)
        #expect(try FleetLoader.parse(Self.valid, file: "fleet.yaml", hubs: 400).seed(ofHub: 39) == seeds[39])
        var other = fleet
        other.seed = 6
        #expect(other.seed(ofHub: 0) != seeds[0])
    }

    @Test("mistakes are located: file, line, column and field", arguments: [
        ("hubs: 40", "hubs: -3", "hubs", "whole number"),
        ("hubs: 40", "hubs: 1e9", "hubs", "whole number"),
        ("hubs: 40", "hubs: 99999999999999999999999", "hubs", "whole number"),
        ("hubs: 40", "hubs: [1]", "hubs", "single value"),
        ("seed: 5", "seed: -1", "seed", "non-negative"),
        ("epoch: 30s", "epoch: 2h", "epoch", "outside"),
        ("duration: 3h", "duration: 11000d", "duration", "maximum"),
        ("  at: 20m", "  at: 4h", "rollout.at", "at or after"),
        ("  canary: 4", "  canary: 41", "rollout.canary", "the fleet has 40"),
        ("  canary: 4", "  canary: 0", "rollout.canary", "whole number"),
        ("  canary: 4", "  canary: rest", "rollout.canary", "only for the last wave"),
        ("  canary: 4", "  canary: 1.5", "rollout.canary", "share"),
        ("  waves: [0.25, 50%, rest]", "  waves: [0.25, 50%]", "rollout.waves", "reach"),
        ("  waves: [0.25, 50%, rest]", "  waves: [rest, 0.25]", "rollout.waves[0]", "only for the last wave"),
        ("  waves: [0.25, 50%, rest]", "  waves: [0.25, 150%, rest]", "rollout.waves[1]", "percentage"),
        ("  waves: [0.25, 50%, rest]", "  waves: [0.9, 0.9]", "rollout.waves[1]", "more hubs"),
        ("  waves: [0.25, 50%, rest]", "  waves: {a: 1}", "rollout.waves", "list"),
        ("  failure_threshold: 0.2", "  failure_threshold: 1.5", "rollout.failure_threshold", "within 0...1"),
        ("  failure_threshold: 0.2", "  failure_threshold: .nan", "rollout.failure_threshold", "within"),
        ("  watch: 30m", "  watch: 0s", "rollout.watch", "outside"),
        ("  watch: 30m", "  watch: 30m\n  until: forever", "rollout.until", "terminal"),
        ("    id: inference-9", "    id: [x]", "rollout.deployment.id", "expected"),
        ("    id: inference-9", "    idd: x", "rollout.deployment.idd", "unknown field"),
        ("components: { inference: 9.0.0 }", "components: { weather: 9.0.0 }", "rollout.deployment.components.weather", "runs no component"),
        ("fault: deploy.crashloop-component", "fault: host.power-loss", "rollout.faults[0].fault", "a rollout fault is one of"),
        ("hubs: 30% }", "hubs: 300% }", "rollout.faults[0].hubs", "percentage"),
        ("  outcome: rolled-back", "  outcome: fine", "expect.outcome", "completed"),
        ("  restored_within: 2h", "  restored_in: 2h", "expect.restored_in", "unknown field"),
        ("epoch: 30s", "epoch: 30s\nwaves: 3", "waves", "unknown field"),
    ])
    func located(original: String, replacement: String, field: String, message: String) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.valid, "the replacement applies")
        do {
            _ = try FleetLoader.parse(text, file: "f.yaml")
            Issue.record("\(replacement) loaded")
        } catch {
            #expect(error.file == "f.yaml")
            #expect(error.line != nil && error.column != nil, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("a rollout needs its deployment, and a rollback of its own id")
    func deploymentSources() throws {
        let inline = "  deployment:\n    id: inference-9\n    components: { inference: 9.0.0 }\n    health_window: 5m\n"
        #expect(Self.valid.contains(inline))
        for (replacement, message) in [("", "missing required field 'deployment'"), (inline + "  rollback_deployment: { id: inference-9 }\n", "its own id")] {
            do {
                _ = try FleetLoader.parse(Self.valid.replacingOccurrences(of: inline, with: replacement), file: "f.yaml")
                Issue.record("loaded")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
        let given = try FleetLoader.parse(Self.valid.replacingOccurrences(of: inline, with: inline + "  rollback_deployment: { id: back, components: { inference: 1.0.0 } }\n"),
                                          file: "f.yaml")
        #expect(given.plan()?.rollbackID == "back")
    }

    @Test("hostile bytes: truncations and byte flips of a valid file load within limits or fail located (Fuzz)")
    func hostile() {
        let seed = Array(Self.valid.utf8)
        let tally = Fuzzing.run(seeds: [seed], base: 0xF1EE7, ci: 500) { number, bytes in
            do throws(ScenarioError) {
                let fleet = try FleetLoader.parse(bytes: bytes, file: "fuzz.yaml")
                #expect(FleetLoader.Limits.hubs.contains(fleet.hubs), "case \(number)")
                if let plan = fleet.plan() { #expect(plan.groups.reduce(0, +) == fleet.hubs, "case \(number)") }
                return true
            } catch {
                #expect(error.file == "fuzz.yaml")
                #expect(error.line != nil || error.message == "empty fleet file", "case \(number): \(error)")
                return false
            }
        }
        #expect(tally.slow.isEmpty)
        for length in stride(from: 0, to: seed.count, by: 7) {
            do { _ = try FleetLoader.parse(bytes: Array(seed.prefix(length)), file: "cut.yaml") } catch {
                #expect(error.file == "cut.yaml")
            }
        }
    }
}
