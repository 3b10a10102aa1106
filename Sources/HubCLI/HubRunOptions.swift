import ArgumentParser
import Foundation
import HubCore
import HubInference
import HubKernel
import HubLive

/// The options every live run of the hub takes — `hub run` on a Sense HAT and `hubrig sim
/// run` against simulated appliances — and what they build: the hub's configuration, its
/// history, and the loop's service.
///
/// One declaration for both executables, so the two runs cannot drift apart in names,
/// defaults or limits. `--config FILE` reads the same settings from a file
/// (`HubConfigFile`); `settings(cloud:)` resolves defaults < file < flags given.
public struct HubRunOptions: ParsableArguments {
    // The settings a configuration file may hold are optional here, so a flag that was given
    // can be told from one that was not (given flags override the file); their help states
    // the default ArgumentParser would otherwise print.

    @Option(name: .customLong("config"),
            help: ArgumentHelp("The hub's configuration file (YAML, docs/config.md); flags given here override it.", valueName: "file"))
    public var configFile: String?

    @Option(name: .customLong("device"),
            help: "A monitored appliance as id:kind (furnace, washer, fridge); repeatable. (default: \(HubRunSettings.Defaults.device))")
    public var devices: [String] = []

    @Option(help: "The hub's cloud thing name. (default: \(HubRunSettings.Defaults.thing))")
    public var thing: String?

    @Option(help: "Sensor poll interval, \(DurationText.format(HubConfig.pollIntervals)) (\(DurationText.format(HubConfig.defaultPollInterval)) as on the original hub). (default: \(DurationText.format(HubRunSettings.Defaults.pollInterval)))")
    public var poll: String?

    @Option(name: .customLong("event-log"), help: "Where the history goes, as JSON lines ('-' for standard output).")
    public var eventLog = "-"

    @Option(help: "Stop after this long (e.g. 30s); runs until SIGTERM or SIGINT otherwise.")
    public var duration: String?

    @Option(help: "Directory of model packages, one per appliance kind (<dir>/<kind>/manifest.json).")
    public var models = ModelPackage.committedDirectory

    @Option(name: .customLong("telemetry-batch"),
            help: "Send telemetry as compressed batches every interval (\(DurationText.format(TelemetryBatching.intervals)); the product: 24h), or 'off' for a cloud message per reading. (default: \(HubRunSettings.Defaults.telemetryBatchText))")
    public var telemetryBatch: String?

    public init() {}

    /// The run's settings: defaults, then the `--config` file, then the flags given here and
    /// in `cloud` (nil for a command that takes no cloud flags).
    public func settings(cloud: CloudOptions?, kits: KitOptions? = nil) throws -> HubRunSettings {
        var file: HubConfigFile?
        if let configFile {
            do { file = try HubConfigFile.load(path: configFile) } catch { throw ValidationError(error.description) }
        }
        return try HubRunSettings.resolve(self, cloud, kits: kits, file: file)
    }

    /// How long to run, if `--duration` says.
    public func stopAfter() throws -> Duration? {
        do { return try duration.map { try DurationText.parse($0) } } catch { throw ValidationError("--duration: \(error)") }
    }

    /// The history the run writes, flushed per event.
    public func history() throws -> JSONLinesHistory {
        do { return try JSONLinesHistory(path: eventLog == "-" ? "/dev/stdout" : eventLog) } catch {
            throw ValidationError("--event-log: \(error)")
        }
    }

    /// Runs `node` on `shell` until `--duration` or a shutdown signal, as a service.
    /// `clients` (the cloud port, the kits' listener) start before the loop and stop after it.
    public func run(_ node: HubNode, on shell: LiveShell, name: String, clients: [(any NetworkClient)?] = [],
                    onEdge: ((GPIOEdge, Instant) -> Void)? = nil) throws {
        let clients = clients.compactMap { $0 }
        for client in clients { client.start() }
        defer { for client in clients.reversed() { client.stop() } }
        let deadline = try stopAfter().map { shell.clock.now + $0 }
        let hubLoop = LoopService(name: name, body: {
            shell.run(node, until: deadline, onEdge: onEdge)
        }, stop: { [realTime = shell.loop.clock] in realTime.requestStop() })
        try LiveServices.run([hubLoop], label: name)
    }
}
