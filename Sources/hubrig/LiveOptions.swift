import ArgumentParser
import Dispatch
import Foundation
import HubCore
import HubLive
import HubScenario

/// `scenario run --live`: the scenarios against the production `hub` process, in real time.
struct LiveOptions: ParsableArguments {
    @Flag(help: "Run against the real hub process with real brokers, the fault proxy and the I²C stand-in, in scaled real time (docs/live.md).")
    var live = false

    @Option(name: .customLong("time-scale"), help: "With --live: simulated seconds per real second (default 40, or the poll interval / 50 ms if smaller; at most that; docs/live.md says why).")
    var timeScale: Int64?

    @Option(help: "With --live: the hub binary (default: `hub` beside this hubrig).")
    var hub: String?

    @Option(help: "With --live: the I²C stand-in library built by shim/build (default: .build/shim/libhubrig-i2c.so beside this hubrig's build).")
    var shim: String?

    @Option(name: .customLong("live-dir"), help: "With --live: where each run's files go (default: a new directory under $TMPDIR, kept and printed).")
    var directory: String?

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case standin
        case sensehat
    }

    @Option(help: "With --live: standin (the simulated Sense HAT through the I²C stand-in) or sensehat (a bench: the Pi's real HAT, scenarios with mode bench, prompts on this terminal; docs/bench.md).")
    var backend: Backend = .standin

    @Option(help: "With --backend sensehat: the Sense HAT's I²C device.")
    var i2c = "/dev/i2c-1"

    @Option(help: "With --backend sensehat: the GPIO chip of the joystick's interrupt.")
    var gpiochip = "/dev/gpiochip0"

    /// The mode the scenarios must declare.
    var mode: Scenario.Mode { backend == .sensehat ? .bench : .live }

    /// The scenarios that declare live mode; a file named on its own that does not is an error.
    func selectLive(_ scenarios: [Scenario], named: Bool) throws -> [Scenario] {
        let others = scenarios.filter { !$0.modes.contains(mode) }
        if named, let first = others.first {
            printError("\(first.file): declares modes [\(first.modes.map(\.rawValue).joined(separator: ", "))]; add \(mode.rawValue) to run it with --live\(backend == .sensehat ? " --backend sensehat" : "")")
            throw ExitCode(2)
        }
        let chosen = scenarios.filter { $0.modes.contains(mode) }
        if chosen.isEmpty {
            printError("none of these scenarios declares \(mode.rawValue) mode")
            throw ExitCode(2)
        }
        return chosen
    }

    /// A bench's person at the terminal: the prompt on standard error, Enter on standard input.
    private var bench: LiveBench? {
        guard backend == .sensehat else { return nil }
        return LiveBench(i2cDevice: i2c, gpioChip: gpiochip) { prompt, timeout in
            printError("\u{7}BENCH: \(prompt) — press Enter when done (waiting up to \(DurationText.format(timeout)))")
            var pending = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            guard poll(&pending, 1, Int32(clamping: timeout.nanoseconds / 1_000_000)) == 1 else {
                printError("BENCH: no answer; the run goes on")
                return false
            }
            guard readLine() != nil else {
                printError("BENCH: standard input is closed: nobody to answer; the run goes on")
                return false
            }
            return true
        }
    }

    /// Runs each scenario (under each seed, if given) one after the other, with the summary
    /// of each and the totals; Ctrl-C stops the run in progress, tears it down and reports.
    func run(_ scenarios: [Scenario], seeds: [UInt64], results: ResultFileOptions) throws {
        let (hubPath, shimPath) = try executables()
        // A scale no scenario of these can take is invalid input (exit 2), not a failed run.
        if let timeScale {
            for scenario in scenarios {
                let maximum = backend == .sensehat ? 1 : HubRunLimits.timeScaleMax(pollInterval: scenario.pollInterval)
                guard (1...maximum).contains(timeScale) else {
                    printError("--time-scale \(timeScale): \(scenario.file) allows 1…\(maximum)"
                               + (backend == .sensehat ? " (a bench runs in real time)" : " at its poll interval of \(DurationText.format(scenario.pollInterval))"))
                    throw ExitCode(2)
                }
            }
        }
        let stop = LiveRunStop()
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                printError("hubrig: stopping the live run (tearing down)")
                stop.request()
            }
            source.resume()
            return source
        }
        defer { for source in sources { source.cancel() } }
        var outcomes: [ScenarioOutcome] = []
        var failed = 0
        let runs = scenarios.flatMap { scenario in (seeds.isEmpty ? [nil] : seeds.map { Optional($0) }).map { (scenario, $0) } }
        for (scenario, seed) in runs {
            let label = scenario.name + (seed.map { "-seed\($0)" } ?? "")
            let directory = try runDirectory(label)
            let options = LiveRunOptions(hubExecutable: hubPath, shimLibrary: shimPath, directory: directory, timeScale: timeScale, seed: seed,
                                         bench: bench)
            let outcome: ScenarioOutcome
            do {
                outcome = try LiveRun.run(scenario, options: options, stop: stop) { message in
                    printError("\(label): \(message)")
                }
            } catch {
                printError("\(scenario.file): live run failed: \(error) (its files: \(directory))")
                if case .interrupted = error { throw ExitCode(130) }
                failed += 1
                continue
            }
            print(LiveOptions.summary(outcome, seed: seed ?? scenario.seed, timeScaleGiven: timeScale))
            fflush(nil)  // a live run takes minutes: each verdict shows when it is known, even in a file (nil: every stream)
            outcomes.append(outcome)
            if !outcome.passed { failed += 1 }
            if stop.isRequested { throw ExitCode(130) }
        }
        print("\(runs.count - failed) passed, \(failed) failed (live)")
        try results.write(scenarios, outcomes)
        if failed > 0 { throw ExitCode(1) }
    }

    static func summary(_ outcome: ScenarioOutcome, seed: UInt64, timeScaleGiven: Int64?) -> String {
        let s = outcome.scenario
        let live = outcome.live
        var lines = ["\(outcome.passed ? "PASS" : "FAIL") \(s.name)  (\(s.file), seed \(seed), live: \(DurationText.format(s.duration)) at \(live?.timeScale ?? 1)× in \(TextFormat.fixed(outcome.wallSeconds, decimals: 1)) s, hub processes \(live?.hubIncarnations ?? 0), last exit \(live?.cleanExit == true ? "clean" : "NOT clean"))",
                     "     readings \(outcome.readings) · anomaly alerts \(outcome.anomalyAlerts) · cloud messages \(outcome.cloudMessages) · LED \(outcome.ledColour)"]
        if let live, let peak = live.hubPeakResidentBytes, let share = live.hubCPUShare {
            lines.append("     hub process (from /proc): peak RSS \(TextFormat.fixed(Double(peak) / 1_000_000, decimals: 1)) MB (\(TextFormat.fixed(Double(peak) / 1_048_576, decimals: 1)) MiB), CPU \(TextFormat.fixed(share * 100, decimals: 2)) % of one core")
        }
        lines += outcome.checks.map { "     \($0.passed ? "ok  " : "FAIL") \($0.expectation.label): \($0.evidence)" }
        if !outcome.passed {
            lines.append("     files: \(live?.directory ?? "?") (events.jsonl, hub-N.log); replay: hubrig scenario run \(s.file) --live --seed \(seed)"
                         + (timeScaleGiven.map { " --time-scale \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    private func runDirectory(_ label: String) throws -> String {
        if let directory {
            let path = directory + "/" + label
            try? FileManager.default.removeItem(atPath: path)
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw ValidationError("--live-dir \(directory): \(error.localizedDescription)")
            }
            return path
        }
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/hubrig-live-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ValidationError("\(base): cannot make a run directory") }
        return String(cString: made)
    }

    /// The hub and the shim: given, or beside this hubrig's build.
    private func executables() throws -> (hub: String, shim: String) {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let here = (me as NSString).deletingLastPathComponent
        let hubPath = hub ?? here + "/hub"
        // .build/debug/hubrig is a link into .build/<triple>/debug: the shim is .build/shim.
        var candidates: [String] = []
        var folder = here
        for _ in 0..<3 {
            folder = (folder as NSString).deletingLastPathComponent
            candidates.append(folder + "/shim/libhubrig-i2c.so")
        }
        let shimPath = shim ?? candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
        guard FileManager.default.isExecutableFile(atPath: hubPath) else {
            throw ValidationError("--hub \(hubPath): no hub binary there (swift build --product hub, or give --hub)")
        }
        guard backend == .sensehat || FileManager.default.fileExists(atPath: shimPath) else {
            throw ValidationError("--shim \(shimPath): no I²C stand-in library there (build it with shim/build, or give --shim)")
        }
        return (hubPath, shimPath)
    }
}
