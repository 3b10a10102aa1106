import HubCore
import HubKernel
import HubScenario
import HubSim
import Testing

/// The scenario grammar's deployments, deployment faults and expectations, and what they find in a run.
@Suite("Deployments in scenarios")
struct DeploymentScenarioTests {
    static func scenario(timeline: String, expect: String) -> String {
        ComponentScenarioTests.scenario(timeline: timeline, expect: expect)
    }

    @Test("a deploy entry loads into the deployment the simulated cloud publishes")
    func loads() throws {
        let text = Self.scenario(
            timeline: "  - at: 10m\n    deploy: { id: d1, components: { inference: 1.1.0 }, models: { hvac: 2.3.0 }, configuration: { inference: { k: 2 } }, requires: { disk_mb: 5 }, health_window: 1m, defer: [uplink], defer_max: 2m }\n  - { at: 10m, fault: deploy.crashloop-component, for: 5m }\n  - { at: 30m, fault: host.power-loss, for: 1m }",
            expect: "  - deployment: { id: d1, state: rolled-back, within: 10m }\n  - rollback-within: { id: d1, within: 5s }\n  - model: { device: hvac, is: furnace-ae@2.2.1 }")
        let scenario = try ScenarioLoader.parse(text, file: "c.yaml")
        guard case .deploy(let spec) = scenario.timeline[0].fault else { Issue.record("not a deployment"); return }
        #expect(spec.id == "d1" && spec.components.map(\.name) == ["inference"] && spec.models.map(\.device) == ["hvac"])
        #expect(spec.configuration.map(\.name) == ["inference"] && spec.diskMB == 5 && spec.healthWindow == .seconds(60))
        #expect(spec.deferTo == ["uplink"] && spec.deferMax == .seconds(120))
        #expect(scenario.timeline[1].fault == .deployment(.crashloopComponent) && scenario.timeline[2].fault == .powerLoss)
        #expect(scenario.expectations == [.deployment(id: "d1", state: .rolledBack, within: .seconds(600)), .rollbackWithin(id: "d1", within: .seconds(5)),
                                          .model(device: "hvac", identifier: "furnace-ae@2.2.1")])
    }

    @Test("a deployment or expectation that can hit nothing is refused with its line", arguments: [
        ("  - at: 10m\n    deploy: { id: d1, components: { weather: 1.0.0 } }", "  []", 9, "runs no component 'weather'"),
        ("  - at: 10m\n    deploy: { id: d1, components: { inference: one } }", "  []", 9, "inference"),
        ("  - at: 10m\n    deploy: { id: 'a b' }", "  []", 9, "a deployment id is"),
        ("  - at: 10m\n    deploy: { id: d1, models: { boiler: 1.0.0 } }", "  []", 9, "no appliance with id 'boiler'"),
        ("  - at: 10m\n    deploy: { id: d1, requires: { disk_mb: -3 } }", "  []", 9, "disk_mb"),
        ("  - at: 10m\n    deploy: { id: d1, colour: red }", "  []", 9, "unknown field 'colour'"),
        ("  - at: 10m\n    deploy: { id: d1, defer: [weather] }", "  []", 9, "runs no component 'weather'"),
        ("  - at: 10m\n    deploy: { id: d1 }\n    fault: cloud.offline", "  []", 10, "found deploy and fault"),
        ("  - { at: 10m, fault: deploy.bad-modle }", "  []", 8, "unknown fault"),
        ("  []", "  - deployment: { id: d9, state: committed, within: 1m }", 10, "no timeline entry deploys 'd9'"),
        ("  - at: 10m\n    deploy: { id: d1 }", "  - deployment: { id: d1, state: in-progress, within: 1m }", 11, "unknown end state"),
        ("  - at: 10m\n    deploy: { id: d1 }", "  - rollback-within: { id: d2, within: 1m }", 11, "did you mean 'd1'"),
        ("  []", "  - model: { device: boiler, is: x@1.0.0 }", 10, "no appliance with id 'boiler'"),
    ])
    func refusals(timeline: String, expect: String, line: Int, message: String) {
        ComponentScenarioTests.expectRefused(timeline: timeline, expect: expect, line: line, message: message)
    }

    @Test("the expectations fail when the hub does otherwise, saying what it did")
    func expectationsCanFail() throws {
        let text = Self.scenario(
            timeline: "  - at: 10m\n    deploy: { id: d1, components: { inference: 1.1.0 }, health_window: 1m }\n  - { at: 10m, fault: deploy.crashloop-component, for: 5m }",
            expect: "  - deployment: { id: d1, state: committed, within: 30m }\n  - rollback-within: { id: d1, within: 1ms }\n  - model: { device: hvac, is: furnace-ae@9.9.9 }")
        let report = try ScenarioRunner.run(try ScenarioLoader.parse(text, file: "c.yaml"))
        #expect(report.checks.map(\.passed) == [false, true, false])
        #expect(report.checks[0].evidence.contains("d1 rolled-back at step rollback"))
        #expect(report.checks[2].evidence.contains("hvac is scored by furnace-ae@2.2.1"))
        let quiet = Self.scenario(timeline: "  - at: 10m\n    deploy: { id: d1, components: { inference: 1.1.0 }, health_window: 1m }",
                                  expect: "  - rollback-within: { id: d1, within: 1m }\n  - deployment: { id: d1, state: committed, within: 1m }")
        let committed = try ScenarioRunner.run(try ScenarioLoader.parse(quiet, file: "c.yaml"))
        #expect(committed.checks.map(\.passed) == [false, false])
        #expect(committed.checks[0].evidence.contains("never failed its health window"))
        #expect(committed.checks[1].evidence.contains("(limit 1m)"))
    }

    @Test("a model deployment is rejected, not committed unmade, while inference runs in a process of its own")
    func modelToRemoteInference() throws {
        let text = """
            name: remote-inference-model
            seed: 1
            duration: 2h
            hub:
              ipc: { components: [inference] }
              appliances:
                - { id: hvac, kind: furnace, sensor: sensehat }
            timeline:
              - at: 10m
                deploy: { id: d1, models: { hvac: 2.3.0 } }
            expect:
              - deployment: { id: d1, state: rejected, within: 5m }
              - model: { device: hvac, is: furnace-ae@2.2.1 }
            """
        let report = try ScenarioRunner.run(try ScenarioLoader.parse(text, file: "c.yaml"))
        #expect(report.checks.allSatisfy { $0.passed }, "\(report.checks.map(\.evidence))")
        #expect(report.checks[0].evidence.contains("inference runs in a process of its own"))
    }
}
