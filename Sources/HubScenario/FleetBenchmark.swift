import Foundation
import HubCore
import HubInference
import HubKernel
import HubSim
import HubStore

/// `hubrig bench fleet`: how long a fleet of hubs takes to live through some simulated hours.
///
/// The workload: `hubs` hubs with a furnace each, sampled every 10 s, scored by the
/// committed furnace package (the real inference core), telemetry committed to each hub's
/// in-memory SQLite outbox and sent in 5-minute batches, in 60 s lockstep epochs on all
/// cores, with a rollout of a model deployment one hour in (canary 1 %, waves 10 % and the
/// rest). Histories are recorded but not written (a fleet run writes none unless asked).
public enum FleetBenchmark {
    public struct Run: Sendable {
        public let hubs: Int
        public let simHours: Double
        public let readings: Int
        public let wallSeconds: Double
    }

    /// The fleet the benchmark runs.
    public static func fleet(hubs: Int, hours: Double, model: ModelPackage?) -> Fleet {
        let appliance = Scenario.Appliance(id: "hvac", kind: .furnace, sensor: "sensehat",
                                           detector: model.map { .package($0) } ?? .interim, modelSource: "bench")
        let duration = Duration.seconds(Int64(hours * 3600))
        let rollout = Fleet.Rollout(
            at: min(.seconds(3600), duration / 2),
            deployment: DeploymentSpec(id: "bench-inference-1.1.0", components: [("inference", SemanticVersion(1, 1, 0))], healthWindow: .seconds(600)),
            rollbackDeployment: nil, faults: [], canary: .fraction(0.01), waves: [.fraction(0.1), .rest], watch: .seconds(1800),
            untilTerminal: true, threshold: RolloutController.Plan.defaultThreshold)
        return Fleet(name: "bench-fleet", file: "(bench)", seed: 1, start: SimulationSetup.defaultStart, hubs: hubs, duration: duration,
                     epoch: Fleet.defaultEpoch, thingPrefix: "hbshub", pollInterval: .seconds(10),
                     telemetryBatching: Scenario.defaultTelemetryBatching, appliances: [appliance], rollout: hubs >= 3 ? rollout : nil,
                     expectations: [])
    }

    public static func run(hubs: Int, hours: Double, model: ModelPackage?, workers: Int = ProcessInfo.processInfo.activeProcessorCount) throws(StoreError) -> Run {
        let fleet = fleet(hubs: hubs, hours: hours, model: model)
        let outcome = try FleetRunner.run(fleet, workers: workers)
        return Run(hubs: hubs, simHours: hours, readings: outcome.readings, wallSeconds: outcome.wallSeconds)
    }

    /// The process's peak resident set so far (VmHWM), in MB; nil where /proc is not.
    public static func peakResidentMB() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kilobytes / 1024
    }

    public static func median(_ runs: [Run]) -> Run {
        precondition(!runs.isEmpty, "median of no runs")
        return runs.sorted { $0.wallSeconds < $1.wallSeconds }[runs.count / 2]
    }

    /// The goal: 1,000 hubs × 6 h in at most this many seconds.
    public static let goalSeconds = 60.0

    public static func table(_ runs: [Run], median: Run, peakMB: Double?, workers: Int) -> String {
        let pad = TextFormat.padded
        var lines = ["hubrig bench fleet: \(median.hubs) hubs × \(TextFormat.fixed(median.simHours, decimals: 1)) h, furnace at 10 s, real inference core and SQLite outboxes, \(workers) workers",
                     "",
                     "run  wall_s   readings     readings_per_s"]
        for (label, run) in runs.enumerated().map({ (String($0.offset + 1), $0.element) }) + [("med", median)] {
            lines.append(pad(label, 5) + pad(TextFormat.fixed(run.wallSeconds, decimals: 2), 9)
                         + pad(String(run.readings), 13) + String(Int((Double(run.readings) / max(run.wallSeconds, 1e-9)).rounded())))
        }
        lines.append("")
        lines.append("peak RSS \(peakMB.map { TextFormat.fixed($0, decimals: 1) } ?? "?") MB")
        if median.hubs == 1000, median.simHours == 6 {
            lines.append("median \(TextFormat.fixed(median.wallSeconds, decimals: 1)) s \(median.wallSeconds <= goalSeconds ? "meets" : "MISSES") the goal of ≤ \(Int(goalSeconds)) s")
        }
        return lines.joined(separator: "\n")
    }
}
