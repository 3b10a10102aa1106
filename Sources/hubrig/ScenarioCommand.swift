import ArgumentParser
import Foundation
import HubCore
import HubScenario

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario", abstract: "Run resilience scenarios.", subcommands: [Run.self, Check.self, List.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge a recorded run (an event log) against a scenario's expectations.",
            discussion: """
                Reads the event log of a simulation (scenario run --event-log) or of a real \
                hub (hub run --event-log) and applies the scenario's expectations to it with \
                the same checkers a simulation uses. The run starts at the log's first event \
                and lasts the scenario's duration; the timeline is not applied. \
                Exit status: 0 every expectation held, 1 one failed, 2 invalid input.
                """)

        @Argument(help: "The scenario file whose expectations judge the run.")
        var scenario: String

        @Option(help: "The event log (JSON lines) of the run.")
        var history: String

        @OptionGroup var results: ResultFileOptions

        func run() throws {
            let loaded: Scenario
            do {
                loaded = try ScenarioLoader.load(path: scenario)
            } catch {
                printError("invalid scenario: \(error)")
                throw ExitCode(2)
            }
            let outcome: ScenarioOutcome
            do {
                outcome = try ScenarioRunner.check(loaded, historyPath: history)
            } catch {
                printError("invalid event log: \(error)")
                throw ExitCode(2)
            }
            print(ScenarioRunner.summary(outcome))
            try results.write([loaded], [outcome])
            if !outcome.passed { throw ExitCode(1) }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run scenario files (or every *.yaml in a directory) in simulation.",
            discussion: """
                With --seeds A..B every scenario runs under every seed of the range, on all \
                cores, and the report names each failing seed with its replay command. \
                Exit status: 0 every expectation held, 1 one failed, 2 invalid input.
                """)

        @Argument(help: "Scenario files or directories.")
        var paths: [String]

        @Option(help: "Seed for every scenario, instead of each file's own.")
        var seed: UInt64?

        @Option(help: "Run every scenario under each seed of A..B (inclusive), in parallel.")
        var seeds: String?

        @Option(help: "Simulations run at once with --seeds (default: the machine's cores).")
        var jobs: Int?

        @Option(name: .customLong("event-log"),
                help: "Write the event log (JSON lines) here; with several scenarios or seeds, a directory of <name>[-seed<N>].jsonl files.")
        var eventLog: String?

        @Option(help: "Directory holding <kind>/ model packages, for appliances that name none (default: fixtures/models of the scenario's repository).")
        var models: String?

        @OptionGroup var results: ResultFileOptions

        @OptionGroup var selection: ScenarioSelection

        @Option(help: "Run shard K of N (e.g. 2/4): the (scenario, seed) runs split evenly by simulated cost; merge the shards' --json with `hubrig report merge`.")
        var shard: String?

        @OptionGroup var live: LiveOptions

        func validate() throws {
            if seed != nil, seeds != nil { throw ValidationError("--seed and --seeds exclude each other") }
            if !live.live, live.timeScale != nil || live.hub != nil || live.shim != nil || live.directory != nil || live.backend != .standin {
                throw ValidationError("--time-scale, --hub, --shim, --live-dir and --backend go with --live")
            }
            try selection.validate()
            if let shard {
                do { _ = try SweepPlan.parseShard(shard) } catch { throw ValidationError(error.description) }
                if live.live { throw ValidationError("--shard splits simulation runs; a live run is one machine's") }
            }
            if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be within 1...256, found \(jobs)") }
            if let seeds {
                do { _ = try ScenarioSweep.parseSeeds(seeds) } catch { throw ValidationError(error.description) }
            }
        }

        func run() throws {
            let files = try expandScenarioPaths(paths)
            let scenarios = try selection.select(try loadScenarios(files, models: models))
            try checkNames(scenarios)
            if live.live {
                let seedList = try seeds.map { Array(try ScenarioSweep.parseSeeds($0)) } ?? [seed].compactMap { $0 }
                try live.run(try live.selectLive(scenarios, named: files.count == 1 || paths.allSatisfy { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }),
                             seeds: seedList, results: results)
                return
            }
            if seeds != nil || shard != nil {
                var plan = SweepPlan(scenarios, seeds: try seeds.map { Array(try ScenarioSweep.parseSeeds($0)) } ?? seed.map { [$0] })
                if let shard {
                    let (k, n) = try SweepPlan.parseShard(shard)
                    plan = plan.shard(k, of: n, scenarios: scenarios)
                    printError("shard \(k)/\(n): \(plan.runs.count) runs, simulated cost \(plan.cost(scenarios)) readings")
                }
                try sweep(scenarios, plan: plan)
            } else {
                try runEach(scenarios)
            }
        }

        /// One run per scenario, each with its full summary.
        private func runEach(_ scenarios: [Scenario]) throws {
            let directory = scenarios.count > 1 ? try eventLogDirectory() : nil
            var failed = 0
            var outcomes: [ScenarioOutcome] = []
            for scenario in scenarios {
                let logPath = eventLog.map { path in directory.map { "\($0)/\(scenario.name).jsonl" } ?? path }
                let progress = TerminalProgress(label: scenario.name, total: scenario.duration.secondsValue)
                let start = scenario.start
                var report: ((Instant) -> Void)?
                let days = Int((scenario.duration.secondsValue / 86_400).rounded(.up))
                if let progress {
                    let clock = ContinuousClock()
                    let began = clock.now
                    report = { now in
                        let simulated = (now - start).secondsValue
                        let wall = max(1e-3, (clock.now - began).secondsValue)
                        let left = simulated > 0 ? wall * (scenario.duration.secondsValue - simulated) / simulated : 0
                        progress.show(simulated, detail: "day \(Int(simulated / 86_400)) of \(days), \(TextFormat.grouped(Int(simulated / wall)))× real time, ETA \(DurationText.format(.seconds(Int64(left.rounded()))))")
                    }
                }
                var outcome: ScenarioOutcome
                do {
                    outcome = try ScenarioRunner.run(scenario, seed: seed, eventLogPath: logPath, recordTimeline: results.wantsAny, progress: report)
                } catch {
                    progress?.clear()
                    printError("\(scenario.file): event log: \(error)")
                    throw ExitCode(2)
                }
                progress?.clear()
                if !outcome.passed {
                    do { outcome = try ScenarioRunner.withContext(outcome) } catch {
                        printError("\(scenario.file): replay for the events around the failure: \(error)")
                        throw ExitCode(2)
                    }
                }
                print(ScenarioRunner.summary(outcome))
                outcomes.append(outcome)
                if !outcome.passed { failed += 1 }
            }
            print("\(scenarios.count - failed) passed, \(failed) failed")
            try results.write(scenarios, outcomes)
            if failed > 0 { throw ExitCode(1) }
        }

        /// Every run of the plan; the report goes to standard output, timing to standard error.
        private func sweep(_ scenarios: [Scenario], plan: SweepPlan) throws {
            let directory = try eventLogDirectory(always: true)
            let workers = jobs ?? ProcessInfo.processInfo.activeProcessorCount
            let progress = SweepProgress(scenarios: scenarios, plan: plan)
            let clock = ContinuousClock()
            let began = clock.now
            let results: [ScenarioSweep.ScenarioResult]
            let logPath: @Sendable (Scenario, UInt64) -> String? = { scenario, seed in
                directory.map { "\($0)/\(scenario.name)-seed\(seed).jsonl" }
            }
            var report: (@Sendable (Int, Int, SweepPlan.Run) -> Void)?
            if let progress { report = { done, total, run in progress.show(done: done, total: total, run: run) } }
            do {
                results = try ScenarioSweep.run(scenarios, plan: plan, workers: workers, eventLogPath: logPath, progress: report)
            } catch {
                progress?.clear()
                printError("event log: \(error)")
                throw ExitCode(2)
            }
            progress?.clear()
            print(ScenarioSweep.report(results))
            printError("\(plan.runs.count) runs on \(workers) workers in \(TextFormat.fixed((clock.now - began).secondsValue, decimals: 1)) s")
            try self.results.write(scenarios, results.flatMap(\.outcomes))
            if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
        }

        /// Names become event-log file names and report keys: unique in one run.
        private func checkNames(_ scenarios: [Scenario]) throws {
            let errors = ScenarioName.duplicates(scenarios)
            for error in errors { printError("invalid scenario: \(error)") }
            if !errors.isEmpty { throw ExitCode(2) }
        }

        /// The event-log directory, created if needed, when logs are per scenario (or `always`).
        private func eventLogDirectory(always: Bool = false) throws -> String? {
            guard let eventLog else { return nil }
            do {
                try FileManager.default.createDirectory(atPath: eventLog, withIntermediateDirectories: true)
            } catch {
                printError("\(eventLog): cannot create event-log directory: \(error.localizedDescription)")
                throw ExitCode(2)
            }
            return eventLog
        }

    }
}

