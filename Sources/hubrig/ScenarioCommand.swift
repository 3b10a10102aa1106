import ArgumentParser
import Foundation
import HubScenario

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario", abstract: "Run resilience scenarios.", subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run scenario files (or every *.yaml in a directory) in simulation.",
            discussion: "Exit status: 0 every expectation held, 1 one failed, 2 invalid input.")

        @Argument(help: "Scenario files or directories.")
        var paths: [String]

        @Option(help: "Seed for every scenario, instead of each file's own.")
        var seed: UInt64?

        @Option(name: .customLong("event-log"),
                help: "Write the event log (JSON lines) here; with several scenarios, a directory of <name>.jsonl files.")
        var eventLog: String?

        @Option(help: "Directory holding <kind>/ model packages, for appliances that name none (default: fixtures/models of the scenario's repository).")
        var models: String?

        func run() throws {
            let files = try expand(paths)
            var scenarios: [Scenario] = []
            var invalid = false
            for file in files {
                do {
                    scenarios.append(try ScenarioLoader.load(path: file, models: models))
                } catch {
                    printError("invalid scenario: \(error)")
                    invalid = true
                }
            }
            if invalid { throw ExitCode(2) }
            let logPaths = try eventLogPaths(for: scenarios)
            var failed = 0
            for (scenario, logPath) in zip(scenarios, logPaths) {
                let outcome: ScenarioOutcome
                do {
                    outcome = try ScenarioRunner.run(scenario, seed: seed, eventLogPath: logPath)
                } catch {
                    printError("\(scenario.file): event log: \(error)")
                    throw ExitCode(2)
                }
                print(ScenarioRunner.summary(outcome))
                if !outcome.passed { failed += 1 }
            }
            print("\(scenarios.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }

        private func expand(_ paths: [String]) throws -> [String] {
            var files: [String] = []
            for path in paths {
                // Anything but a directory goes to the loader, whose error says why it cannot be read.
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                    let yaml = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                    if yaml.isEmpty {
                        printError("\(path): no *.yaml scenarios in this directory")
                        throw ExitCode(2)
                    }
                    files += yaml.map { (path as NSString).appendingPathComponent($0) }
                } else {
                    files.append(path)
                }
            }
            return files
        }

        private func eventLogPaths(for scenarios: [Scenario]) throws -> [String?] {
            guard let eventLog else { return scenarios.map { _ in nil } }
            if scenarios.count == 1 { return [eventLog] }
            do {
                try FileManager.default.createDirectory(atPath: eventLog, withIntermediateDirectories: true)
            } catch {
                printError("\(eventLog): cannot create event-log directory: \(error.localizedDescription)")
                throw ExitCode(2)
            }
            return scenarios.map { (eventLog as NSString).appendingPathComponent("\($0.name).jsonl") }
        }
    }
}
