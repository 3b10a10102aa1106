import Foundation
import HubCore
import HubKernel
import HubSim
import HubStore

/// The verdict on one expectation, with the evidence a reader needs to believe it.
public struct CheckResult: Sendable {
    public let expectation: Expectation
    public let passed: Bool
    public let evidence: String
    /// Where the checker saw the violation, when it can say (the first late gap, the
    /// unexpected alert, the end of a window that stayed empty).
    public var at: Instant? = nil
    /// The event log lines around `at`, filled in when the run is replayed for them.
    public var context: [String] = []
}

/// The result of running one scenario in simulation.
public struct ScenarioOutcome: Sendable {
    public let scenario: Scenario
    public var seed: UInt64
    public var checks: [CheckResult]
    public var wallSeconds: Double
    public let readings: Int
    public let anomalyAlerts: Int
    public let cloudMessages: Int
    public let ledColour: String
    public let eventLogLines: Int
    /// The event log a recorded run was judged from (`scenario check`); nil for a simulation.
    public var historyPath: String? = nil
    /// Set for a run against the real hub process (`scenario run --live`).
    public var live: LiveFigures? = nil
    /// The instant the run started (what `CheckResult.at` is measured from in reports).
    public var start: Instant? = nil
    /// The run's timeline, when it was recorded (`ScenarioRunner.run(recordTimeline:)`).
    public var timeline: ScenarioTimeline? = nil

    public var passed: Bool { checks.allSatisfy(\.passed) }

    public var simSpeedRatio: Double { scenario.duration.secondsValue / max(wallSeconds, 1e-9) }
}

/// Runs scenarios in simulation and judges them.
///
/// The checkers consume the history as the simulation records it; nothing keeps the
/// whole history, so a run's memory does not grow with its length.
public enum ScenarioRunner {
    /// How often a long run reports its progress, in simulated time.
    public static let progressInterval: Duration = .seconds(86_400)

    /// Runs `scenario` (with `seed` instead of its own, if given), writing the event log to
    /// `eventLogPath` if given, and checks every expectation against the history.
    /// `verifyReads: false` turns off the drivers' read verification (to show what it prevents).
    /// `progress` hears the simulated instant once per simulated day.
    /// `recordTimeline` keeps the run's timeline for the HTML report; `contextAround` keeps
    /// the events around those instants (a failed run's violations, on its replay) in the
    /// failed checks whose violation is one of them.
    public static func run(_ scenario: Scenario, seed: UInt64? = nil, eventLogPath: String? = nil,
                           verifyReads: Bool = true, recordTimeline: Bool = false, contextAround: [Instant] = [],
                           progress: ((Instant) -> Void)? = nil) throws(StoreError) -> ScenarioOutcome {
        var setup = scenario.simulationSetup(seed: seed)
        setup.verifyReads = verifyReads
        let log = try eventLogPath.map { (path) throws(StoreError) in try EventLogWriter(path: path) }
        let judge = HistoryJudge(scenario, start: setup.start, recordTimeline: recordTimeline)
        let context = contextAround.isEmpty ? nil : ViolationContext(around: contextAround)
        let recorder = HistoryRecorder(log: log, keepsEntries: false) { event, time in
            judge.observe(event, at: time)
            if let context, !context.isDone { context.observe(event, at: time) }
        }
        let simulation = Simulation(setup: setup, recordTruth: scenario.expectations.contains { $0.needsTruth }, recorder: recorder)
        let clock = ContinuousClock()
        let began = clock.now
        simulation.run(progressEvery: progressInterval, progress: progress)
        let wall = (clock.now - began).secondsValue
        try recorder.finish()
        var outcome = judge.outcome(seed: setup.seed, wallSeconds: wall, eventLogLines: log?.linesWritten ?? 0)
        if let context {
            for index in outcome.checks.indices {
                if let at = outcome.checks[index].at { outcome.checks[index].context = context.lines(around: at) }
            }
        }
        return outcome
    }

    /// Judges a recorded run: the event log at `historyPath` (a simulation's, or a real
    /// hub's) is read back event by event through the same checkers a simulation feeds. The
    /// run starts at the log's first event and lasts the scenario's duration; the
    /// scenario's timeline is not applied — whoever made the log injected the faults.
    public static func check(_ scenario: Scenario, historyPath: String) throws(EventLogReadError) -> ScenarioOutcome {
        var judge: HistoryJudge?
        let events = try EventLogReader.read(path: historyPath) { event, time in
            let judging = judge ?? HistoryJudge(scenario, start: time, recordTimeline: true)
            judge = judging
            judging.observe(event, at: time)
        }
        guard events > 0, let judge else { throw EventLogReadError(path: historyPath, line: nil, reason: "no events: nothing to judge") }
        var outcome = judge.outcome(seed: scenario.seed, wallSeconds: 0, eventLogLines: events)
        outcome.historyPath = historyPath
        return outcome
    }

