import Foundation
import HubCore
import HubScenario
import HubStore
import Testing

@Suite("Judging recorded runs")
struct ScenarioCheckTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-\(UUID().uuidString).jsonl").path
    }

    @Test("a simulation's event log, judged afterwards, gets the verdicts and evidence the live run got", arguments: [
        "steady-state.yaml", "sensor-failure.yaml", "furnace-bitflip.yaml", "joystick.yaml", "furnace-sensor-drift.yaml",
    ])
    func sameVerdicts(file: String) throws {
        var scenario = try ScenarioLoader.load(path: ScenarioRunnerTests.scenarios.appendingPathComponent(file).path)
        scenario.duration = min(scenario.duration, .seconds(20 * 3600))
        let log = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let ran = try ScenarioRunner.run(scenario, eventLogPath: log)
        let judged = try ScenarioRunner.check(scenario, historyPath: log)
        #expect(judged.checks.map(\.passed) == ran.checks.map(\.passed))
        #expect(judged.checks.map(\.evidence) == ran.checks.map(\.evidence))
        #expect(judged.readings == ran.readings && judged.ledColour == ran.ledColour)
        #expect(judged.eventLogLines == ran.eventLogLines)
        #expect(ScenarioRunner.summary(judged).contains("judged on \(log)"))
    }

    @Test("a log judged by another scenario's expectations fails where that run would")
    func otherExpectations() throws {
        let steady = try ScenarioLoader.load(path: ScenarioRunnerTests.scenarios.appendingPathComponent("steady-state.yaml").path)
        var failing = try ScenarioLoader.load(path: ScenarioRunnerTests.scenarios.appendingPathComponent("sensor-failure.yaml").path)
        failing.duration = steady.duration
        let log = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: log) }
        _ = try ScenarioRunner.run(steady, eventLogPath: log)
        let judged = try ScenarioRunner.check(failing, historyPath: log)
        #expect(!judged.passed, "a healthy day shows no failed HTS221")
        #expect(judged.checks.first { !$0.passed }?.evidence.contains("not failed within") == true)
    }

    @Test("an empty log is an error, not a pass")
    func emptyLog() throws {
        let scenario = try ScenarioLoader.load(path: ScenarioRunnerTests.scenarios.appendingPathComponent("steady-state.yaml").path)
        let log = temporaryPath()
        try "".write(toFile: log, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: log) }
        #expect(throws: EventLogReadError(path: log, line: nil, reason: "no events: nothing to judge")) {
            try ScenarioRunner.check(scenario, historyPath: log)
        }
    }
}
