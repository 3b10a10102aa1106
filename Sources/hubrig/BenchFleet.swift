import ArgumentParser
import Foundation
import HubCore
import HubInference
import HubScenario

extension BenchCommand {
    struct Fleet: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wall time of a fleet of hubs living through simulated hours (goal: 1,000 hubs × 6 h in ≤ 60 s).",
            discussion: """
                Each hub: a furnace sampled every 10 s, the committed furnace package (the real inference core), \
                an in-memory SQLite outbox; hubs run in parallel in 60 s lockstep epochs with the cloud's rollout \
                controller between them. Reports each run, the median and the peak RSS. Build with \
                `swift build -c release`.
                """)

        @Option(help: "Hubs in the fleet.")
        var hubs = 1000

        @Option(help: "Simulated hours.")
        var hours = 6.0

        @Option(help: "Number of runs (the median is reported).")
        var runs = 3

        @Option(help: "Worker threads (default: the machine's cores).")
        var jobs = ProcessInfo.processInfo.activeProcessorCount

        @Option(name: .customLong("models"), help: "Directory of the model packages (furnace/).")
        var modelsDirectory = ModelPackage.committedDirectory

        @Flag(help: "Print {\"hubs\", \"sim_hours\", \"readings\", \"wall_seconds\", \"peak_rss_mb\"} of the median run.")
        var json = false

        func validate() throws {
            guard (1...100_000).contains(hubs) else { throw ValidationError("--hubs \(hubs): 1…100000") }
            guard hours > 0, hours <= 24 * 30 else { throw ValidationError("--hours \(hours): above 0, at most 720") }
            guard (1...20).contains(runs) else { throw ValidationError("--runs \(runs): 1…20") }
            guard (1...256).contains(jobs) else { throw ValidationError("--jobs \(jobs): 1…256") }
        }

        func run() throws {
            warnIfDebugBuild()
            let directory = ModelPackage.directory(for: .furnace, in: modelsDirectory)
            let model: ModelPackage
            do { model = try ModelPackage.load(directory: directory) } catch {
                printError("bench fleet: \(directory): \(error) (run from the repository root, or pass --models)")
                throw ExitCode(2)
            }
            var results: [FleetBenchmark.Run] = []
            for _ in 0..<runs {
                do { results.append(try FleetBenchmark.run(hubs: hubs, hours: hours, model: model, workers: jobs)) } catch {
                    printError("bench fleet: \(error)")
                    throw ExitCode(2)
                }
            }
            let median = FleetBenchmark.median(results)
            let peak = FleetBenchmark.peakResidentMB()
            if json {
                print("{\"hubs\": \(median.hubs), \"sim_hours\": \(median.simHours), \"readings\": \(median.readings), "
                      + "\"wall_seconds\": \((median.wallSeconds * 1000).rounded() / 1000), \"peak_rss_mb\": \(peak.map { String(($0 * 10).rounded() / 10) } ?? "null")}")
                return
            }
            print(FleetBenchmark.table(results, median: median, peakMB: peak, workers: jobs))
        }
    }
}
