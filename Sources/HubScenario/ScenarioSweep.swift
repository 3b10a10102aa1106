import Foundation
import HubCore
import HubStore

/// Runs scenarios under every seed of a range, on all cores, and reports them in a fixed order.
///
/// A verdict that holds on one seed proves little; this is how scenarios are meant to be
/// run. Runs are independent simulations, so they go to `ParallelMap`; the report is built
/// from results in (scenario, seed) order and holds no wall-clock figure, so the same
/// sweep prints the same report byte for byte, whatever the machine's load.
public enum ScenarioSweep {
    /// One scenario's runs, one per seed in order.
    public struct ScenarioResult: Sendable {
        public let scenario: Scenario
        public let seeds: [UInt64]
        public let outcomes: [ScenarioOutcome]

        public var passed: Bool { outcomes.allSatisfy(\.passed) }
        public var failed: [ScenarioOutcome] { outcomes.filter { !$0.passed } }
    }

    /// At most this many seeds in one sweep: more is a typo, not a plan.
    public static let seedCountMax: UInt64 = 100_000
    /// Failing seeds shown in full per scenario; the rest are listed by number.
    public static let failuresShownMax = 5

    /// Runs every scenario under every seed, at most `workers` at a time.
    public static func run(_ scenarios: [Scenario], seeds: ClosedRange<UInt64>,
                           workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                           eventLogPath: @Sendable (Scenario, UInt64) -> String? = { _, _ in nil },
                           progress: (@Sendable (Int, Int) -> Void)? = nil) throws(StoreError) -> [ScenarioResult] {
        precondition(UInt64(seeds.count) <= seedCountMax)
        var perRun: (@Sendable (Int, Int, SweepPlan.Run) -> Void)?
        if let progress { perRun = { done, total, _ in progress(done, total) } }
        return try run(scenarios, plan: SweepPlan(scenarios, seeds: Array(seeds)), workers: workers, eventLogPath: eventLogPath,
                       progress: perRun)
    }

    /// Makes the runs of `plan` (a whole sweep or one shard of it), at most `workers` at a
    /// time. `eventLogPath` names each run's log (nil: none); `progress` hears (runs done,
    /// runs in all, the run just done) from the workers' threads. The lowest seed of each
    /// scenario records its timeline; then the failed seeds shown in full are replayed —
    /// runs are deterministic — to keep the events around each violation, and the lowest
    /// failed seed's timeline replaces the passing one. Scenarios the plan gives no run
    /// are left out.
    public static func run(_ scenarios: [Scenario], plan: SweepPlan,
                           workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                           eventLogPath: @Sendable (Scenario, UInt64) -> String? = { _, _ in nil },
                           progress: (@Sendable (Int, Int, SweepPlan.Run) -> Void)? = nil) throws(StoreError) -> [ScenarioResult] {
        let runs = plan.runs
        var lowest: [Int: UInt64] = [:]
        for run in runs { lowest[run.scenario] = min(lowest[run.scenario] ?? .max, run.seed) }
        let timelineSeeds = lowest
        let done = Counter()
        let results = ParallelMap.run(count: runs.count, workers: workers) { index -> Result<ScenarioOutcome, StoreError> in
            let run = runs[index]
            let scenario = scenarios[run.scenario]
            let result = Result { () throws(StoreError) in
                try ScenarioRunner.run(scenario, seed: run.seed, eventLogPath: eventLogPath(scenario, run.seed),
                                       recordTimeline: timelineSeeds[run.scenario] == run.seed)
            }
            progress?(done.increment(), runs.count, run)
            return result
        }
        var outcomes: [ScenarioOutcome] = []
        for result in results { outcomes.append(try result.get()) }
        try replayFailures(&outcomes, workers: workers)
        var reports: [ScenarioResult] = []
        var at = 0
        while at < runs.count {
            let scenario = runs[at].scenario
            var next = at
            while next < runs.count, runs[next].scenario == scenario { next += 1 }
            reports.append(ScenarioResult(scenario: scenarios[scenario], seeds: runs[at..<next].map(\.seed), outcomes: Array(outcomes[at..<next])))
            at = next
        }
        return reports
    }

    /// Replays the failed runs each scenario shows in full, keeping the events around
    /// their violations, and the timeline of each scenario's first failed run.
    private static func replayFailures(_ outcomes: inout [ScenarioOutcome], workers: Int) throws(StoreError) {
        var shownIndices: [Int] = []
        var perScenario: [String: Int] = [:]
        for (index, outcome) in outcomes.enumerated() where !outcome.passed && outcome.historyPath == nil {
            let key = outcome.scenario.file + "\u{0}" + outcome.scenario.name
            let count = perScenario[key, default: 0]
            if count < failuresShownMax { shownIndices.append(index) }
            perScenario[key] = count + 1
        }
        let shown = shownIndices
        let firstFailed = Set(shown.filter { index in
            !shown.contains { $0 < index && outcomes[$0].scenario.file == outcomes[index].scenario.file && outcomes[$0].scenario.name == outcomes[index].scenario.name }
        })
        let originals = outcomes
        let replays = ParallelMap.run(count: shown.count, workers: workers) { slot -> Result<ScenarioOutcome, StoreError> in
            let outcome = originals[shown[slot]]
            return Result { () throws(StoreError) in
                try ScenarioRunner.run(outcome.scenario, seed: outcome.seed, recordTimeline: firstFailed.contains(shown[slot]),
                                       contextAround: outcome.checks.compactMap(\.at))
            }
        }
        for (slot, index) in shown.enumerated() {
            let replay = try replays[slot].get()
            // Same seed, same run: the verdicts must match, or determinism is broken.
            precondition(replay.checks.map(\.passed) == outcomes[index].checks.map(\.passed), "replay of \(outcomes[index].scenario.name) seed \(outcomes[index].seed) differs")
            outcomes[index].checks = replay.checks
            if let timeline = replay.timeline { outcomes[index].timeline = timeline }
        }
    }

