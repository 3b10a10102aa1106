import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubDrivers
import HubKernel
import HubLive
import HubStore

/// `hub component NAME --ipc SOCKET`: one of the hub's built-in components as a process of
/// its own, on a hub's IPC socket.
///
/// The same component value the hub runs in its own process, behind `ComponentOverIPC`: a
/// hub whose `--component` recipe is named like the built-in (with this command as its
/// `command`) starts it, supervises it over the wire and restarts it when it dies. The hub
/// settings (`--config`, `--device`, `--poll`, `--models`, `--i2c`) are read as `hub run`
/// reads them, so the process sees the hub the hub sees.
struct Component: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one built-in component as a process of its own on a hub's IPC socket.",
        discussion: """
            NAME is \(StandardComponents.runnableOverIPC.joined(separator: ", ")) (the uplink and the kit bridge \
            stay in the hub process: their outbox and brokers live there). The sensor and the display open the \
            Sense HAT on --i2c. Give the hub's own settings (--config or --device, --poll, --models) so the \
            component watches what the hub watches. The component's history (sensor.ready, model changes) goes \
            to --event-log. SIGTERM or SIGINT stops it with a bye. (docs/ipc.md)
            """)

    @Argument(help: "The built-in component: \(StandardComponents.runnableOverIPC.joined(separator: ", ")).")
    var name: String

    @Option(name: .customLong("ipc"), help: "The hub's IPC socket (default: $HUB_IPC_SOCKET, which the hub sets for programs it starts).")
    var socket: String?

    @OptionGroup var senseHAT: SenseHATOptions

    @OptionGroup var options: HubRunOptions

    func validate() throws {
        guard StandardComponents.runnableOverIPC.contains(name) else {
            let why = ComponentRecipe.builtinNames.contains(name) ? "\(name) stays in the hub process" : "no built-in component '\(name)'"
            throw ValidationError("\(why)\(ClosestName.hint(name, in: StandardComponents.runnableOverIPC)) (runs as a process: \(StandardComponents.runnableOverIPC.joined(separator: ", ")))")
        }
    }

    func run() throws {
        guard let socket = socket ?? ProcessInfo.processInfo.environment["HUB_IPC_SOCKET"] else {
            throw ValidationError("--ipc SOCKET is required (or HUB_IPC_SOCKET in the environment)")
        }
        let clock: LiveClock
        do { clock = try LiveClock.fromEnvironment(ProcessInfo.processInfo.environment) } catch { throw ValidationError(error.description) }
        let config = try options.settings(cloud: nil).config(timeScale: clock.timeScale, tool: "hub")
        let history = try options.history()
        let shell = LiveShell(clock: clock)
        // Only what the component uses is opened: the HAT for the sensor and the display.
        var kits: [[any SensorDriver]] = []
        var display: (any LEDMatrix)?
        if name == "sensor" || name == "display" {
            let device = try SenseHATOptions.device(of: config)
            let bus = try senseHAT.bus()
            let plan = try senseHAT.kernelPlan(polling: device.kind, gpioChip: nil)
            if name == "sensor" { kits = [MonitoringKit.for(device.kind).drivers(on: bus)] }
            if name == "display" { display = try senseHAT.display(plan, bus: bus) }
        }
        let outbox: SQLiteOutboxStore
        do { outbox = try SQLiteOutboxStore(path: nil) } catch { throw ValidationError("an in-memory outbox: \(error)") }
        let ports = HubPorts(sensorKits: kits, display: display, cloud: NoCloud(completions: shell), outbox: outbox, timers: shell, history: history)
        guard let component = StandardComponents.make(named: name, config: config, ports: ports) else {
            throw ValidationError("this hub runs no \(name): it has no device on the Sense HAT")
        }
        try runProcess(component, socket: socket, shell: shell, ports: ports, history: history)
    }

    private func runProcess<C: HubComponent>(_ component: C, socket: String, shell: LiveShell, ports: HubPorts, history: any HistorySink) throws {
        let label = "hub component \(name)"
        let process = IPCComponentProcess(component: component, socketPath: socket, shell: shell, ports: ports, history: history,
                                          backoff: ReconnectBackoff(random: SeededRandom(seed: UInt64(getpid())))) { text in
            FileHandle.standardError.write(Data("\(label): \(text)\n".utf8))
        }
        let deadline = try options.stopAfter().map { shell.clock.now + $0 }
        let loop = LoopService(name: label, body: { process.run(until: deadline) },
                               stop: { [realTime = shell.loop.clock] in realTime.requestStop() })
        try LiveServices.run([loop], label: label)
        let client = process.client
        FileHandle.standardError.write(Data("\(label): stopped; \(client.publishedCount) published, \(client.heldCount) held, \(client.droppedCount) dropped\n".utf8))
    }
}

/// The cloud port of a component process: there is none (the uplink and its connection stay
/// with the hub), so a send is answered failed — never taken for delivered.
private final class NoCloud: CloudPort {
    private let completions: any CompletionSink

    init(completions: any CompletionSink) { self.completions = completions }

    func send(_ message: CloudMessage, at time: Instant) {
        completions.complete(.cloud(.failed(messageID: message.messageID, reason: "a component process has no cloud connection")), at: time)
    }
}
