import HubCore
import HubKernel
import HubScenario
import HubSim
import Testing

/// The scenario grammar's component faults and expectations, and what they find in a run.
@Suite("Component faults and expectations in scenarios")
struct ComponentScenarioTests {
    static func scenario(timeline: String, expect: String, kit: Bool = false) -> String {
        """
        name: c
        seed: 1
        duration: 2h
        hub:
          appliances:
            - { id: hvac, kind: furnace, sensor: sensehat }\(kit ? "\n    - { id: fridge, kind: fridge, sensor: mqtt-kit, model: none }" : "")
        timeline:
        \(timeline)
        expect:
        \(expect)
        """
    }

    @Test("component faults and expectations load into typed values")
    func loads() throws {
        let text = Self.scenario(
            timeline: "  - { at: 10m, fault: component.uplink.crash }\n  - { at: 20m, fault: component.sensor.flood, count: 5, for: 1m }",
            expect: "  - component-recovers: { component: uplink, within: 2s }\n  - component-state: { component: display, state: running }\n  - bus-refused: { component: sensor, min: 1, max: 10 }")
        let scenario = try ScenarioLoader.parse(text, file: "c.yaml")
        #expect(scenario.timeline == [
            ScheduledFault(at: .seconds(600), duration: nil, fault: .component(name: "uplink", .crash)),
            ScheduledFault(at: .seconds(1200), duration: .seconds(60), fault: .component(name: "sensor", .flood(count: 5))),
        ])
        #expect(scenario.expectations == [
            .componentRecovers(component: "uplink", within: .seconds(2)),
            .componentState(component: "display", state: .running),
            .busRefused(component: "sensor", min: 1, max: 10),
        ])
    }

    @Test("a component fault or expectation that can hit nothing is refused with its line", arguments: [
        ("  - { at: 10m, fault: component.uplnk.crash }", "  - no-reading-lost", 8, "did you mean 'uplink'"),
        ("  - { at: 10m, fault: component.kit-bridge.hang }", "  - no-reading-lost", 8, "runs no component 'kit-bridge'"),
        ("  - { at: 10m, fault: component.uplink.crash, for: 1m }", "  - no-reading-lost", 8, "is an instant; it takes no 'for'"),
        ("  - { at: 10m, fault: component.uplink.flood, count: 0 }", "  - no-reading-lost", 8, "within 1...10000"),
        ("  - { at: 10m, fault: component.uplink.crash, device: hvac }", "  - no-reading-lost", 8, "names its component in the fault name"),
        ("  []", "  - component-recovers: { component: uplink, within: 2s }", 10, "no timeline fault crashes or hangs 'uplink'"),
        ("  - { at: 10m, fault: component.uplink.flood }", "  - component-recovers: { component: uplink, within: 2s }", 10, "no timeline fault crashes or hangs"),
        ("  []", "  - component-state: { component: uplink, state: sleeping }", 10, "unknown state 'sleeping'"),
        ("  []", "  - bus-refused: { component: display }", 10, "needs min, max or both"),
        ("  []", "  - bus-refused: { component: display, min: 5, max: 2 }", 10, "below min"),
        ("  []", "  - bus-refused: { component: display, min: -1 }", 10, "whole number"),
    ])
    func refusals(timeline: String, expect: String, line: Int, message: String) {
        Self.expectRefused(timeline: timeline, expect: expect, line: line, message: message)
    }

    /// The scenario with this timeline and these expectations is refused at `line` with `message`.
    static func expectRefused(timeline: String, expect: String, line: Int, message: String) {
        do {
            _ = try ScenarioLoader.parse(scenario(timeline: timeline, expect: expect), file: "c.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.file == "c.yaml")
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test("the kit bridge can be faulted only where a kit sends over MQTT")
    func kitBridge() throws {
        let text = Self.scenario(timeline: "  - { at: 10m, fault: component.kit-bridge.hang, for: 5m }",
                                 expect: "  - component-recovers: { component: kit-bridge, within: 1m }", kit: true)
        #expect(try ScenarioLoader.parse(text, file: "c.yaml").timeline.count == 1)
    }

    @Test("a crash without a timely restart fails component-recovers, naming when and how long")
    func recoveryCanFail() throws {
        let text = Self.scenario(timeline: "  - { at: 10m, fault: component.inference.hang, for: 5m }",
                                 expect: "  - component-recovers: { component: inference, within: 5s }")
        let report = try ScenarioRunner.run(try ScenarioLoader.parse(text, file: "c.yaml"))
        #expect(!report.passed)
        let evidence = report.checks.map(\.evidence).joined()
        // A hang is a failure from its first second; the probe finds it within 40 s and the restart takes 1 s more.
        #expect(evidence.contains("inference failed at +10m and took"), "\(evidence)")
    }
}
