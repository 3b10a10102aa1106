import Dispatch
import Foundation
import HubCore
import HubInference
import HubKernel
import HubSim

/// `hubrig eval`: how well a model package detects its appliance's failures on simulated
/// months it never saw.
///
/// Each seed is one month of one appliance with failure episodes at seeded, spaced-out
/// times. An episode counts as detected when the device is declared anomalous between its
/// start and `detectionGrace` after its end; the delay runs from its start. Any other
/// transition to anomalous — outside every episode and its `recoveryGrace` — is a false
/// alarm, reported per 30 days of episode-free time. Months run in parallel, one per core.
public enum Evaluation {
    public struct KindReport: Sendable {
        public let kind: ApplianceKind
        public let model: String
        public let episodes: Int
        public let detected: Int
        public let falseAlarms: Int
        public let normalDays: Double
        public let delaysMinutes: [Double]
        /// Per failure: episodes, detected, delays (minutes).
        public let perFailure: [(failure: ApplianceFailure, episodes: Int, detected: Int, delays: [Double])]

        public var recall: Double { episodes == 0 ? 0 : Double(detected) / Double(episodes) }
        public var falseAlarmsPer30Days: Double { normalDays == 0 ? 0 : Double(falseAlarms) * 30 / normalDays }
        public var delayMedianMinutes: Double? { Self.percentile(delaysMinutes, 0.5) }
        public var delayP90Minutes: Double? { Self.percentile(delaysMinutes, 0.9) }

        /// Nearest-rank percentile.
        static func percentile(_ values: [Double], _ p: Double) -> Double? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            let rank = Int((p * Double(sorted.count)).rounded(.up))
            return sorted[max(0, min(sorted.count - 1, rank - 1))]
        }
    }

    /// An episode's failure, how long it lasts and how it ramps.
    public struct EpisodePlan: Sendable {
        public let failure: ApplianceFailure
        public let duration: Duration
        public let ramp: Duration
    }

    public static let detectionGrace: Duration = .seconds(3600)
    public static let recoveryGrace: Duration = .seconds(6 * 3600)
    public static let monthDays: Int64 = 30
    public static let episodesPerMonth = 3

    /// The failures of a kind as the evaluation stages them.
    public static func plans(for kind: ApplianceKind) -> [EpisodePlan] {
        switch kind {
        case .furnace:
            [EpisodePlan(failure: .blockedFilter, duration: .seconds(24 * 3600), ramp: .seconds(600)),
             EpisodePlan(failure: .igniterFailure, duration: .seconds(12 * 3600), ramp: .zero)]
        case .washer:
            [EpisodePlan(failure: .drumImbalance, duration: .seconds(3 * 86_400), ramp: .zero),
             EpisodePlan(failure: .bearingWear, duration: .seconds(3 * 86_400), ramp: .seconds(2 * 3600))]
        case .fridge:
            [EpisodePlan(failure: .doorOpen, duration: .seconds(6 * 3600), ramp: .zero),
             EpisodePlan(failure: .compressorFailure, duration: .seconds(12 * 3600), ramp: .zero)]
        }
    }

    /// The episodes of month `seed`: one per ten-day stretch, failures taking turns.
    public static func timeline(kind: ApplianceKind, seed: UInt64, device: DeviceID) -> [ScheduledFault] {
        var random = SeededRandom(seed: seed ^ 0xE7A1_0000)
        let plans = plans(for: kind)
        let stretch: Int64 = monthDays * 86_400 / Int64(episodesPerMonth)
        var timeline: [ScheduledFault] = []
        for index in 0..<episodesPerMonth {
            let plan = plans[(index + Int(seed % UInt64(plans.count))) % plans.count]
            let latestStart = stretch - plan.duration.nanoseconds / 1_000_000_000 - Int64(recoveryGrace.nanoseconds / 1_000_000_000)
            let offset = Int64(random.nextInt(in: 2 * 86_400 ... Int(max(2 * 86_400, latestStart))))
            timeline.append(ScheduledFault(at: .seconds(Int64(index) * stretch + offset), duration: plan.duration,
                                           fault: .appliance(device: device, plan.failure, ramp: plan.ramp)))
        }
        return timeline
    }

    struct MonthResult: Sendable {
        var episodes = 0
        var detected = 0
        var falseAlarms = 0
        var normalSeconds = 0.0
        var delays: [Double] = []
        var outcomes: [(failure: ApplianceFailure, delay: Double?)] = []
    }

    /// Runs one month of `kind` with `package` and scores it against the episodes.
    static func month(kind: ApplianceKind, package: ModelPackage, seed: UInt64) -> MonthResult {
        let device = DeviceID(stringLiteral: kind.exportDevice)
        let timeline = timeline(kind: kind, seed: seed, device: device)
        var alerts: [Instant] = []
        let recorder = HistoryRecorder(keepsEntries: false) { event, time in
            if case .busPublish(_, _, .alert(let alert)) = event, alert.state == .anomalous { alerts.append(time) }
        }
        let hub = HubConfig(thing: "eval", devices: [HubConfig.Device(id: device, kind: kind, detector: .package(package))],
                            pollInterval: package.manifest.pollInterval)
        let setup = SimulationSetup(seed: seed, duration: .seconds(monthDays * 86_400), hub: hub, faults: timeline)
        let simulation = Simulation(setup: setup, recorder: recorder)
        simulation.run()
        var result = MonthResult()
        var covered = 0.0
        for entry in timeline {
            let start = setup.start + entry.at
            let end = start + (entry.duration ?? .zero)
            result.episodes += 1
            var delay: Double?
            if let first = alerts.first(where: { $0 >= start && $0 <= end + detectionGrace }) {
                result.detected += 1
                delay = (first - start).secondsValue / 60
                result.delays.append(delay!)
            }
            if case .appliance(_, let failure, _) = entry.fault { result.outcomes.append((failure, delay)) }
            covered += (end + recoveryGrace - start).secondsValue
        }
        for alert in alerts {
            let inEpisode = timeline.contains { entry in
                let start = setup.start + entry.at
                return alert >= start && alert <= start + (entry.duration ?? .zero) + recoveryGrace
            }
            if !inEpisode { result.falseAlarms += 1 }
        }
        result.normalSeconds = setup.duration.secondsValue - covered
        return result
    }

    /// Evaluates each package over months `seeds`, two months at a time.
    public static func run(packages: [ModelPackage], seeds: ClosedRange<UInt64>) -> [KindReport] {
        packages.map { package in
            let kind = package.manifest.kind
            let seedList = Array(seeds)
            let results = ResultBox(count: seedList.count)
            DispatchQueue.concurrentPerform(iterations: seedList.count) { index in
                results.set(index, month(kind: kind, package: package, seed: seedList[index]))
            }
            var total = MonthResult()
            for month in results.values {
                total.episodes += month.episodes
                total.detected += month.detected
                total.falseAlarms += month.falseAlarms
                total.normalSeconds += month.normalSeconds
                total.delays += month.delays
                total.outcomes += month.outcomes
            }
            let perFailure = plans(for: kind).map { plan in
                let outcomes = total.outcomes.filter { $0.failure == plan.failure }
                return (failure: plan.failure, episodes: outcomes.count, detected: outcomes.filter { $0.delay != nil }.count,
                        delays: outcomes.compactMap(\.delay))
            }
            return KindReport(kind: kind, model: package.manifest.identifier, episodes: total.episodes, detected: total.detected,
                              falseAlarms: total.falseAlarms, normalDays: total.normalSeconds / 86_400, delaysMinutes: total.delays,
                              perFailure: perFailure)
        }
    }
}

