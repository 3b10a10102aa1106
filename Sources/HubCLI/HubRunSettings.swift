import ArgumentParser
import Foundation
import Glibc
import HubCore
import HubInference
import HubKernel
import HubLive
import HubStore

/// The settings a live hub run goes by: the built-in defaults, overridden by the
/// configuration file (`--config`), overridden by the flags given on the command line.
///
/// Resolving is synchronous and touches no file, so precedence is tested as a function;
/// what needs the file system (model packages, the state directory, TLS files) happens in
/// `config`, `outbox` and `mqtt`, whose errors name the flag or the file's line and field
/// the setting came from.
public struct HubRunSettings: Sendable {
    public var thing: String
    public var devices: [HubConfigFile.Device]
    public var pollInterval: Duration
    public var telemetryBatch: TelemetryBatchChoice
    /// The cloud's MQTT broker and TLS files; nil for each tool's default (a spool file for
    /// `hub run`, the simulated cloud for `hubrig sim run`).
    public var cloud: HubConfigFile.Cloud?
    /// The durable state's directory; nil for each tool's default.
    public var stateDirectory: Sourced<String>?
    /// The control socket's path (configuration file only; `hub run --control-socket` overrides it).
    public var controlSocket: Sourced<String>?
    /// The local broker of the monitoring kits (configuration file only; for the kit bridge).
    public var localBroker: BrokerAddress?
    /// Monitoring kits over the local broker (configuration file only; for the kit bridge).
    public var kits: [HubConfigFile.Kit]
    /// The kits' identity: nil for a plaintext local broker (configuration file only).
    public var kitIdentity: HubConfigFile.KitIdentitySetting?
    /// Directory of the default model packages, `<models>/<kind>` (`--models`).
    public var models: String
    /// What the hub subtracts from the Sense HAT's temperatures (configuration file only).
    public var selfHeating = SelfHeating.piUnderHAT

    /// What a hub runs with when neither the file nor a flag says otherwise.
    public enum Defaults {
        public static let thing = "hbshub001"
        public static let devices = [HubConfigFile.Device(id: "hvac", kind: .furnace)]
        public static let device = "hvac:furnace"
        public static let pollInterval = HubConfig.defaultPollInterval
        public static let telemetryBatch = TelemetryBatchChoice.product
        public static let telemetryBatchText = "24h"
    }

    public init(models: String = ModelPackage.committedDirectory) {
        thing = Defaults.thing
        devices = Defaults.devices
        pollInterval = Defaults.pollInterval
        telemetryBatch = Defaults.telemetryBatch
        kits = []
        self.models = models
    }

    /// Defaults < `file` < the flags given in `options` and `cloudFlags` (nil: a command
    /// without cloud flags, such as `hub component`).
    public static func resolve(_ options: HubRunOptions, _ cloudFlags: CloudOptions?, kits kitFlags: KitOptions? = nil,
                               file: HubConfigFile?) throws -> HubRunSettings {
        var settings = HubRunSettings(models: options.models)
        if let file { settings.apply(file) }
        try settings.apply(options)
        if let cloudFlags { try settings.apply(cloudFlags) }
        if let kitFlags, !kitFlags.kits.isEmpty { settings.kits = try kitFlags.parsedKits() }
        if let broker = try kitFlags?.parsedBroker() { settings.localBroker = broker }
        return settings
    }

    /// Everything the file says replaces the default.
    mutating func apply(_ file: HubConfigFile) {
        if let thing = file.thing { self.thing = thing }
        if let devices = file.devices { self.devices = devices }
        if let pollInterval = file.pollInterval { self.pollInterval = pollInterval }
        if let telemetryBatch = file.telemetryBatch { self.telemetryBatch = telemetryBatch }
        if let cloud = file.cloud { self.cloud = cloud }
        if let stateDirectory = file.stateDirectory { self.stateDirectory = stateDirectory }
        if let controlSocket = file.controlSocket { self.controlSocket = controlSocket }
        localBroker = file.localBroker
        kitIdentity = file.kitIdentity
        kits = file.kits
        if let selfHeating = file.selfHeating { self.selfHeating = selfHeating }
    }

