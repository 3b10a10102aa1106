import Foundation
import HubCore
import HubInference
import HubKernel
import HubSim

/// `hubrig eval`: how well a model package detects its appliance's failures on simulated
/// units it never saw.
///
/// Each seed is one unit (another setpoint, calibration, household; see `SeedRanges`)
/// watched for a 24-day month with failure episodes at seeded, spaced-out times. An episode
/// counts as detected when the device is declared anomalous between its start and
/// `detectionGrace` after its end. Its delay is measured twice: from its start (onset) and
/// from the moment the physics first acted it out (`FailureInjectable.observability`: a
/// washer's first drum rotation, a furnace's first ignition trial, ...), since nothing can
/// see a failure before that. Any other transition to anomalous — outside every episode and
/// its `recoveryGrace` — is a false alarm, reported per 30 days of episode-free time: the
/// mean over units and the worst unit, by seed. Calendar days that touch no episode (nor its
/// recovery) are fault-free days; the share of them with a false alarm is reported too.
/// Months run in parallel, one per core, and the report is the same whatever ran where.
public enum Evaluation {
    /// One failure's figures within a kind.
    public struct FailureReport: Sendable {
        public let failure: ApplianceFailure
        public let episodes: Int
        public let detected: Int
        /// Episodes whose failure never showed in the physics before its repair.
        public let neverObservable: Int
        /// Minutes from onset to the alert, per detected episode.
        public let delaysFromOnset: [Double]
        /// Minutes from observability to the alert, per detected episode that became observable.
        public let delaysFromObservable: [Double]

        public var recall: Double { episodes == 0 ? 0 : Double(detected) / Double(episodes) }
    }

    /// One unit's (seed's) false alarms.
    public struct UnitFalseAlarms: Sendable {
        public let seed: UInt64
        public let falseAlarms: Int
        public let normalDays: Double
        public var per30Days: Double { normalDays == 0 ? 0 : Double(falseAlarms) * 30 / normalDays }
    }

    public struct KindReport: Sendable {
        public let kind: ApplianceKind
        public let model: String
        public let seeds: ClosedRange<UInt64>
        public let perFailure: [FailureReport]
        /// Per unit, in seed order.
        public let units: [UnitFalseAlarms]
        public let faultFreeDays: Int
        public let faultFreeDaysWithAlert: Int

        public var episodes: Int { perFailure.reduce(0) { $0 + $1.episodes } }
        public var detected: Int { perFailure.reduce(0) { $0 + $1.detected } }
        public var recall: Double { episodes == 0 ? 0 : Double(detected) / Double(episodes) }
        public var falseAlarms: Int { units.reduce(0) { $0 + $1.falseAlarms } }
        /// The mean over units of each unit's false alarms per 30 episode-free days.
        public var falseAlarmsPer30DaysMean: Double {
            units.isEmpty ? 0 : units.reduce(0) { $0 + $1.per30Days } / Double(units.count)
        }
        /// The unit with the most false alarms per 30 days (the lowest seed on a tie).
        public var worstUnit: UnitFalseAlarms? {
            units.reduce(nil) { worst, unit in
                guard let worst else { return unit }
                return unit.per30Days > worst.per30Days ? unit : worst
            }
        }
        public var faultFreeDayAlertShare: Double {
            faultFreeDays == 0 ? 0 : Double(faultFreeDaysWithAlert) / Double(faultFreeDays)
        }
        public var delaysFromOnset: [Double] { perFailure.flatMap(\.delaysFromOnset) }
        public var delaysFromObservable: [Double] { perFailure.flatMap(\.delaysFromObservable) }

