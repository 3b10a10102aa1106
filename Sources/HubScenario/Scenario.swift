import Foundation
import HubCore
import HubKernel
import HubSim

/// A resilience scenario: the hub setup, a timeline of faults, and what must hold afterwards.
///
/// The YAML shape is DESIGN.md's (name, seed, duration, hub.appliances, timeline, expect);
/// `ScenarioLoader` turns a file into this, and the runner turns this into a simulation.
public struct Scenario: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case sim
        /// Against the real hub process, through the I²C stand-in (`scenario run --live`).
        case live
        /// Against the real hub process on a Pi's real Sense HAT, a person at hand
        /// (`scenario run --live --backend sensehat`, docs/bench.md).
        case bench
    }

    public struct Appliance: Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        public var sensor: String
        /// A `mqtt-kit`'s publishing interval (the hub's poll interval unless given).
        public var kitInterval: Duration?
        /// When a `mqtt-kit`'s certificate expires, from the run's start (`certificate_expires`).
        public var certificateExpires: Duration = Scenario.certificateExpiresDefault
        /// What scores this appliance's readings (a model package unless the scenario opts out).
        public var detector: DetectorSetup = .interim
        /// Where the package came from, for reports.
        public var modelSource: String = "interim"
    }

    /// Telemetry batching of a scenario that does not say: every 5 minutes, so that a run
    /// of hours sends many batches (the product batches daily), deflated at zlib's fastest
    /// level — scenarios judge delivery, not bytes (a third of level 6's CPU for about 20 %
    /// more bytes; the cost scenario states the product's level).
    public static let defaultTelemetryBatching = TelemetryBatching(interval: .seconds(300), compressionLevel: 1)

    public var name: String
    public var file: String
    public var pillar: String?
    public var questions: [String]
    public var modes: [Mode]
    public var seed: UInt64
    public var start: Instant
    public var duration: Duration
    public var thing: String
    public var pollInterval: Duration
    /// `hub.telemetry_batch`: a duration, or `off` for a cloud message per reading.
    public var telemetryBatching: TelemetryBatching?
    public var appliances: [Appliance]
    /// `hub.certificate_warning`: how long ahead of a kit certificate's expiry the hub warns.
    public var certificateWarning: Duration = KitCertificate.warningDefault
    public var timeline: [ScheduledFault]
    /// Built-in components run over the simulated IPC bus (`hub.ipc`).
    public var ipc = SimIPCSetup()
    /// `hub.sensehat_kernel: bound`: the world presents a Pi with the rpi-sense overlay loaded.
    public var senseHATKernelBound = false
    /// Free labels that select scenarios (`scenario run --tags live-smoke`).
    public var tags: [String] = []
    public var expectations: [Expectation]

    /// The simulation this scenario describes, with `seed` in place of the file's if given.
    public func simulationSetup(seed override: UInt64? = nil) -> SimulationSetup {
        var setup = SimulationSetup(seed: override ?? seed, start: start, duration: duration,
                                    hub: Self.hubConfig(thing: thing, appliances: appliances, pollInterval: pollInterval, telemetryBatching: telemetryBatching,
                                                        start: start, certificateWarning: certificateWarning),
                                    faults: timeline)
        setup.ipc = ipc
        setup.senseHATKernelBound = senseHATKernelBound
        setup.resourceSampleInterval = resourceSampleInterval
        setup.recordCloudContent = expectations.contains(where: \.judgesCloudContent)
        return setup
    }

    /// How often a run with a `resources` expectation samples the hub's use, in hub time.
    public static let resourceSampleInterval: Duration = .seconds(600)

    /// The sampling interval this scenario's runs use: nil unless it judges resources.
    public var resourceSampleInterval: Duration? {
        expectations.contains { if case .resources = $0 { true } else { false } } ? Self.resourceSampleInterval : nil
    }

    /// The hub a `hub:` section describes (a scenario's, or each hub's of a fleet).
    /// Each `mqtt-kit` is enrolled with the hub's kit authority: its certificate's serial is
    /// its place among the hub's appliances (`1001`, `1002`, ...), in hex as `openssl` prints it.
    static func hubConfig(thing: String, appliances: [Appliance], pollInterval: Duration, telemetryBatching: TelemetryBatching?,
                          start: Instant, certificateWarning: Duration = KitCertificate.warningDefault) -> HubConfig {
        var config = HubConfig(thing: thing, devices: appliances.map { appliance in
                      HubConfig.Device(id: appliance.id, kind: appliance.kind, detector: appliance.detector,
                                       source: appliance.sensor == "mqtt-kit" ? .mqttKit(interval: appliance.kitInterval ?? pollInterval) : .senseHAT)
                  },
                  pollInterval: pollInterval, telemetryBatching: telemetryBatching)
        config.kitCertificates = appliances.enumerated().compactMap { index, appliance in
            guard appliance.sensor == "mqtt-kit" else { return nil }
            return KitCertificate(device: appliance.id, serial: String(0x1001 + index, radix: 16, uppercase: true), notAfter: start + appliance.certificateExpires)
        }
        config.certificateWarning = certificateWarning
        return config
    }

    /// How long a simulated kit's certificate lasts from the run's start unless the scenario says.
    public static let certificateExpiresDefault: Duration = .seconds(365 * 86_400)
}