    /// Every flag given replaces what the file or the default said; `--device` replaces the
    /// whole list.
    mutating func apply(_ options: HubRunOptions) throws {
        if let thing = options.thing {
            guard HubConfig.isValidThing(thing) else { throw ValidationError("--thing \(thing.debugDescription): \(HubConfig.thingRule)") }
            self.thing = thing
        }
        if !options.devices.isEmpty { devices = try options.devices.map(Self.parseDevice) }
        if let poll = options.poll {
            do { pollInterval = try DurationText.parse(poll) } catch { throw ValidationError("--poll: \(error)") }
        }
        if let text = options.telemetryBatch {
            do { telemetryBatch = try TelemetryBatchChoice(parsing: text) } catch { throw ValidationError("--telemetry-batch: \(error)") }
        }
    }

    mutating func apply(_ flags: CloudOptions) throws {
        if let port = flags.port, !BrokerAddress.ports.contains(port) {
            throw ValidationError("--cloud-port \(port): a TCP port is 1…65535")
        }
        if let host = flags.host {
            if let problem = BrokerAddress.hostProblem(host) { throw ValidationError("--cloud-host: \(problem)") }
            if cloud == nil {
                cloud = HubConfigFile.Cloud(endpoint: BrokerAddress(host: host, port: BrokerAddress.cloudDefaultPort))
            }
            cloud?.endpoint.host = host
        }
        if let port = flags.port { cloud?.endpoint.port = port }
        let tlsFlags = [flags.caFile, flags.certificateFile, flags.keyFile]
        if cloud == nil {
            if tlsFlags.contains(where: { $0 != nil }) { throw ValidationError("--cloud-ca, --cloud-cert and --cloud-key need --cloud-host") }
        } else {
            if let path = flags.caFile { cloud?.ca = Sourced(path, from: .flag("--cloud-ca")) }
            if let path = flags.certificateFile { cloud?.certificate = Sourced(path, from: .flag("--cloud-cert")) }
            if let path = flags.keyFile { cloud?.key = Sourced(path, from: .flag("--cloud-key")) }
        }
        if let cloud {
            guard (cloud.certificate == nil) == (cloud.key == nil) else {
                throw ValidationError("--cloud-cert and --cloud-key go together (mutual TLS)")
            }
            if cloud.certificate != nil, cloud.ca == nil { throw ValidationError("--cloud-cert needs --cloud-ca (mutual TLS is TLS)") }
        }
        if let directory = flags.stateDirectory { stateDirectory = Sourced(directory, from: .flag("--state-dir")) }
    }

    /// The hub's configuration, every limit checked (`timeScale` 1 for the real clock),
    /// each device with its model package loaded.
    public func config(timeScale: Int64 = 1, tool: String) throws -> HubConfig {
        if let kit = kits.first(where: { kit in devices.contains { $0.id == kit.id } }) {
            throw ValidationError("kit '\(kit.id)' has the id of a device the hub reads itself; each publishes on dt/local/sensor/<id>, so ids must differ")
        }
        do {
            try HubRunLimits.validate(pollInterval: pollInterval, timeScale: timeScale, deviceIDs: devices.map(\.id) + kits.map(\.id))
        } catch {
            throw ValidationError(error.description)
        }
        // Kits publish to the local broker and reach the kit bridge; nothing scores them
        // unless a later deployment says so.
        let kitDevices = kits.map { kit in
            HubConfig.Device(id: kit.id, kind: kit.kind, detector: .none, source: .mqttKit(interval: kit.interval ?? pollInterval))
        }
        var config = HubConfig(thing: thing, devices: try devices.map { try withModel($0, tool: tool) } + kitDevices, pollInterval: pollInterval,
                               telemetryBatching: telemetryBatch.batching)
        config.selfHeating = selfHeating
        return config
    }

