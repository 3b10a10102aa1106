import HubCore
import HubSim
import HubStore

/// The result of running one scenario in simulation.
public struct ScenarioOutcome: Sendable {
    public let scenario: Scenario
    public let seed: UInt64
    public let checks: [CheckResult]
    public let wallSeconds: Double
    public let readings: Int
    public let anomalyAlerts: Int
    public let cloudMessages: Int
    public let ledColour: String
    public let eventLogLines: Int

    public var passed: Bool { checks.allSatisfy(\.passed) }

    public var simSpeedRatio: Double { scenario.duration.secondsValue / max(wallSeconds, 1e-9) }
}

/// Runs scenarios in simulation and judges them.
public enum ScenarioRunner {
    /// Runs `scenario` (with `seed` instead of its own, if given), writing the event log to
    /// `eventLogPath` if given, and checks every expectation against the history.
    /// `verifyReads: false` turns off the drivers' read verification (to show what it prevents).
    public static func run(_ scenario: Scenario, seed: UInt64? = nil, eventLogPath: String? = nil,
                           verifyReads: Bool = true) throws(StoreError) -> ScenarioOutcome {
        var setup = scenario.simulationSetup(seed: seed)
        setup.verifyReads = verifyReads
        let log = try eventLogPath.map { (path) throws(StoreError) in try EventLogWriter(path: path) }
        let simulation = Simulation(setup: setup, eventLog: log,
                                    recordTruth: scenario.expectations.contains { $0.needsTruth })
        let clock = ContinuousClock()
        let began = clock.now
        simulation.run()
        let wall = (clock.now - began).secondsValue
        try simulation.history.finish()
        let checks = HistoryChecks(simulation: simulation, pollInterval: scenario.pollInterval)
        return ScenarioOutcome(
            scenario: scenario, seed: setup.seed,
            checks: scenario.expectations.map(checks.check),
            wallSeconds: wall,
            readings: simulation.hub.readingsPublished,
            anomalyAlerts: checks.anomalousAlerts.count,
            cloudMessages: simulation.cloud.received.count,
            ledColour: simulation.display.currentFrame.uniformStatusName ?? "mixed",
            eventLogLines: log?.linesWritten ?? 0)
    }

    /// The terminal summary of one outcome; failures end with the seed and a replay command.
    public static func summary(_ outcome: ScenarioOutcome) -> String {
        let s = outcome.scenario
        var lines: [String] = []
        let verdict = outcome.passed ? "PASS" : "FAIL"
        lines.append("\(verdict) \(s.name)  (\(s.file), seed \(outcome.seed), \(DurationText.format(s.duration)) simulated in \(formatSeconds(outcome.wallSeconds)), \(formatRatio(outcome.simSpeedRatio))× real time)")
        lines.append("     readings \(outcome.readings) · anomaly alerts \(outcome.anomalyAlerts) · cloud messages \(outcome.cloudMessages) · LED \(outcome.ledColour)")
        for check in outcome.checks {
            lines.append("     \(check.passed ? "ok  " : "FAIL") \(check.expectation.label): \(check.evidence)")
        }
        if !outcome.passed {
            lines.append("     seed \(outcome.seed); replay: hubrig scenario run \(s.file) --seed \(outcome.seed) --event-log \(s.name).jsonl")
        }
        return lines.joined(separator: "\n")
    }

    static func formatSeconds(_ seconds: Double) -> String { TextFormat.fixed(seconds, decimals: 2) + " s" }

    static func formatRatio(_ ratio: Double) -> String {
        let whole = Int(ratio.rounded())
        var digits = String(whole)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits = String(digits.dropLast(3))
        }
        return digits + grouped
    }
}
