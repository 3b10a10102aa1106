import ArgumentParser
import HubCore
import HubScenario

/// `hubrig report merge`: the shards of a CI matrix (or of a soak) joined into one report.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Join and render scenario results.", subcommands: [Merge.self])

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join the --json results of shards into one report (terminal summary, --json, --junit, --report HTML).",
            discussion: """
                Each scenario's runs are joined in seed order, with its pass rate over all its \
                seeds; the merged files equal those of one machine running every shard. Shards \
                that overlap, or disagree on a scenario, are refused. \
                Exit status: 0 every run passed, 1 one failed, 2 invalid input.
                """)

        @Argument(help: "The shards' JSON result files (scenario run --json).")
        var files: [String]

        @OptionGroup var results: ResultFileOptions

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one JSON result file") }
        }

        func run() throws {
            var parts: [(file: String, report: ScenarioReport)] = []
            for file in files {
                do {
                    parts.append((file, try ReportJSON.read(path: file)))
                } catch {
                    printError("invalid result file: \(error)")
                    throw ExitCode(2)
                }
            }
            let merged: ScenarioReport
            do { merged = try ScenarioReport.merge(parts) } catch {
                printError("cannot merge: \(error)")
                throw ExitCode(2)
            }
            print(ReportSummary.text(merged))
            try results.write(merged)
            if merged.failedRuns > 0 { throw ExitCode(1) }
        }
    }
}
