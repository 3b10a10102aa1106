import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive

/// The production `hub` binary as a child of a live run: its configuration file written from
/// the scenario, its I²C through the stand-in, its clock the rig's.
///
/// Each start is an incarnation with an event log of its own (`hub-1.jsonl`, `hub-2.jsonl`
/// after a power loss), so a SIGKILL cannot interleave two processes' lines in one file.
final class LiveHubProcess {
    struct Setup {
        var executable: String
        var shimLibrary: String
        var directory: String
        var i2cSocket: String
        var clock: LiveClock
        var configFile: String
        /// Built-ins that run in processes of their own over the hub's IPC socket (`hub.ipc`).
        var ipcComponents: [String] = []
        /// A bench's real I²C device and GPIO chip; nil: the stand-in through the shim.
        var bench: (i2cDevice: String, gpioChip: String)?

        var i2cDevice: String { bench?.i2cDevice ?? LiveHubProcess.i2cDevice }
    }

    /// The I²C device the hub opens; the shim turns it into the stand-in's socket.
    static let i2cDevice = "/dev/i2c-1"

    let setup: Setup
    private var process: ChildProcess?
    private(set) var incarnations = 0
    /// When the last incarnation was started (real time, for its CPU share).
    private(set) var lastStartedAt = ContinuousClock.now

    init(_ setup: Setup) {
        self.setup = setup
    }

    var controlSocket: String { setup.directory + "/control.sock" }
    var stateDirectory: String { setup.directory + "/state" }
    var eventLogs: [String] { (0..<incarnations).map { logPath($0 + 1) } }
    var outputLogs: [String] { (0..<incarnations).map { setup.directory + "/hub-\($0 + 1).log" } }
    var isRunning: Bool { process != nil }

    private func logPath(_ incarnation: Int) -> String { setup.directory + "/hub-\(incarnation).jsonl" }

    /// Starts the next incarnation and waits (up to `timeout` of real time) until its control
    /// socket answers; returns the instant it did.
    func start(timeout: Duration = .seconds(30)) throws(LiveRunError) -> Instant {
        precondition(process == nil, "one hub at a time")
        incarnations += 1
        lastStartedAt = ContinuousClock.now
        var environment = ProcessInfo.processInfo.environment
        if setup.bench == nil {
            environment["LD_PRELOAD"] = setup.shimLibrary
            environment["HUBRIG_I2C_DEVICE"] = Self.i2cDevice
            environment["HUBRIG_I2C_SOCKET"] = setup.i2cSocket
        }
        environment[LiveClock.environmentName] = setup.clock.environmentValue
        let arguments = ["run", "--backend", "sensehat", "--i2c", setup.i2cDevice, "--gpiochip", setup.bench?.gpioChip ?? setup.directory + "/no-gpiochip",
                         "--config", setup.configFile, "--event-log", logPath(incarnations),
                         "--artifacts", setup.directory + "/bucket", "--control-socket", controlSocket]
            + (setup.ipcComponents.isEmpty ? [] : ["--ipc-socket", setup.directory + "/ipc.sock"])
            + setup.ipcComponents.flatMap { ["--component", recipePath($0)] }
        do {
            process = try ChildProcess(setup.executable, arguments, output: setup.directory + "/hub-\(incarnations).log", environment: environment)
        } catch {
            throw .setup("cannot start \(setup.executable): \(error)")
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = process?.wait(seconds: 0) {
                process = nil
                throw .hubExited("the hub exited during start-up (wait status \(status))", log: outputLogs.last ?? "")
            }
            if (try? ControlClient(path: controlSocket).request("hello")) != nil { return setup.clock.now }
            usleep(20_000)
        }
        throw .hubExited("the hub's control socket did not answer within \(DurationText.format(timeout))", log: outputLogs.last ?? "")
    }

    /// Power gone: SIGKILL, nothing flushed, nothing closed.
    func kill() {
        process?.killNow()
        process = nil
    }

    /// SIGTERM (the graceful shutdown), SIGKILL after 5 s; nil if it was not running, else
    /// whether it exited of itself with status 0.
    @discardableResult
    func stop() -> Bool? {
        guard let process else { return nil }
        process.terminate()
        self.process = nil
        let status = process.wait(seconds: 0)
        return status == 0
    }

    /// What /proc says of the running hub: its peak resident set (VmHWM) in bytes and the
    /// CPU time it has used (user + system) in seconds; nil when it is not running.
    func usage() -> (peakResidentBytes: Int, cpuSeconds: Double)? {
        guard let pid = process?.pid,
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
        guard let peak, let cpu = ProcessFacts.cpuSeconds(of: pid) else { return nil }
        return (peak * 1024, cpu)
    }