/// A property checked against the recorded history after a run.
public enum Expectation: Equatable, Sendable {
    /// Each device (or the one named) published a reading every poll interval.
    case readingsEveryPoll(device: DeviceID?)
    /// No device (or not the one named) was ever declared anomalous.
    case noAlert(device: DeviceID?)
    /// Every reading published on the bus reached the cloud, once, in order.
    case noReadingLost
    /// The device was declared anomalous between `after` and `after + within` from the start.
    case alert(device: DeviceID, after: Duration, within: Duration)
    /// The LED matrix showed `colour`: at the end of the run, or within a window.
    case led(colour: String, after: Duration?, within: Duration?)
    /// The device's sensor health (or a component's own, `.component`) was reported as
    /// `state` between `after` and `after + within`.
    case health(subject: HealthSubject, state: HealthState, after: Duration, within: Duration)
    /// A message on the cloud topic (`alerts`, `health` or `telemetry`) reached the cloud
    /// between `after` and `after + within`.
    case deliveredToCloud(topic: String, after: Duration, within: Duration)
    /// The outbox never held more than this many messages.
    case outboxDepthMax(Int)
    /// The cloud received at most this many bytes (MQTT PUBLISH packets) per day of the run.
    case cloudBytesPerDayMax(Int)
    /// The cloud refused at most this many connection attempts (no tight reconnect loop).
    case cloudAttemptsMax(Int)
    /// The kit bridge rejected at least this many kit messages.
    case kitRejectedMin(Int)
    /// Every accepted reading matches what its sensor really converted (no bus corruption got through).
    case noCorruptedReading
    /// The LED scrolled a message starting with `prefix` between `after` and `after + within`.
    case scroll(prefix: String, after: Duration, within: Duration)
    /// The LED scrolled exactly `count` messages over the run (a bouncing key scrolls once).
    case scrollCount(Int)
    /// Every reading of the device that carries `channel` has it within `min...max`, and there are some.
    case channelRange(device: DeviceID, channel: Channel, min: Double, max: Double)
    /// The supervisor holds the component in `state` at `at` from the start (nil: at the
    /// end of the run).
    case componentState(component: String, state: Supervisor.State, at: Duration? = nil)
    /// Every failure of the component (a crash, a missed probe) is followed by its running
    /// again within `within`, and there is at least one.
    case componentRecovers(component: String, within: Duration)
    /// The bus refused between `min` and `max` of the component's publishes and subscriptions.
    case busRefused(component: String, min: Int, max: Int?)
    /// The deployment ended in `state` within `within` of its publication, and the cloud got that status.
    case deployment(id: String, state: DeploymentStatus.State, within: Duration)
    /// The deployment failed its health window and the previous configuration ran again
    /// within `within` of the first failure.
    case rollbackWithin(id: String, within: Duration)
    /// The device is scored by the package `identifier` (`name@version`) at the end of the run.
    case model(device: DeviceID, identifier: String)
    /// The component's IPC client dropped between `min` and `max` publishes (its buffer full
    /// while the bus was away), and every publish it made is accounted for.
    case ipcDropped(component: String, min: Int, max: Int?)
    /// Every alert the hub raised (anomalous or back to normal) reached the cloud within
    /// `within` of being raised, and there was at least one: alerts go at once, whatever
    /// the telemetry batching.
    case alertsDeliveredWithin(Duration)
    /// The cloud received at most `count` messages on `topic` (a telemetry batch is one):
    /// telemetry is batched, not sent a message per reading.
    case cloudMessagesMax(topic: String, count: Int)
    /// The hub stayed inside its resource budget: peak resident memory, CPU share of one
    /// core (per second of hub time), state-disk bytes. Memory and CPU are a real hub
    /// process's (live runs); a simulation judges the disk only.
    case resources(ResourceBudget)
    /// After de-duplication on the message id, the cloud holds each reading once: no
    /// reading came again under another id (a resend the id cannot catch).
    case noDuplicateAfterDedup
    /// Each device's readings reached the cloud in their own time order (first arrivals,
    /// after de-duplication on the message id).
    case perDeviceOrder
    /// No reading of `device` taken after `after` from the start reached the cloud (and
    /// other readings did, so the cloud was listening): a kit shut out stays out.
    case noReadingsFrom(device: DeviceID, after: Duration)

    /// Whether it is judged from the readings inside what the cloud received (`cloud.content`).
    public var judgesCloudContent: Bool {
        switch self {
        case .noDuplicateAfterDedup, .perDeviceOrder, .noReadingsFrom: true
        default: false
        }
    }

    /// Whether checking it needs the chips to record the truth of every conversion.
    public var needsTruth: Bool { self == .noCorruptedReading }

