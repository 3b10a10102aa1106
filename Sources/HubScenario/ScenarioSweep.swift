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
        public let seeds: ClosedRange<UInt64>
        public let outcomes: [ScenarioOutcome]

        public var passed: Bool { outcomes.allSatisfy(\.passed) }
        public var failed: [ScenarioOutcome] { outcomes.filter { !$0.passed } }
    }

    /// At most this many seeds in one sweep: more is a typo, not a plan.
    public static let seedCountMax: UInt64 = 100_000
    /// Failing seeds shown in full per scenario; the rest are listed by number.
    public static let failuresShownMax = 5

    /// Runs every scenario under every seed, at most `workers` at a time. `eventLogPath`
    /// names each run's log (nil: none); `progress` hears (runs done, runs in all) from the
    /// workers' threads. `recordTimeline` keeps each scenario's timeline for the HTML report:
    /// every run records one, and only a run that may be the one shown keeps it.
    public static func run(_ scenarios: [Scenario], seeds: ClosedRange<UInt64>,
                           workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                           eventLogPath: @Sendable (Scenario, UInt64) -> String? = { _, _ in nil },
                           recordTimeline: Bool = false,
                           progress: (@Sendable (Int, Int) -> Void)? = nil) throws(StoreError) -> [ScenarioResult] {
        precondition(UInt64(seeds.count) <= seedCountMax)
        let seedList = Array(seeds)
        let total = scenarios.count * seedList.count
        let done = Counter()
        let choice = TimelineChoice(scenarios: scenarios.count, lowestSeed: seeds.lowerBound)
        let results = ParallelMap.run(count: total, workers: workers) { index -> Result<ScenarioOutcome, StoreError> in
            let scenario = scenarios[index / seedList.count]
            let seed = seedList[index % seedList.count]
            let result = Result { () throws(StoreError) in
                var outcome = try ScenarioRunner.run(scenario, seed: seed, eventLogPath: eventLogPath(scenario, seed), recordTimeline: recordTimeline)
                if outcome.timeline != nil, !choice.mayShow(scenario: index / seedList.count, seed: seed, failed: !outcome.passed) {
                    outcome.timeline = nil
                }
                return outcome
            }
            progress?(done.increment(), total)
            return result
        }
        var reports: [ScenarioResult] = []
        for (s, scenario) in scenarios.enumerated() {
            var outcomes: [ScenarioOutcome] = []
            for result in results[(s * seedList.count)..<((s + 1) * seedList.count)] { outcomes.append(try result.get()) }
            reports.append(ScenarioResult(scenario: scenario, seeds: seeds, outcomes: outcomes))
        }
        return reports
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
        let seeds = results.first.map { "seeds \(rangeText($0.seeds))" } ?? "no seeds"
        lines.append("scenarios: \(results.count - failedScenarios) passed, \(failedScenarios) failed (\(seeds), \(runs) runs)")
        lines.append("\(runs - failedRuns) passed, \(failedRuns) failed")
        return lines.joined(separator: "\n")
    }

    static func block(_ result: ScenarioResult) -> [String] {
        let s = result.scenario
        let outcomes = result.outcomes
        let failed = result.failed
        var head = "\(result.passed ? "PASS" : "FAIL") \(s.name)  (\(s.file), seeds \(rangeText(result.seeds)): \(outcomes.count - failed.count) of \(outcomes.count) passed"
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

    static func rangeText(_ seeds: ClosedRange<UInt64>) -> String { "\(seeds.lowerBound)..\(seeds.upperBound)" }

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

/// Which runs of a sweep may hold the timeline a report shows (`ScenarioReport.Entry.timelineSeed`:
/// the lowest failing seed, else the lowest seed), decided as runs finish on any worker.
///
/// Why: a sweep of thousands of seeds must not keep thousands of timelines until the
/// report is built; a run keeps its timeline only while it can still be the one shown.
final class TimelineChoice: @unchecked Sendable {
    // Safe: `lowestFailing` is only touched under the lock.
    private let lowestSeed: UInt64
    private var lowestFailing: [UInt64?]
    private let lock = NSLock()

    init(scenarios: Int, lowestSeed: UInt64) {
        self.lowestSeed = lowestSeed
        lowestFailing = Array(repeating: nil, count: scenarios)
    }

    func mayShow(scenario: Int, seed: UInt64, failed: Bool) -> Bool {
        guard failed else { return seed == lowestSeed }
        return lock.withLock {
            if let known = lowestFailing[scenario], known <= seed { return false }
            lowestFailing[scenario] = seed
            return true
        }
    }
}