        /// Nearest-rank percentile.
        public static func percentile(_ values: [Double], _ p: Double) -> Double? {
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
    /// 24 days rather than 30: 100 units of each kind then run in about ten minutes on two cores.
    public static let monthDays: Int64 = 24
    public static let episodesPerMonth = 3
    /// The first episode starts no earlier than this: a unit's first days are always normal.
    public static let firstEpisodeEarliest: Int64 = 2 * 86_400

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

    /// The episodes of month `seed`: one per eight-day stretch (a third of the month), failures taking turns.
    public static func timeline(kind: ApplianceKind, seed: UInt64, device: DeviceID) -> [ScheduledFault] {
        var random = SeededRandom(seed: seed ^ 0xE7A1_0000)
        let plans = plans(for: kind)
        let stretch: Int64 = monthDays * 86_400 / Int64(episodesPerMonth)
        var timeline: [ScheduledFault] = []
        for index in 0..<episodesPerMonth {
            let plan = plans[(index + Int(seed % UInt64(plans.count))) % plans.count]
            let latestStart = stretch - plan.duration.nanoseconds / 1_000_000_000 - Int64(recoveryGrace.nanoseconds / 1_000_000_000)
            let earliest = Int(firstEpisodeEarliest)
            let offset = Int64(random.nextInt(in: earliest ... Int(max(firstEpisodeEarliest, latestStart))))
            timeline.append(ScheduledFault(at: .seconds(Int64(index) * stretch + offset), duration: plan.duration,
                                           fault: .appliance(device: device, plan.failure, ramp: plan.ramp)))
        }
        return timeline
    }

    struct EpisodeOutcome: Sendable {
        var failure: ApplianceFailure
        var delayFromOnset: Double?
        var delayFromObservable: Double?
        var observable: Bool
    }

    struct MonthResult: Sendable {
        var seed: UInt64 = 0
        var falseAlarms = 0
        var normalSeconds = 0.0
        var faultFreeDays = 0
        var faultFreeDaysWithAlert = 0
        var outcomes: [EpisodeOutcome] = []
    }

    static let evaluationBatching = TelemetryBatching(interval: .seconds(3_600), compressionLevel: 1)

    /// Runs one month of `kind` with `package` and scores it against the episodes.
    static func month(kind: ApplianceKind, package: ModelPackage, seed: UInt64) -> MonthResult {
        let device = DeviceID(stringLiteral: kind.exportDevice)
        let timeline = timeline(kind: kind, seed: seed, device: device)
        var alerts: [Instant] = []
        let recorder = HistoryRecorder(keepsEntries: false) { event, time in
            if case .busPublish(_, _, .alert(let alert)) = event, alert.state == .anomalous { alerts.append(time) }
        }
        // The whole hub, uplink and outbox included, with hourly batches at level 1:
        // evaluation judges detection, which alerts (sent at once, never batched) show;
        // the product's daily level-6 batches would cost deflate time and the scenarios'
        // 5-minute ones a batch's fixed costs (deflate and inflate set-up, an outbox delete)
        // twelve times an hour.
        let hub = HubConfig(thing: "eval", devices: [HubConfig.Device(id: device, kind: kind, detector: .package(package))],
                            pollInterval: package.manifest.pollInterval, telemetryBatching: evaluationBatching)
        let setup = SimulationSetup(seed: seed, duration: .seconds(monthDays * 86_400), hub: hub, faults: timeline)
        let simulation = Simulation(setup: setup, recorder: recorder)
        simulation.run()
        let physics = simulation.world.kits[0].appliance as? any FailureInjectable
        var result = MonthResult(seed: seed)
        var covered = 0.0
        var spans: [(start: Instant, end: Instant)] = []
        for entry in timeline {
            guard case .appliance(_, let failure, _) = entry.fault else { continue }
            let start = setup.start + entry.at
            let end = start + (entry.duration ?? .zero)
            let observable = physics?.observability(of: failure).first { $0.start == start }?.observable
            var outcome = EpisodeOutcome(failure: failure, observable: observable != nil)
            if let first = alerts.first(where: { $0 >= start && $0 <= end + detectionGrace }) {
                outcome.delayFromOnset = (first - start).secondsValue / 60
                outcome.delayFromObservable = observable.map { (first - $0).secondsValue / 60 }
            }
            result.outcomes.append(outcome)
            covered += (end + recoveryGrace - start).secondsValue
            spans.append((start, end + recoveryGrace))
        }
        var falseAlarmTimes: [Instant] = []
        for alert in alerts where !spans.contains(where: { alert >= $0.start && alert <= $0.end }) {
            result.falseAlarms += 1
            falseAlarmTimes.append(alert)
        }
        result.normalSeconds = setup.duration.secondsValue - covered
        for day in 0..<monthDays {
            let from = setup.start + .seconds(day * 86_400)
            let to = from + .seconds(86_400)
            guard !spans.contains(where: { $0.start < to && $0.end > from }) else { continue }
            result.faultFreeDays += 1
            if falseAlarmTimes.contains(where: { $0 >= from && $0 < to }) { result.faultFreeDaysWithAlert += 1 }
        }
        return result
    }

    /// Evaluates each package over the units `seeds`, all months of all kinds shared out
    /// over the cores.
    public static func run(packages: [ModelPackage], seeds: ClosedRange<UInt64>) -> [KindReport] {
        let seedList = Array(seeds)
        let jobs = packages.indices.flatMap { p in seedList.map { (package: p, seed: $0) } }
        let all = ParallelMap.run(count: jobs.count) { index in
            let job = jobs[index]
            let package = packages[job.package]
            return month(kind: package.manifest.kind, package: package, seed: job.seed)
        }
        return packages.indices.map { p in
            let package = packages[p]
            let kind = package.manifest.kind
            let months = Array(all[(p * seedList.count)..<((p + 1) * seedList.count)])
            let outcomes = months.flatMap(\.outcomes)
            let perFailure = plans(for: kind).map { plan in
                let mine = outcomes.filter { $0.failure == plan.failure }
                return FailureReport(failure: plan.failure, episodes: mine.count,
                                     detected: mine.filter { $0.delayFromOnset != nil }.count,
                                     neverObservable: mine.filter { !$0.observable }.count,
                                     delaysFromOnset: mine.compactMap(\.delayFromOnset),
                                     delaysFromObservable: mine.compactMap(\.delayFromObservable))
            }
            return KindReport(kind: kind, model: package.manifest.identifier, seeds: seeds, perFailure: perFailure,
                              units: months.map { UnitFalseAlarms(seed: $0.seed, falseAlarms: $0.falseAlarms,
                                                                  normalDays: $0.normalSeconds / 86_400) },
                              faultFreeDays: months.reduce(0) { $0 + $1.faultFreeDays },
                              faultFreeDaysWithAlert: months.reduce(0) { $0 + $1.faultFreeDaysWithAlert })
        }
    }
}

extension Evaluation {
    /// One object per kind with every figure of the table (delays in minutes, null when
    /// there is nothing to take a percentile of).
    public static func json(_ reports: [KindReport]) -> String {
        var json = JSONWriter()
        func optional(_ name: String, _ value: Double?) {
            json.key(name)
            if let value { json.double(rounded(value, 1)) } else { json.null() }
        }
        func delays(_ onset: [Double], _ observable: [Double]) {
            optional("delay_onset_median_min", KindReport.percentile(onset, 0.5))
            optional("delay_onset_p90_min", KindReport.percentile(onset, 0.9))
            optional("delay_observable_median_min", KindReport.percentile(observable, 0.5))
            optional("delay_observable_p90_min", KindReport.percentile(observable, 0.9))
        }
        json.beginArray()
        for report in reports {
            json.beginObject()
            json.field("kind", report.kind.rawValue)
            json.field("model", report.model)
            json.key("seeds"); json.beginArray(); json.int(Int(report.seeds.lowerBound)); json.int(Int(report.seeds.upperBound)); json.endArray()
            json.field("units", report.units.count)
            json.field("episodes", report.episodes)
            json.field("detected", report.detected)
            json.field("recall", rounded(report.recall, 3))
            delays(report.delaysFromOnset, report.delaysFromObservable)
            json.key("failures")
            json.beginArray()
            for failure in report.perFailure {
                json.beginObject()
                json.field("failure", failure.failure.rawValue)
                json.field("episodes", failure.episodes)
                json.field("detected", failure.detected)
                json.field("recall", rounded(failure.recall, 3))
                json.field("never_observable", failure.neverObservable)
                delays(failure.delaysFromOnset, failure.delaysFromObservable)
                json.endObject()
            }
            json.endArray()
            json.field("false_alarms", report.falseAlarms)
            json.field("false_alarms_per_30d_mean", rounded(report.falseAlarmsPer30DaysMean, 3))
            json.key("worst_unit")
            if let worst = report.worstUnit {
                json.beginObject()
                json.field("seed", Int(worst.seed))
                json.field("false_alarms", worst.falseAlarms)
                json.field("false_alarms_per_30d", rounded(worst.per30Days, 3))
                json.endObject()
            } else {
                json.null()
            }
            json.field("fault_free_days", report.faultFreeDays)
            json.field("fault_free_days_with_alert", report.faultFreeDaysWithAlert)
            json.field("fault_free_day_alert_share", rounded(report.faultFreeDayAlertShare, 4))
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
        func delayColumns(_ onset: [Double], _ observable: [Double]) -> String {
            pad(number(KindReport.percentile(onset, 0.5), 1), 8) + pad(number(KindReport.percentile(onset, 0.9), 1), 8)
                + pad(number(KindReport.percentile(observable, 0.5), 1), 8) + number(KindReport.percentile(observable, 0.9), 1)
        }
        var lines = ["hubrig eval: \(seeds.count) unit(s) per kind (seeds \(seeds.lowerBound)..\(seeds.upperBound)), "
                     + "each a \(monthDays)-day month with \(episodesPerMonth) failure episodes",
                     "",
                     pad("kind / failure", 26) + pad("episodes", 10) + pad("detected", 10) + pad("recall", 8)
                        + "delay (min): onset med, p90; from observable med, p90",
                    ]
        for r in reports {
            lines.append(pad(r.kind.rawValue + " " + r.model, 26) + pad(String(r.episodes), 10) + pad(String(r.detected), 10)
                + pad(number(r.recall, 3), 8) + delayColumns(r.delaysFromOnset, r.delaysFromObservable))
            for f in r.perFailure {
                let never = f.neverObservable > 0 ? "  (\(f.neverObservable) never observable)" : ""
                lines.append(pad("  " + f.failure.rawValue, 26) + pad(String(f.episodes), 10) + pad(String(f.detected), 10)
                    + pad(number(f.recall, 3), 8) + delayColumns(f.delaysFromOnset, f.delaysFromObservable) + never)
            }
        }
        lines.append("")
        lines.append(pad("kind", 10) + pad("false alarms", 14) + pad("FA/30d mean", 13) + pad("worst unit (FA/30d)", 22)
                     + "fault-free days with an alert")
        for r in reports {
            let worst = r.worstUnit.map { "seed \($0.seed): \(number($0.per30Days, 2))" } ?? "—"
            lines.append(pad(r.kind.rawValue, 10) + pad(String(r.falseAlarms), 14) + pad(number(r.falseAlarmsPer30DaysMean, 2), 13)
                + pad(worst, 22) + "\(r.faultFreeDaysWithAlert) of \(r.faultFreeDays) (\(number(r.faultFreeDayAlertShare * 100, 2)) %)")
        }
        lines.append("")
        lines.append("goals: recall ≥ 0.95 per failure; false alarms ≤ 1 per 30 days (mean), ≤ 3 (worst unit); "
                     + "median delay from observability ≤ 15 min")
        return lines.joined(separator: "\n")
    }

    static func rounded(_ value: Double, _ decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}