    /// Judges a live run: the event logs at `histories` (the hub's incarnations, the
    /// world's, the cloud's; each up to its `until`, if given) merged by time — events of
    /// one instant keep the order of the files given, then of their lines — and written to
    /// `mergedPath` as one event log. The run started at `start` (the hub's first answer)
    /// and lasts the scenario's duration.
    public static func check(_ scenario: Scenario, histories: [(path: String, until: Instant?)], start: Instant,
                             mergedPath: String) throws(EventLogReadError) -> ScenarioOutcome {
        var events: [(time: Instant, file: Int, line: Int, event: HistoryEvent)] = []
        for (file, history) in histories.enumerated() {
            var line = 0
            _ = try EventLogReader.read(path: history.path) { event, time in
                // Logs keep microseconds: an event of the cut's own instant may read up to 1 µs later.
                if let until = history.until, time > until + .microseconds(1) { return }
                events.append((time, file, line, event))
                line += 1
            }
        }
        events.sort { ($0.time, $0.file, $0.line) < ($1.time, $1.file, $1.line) }
        let judge = HistoryJudge(scenario, start: start, recordTimeline: true)
        let log: EventLogWriter
        do { log = try EventLogWriter(path: mergedPath) } catch {
            throw EventLogReadError(path: mergedPath, line: nil, reason: "\(error)")
        }
        for entry in events {
            judge.observe(entry.event, at: entry.time)
            do { try log.append(entry.event, at: entry.time) } catch {
                throw EventLogReadError(path: mergedPath, line: nil, reason: "\(error)")
            }
        }
        do { try log.close() } catch { throw EventLogReadError(path: mergedPath, line: nil, reason: "\(error)") }
        var outcome = judge.outcome(seed: scenario.seed, wallSeconds: 0, eventLogLines: events.count)
        outcome.historyPath = mergedPath
        return outcome
    }


    /// The terminal summary of one outcome; failures end with the seed and a replay command.
    public static func summary(_ outcome: ScenarioOutcome) -> String {
        let s = outcome.scenario
        var lines: [String] = []
        let verdict = outcome.passed ? "PASS" : "FAIL"
        if let history = outcome.historyPath {
            lines.append("\(verdict) \(s.name)  (\(s.file) judged on \(history), \(outcome.eventLogLines) events)")
            lines.append("     readings \(outcome.readings) · anomaly alerts \(outcome.anomalyAlerts) · cloud messages \(outcome.cloudMessages) · LED \(outcome.ledColour)")
            lines += checkLines(outcome, onlyFailures: false)
            return lines.joined(separator: "\n")
        }
        lines.append("\(verdict) \(s.name)  (\(s.file), seed \(outcome.seed), \(DurationText.format(s.duration)) simulated in \(formatSeconds(outcome.wallSeconds)), \(formatRatio(outcome.simSpeedRatio))× real time)")
        lines.append("     readings \(outcome.readings) · anomaly alerts \(outcome.anomalyAlerts) · cloud messages \(outcome.cloudMessages) · LED \(outcome.ledColour)")
        lines.append("     models: " + modelsLine(s))
        lines += checkLines(outcome, onlyFailures: false)
        if !outcome.passed { lines.append("     seed \(outcome.seed); replay: \(replayCommand(s, seed: outcome.seed))") }
        return lines.joined(separator: "\n")
    }

    /// One line per expectation: `ok` or `FAIL`, its label and its evidence.
    /// A failed check with a known violation is followed by the events around it.
    static func checkLines(_ outcome: ScenarioOutcome, onlyFailures: Bool, indent: String = "     ") -> [String] {
        outcome.checks.filter { !onlyFailures || !$0.passed }.flatMap { check in
            var lines = ["\(indent)\(check.passed ? "ok  " : "FAIL") \(check.expectation.label): \(check.evidence)"]
            if !check.context.isEmpty, let at = check.at, let start = outcome.start {
                lines.append("\(indent)     events around +\(DurationText.format(at - start)):")
                lines += check.context.map { "\(indent)       \($0)" }
            }
            return lines
        }
    }

