import HubCore
import HubKernel
import HubLive
import HubYAML

/// The hub's configuration file (`hub run --config hub.yaml`, docs/config.md): what a hub
/// monitors, how often, where its cloud and local brokers are and where its state lives.
///
/// Every field is optional; what the file leaves out keeps the built-in default, and a flag
/// given on the command line overrides the file (`HubRunSettings.resolve`). Paths in the
/// file (TLS files, model packages, the state directory) are relative to the file's own
/// directory, so a configuration directory can move as a whole. The limits are the flags'
/// (`HubConfig.pollIntervals`, `TelemetryBatching.intervals`, ports 1…65535, the thing-name
/// and device-id rules). Anything else — an unknown key, a wrong type, a value out of range,
/// two devices with one id — is a `YAMLFileError` naming file, line, column and field.
/// Parsing reads no file but the configuration itself: whether the TLS files can be read
/// and the model packages load is checked when they are used, with the same location.
public struct HubConfigFile: Sendable {
    /// One monitored appliance: `{ id, kind, model }`.
    public struct Device: Equatable, Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        /// The model package directory scoring it (resolved against the file's directory);
        /// nil for the default package of its kind (`--models DIR/<kind>`).
        public var model: Sourced<String>?

        public init(id: DeviceID, kind: ApplianceKind, model: Sourced<String>? = nil) {
            self.id = id
            self.kind = kind
            self.model = model
        }
    }

    /// The cloud's MQTT endpoint and the hub's TLS files.
    public struct Cloud: Equatable, Sendable {
        public var endpoint: BrokerAddress
        /// CA certificate (PEM) the broker's certificate must chain to; enables TLS.
        public var ca: Sourced<String>?
        /// Client certificate and private key (PEM) for mutual TLS; both or neither.
        public var certificate: Sourced<String>?
        public var key: Sourced<String>?
    }

    /// A monitoring kit that publishes over the local broker: `{ id, kind, interval }`.
    /// The kit bridge takes its readings (docs/kits.md).
    public struct Kit: Equatable, Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        /// How often it publishes; nil for the hub's poll interval.
        public var interval: Duration?

        public init(id: DeviceID, kind: ApplianceKind, interval: Duration? = nil) {
            self.id = id
            self.kind = kind
            self.interval = interval
        }
    }

    /// The file, as named on the command line.
    public var file: String
    public var thing: String?
    public var devices: [Device]?
    public var pollInterval: Duration?
    public var telemetryBatch: TelemetryBatchChoice?
    public var cloud: Cloud?
    /// The local MQTT broker the monitoring kits publish to.
    public var localBroker: BrokerAddress?
    /// `local_broker.identity: managed` and its certificates' validity and warning: the hub
    /// runs the kits' broker with TLS and takes only kits it enrolled (docs/config.md).
    public var kitIdentity: KitIdentitySetting?
    /// Directory of the hub's durable state (the outbox), resolved against the file's directory.
    public var stateDirectory: Sourced<String>?
    /// The control socket's path (docs/control.md), resolved against the file's directory.
    public var controlSocket: Sourced<String>?
    public var kits: [Kit] = []
    /// `self_heating: { hts221: K, lps25h: K }`: what the Pi's warmth adds to each thermometer.
    public var selfHeating: SelfHeating?

    public init(file: String) {
        self.file = file
    }

    /// A configuration is a page of YAML; anything larger is refused before it is parsed.
    public static let maximumFileBytes = 1024 * 1024
    /// The longest path a field may hold (Linux's PATH_MAX).
    public static let pathBytesMax = 4096

    public static let fields = ["thing", "devices", "poll_interval", "telemetry_batch", "cloud", "local_broker", "state_dir", "control_socket", "kits",
                                "self_heating"]
    public static let selfHeatingFields = ["hts221", "lps25h"]
    public static let deviceFields = ["id", "kind", "model"]
    public static let cloudFields = ["host", "port", "ca", "cert", "key"]
    public static let brokerFields = ["host", "port", "identity", "certificate_validity", "certificate_warning"]
    public static let kitFields = ["id", "kind", "interval"]

    /// Reads and parses the configuration file at `path`.
    public static func load(path: String) throws(YAMLFileError) -> HubConfigFile {
        try parse(bytes: try YAMLDocument.bytes(atPath: path, maximumBytes: maximumFileBytes), file: path)
    }

    /// Parses a configuration file's bytes; `file` names it in errors and anchors its paths.
    public static func parse(bytes: [UInt8], file: String) throws(YAMLFileError) -> HubConfigFile {
        guard let root = try YAMLDocument.root(bytes: bytes, file: file) else {
            throw YAMLFileError(file: file, line: nil, column: nil, field: nil, message: "empty configuration file")
        }
        let map = try root.map()
        try map.finish(known: fields)
        let directory = directory(of: file)
        var config = HubConfigFile(file: file)
        if let value = map.optional("thing") {
            let thing = try value.string()
            guard HubConfig.isValidThing(thing) else { throw value.error("\(HubConfig.thingRule), found \(thing.debugDescription)") }
            config.thing = thing
        }
        if let value = map.optional("devices") { config.devices = try devices(value, directory: directory) }
        config.pollInterval = try map.optional("poll_interval")?.duration(in: HubConfig.pollIntervals)
        if let value = map.optional("telemetry_batch") {
            let text = try value.string()
            do { config.telemetryBatch = try TelemetryBatchChoice(parsing: text) } catch { throw value.error(error.description) }
        }
        if let value = map.optional("cloud") { config.cloud = try cloud(value, directory: directory) }
        if let value = map.optional("local_broker") {
            let broker = try value.map()
            try broker.finish(known: brokerFields)
            config.localBroker = try address(broker, defaultPort: BrokerAddress.localDefaultPort)
            var identity = KitIdentitySetting()
            if let modeValue = broker.optional("identity") {
                let mode = try modeValue.string()
                guard ["managed", "off"].contains(mode) else {
                    throw modeValue.error("identity must be managed (the hub runs the kits' broker with TLS and its own kit authority) or off (plaintext, any device may publish)\(ClosestName.hint(mode, in: ["managed", "off"]))")
                }
                identity.managed = mode == "managed"
            }
            if let value = broker.optional("certificate_validity") {
                guard identity.managed else { throw value.error("certificate_validity needs identity: managed") }
                identity.validity = try value.duration(in: KitAuthority.validityRange)
            }
            if let value = broker.optional("certificate_warning") {
                guard identity.managed else { throw value.error("certificate_warning needs identity: managed") }
                identity.warning = try value.duration(in: KitCertificate.warningRange)
            }
            if identity.managed { config.kitIdentity = identity }
        }
        if let value = map.optional("state_dir") { config.stateDirectory = try path(value, directory: directory) }
        if let value = map.optional("control_socket") { config.controlSocket = try path(value, directory: directory) }
        if let value = map.optional("self_heating") {
            let heating = try value.map()
            try heating.finish(known: selfHeatingFields)
            func kelvin(_ field: String, _ fallback: Double) throws(YAMLFileError) -> Double {
                try heating.optional(field)?.double(in: SelfHeating.kelvinRange) ?? fallback
            }
            config.selfHeating = SelfHeating(hts221: try kelvin("hts221", SelfHeating.piUnderHAT.hts221),
                                             lps25h: try kelvin("lps25h", SelfHeating.piUnderHAT.lps25h))
        }
        if let value = map.optional("kits") {
            config.kits = try kits(value)
            if !config.kits.isEmpty, config.localBroker == nil {
                throw value.error("kits publish over the local MQTT broker: add local_broker: { host, port }")
            }
        }
        return config
    }

    /// `local_broker.identity: managed`: the kits' certificates the hub issues and checks.
    public struct KitIdentitySetting: Equatable, Sendable {
        public var managed = false
        /// How long a certificate `hub kit enroll` issues is valid.
        public var validity = KitAuthority.validityDefault
        /// How long ahead of a kit certificate's expiry the hub reports it.
        public var warning = KitCertificate.warningDefault

        public init() {}
    }

    /// The directory paths in `file` are relative to: its own.
    public static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    /// `path` as written in the file, anchored at the file's directory unless absolute.
    public static func resolve(_ path: String, directory: String) -> String {
        if path.hasPrefix("/") { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }

    private static func devices(_ value: YAMLValue, directory: String) throws(YAMLFileError) -> [Device] {
        let items = try value.list()
        if items.isEmpty { throw value.error("a hub needs at least one device") }
        var result: [Device] = []
        for item in items {
            let map = try item.map()
            try map.finish(known: deviceFields)
            let idValue = try map.required("id")
            let id = try idValue.deviceID()
            if result.contains(where: { $0.id == id }) {
                throw idValue.error("duplicate device id '\(id)' (each device publishes on its own topic dt/local/sensor/<id>)")
            }
            var device = Device(id: id, kind: try kind(try map.required("kind")))
            if let model = map.optional("model") { device.model = try path(model, directory: directory) }
            result.append(device)
        }
        return result
    }

    private static func kits(_ value: YAMLValue) throws(YAMLFileError) -> [Kit] {
        var result: [Kit] = []
        for item in try value.list() {
            let map = try item.map()
            try map.finish(known: kitFields)
            let idValue = try map.required("id")
            let id = try idValue.deviceID()
            if result.contains(where: { $0.id == id }) { throw idValue.error("duplicate kit id '\(id)'") }
            result.append(Kit(id: id, kind: try kind(try map.required("kind")),
                              interval: try map.optional("interval")?.duration(in: HubConfig.pollIntervals)))
        }
        return result
    }

    private static func kind(_ value: YAMLValue) throws(YAMLFileError) -> ApplianceKind {
        let text = try value.string()
        guard let kind = ApplianceKind(rawValue: text) else {
            throw value.error("unknown appliance kind '\(text)'\(ClosestName.hint(text, in: ApplianceKind.allCases.map(\.rawValue))) (known: \(ApplianceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }

    private static func cloud(_ value: YAMLValue, directory: String) throws(YAMLFileError) -> Cloud {
        let map = try value.map()
        try map.finish(known: cloudFields)
        var cloud = Cloud(endpoint: try address(map, defaultPort: BrokerAddress.cloudDefaultPort))
        cloud.ca = try map.optional("ca").map { (value) throws(YAMLFileError) in try path(value, directory: directory) }
        cloud.certificate = try map.optional("cert").map { (value) throws(YAMLFileError) in try path(value, directory: directory) }
        cloud.key = try map.optional("key").map { (value) throws(YAMLFileError) in try path(value, directory: directory) }
        if let certificate = map.optional("cert"), map.optional("key") == nil {
            throw certificate.error("cloud.cert needs cloud.key (mutual TLS takes both)")
        }
        if let key = map.optional("key"), map.optional("cert") == nil {
            throw key.error("cloud.key needs cloud.cert (mutual TLS takes both)")
        }
        if let certificate = map.optional("cert"), map.optional("ca") == nil {
            throw certificate.error("cloud.cert needs cloud.ca (mutual TLS is TLS)")
        }
        return cloud
    }

    /// `host` and `port` of a broker's mapping (`finish` is the caller's: the cloud's has more fields).
    private static func address(_ map: YAMLMap, defaultPort: Int) throws(YAMLFileError) -> BrokerAddress {
        let hostValue = try map.required("host")
        let host = try hostValue.string()
        if let problem = BrokerAddress.hostProblem(host) { throw hostValue.error(problem) }
        let port = try map.optional("port")?.int(in: BrokerAddress.ports) ?? defaultPort
        return BrokerAddress(host: host, port: port)
    }

    /// A path field: a non-empty path (never a PEM file's text), resolved against `directory`.
    private static func path(_ value: YAMLValue, directory: String) throws(YAMLFileError) -> Sourced<String> {
        let text = try value.string()
        if YAMLValue.looksLikeKeyMaterial(text) {
            throw value.error("expected the path of a file; this value looks like PEM key material itself (not shown)")
        }
        guard !text.isEmpty, text.utf8.count <= pathBytesMax, !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw value.error("expected a path of 1...\(pathBytesMax) bytes without control characters, found \(text.utf8.count > 100 ? "\(text.utf8.count) bytes" : text.debugDescription)")
        }
        return Sourced(resolve(text, directory: directory), from: SettingOrigin(value))
    }
}

/// An MQTT broker's address.
public struct BrokerAddress: Equatable, Sendable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// TCP ports.
    public static let ports = 1...65535
    /// MQTT over TLS, the cloud's (AWS IoT Core's) port.
    public static let cloudDefaultPort = 8883
    /// Plain MQTT, a broker on the hub's own network.
    public static let localDefaultPort = 1883
    public static let hostBytesMax = 253

    /// Why `host` is not a host name or IP address, or nil if it may be one.
    public static func hostProblem(_ host: String) -> String? {
        PlainName.isPlain(host, maximum: hostBytesMax, extra: ".-_:") ? nil
            : "a host is a name or an IP address of 1...\(hostBytesMax) letters, digits, '.', '-', '_' or ':', found \(host.utf8.count > 100 ? "\(host.utf8.count) bytes" : host.debugDescription)"
    }
}

/// `--telemetry-batch` and the file's `telemetry_batch`: compressed batches every
/// interval (`TelemetryBatching.intervals`), or `off` for a cloud message per reading.
public enum TelemetryBatchChoice: Equatable, Sendable {
    case off
    case every(Duration)

    /// The product's choice: a batch a day.
    public static let product = TelemetryBatchChoice.every(TelemetryBatching.product.interval)

    public init(parsing text: String) throws(TelemetryBatchChoiceError) {
        if text == "off" { self = .off; return }
        let interval: Duration
        do { interval = try DurationText.parse(text) } catch { throw TelemetryBatchChoiceError(description: "\(error), or off") }
        guard TelemetryBatching.intervals.contains(interval) else {
            throw TelemetryBatchChoiceError(description: "\(text.debugDescription): allowed \(DurationText.format(TelemetryBatching.intervals)), or off")
        }
        self = .every(interval)
    }

    /// What the uplink is given: nil for a message per reading.
    public var batching: TelemetryBatching? {
        switch self {
        case .off: nil
        case .every(let interval): TelemetryBatching(interval: interval)
        }
    }
}

public struct TelemetryBatchChoiceError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
}