    /// The device scored by its own `model:` package, else by `<models>/<kind>` if that
    /// package exists (and loads), else by the interim detector, with a warning.
    private func withModel(_ device: HubConfigFile.Device, tool: String) throws -> HubConfig.Device {
        if let model = device.model {
            let package: ModelPackage
            do { package = try ModelPackage.load(directory: model.value) } catch {
                throw model.origin.error("\(error)", subject: model.value)
            }
            guard package.manifest.kind == device.kind else {
                throw model.origin.error("\(package.manifest.identifier) watches a \(package.manifest.kind.rawValue), not a \(device.kind.rawValue)",
                                         subject: model.value)
            }
            return HubConfig.Device(id: device.id, kind: device.kind, detector: .package(package))
        }
        let directory = ModelPackage.directory(for: device.kind, in: models)
        guard ModelPackage.exists(at: directory) else {
            FileHandle.standardError.write(Data("\(tool): no model package at \(directory); \(device.id) uses the interim detector\n".utf8))
            return HubConfig.Device(id: device.id, kind: device.kind)
        }
        do {
            return HubConfig.Device(id: device.id, kind: device.kind, detector: .package(try ModelPackage.load(directory: directory)))
        } catch {
            throw ValidationError("--models: \(directory): \(error)")
        }
    }

    /// The outbox: `<state directory>/outbox.sqlite`, or `fallback` when neither the file
    /// nor `--state-dir` names one (nil: in memory).
    public func outbox(fallback: String?) throws -> SQLiteOutboxStore {
        guard let directory = try preparedStateDirectory(fallback: fallback) else { return try SQLiteOutboxStore(path: nil) }
        do { return try SQLiteOutboxStore(path: directory + "/outbox.sqlite") } catch {
            throw (stateDirectory?.origin ?? .flag("--state-dir")).error("\(error)")
        }
    }

    /// The state directory (created owner-only if missing), or nil when neither the file
    /// nor `--state-dir` names one and there is no `fallback`.
    public func preparedStateDirectory(fallback: String?) throws -> String? {
        guard let directory = stateDirectory?.value ?? fallback else { return nil }
        do { try StateDirectory.prepare(directory) } catch {
            throw (stateDirectory?.origin ?? .flag("--state-dir")).error("\(error)")
        }
        return directory
    }

    /// The MQTT cloud port posting to `shell`, or nil without a cloud broker. Not started:
    /// the caller starts it with the loop and stops it after. Key files are checked for
    /// being readable, never read here, and never printed but by path.
    public func mqtt(shell: LiveShell) throws -> MQTTCloudPort? {
        guard let cloud else { return nil }
        try checkCloudFiles()
        let tls = cloud.ca.map { MQTTSettings.TLSFiles(caFile: $0.value, certificateFile: cloud.certificate?.value, keyFile: cloud.key?.value) }
        do {
            // Jitter only spreads a fleet's reconnects; the process id is an explicit, good-enough seed.
            var settings = MQTTSettings.hub(thing: thing, host: cloud.endpoint.host, port: cloud.endpoint.port, tls: tls)
            // The reconnect backoff is the hub's timing, so a scaled clock (a rig's live run)
            // scales it too: 60 s of hub time between attempts is 60 s of hub time at any scale.
            settings.reconnectInitial = settings.reconnectInitial / Int(shell.clock.timeScale)
            settings.reconnectMax = settings.reconnectMax / Int(shell.clock.timeScale)
            return try MQTTCloudPort(settings: settings,
                                     random: SeededRandom(seed: UInt64(getpid())), clock: shell.clock, completions: shell.inbox)
        } catch {
            throw ValidationError("cloud \(cloud.endpoint.host):\(cloud.endpoint.port): \(error)")
        }
    }