    /// Component processes' event logs: `component-<name>-<pid>.jsonl`, one per process the
    /// hub started (a restarted component must not truncate its predecessor's).
    var componentLogs: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: setup.directory)) ?? []
        return names.filter { $0.hasPrefix("component-") && $0.hasSuffix(".jsonl") }.sorted().map { setup.directory + "/" + $0 }
    }

    /// A `hub.resources` sample of the running hub: its peak resident set so far, its CPU
    /// time over the real time since it started divided by the time scale (CPU per second
    /// of hub time: at 40× the hub does 40 seconds' work each real second), and the bytes
    /// of every file under its state directory (databases, WAL files, kept artifacts).
    func resources(timeScale: Int64) -> HistoryEvent? {
        guard let usage = usage() else { return nil }
        let real = max(1e-9, (ContinuousClock.now - lastStartedAt).secondsValue)
        return .hubResources(memoryBytes: usage.peakResidentBytes, cpuShare: usage.cpuSeconds / real / Double(max(1, timeScale)),
                             diskBytes: Self.treeBytes(stateDirectory))
    }

    /// The sizes of the regular files under `directory`, recursively (0 if it is absent).
    static func treeBytes(_ directory: String) -> Int {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var total = 0
        while let name = walker.nextObject() as? String {
            if let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name),
               attributes[.type] as? FileAttributeType == .typeRegular, let size = attributes[.size] as? Int {
                total += size
            }
        }
        return total
    }

    private func recipePath(_ component: String) -> String { setup.directory + "/component-\(component).yaml" }

    /// Writes the recipe of each IPC component: the built-in's, its program `hub component
    /// NAME` on the stand-in with the hub's configuration (through `sh`, so each process's
    /// log is named by its pid; the environment — the shim, the clock — is inherited).
    func writeRecipes() throws(LiveRunError) {
        for name in setup.ipcComponents {
            guard var recipe = BuiltinRecipes.recipe(named: name) else { throw .setup("no built-in component \(name)") }
            let log = Self.shellQuoted(setup.directory + "/component-\(name)-") + "$$.jsonl"
            let command = ([setup.executable, "component", name, "--config", setup.configFile, "--i2c", setup.i2cDevice].map(Self.shellQuoted)
                           + ["--event-log", log]).joined(separator: " ")
            recipe.lifecycle = .external(arguments: ["/bin/sh", "-c", "exec " + command])
            do { try RecipeText.yaml(recipe).write(toFile: recipePath(name), atomically: true, encoding: .utf8) } catch {
                throw .setup("\(recipePath(name)): \(error)")
            }
        }
    }

    private static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The hub's configuration file (docs/config.md) for `scenario`: its thing, poll interval,
    /// batching, the Sense HAT appliance with its model, the kits; the cloud through the proxy
    /// over mutual TLS.
    static func configText(_ scenario: Scenario, cloudPort: UInt16, certificates: LocalCertificates, kitBroker: Int?,
                           stateDirectory: String) -> String {
        var lines = ["thing: \(scenario.thing)", "poll_interval: \(DurationText.format(scenario.pollInterval))"]
        let batching = scenario.telemetryBatching.map { DurationText.format($0.interval) } ?? "off"
        lines.append("telemetry_batch: \(batching)")
        lines.append("devices:")
        for appliance in scenario.appliances where appliance.sensor != "mqtt-kit" {
            lines.append("  - id: \(appliance.id)")
            lines.append("    kind: \(appliance.kind.rawValue)")
            if case .package = appliance.detector { lines.append("    model: \(quoted(appliance.modelSource))") }
        }
        let kits = scenario.appliances.filter { $0.sensor == "mqtt-kit" }
        if !kits.isEmpty {
            lines.append("kits:")
            for kit in kits {
                lines.append("  - { id: \(kit.id), kind: \(kit.kind.rawValue), interval: \(DurationText.format(kit.kitInterval ?? scenario.pollInterval)) }")
            }
        }
        if let kitBroker { lines += ["local_broker:", "  host: 127.0.0.1", "  port: \(kitBroker)", "  identity: managed"] }
        lines += ["cloud:", "  host: 127.0.0.1", "  port: \(cloudPort)",
                  "  ca: \(quoted(certificates.path("ca.crt")))", "  cert: \(quoted(certificates.path("hub.crt")))",
                  "  key: \(quoted(certificates.path("hub.key")))",
                  "state_dir: \(quoted(stateDirectory))"]
        return lines.joined(separator: "\n") + "\n"
    }

    private static func quoted(_ path: String) -> String {
        "'" + path.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