/// A progress line on standard error, redrawn in place — only when standard error is a
/// terminal, so logs and pipes get none of it.
final class TerminalProgress: @unchecked Sendable {
    // Safe: `show` and `clear` serialise on the lock; workers of a sweep call `show`.
    private let label: String
    private let total: Double
    private let lock = NSLock()
    private var lastPercent = -1

    /// Nil when standard error is not a terminal.
    init?(label: String, total: Double) {
        guard isatty(STDERR_FILENO) == 1, total > 0 else { return nil }
        self.label = label
        self.total = total
    }

    func show(_ done: Double, detail: String? = nil) {
        let percent = Int(min(100, done / total * 100))
        lock.withLock {
            guard percent != lastPercent else { return }
            lastPercent = percent
            FileHandle.standardError.write(Data("\r\(label): \(detail.map { $0 + ", " } ?? "")\(percent)%\u{1B}[K".utf8))
        }
    }

    func clear() {
        lock.withLock { if lastPercent >= 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
    }
}

/// `--junit FILE --json FILE --report FILE.html`: the results as data and as the page
/// people read, for `scenario run`, `scenario check` and `report merge`.
struct ResultFileOptions: ParsableArguments {
    @Option(help: "Write the results as JUnit XML (one testsuite per scenario, one testcase per expectation) to this file.")
    var junit: String?

    @Option(help: "Write the results as JSON to this file (what `hubrig report merge` joins).")
    var json: String?

    @Option(help: "Write the HTML report (one self-contained file: timelines, the Well-Architected table) to this file.")
    var report: String?

    var wantsAny: Bool { junit != nil || json != nil || report != nil }

    /// Writes the files asked for; a file that cannot be written is exit 2.
    func write(_ report: ScenarioReport) throws {
        for (path, content) in [(junit, { ResultFiles.junit(report) }), (json, { ReportJSON.write(report) }),
                                (self.report, { HTMLReport.render(report) })] {
            guard let path else { continue }
            do {
                try content().write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                printError("\(path): cannot write the results: \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
    }

    func write(_ scenarios: [Scenario], _ outcomes: [ScenarioOutcome]) throws {
        guard wantsAny else { return }
        try write(ScenarioReport(scenarios: scenarios, outcomes: outcomes))
    }
}