    /// The report of a sweep: a block per scenario, failing seeds with their evidence and
    /// replay command, then the totals; the last line is `N passed, N failed` over runs.
    public static func report(_ results: [ScenarioResult]) -> String {
        var lines: [String] = []
        for result in results {
            lines += block(result)
        }
        let failedScenarios = results.filter { !$0.passed }.count
        let runs = results.reduce(0) { $0 + $1.outcomes.count }
        let failedRuns = results.reduce(0) { $0 + $1.failed.count }
        let seeds = "seeds " + seedsText(Array(Set(results.flatMap(\.seeds))).sorted())
        lines.append("scenarios: \(results.count - failedScenarios) passed, \(failedScenarios) failed (\(seeds), \(runs) runs)")
        lines.append("\(runs - failedRuns) passed, \(failedRuns) failed")
        return lines.joined(separator: "\n")
    }

    static func block(_ result: ScenarioResult) -> [String] {
        let s = result.scenario
        let outcomes = result.outcomes
        let failed = result.failed
        var head = "\(result.passed ? "PASS" : "FAIL") \(s.name)  (\(s.file), seeds \(seedsText(result.seeds)): \(outcomes.count - failed.count) of \(outcomes.count) passed"
        if !failed.isEmpty { head += "; failed on seed\(failed.count == 1 ? "" : "s") " + failed.map { String($0.seed) }.joined(separator: ", ") }
        head += ", \(DurationText.format(s.duration)) each)"
        var lines = [head]
        let readings = outcomes.map(\.readings)
        let alerts = outcomes.reduce(0) { $0 + $1.anomalyAlerts }
        lines.append("     readings \(readings.min() ?? 0)…\(readings.max() ?? 0) per run · anomaly alerts \(alerts) in all · models: \(ScenarioRunner.modelsLine(s))")
        for outcome in failed.prefix(failuresShownMax) {
            lines.append("     seed \(outcome.seed):")
            lines += ScenarioRunner.checkLines(outcome, onlyFailures: true, indent: "       ")
            lines.append("       replay: \(ScenarioRunner.replayCommand(s, seed: outcome.seed))")
        }
        if failed.count > failuresShownMax {
            lines.append("     … \(failed.count - failuresShownMax) more failing seeds, listed above; replay any with its --seed")
        }
        return lines
    }

    /// `1..100`, or `1..3,7,9..12` for the seeds a shard holds.
    public static func seedsText(_ seeds: [UInt64]) -> String {
        let runs = seedRuns(seeds)
        return runs.isEmpty ? "none" : runs.joined(separator: ",")
    }

    /// `seeds` sorted and written as runs: `1..3`, `7`, `9..10` (the sweep's summary and the
    /// HTML report join them each their own way).
    static func seedRuns(_ seeds: [UInt64]) -> [String] {
        let sorted = seeds.sorted()
        guard let first = sorted.first else { return [] }
        var runs: [String] = []
        var (low, high) = (first, first)
        for seed in sorted.dropFirst() {
            if high < UInt64.max, seed == high + 1 { high = seed; continue }
            runs.append(low == high ? "\(low)" : "\(low)..\(high)")
            (low, high) = (seed, seed)
        }
        runs.append(low == high ? "\(low)" : "\(low)..\(high)")
        return runs
    }

    /// Reads `A..B` (inclusive, A ≤ B, at most `seedCountMax` seeds).
    public static func parseSeeds(_ text: String) throws(SeedRangeError) -> ClosedRange<UInt64> {
        let parts = text.components(separatedBy: "..")
        guard parts.count == 2 else { throw SeedRangeError(text: text, reason: "expected A..B, for example 1..100") }
        guard let low = UInt64(parts[0]) else { throw SeedRangeError(text: text, reason: "\(parts[0].debugDescription) is not a seed (0...\(UInt64.max))") }
        guard let high = UInt64(parts[1]) else { throw SeedRangeError(text: text, reason: "\(parts[1].debugDescription) is not a seed (0...\(UInt64.max))") }
        guard low <= high else { throw SeedRangeError(text: text, reason: "the first seed must not be greater than the last") }
        guard high - low < seedCountMax else { throw SeedRangeError(text: text, reason: "at most \(seedCountMax) seeds in one sweep") }
        return low...high
    }
}

/// A `--seeds` value that is not a usable range.
public struct SeedRangeError: Error, CustomStringConvertible, Equatable {
    public let text: String
    public let reason: String
    public var description: String { "--seeds \(text.debugDescription): \(reason)" }
}

/// Counts finished runs across workers, for progress only.
final class Counter: @unchecked Sendable {
    // Safe: the count is only touched under the lock.
    private var value = 0
    private let lock = NSLock()

    func increment() -> Int { lock.withLock { value += 1; return value } }
}
