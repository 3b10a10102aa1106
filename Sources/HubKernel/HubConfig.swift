import HubCore
import HubInference

/// What scores a device's readings.
public enum DetectorSetup: Sendable {
    /// The interim rolling z-score, for furnaces only (issue-2 behaviour); other kinds get none.
    case interim
    /// A loaded, self-tested model package.
    case package(ModelPackage)
    /// No detector: readings flow, nothing is scored.
    case none

    /// Whether this setup may watch an appliance of `kind` (a package only its own kind).
    public func watches(_ kind: ApplianceKind) -> Bool {
        if case .package(let package) = self { return package.manifest.kind == kind }
        return true
    }
}

/// What a hub is set up to monitor and how often; read from a scenario or the hub's config file.
public struct HubConfig: Sendable {
    /// One monitored appliance and the kit that watches it.
    public struct Device: Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        public var detector: DetectorSetup
        /// Where its readings come from: the hub's own Sense HAT, or a kit over MQTT.
        public var source: SensorSource

        public init(id: DeviceID, kind: ApplianceKind, detector: DetectorSetup = .interim, source: SensorSource = .senseHAT) {
            if case .package(let package) = detector {
                precondition(package.manifest.kind == kind, "a \(package.manifest.kind) model cannot watch a \(kind)")
            }
            self.id = id
            self.kind = kind
            self.detector = detector
            self.source = source
        }
    }

    /// The hub's cloud identity (`hbshub001`), part of its cloud topics.
    public var thing: String
    public var devices: [Device]
    /// How often the sensor component polls every kit (`defaultPollInterval` unless told).
    public var pollInterval: Duration
    /// How much history the interim detector compares a reading against.
    public var detectorWindow: Duration
    /// Detector debounce: the condition changes when k of the last n windows agree.
    public var debounceK: Int
    public var debounceN: Int
    /// How telemetry goes to the cloud: in batches (the product: daily), or nil for a
    /// message per reading.
    public var telemetryBatching: TelemetryBatching?
    /// The monitoring kits' certificates from the hub's enrolment record (empty: the kits'
    /// broker takes no certificates, and the bridge checks none).
    public var kitCertificates: [KitCertificate] = []
    /// How long ahead of its expiry a kit's certificate is reported.
    public var certificateWarning: Duration = KitCertificate.warningDefault

    /// How much warmer than the air the Sense HAT's thermometers read, from the Pi under
    /// them; the sensor component subtracts it from every temperature it reads.
    public var selfHeating: SelfHeating = .piUnderHAT

    /// The poll interval of a hub not told otherwise: the original hub's 10 s.
    public static let defaultPollInterval: Duration = .seconds(10)

    /// The poll intervals a hub accepts, from `hub run --poll`, `hubrig sim export --poll`
    /// and a scenario's `hub.poll_interval` alike, since all of them run this hub.
    ///
    /// At least 1 s: a poll must leave room for a sensor round (data-ready waits of up to
    /// 200 ms, retries with backoff), and the HTS221 converts at 12.5 Hz. At most an hour:
    /// beyond it the fridge's duty window (one hour) holds a single reading and a failed
    /// sensor goes unnoticed for hours.
    public static let pollIntervals: ClosedRange<Duration> = .seconds(1)...Duration.seconds(3600)

    /// What a thing name may be, as errors state it.
    public static let thingRule = "a thing name is 1...128 letters, digits, ':', '_' or '-' (it is part of MQTT topics)"

    /// Whether `name` follows `thingRule`: it becomes part of every cloud topic
    /// (`hbs/<thing>/telemetry`) and the MQTT client id, so no `/`, `+`, `#` or spaces.
    public static func isValidThing(_ name: String) -> Bool {
        PlainName.isPlain(name, maximum: 128, extra: ":_-")
    }

    public init(thing: String, devices: [Device], pollInterval: Duration = defaultPollInterval,
                detectorWindow: Duration = .seconds(3600), debounceK: Int = 3, debounceN: Int = 5,
                telemetryBatching: TelemetryBatching? = .product) {
        precondition(pollInterval > .zero, "poll interval must be positive")
        self.thing = thing
        self.devices = devices
        self.pollInterval = pollInterval
        self.detectorWindow = detectorWindow
        self.debounceK = debounceK
        self.debounceN = debounceN
        self.telemetryBatching = telemetryBatching
    }
}

/// The Sense HAT's self-heating: the Pi under the HAT warms its thermometers above the air
/// they measure, the HTS221 and the LPS25H by different amounts (they sit at different
/// distances from the SoC).
///
/// A documented offset per chip, modelled by the simulated chips and compensated by the
/// hub with the same figures unless a configuration file says otherwise (`self_heating`,
/// docs/config.md), so a bench can set what its own reference thermometer shows.
public struct SelfHeating: Equatable, Sendable {
    /// Kelvin the HTS221 (the reading's temperature) and the LPS25H (the cross-check's
    /// reference) read above the air.
    public var hts221: Double
    public var lps25h: Double

    public init(hts221: Double, lps25h: Double) {
        precondition(Self.kelvinRange.contains(hts221) && Self.kelvinRange.contains(lps25h), "self-heating within \(Self.kelvinRange) K")
        self.hts221 = hts221
        self.lps25h = lps25h
    }

    /// A Sense HAT directly on a Pi 4 in still air (assumed figures, no source here: the
    /// HAT's users report readings several kelvin high; the LPS25H sits nearer the SoC).
    public static let piUnderHAT = SelfHeating(hts221: 4.0, lps25h: 5.0)
    /// No offset: a HAT on a ribbon cable away from the Pi, or a chip model on its own.
    public static let none = SelfHeating(hts221: 0, lps25h: 0)
    /// What a configuration may say.
    public static let kelvinRange: ClosedRange<Double> = -10...30
}

/// Where a device's readings come from.
public enum SensorSource: Equatable, Sendable {
    /// A Sense HAT kit on the hub's own I²C bus, polled by the sensor component.
    case senseHAT
    /// A monitoring kit that publishes a reading every `interval` to the hub's local broker
    /// (`KitBridgeComponent`).
    case mqttKit(interval: Duration)
}