/// Collects per-month results from concurrent workers, each writing its own slot.
final class ResultBox: @unchecked Sendable {
    // Safe: every worker writes a distinct index under the lock, and the values are read
    // only after concurrentPerform has returned.
    private var slots: [Evaluation.MonthResult?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Evaluation.MonthResult) {
        lock.withLock { slots[index] = value }
    }

    var values: [Evaluation.MonthResult] { lock.withLock { slots.compactMap { $0 } } }
}

extension Evaluation {
    /// `[{"kind", "episodes", "detected", "recall", "false_alarms_per_30d", "delay_median_min", "delay_p90_min"}]`.
    public static func json(_ reports: [KindReport]) -> String {
        var json = JSONWriter()
        json.beginArray()
        for report in reports {
            json.beginObject()
            json.field("kind", report.kind.rawValue)
            json.field("model", report.model)
            json.field("episodes", report.episodes)
            json.field("detected", report.detected)
            json.field("recall", rounded(report.recall, 3))
            json.field("false_alarms_per_30d", rounded(report.falseAlarmsPer30Days, 3))
            json.key("delay_median_min")
            if let value = report.delayMedianMinutes { json.double(rounded(value, 1)) } else { json.null() }
            json.key("delay_p90_min")
            if let value = report.delayP90Minutes { json.double(rounded(value, 1)) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        return json.string
    }

    public static func table(_ reports: [KindReport], seeds: ClosedRange<UInt64>) -> String {
        let pad = TextFormat.padded
        func number(_ value: Double?, _ decimals: Int) -> String {
            guard let value else { return "—" }
            return rounded(value, decimals).description
        }
        var lines = ["hubrig eval: \(seeds.count) simulated month(s) per kind (seeds \(seeds.lowerBound)..\(seeds.upperBound)), "
                     + "\(episodesPerMonth) failure episodes a month",
                     "",
                     pad("kind", 9) + pad("model", 20) + pad("episodes", 10) + pad("detected", 10) + pad("recall", 8)
                        + pad("FA/30d", 8) + pad("delay med", 11) + "delay p90 (min)"]
        for r in reports {
            lines.append(pad(r.kind.rawValue, 9) + pad(r.model, 20) + pad(String(r.episodes), 10) + pad(String(r.detected), 10)
                + pad(number(r.recall, 3), 8) + pad(number(r.falseAlarmsPer30Days, 2), 8)
                + pad(number(r.delayMedianMinutes, 1), 11) + number(r.delayP90Minutes, 1))
            for f in r.perFailure {
                lines.append(pad("", 9) + pad("  " + f.failure.rawValue, 20) + pad(String(f.episodes), 10) + pad(String(f.detected), 10)
                    + pad("", 16) + pad(number(KindReport.percentile(f.delays, 0.5), 1), 11) + number(KindReport.percentile(f.delays, 0.9), 1))
            }
        }
        lines.append("")
        lines.append("targets: recall ≥ 0.95, false alarms ≤ 1 per 30 days, median delay ≤ 15 min")
        return lines.joined(separator: "\n")
    }

    static func rounded(_ value: Double, _ decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}
