import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Scenario runs")
struct ScenarioRunnerTests {
    /// The repository's scenarios folder, found from this file's path.
    static let scenarios = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scenarios")

    /// A furnace whose kit loses both chips for an hour: `readings-every-poll` fails, and
    /// `no-reading-lost` holds; `third` is a third expectation, `appliance` the hub's appliance.
    static func lostKit(appliance: String = "{ id: hvac, kind: furnace }", third: String) -> String {
        """
        name: lost-hts221
        seed: 4
        duration: 3h
        hub:
          appliances: [\(appliance)]
        timeline:
          - { at: 1h, fault: i2c.0x5f.absent, for: 1h }
          - { at: 1h, fault: i2c.0x5c.absent, for: 1h }
        expect:
          - readings-every-poll
          - no-reading-lost
          - \(third)
        """
    }

    @Test("the shipped steady-state day passes every expectation")
    func steadyState() throws {
        let scenario = try ScenarioLoader.load(path: Self.scenarios.appendingPathComponent("steady-state.yaml").path)
        let outcome = try ScenarioRunner.run(scenario)
        #expect(outcome.passed, "\(ScenarioRunner.summary(outcome))")
        #expect(outcome.readings == 8_641)
        #expect(outcome.cloudMessages == 287, "a telemetry batch every 5 minutes (the scenarios' default)")
        #expect(outcome.ledColour == "green")
    }

    @Test("a sensor that disappears makes readings-every-poll fail, and the summary says how to replay")
    func failingExpectation() throws {
        let scenario = try ScenarioLoader.parse(Self.lostKit(third: "alert: { device: hvac, within: 10m, after: 1h }"), file: "lost.yaml")
        let outcome = try ScenarioRunner.run(scenario)
        #expect(!outcome.passed)
        #expect(outcome.checks.map(\.passed) == [false, true, false])
        #expect(outcome.checks[0].evidence.contains("largest gap 1h"))
        let summary = ScenarioRunner.summary(outcome)
        #expect(summary.contains("replay: hubrig scenario run lost.yaml --seed 4"))
    }

    @Test("on a flaky bus, verified reads keep corruption out; without verification the checker catches it")
    func corruption() throws {
        var scenario = try ScenarioLoader.load(path: Self.scenarios.appendingPathComponent("i2c-flaky-bus.yaml").path)
        scenario.duration = .seconds(6 * 3600)
        scenario.expectations = [.noCorruptedReading]
        #expect(try ScenarioRunner.run(scenario).passed)
        let unverified = try ScenarioRunner.run(scenario, verifyReads: false)
        #expect(!unverified.passed)
        #expect(unverified.checks[0].evidence.contains("corrupted reading accepted"))
    }

    @Test("a thermometer drifting on either chip is reported as a sensor problem and raises no appliance alert")
    func thermometerDrift() throws {
        var scenario = try ScenarioLoader.load(path: Self.scenarios.appendingPathComponent("furnace-sensor-drift.yaml").path)
        #expect(scenario.timeline.map(\.fault) == [.sensor(device: "hvac", .drift(channel: .temperature, perHour: 1.5), chip: .hts221)])
        let outcome = try ScenarioRunner.run(scenario)
        #expect(outcome.passed, "\(ScenarioRunner.summary(outcome))")
        #expect(outcome.checks[0].evidence.contains("HTS221 and LPS25H temperatures differ"))
        // The LPS25H drifting low looks the same from the hub: it cannot tell which one is
        // wrong, and says so; the HTS221's readings were right, but it scores none of them.
        scenario.timeline[0].fault = .sensor(device: "hvac", .drift(channel: .temperature, perHour: -1.5), chip: .lps25h)
        let reference = try ScenarioRunner.run(scenario)
        #expect(reference.passed, "\(ScenarioRunner.summary(reference))")
    }

    @Test("a seed override changes the run and is reported")
    func seedOverride() throws {
        let scenario = try ScenarioLoader.load(path: Self.scenarios.appendingPathComponent("steady-state.yaml").path)
        var short = scenario
        short.duration = .seconds(3600)
        let outcome = try ScenarioRunner.run(short, seed: 99)
        #expect(outcome.seed == 99)
        #expect(outcome.passed)
    }
}