    /// With `local_broker.identity: managed` and kits: the kit authority under the state
    /// directory (made on first use), the certificates on the enrolment record, and the
    /// kits' broker, started. Nil otherwise — and a plaintext broker with kits is said on
    /// standard error, since any device on the home network can then speak for a kit.
    public func kitIdentity(stateDirectory: String, now: Instant, tool: String) throws -> (certificates: [KitCertificate], broker: ManagedKitBroker)? {
        guard !kits.isEmpty else { return nil }
        guard let kitIdentity, kitIdentity.managed else {
            FileHandle.standardError.write(Data("\(tool): the kits' broker takes no certificates (local_broker.identity: off): any device on the home network can publish as a kit (docs/config.md)\n".utf8))
            return nil
        }
        do {
            let authority = try KitAuthority.open(stateDirectory: stateDirectory, now: now)
            let certificates = try KitEnrolmentStore(path: stateDirectory + "/kits.sqlite").current()
            let broker = try ManagedKitBroker(authority: authority, stateDirectory: stateDirectory, host: kitBroker.host, port: kitBroker.port)
            return (certificates, broker)
        } catch {
            throw ValidationError("local_broker.identity managed: \(error)")
        }
    }

    /// The local broker's address as configured (the default port on loopback unless said).
    public var kitBroker: BrokerAddress { localBroker ?? BrokerAddress(host: "127.0.0.1", port: BrokerAddress.localDefaultPort) }

    /// The listener on the local broker for the kits, or nil without kits; with the kits'
    /// `authority`, over TLS with the listener's own certificate. Not started.
    public func kitListener(shell: LiveShell, authority: KitAuthority? = nil) throws -> LocalKitListener? {
        guard !kits.isEmpty else { return nil }
        let broker = kitBroker
        let tls = authority.map { authority in
            let files = authority.listenerTLS
            return MQTTSettings.TLSFiles(caFile: files.caFile, certificateFile: files.certificateFile, keyFile: files.keyFile)
        }
        do {
            return try LocalKitListener(host: broker.host, port: broker.port, clientID: thing + "-kits", tls: tls,
                                        random: SeededRandom(seed: UInt64(getpid())), clock: shell.clock, completions: shell.inbox)
        } catch {
            throw ValidationError("local broker \(broker.host):\(broker.port): \(error)")
        }
    }

    /// MQTT settings for a client of the cloud broker other than the hub (the cloud sink),
    /// with the TLS files checked; nil without a cloud broker.
    public func cloudClientSettings(clientID: String, subscriptions: [String]) throws -> MQTTSettings? {
        guard let cloud else { return nil }
        try checkCloudFiles()
        let tls = cloud.ca.map { MQTTSettings.TLSFiles(caFile: $0.value, certificateFile: cloud.certificate?.value, keyFile: cloud.key?.value) }
        return MQTTSettings(host: cloud.endpoint.host, port: cloud.endpoint.port, clientID: clientID, tls: tls, subscriptions: subscriptions)
    }

    /// Checks that the TLS files can be read (before anything connects), naming the flag or
    /// the file's field of the first that cannot; reads none of them.
    public func checkCloudFiles() throws {
        guard let cloud else { return }
        for file in [cloud.ca, cloud.certificate, cloud.key].compactMap({ $0 }) where access(file.value, R_OK) != 0 {
            throw file.origin.error(String(cString: strerror(errno)), subject: file.value)
        }
    }

    private static func parseDevice(_ text: String) throws -> HubConfigFile.Device {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw ValidationError("--device \(text): expected id:kind, like hvac:furnace") }
        guard let kind = ApplianceKind(rawValue: parts[1]) else {
            throw ValidationError("--device \(text): unknown kind '\(parts[1])' (furnace, washer, fridge)")
        }
        do { return HubConfigFile.Device(id: try DeviceID(validating: parts[0]), kind: kind) } catch {
            throw ValidationError("--device \(text): \(error)")
        }
    }
}
