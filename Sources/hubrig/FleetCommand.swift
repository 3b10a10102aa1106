import ArgumentParser
import Foundation
import HubScenario

/// `hubrig fleet run`: many simulated hubs against one simulated cloud, and a rollout over them.
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet", abstract: "Simulate a fleet of hubs and a deployment rollout over it.", subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a fleet file (docs/fleet.md): the waves, the decision after each, the rollback.",
            discussion: """
                Each hub runs in its own simulated world with its own seed (split from the fleet's), the real \
                inference core and an in-memory SQLite outbox; hubs run in parallel within each epoch, and the \
                cloud's rollout controller acts between epochs, so the report is the same on any number of \
                workers. Exit status: 0 every expectation held, 1 one failed, 2 invalid input. The wall time \
                goes to standard error.
                """)

        @Argument(help: "The fleet file (YAML).")
        var file: String

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Option(help: "Replace the file's seed.")
        var seed: UInt64?

        @Option(help: "Replace the file's hub count.")
        var hubs: Int?

        @Option(help: "Worker threads (default: the machine's cores).")
        var jobs = ProcessInfo.processInfo.activeProcessorCount

        @Option(name: .customLong("event-log"), help: "Directory for each hub's history (hub-<i>.jsonl).")
        var eventLog: String?

        @Option(name: .customLong("models"), help: "Directory of <kind>/ model packages for appliances without a model.")
        var models: String?

        func validate() throws {
            guard (1...256).contains(jobs) else { throw ValidationError("--jobs \(jobs): 1…256") }
        }

        func run() throws {
            var fleet: Fleet
            do { fleet = try FleetLoader.load(path: file, models: models, hubs: hubs) } catch {
                printError(error.description)
                throw ExitCode(2)
            }
            if let seed { fleet.seed = seed }
            if let eventLog { try FileManager.default.createDirectory(atPath: eventLog, withIntermediateDirectories: true) }
            let outcome: FleetOutcome
            do { outcome = try FleetRunner.run(fleet, workers: jobs, eventLogDirectory: eventLog) } catch {
                printError("fleet run: \(error)")
                throw ExitCode(2)
            }
            print(json ? outcome.json : outcome.table)
            printError("fleet run: \(fleet.hubs) hubs in \(String(format: "%.2f", outcome.wallSeconds)) s wall")
            if !outcome.passed { throw ExitCode(1) }
        }

    }
}