    public var label: String {
        switch self {
        case .readingsEveryPoll(let device): device.map { "readings-every-poll(\($0))" } ?? "readings-every-poll"
        case .noAlert(let device): device.map { "no-alert(\($0))" } ?? "no-alert"
        case .noReadingLost: "no-reading-lost"
        case .alert(let device, let after, let within):
            "alert(\(device) within \(DurationText.format(within)) after \(DurationText.format(after)))"
        case .led(let colour, let after, let within):
            if let after, let within { "led(\(colour) within \(DurationText.format(within)) after \(DurationText.format(after)))" } else { "led(\(colour) at end)" }
        case .health(let subject, let state, let after, let within):
            "health(\(subject) \(state.rawValue) within \(DurationText.format(within)) after \(DurationText.format(after)))"
        case .deliveredToCloud(let topic, let after, let within):
            "delivered-to-cloud(\(topic) within \(DurationText.format(within)) after \(DurationText.format(after)))"
        case .outboxDepthMax(let count): "outbox-depth-max(\(count))"
        case .cloudBytesPerDayMax(let bytes): "cloud-bytes-per-day-max(\(bytes))"
        case .cloudAttemptsMax(let count): "cloud-attempts-max(\(count))"
        case .kitRejectedMin(let count): "kit-rejected-min(\(count))"
        case .noCorruptedReading: "no-corrupted-reading"
        case .scroll(let prefix, let after, let within):
            "scroll(\(prefix.debugDescription) within \(DurationText.format(within)) after \(DurationText.format(after)))"
        case .scrollCount(let count): "scroll-count(\(count))"
        case .channelRange(let device, let channel, let min, let max): "channel-range(\(device).\(channel) in \(min)…\(max))"
        case .componentState(let component, let state, let at):
            "component-state(\(component) \(state.rawValue)\(at.map { " at \(DurationText.format($0))" } ?? ""))"
        case .componentRecovers(let component, let within): "component-recovers(\(component) within \(DurationText.format(within)))"
        case .busRefused(let component, let min, let max): "bus-refused(\(component) \(min)…\(max.map(String.init) ?? "∞"))"
        case .deployment(let id, let state, let within): "deployment(\(id) \(state.rawValue) within \(DurationText.format(within)))"
        case .rollbackWithin(let id, let within): "rollback-within(\(id) \(DurationText.format(within)))"
        case .model(let device, let identifier): "model(\(device) \(identifier))"
        case .ipcDropped(let component, let min, let max): "ipc-dropped(\(component) \(min)…\(max.map(String.init) ?? "∞"))"
        case .alertsDeliveredWithin(let within): "alerts-delivered-within(\(DurationText.format(within)))"
        case .cloudMessagesMax(let topic, let count): "cloud-messages-max(\(topic) \(count))"
        case .resources(let budget): "resources(\(budget))"
        case .noDuplicateAfterDedup: "no-duplicate-after-dedup"
        case .perDeviceOrder: "per-device-order"
        case .noReadingsFrom(let device, let after): "no-readings-from(\(device), after \(DurationText.format(after)))"
        }
    }
}

/// Whose health a `health` expectation looks at: a device's sensor kit, or a component's own.
public enum HealthSubject: Equatable, Sendable, CustomStringConvertible {
    case device(DeviceID)
    case component(String)

    public var description: String {
        switch self {
        case .device(let id): id.rawValue
        case .component(let name): name
        }
    }
}

/// A hub's resource budget (`resources:`); a nil limit is not judged.
public struct ResourceBudget: Equatable, Sendable, CustomStringConvertible {
    public var memoryBytes: Int?
    /// A share of one core: 0.02 is 2 %.
    public var cpuShare: Double?
    public var diskBytes: Int?

    public init(memoryBytes: Int? = nil, cpuShare: Double? = nil, diskBytes: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuShare = cpuShare
        self.diskBytes = diskBytes
    }

    public var description: String {
        [memoryBytes.map { "memory ≤ \(ByteSize.format($0))" }, cpuShare.map { "cpu ≤ \(TextFormat.fixed($0 * 100, decimals: 2))%" },
         diskBytes.map { "disk ≤ \(ByteSize.format($0))" }].compactMap { $0 }.joined(separator: ", ")
    }
}

/// Byte counts as scenarios write them: `40MB` (decimal), `38MiB` (binary), `512kB`, or a
/// plain number of bytes.
public enum ByteSize {
    static let units: [(suffix: String, factor: Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 1_000_000_000),
                                                         ("MB", 1_000_000), ("kB", 1000), ("B", 1)]

    /// The bytes `text` names, or nil when it is not a size.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = Double(number), value.isFinite, value >= 0, value * Double(factor) < 1e15,
                  number.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
            return Int((value * Double(factor)).rounded())
        }
        return trimmed.allSatisfy(\.isNumber) ? Int(trimmed) : nil
    }

    /// `41,943,040 B (40.0 MiB)`-style text for evidence: MiB with one decimal.
    public static func format(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(TextFormat.fixed(Double(bytes) / Double(1 << 20), decimals: 1)) MiB"
            : bytes >= 1 << 10 ? "\(TextFormat.fixed(Double(bytes) / 1024, decimals: 1)) KiB" : "\(bytes) B"
    }
}
