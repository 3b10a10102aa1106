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
/// defaults or limits.
public struct HubRunOptions: ParsableArguments {
    @Option(name: .customLong("device"), help: "A monitored appliance as id:kind (furnace, washer, fridge); repeatable.")
    public var devices: [String] = ["hvac:furnace"]

    @Option(help: "The hub's cloud thing name.")
    public var thing = "hbshub001"

    @Option(help: "Sensor poll interval, \(DurationText.format(HubConfig.pollIntervals)) (\(DurationText.format(HubConfig.defaultPollInterval)) as on the original hub).")
    public var poll = DurationText.format(HubConfig.defaultPollInterval)

    @Option(name: .customLong("event-log"), help: "Where the history goes, as JSON lines ('-' for standard output).")
    public var eventLog = "-"

    @Option(help: "Stop after this long (e.g. 30s); runs until SIGTERM or SIGINT otherwise.")
    public var duration: String?

    @Option(help: "Directory of model packages, one per appliance kind (<dir>/<kind>/manifest.json).")
    public var models = ModelPackage.committedDirectory

    @Option(name: .customLong("telemetry-batch"),
            help: "Send telemetry as compressed batches every interval (\(DurationText.format(TelemetryBatching.intervals)); the product: 24h), or 'off' for a cloud message per reading.")
    public var telemetryBatch = "24h"

    public init() {}

    /// The hub's configuration, every limit checked (`timeScale` 1 for the real clock).
    public func config(timeScale: Int64 = 1, tool: String) throws -> HubConfig {
        let pollInterval = try Self.parseDuration(poll, option: "--poll")
        let parsedDevices = try devices.map(Self.parseDevice)
        do {
            try HubRunLimits.validate(pollInterval: pollInterval, timeScale: timeScale, deviceIDs: parsedDevices.map(\.id))
        } catch {
            throw ValidationError(error.description)
        }
        return HubConfig(thing: thing, devices: try parsedDevices.map { try withModel($0, tool: tool) }, pollInterval: pollInterval,
                         telemetryBatching: try telemetryBatching())
    }

    /// `--telemetry-batch`: nil for `off`.
    public func telemetryBatching() throws -> TelemetryBatching? {
        guard telemetryBatch != "off" else { return nil }
        let interval = try Self.parseDuration(telemetryBatch, option: "--telemetry-batch")
        guard TelemetryBatching.intervals.contains(interval) else {
            throw ValidationError("--telemetry-batch \(telemetryBatch): allowed \(DurationText.format(TelemetryBatching.intervals)), or off")
        }
        return TelemetryBatching(interval: interval)
    }

    /// How long to run, if `--duration` says.
    public func stopAfter() throws -> Duration? {
        try duration.map { try Self.parseDuration($0, option: "--duration") }
    }

    /// The history the run writes, flushed per event.
    public func history() throws -> JSONLinesHistory {
        do { return try JSONLinesHistory(path: eventLog == "-" ? "/dev/stdout" : eventLog) } catch {
            throw ValidationError("--event-log: \(error)")
        }
    }

    /// Runs `node` on `shell` until `--duration` or a shutdown signal, as a service.
    public func run(_ node: HubNode, on shell: LiveShell, name: String, onEdge: ((GPIOEdge, Instant) -> Void)? = nil) throws {
        let deadline = try stopAfter().map { shell.clock.now + $0 }
        let hubLoop = LoopService(name: name, body: {
            shell.run(node, until: deadline, onEdge: onEdge)
        }, stop: { [realTime = shell.loop.clock] in realTime.requestStop() })
        try LiveServices.run([hubLoop], label: name)
    }

    /// The device scored by `<models>/<kind>` if that package exists (and loads), else by
    /// the interim detector, with a warning.
    private func withModel(_ device: HubConfig.Device, tool: String) throws -> HubConfig.Device {
        let directory = ModelPackage.directory(for: device.kind, in: models)
        guard ModelPackage.exists(at: directory) else {
            FileHandle.standardError.write(Data("\(tool): no model package at \(directory); \(device.id) uses the interim detector\n".utf8))
            return device
        }
        do {
            return HubConfig.Device(id: device.id, kind: device.kind, detector: .package(try ModelPackage.load(directory: directory)))
        } catch {
            throw ValidationError("--models: \(directory): \(error)")
        }
    }

    private static func parseDuration(_ text: String, option: String) throws -> Duration {
        do { return try DurationText.parse(text) } catch { throw ValidationError("\(option): \(error)") }
    }

    private static func parseDevice(_ text: String) throws -> HubConfig.Device {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw ValidationError("--device \(text): expected id:kind, like hvac:furnace") }
        guard let kind = ApplianceKind(rawValue: parts[1]) else {
            throw ValidationError("--device \(text): unknown kind '\(parts[1])' (furnace, washer, fridge)")
        }
        do { return HubConfig.Device(id: try DeviceID(validating: parts[0]), kind: kind) } catch {
            throw ValidationError("--device \(text): \(error)")
        }
    }
}
