import HubCore
import HubInference
import HubKernel
import HubSim
import HubStore

/// `hubrig bench sim`: how fast the simulator lives through a hub day.
///
/// The workload is the steady-state scenario at a 1 s poll: one furnace, 24 h, 86,400
/// readings through the real drivers, bus, detector, display and uplink, with the history
/// recorded and every event encoded to JSON lines — the cost a scenario run really pays.
public enum SimBenchmark {
    public struct Run: Sendable {
        public let wallSeconds: Double
        public let readings: Int
        public let eventLogLines: Int
        public var workload: Workload = .furnace
        public var simSpeedRatio: Double { 86_400 / wallSeconds }
    }

    public static let target = 20_000.0

    /// What a benchmark day simulates.
    public enum Workload: String, CaseIterable, Sendable {
        /// One furnace (issue 2's figure).
        case furnace
        /// A furnace, a washer and a fridge, each with its own kit (issue 3's figure).
        case all

        var devices: [HubConfig.Device] {
            switch self {
            case .furnace: [HubConfig.Device(id: "hvac", kind: .furnace)]
            case .all: [HubConfig.Device(id: "hvac", kind: .furnace), HubConfig.Device(id: "washer", kind: .washer),
                        HubConfig.Device(id: "fridge", kind: .fridge)]
            }
        }
    }

    /// `models` maps appliance kinds to the packages that score them (the real inference core).
    public static func steadyStateDay(seed: UInt64, workload: Workload = .furnace, models: [ApplianceKind: ModelPackage] = [:],
                                      eventLogPath: String) throws(StoreError) -> Run {
        let devices = workload.devices.map { device in
            HubConfig.Device(id: device.id, kind: device.kind, detector: models[device.kind].map { .package($0) } ?? .interim)
        }
        let hub = HubConfig(thing: "hbshub001", devices: devices, pollInterval: .seconds(1),
                            telemetryBatching: Scenario.defaultTelemetryBatching)
        let setup = SimulationSetup(seed: seed, duration: .seconds(86_400), hub: hub)
        let log = try EventLogWriter(path: eventLogPath)
        let clock = ContinuousClock()
        let began = clock.now
        let simulation = Simulation(setup: setup, eventLog: log)
        simulation.run()
        try simulation.history.finish()
        let wall = (clock.now - began).secondsValue
        return Run(wallSeconds: wall, readings: simulation.hub.readingsPublished, eventLogLines: log.linesWritten, workload: workload)
    }

    public static func median(_ runs: [Run]) -> Run {
        precondition(!runs.isEmpty, "median of no runs")
        return runs.sorted { $0.wallSeconds < $1.wallSeconds }[runs.count / 2]
    }

    public static func table(_ runs: [Run], median: Run) -> String {
        var lines = ["hubrig bench sim: steady-state day (\(median.workload == .all ? "furnace + washer + fridge" : "one furnace")), poll 1 s, history recorded, event log encoded",
                     "",
                     "run  wall_s   sim_speed_ratio  readings  log_lines"]
        for (index, run) in runs.enumerated() {
            lines.append(row("\(index + 1)", run))
        }
        lines.append(row("med", median))
        lines.append("")
        let verdict = median.simSpeedRatio >= target ? "meets" : "MISSES"
        lines.append("median sim_speed_ratio \(Int(median.simSpeedRatio.rounded())) \(verdict) the target of ≥ \(Int(target)) (24 h in under \(86_400 / target) s)")
        return lines.joined(separator: "\n")
    }

    private static func row(_ label: String, _ run: Run) -> String {
        let pad = TextFormat.padded
        let wall = TextFormat.fixed(run.wallSeconds, decimals: 2)
        return pad(label, 5) + pad(wall, 9) + pad(ScenarioRunner.formatRatio(run.simSpeedRatio), 17)
            + pad(String(run.readings), 10) + String(run.eventLogLines)
    }
}