    /// The outcome again, from a replay of its seed that keeps the events around each
    /// violation (and the timeline): what a failed single run shows.
    public static func withContext(_ outcome: ScenarioOutcome) throws(StoreError) -> ScenarioOutcome {
        let instants = outcome.checks.compactMap(\.at)
        guard !outcome.passed, outcome.historyPath == nil, !instants.isEmpty else { return outcome }
        var replay = try run(outcome.scenario, seed: outcome.seed, recordTimeline: true, contextAround: instants)
        precondition(replay.checks.map(\.passed) == outcome.checks.map(\.passed), "replay of \(outcome.scenario.name) seed \(outcome.seed) differs")
        replay.wallSeconds = outcome.wallSeconds
        return replay
    }

    /// Which detector scored each appliance, and where its package came from (relative to
    /// the working directory when below it, so reports read the same in every checkout).
    public static func modelsLine(_ scenario: Scenario) -> String {
        let here = FileManager.default.currentDirectoryPath + "/"
        return scenario.appliances.map { appliance in
            let source = appliance.modelSource.hasPrefix(here) ? String(appliance.modelSource.dropFirst(here.count)) : appliance.modelSource
            return switch appliance.detector {
            case .package(let package): "\(appliance.id) \(package.manifest.identifier) from \(source)"
            case .interim: "\(appliance.id) interim z-score"
            case .none: "\(appliance.id) none"
            }
        }.joined(separator: "; ")
    }

    /// The command that replays one seed of a scenario with its event log.
    public static func replayCommand(_ scenario: Scenario, seed: UInt64) -> String {
        "hubrig scenario run \(scenario.file) --seed \(seed) --event-log \(scenario.name)-seed\(seed).jsonl"
    }

    static func formatSeconds(_ seconds: Double) -> String { TextFormat.fixed(seconds, decimals: 2) + " s" }

    static func formatRatio(_ ratio: Double) -> String { TextFormat.grouped(Int(ratio.rounded())) }
}

/// The figures a run's summary line shows, counted from the history like any checker.
final class RunTally {
    private(set) var readings = 0
    private(set) var anomalyAlerts = 0
    private(set) var cloudMessages = 0
    private(set) var ledColour = "off"

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .busPublish(_, _, .reading): readings += 1
        case .busPublish(_, _, .alert(let alert)) where alert.state == .anomalous: anomalyAlerts += 1
        case .cloudReceive, .cloudReceiveBatch: cloudMessages += 1
        case .ledFrame(let colour): ledColour = colour
        default: break
        }
    }
}

/// A scenario's checkers and the run's tally, fed one history: what judging a simulation,
/// a recorded log and a live run have in common.
final class HistoryJudge {
    let scenario: Scenario
    let start: Instant
    private let checkers: [any HistoryChecker]
    private let tally = RunTally()
    private let timeline: TimelineRecorder?

    /// The run starts at `start` and lasts the scenario's duration.
    init(_ scenario: Scenario, start: Instant, recordTimeline: Bool = false) {
        self.scenario = scenario
        self.start = start
        timeline = recordTimeline ? TimelineRecorder(scenario, start: start) : nil
        let context = CheckContext(start: start, end: start + scenario.duration, pollInterval: scenario.pollInterval,
                                   devices: scenario.appliances.map(\.id), ipcComponents: scenario.ipc.components)
        checkers = scenario.expectations.map { $0.makeChecker(context) }
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        tally.observe(event, at: time)
        timeline?.observe(event, at: time)
        for checker in checkers { checker.observe(event, at: time) }
    }

    /// Each expectation's verdict, from the checker that watched the history, with the tally.
    func outcome(seed: UInt64, wallSeconds: Double, eventLogLines: Int) -> ScenarioOutcome {
        let checks = zip(scenario.expectations, checkers).map { expectation, checker in
            let (passed, evidence) = checker.verdict()
            return CheckResult(expectation: expectation, passed: passed, evidence: evidence, at: passed ? nil : checker.violationAt)
        }
        var outcome = ScenarioOutcome(scenario: scenario, seed: seed, checks: checks, wallSeconds: wallSeconds,
                                      readings: tally.readings, anomalyAlerts: tally.anomalyAlerts, cloudMessages: tally.cloudMessages,
                                      ledColour: tally.ledColour, eventLogLines: eventLogLines)
        outcome.start = start
        outcome.timeline = timeline?.finish()
        return outcome
    }
}
