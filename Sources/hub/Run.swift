import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubDrivers
import HubKernel
import HubLive
import HubStore

/// `hub run`: the hub on a Pi's Sense HAT.
///
/// The production binary links no simulator: to run this same hub against simulated
/// appliances use `hubrig sim run`, or point it at `hubrig sim i2c-serve` through the I²C
/// shim (docs/bench.md).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub.",
        discussion: """
            Drives the Sense HAT through /dev/i2c-N (I2C_RDWR) and the joystick through \
            /dev/gpiochipN; where the rpi-sense overlay's kernel drivers are bound, the LED matrix \
            and joystick go through their framebuffer and event device instead, and a sensor a \
            kernel driver owns is refused with the fix (docs/bench.md). History goes to --event-log as JSON lines (default: standard output). \
            Cloud messages go over MQTT to --cloud-host (TLS with --cloud-ca, mutual TLS with \
            --cloud-cert and --cloud-key), or without it to --cloud-spool as JSON lines; either way \
            each is first committed to the outbox in --state-dir (default hub-state). \
            --config FILE reads these settings from a YAML file (docs/config.md); flags given \
            override it. SIGTERM or SIGINT shuts it down gracefully. (Simulated appliances: hubrig sim run.)
            """)

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case sensehat
    }

    @Option(help: "sensehat (the simulated backend is `hubrig sim run`).")
    var backend: Backend

    @OptionGroup var senseHAT: SenseHATOptions

    @Option(help: "GPIO chip of the joystick interrupt.")
    var gpiochip = "/dev/gpiochip0"

    @Option(name: .customLong("cloud-spool"), help: "File that receives cloud messages.")
    var cloudSpool = "hub-cloud-spool.jsonl"

    @OptionGroup var options: HubRunOptions

    @OptionGroup var cloud: CloudOptions

    @OptionGroup var kitOptions: KitOptions

    @OptionGroup var ipcOptions: IPCOptions

    @OptionGroup var deploymentOptions: DeploymentOptions

    @OptionGroup var control: ControlOptions

    func run() throws {
        let settings = try options.settings(cloud: cloud, kits: kitOptions)
        // A rig's live run hands the hub its (scaled) clock; otherwise the real one.
        let clock: LiveClock
        do { clock = try LiveClock.fromEnvironment(ProcessInfo.processInfo.environment) } catch { throw ValidationError(error.description) }
        var config = try settings.config(timeScale: clock.timeScale, tool: "hub")
        let device = try SenseHATOptions.device(of: config)
        try settings.checkCloudFiles()  // before the devices are opened: a typo in a path is the likelier mistake
        let history = try options.history()
        // The drivers reach the chips through the faultable bus, so a bench can inject
        // wire faults through the control socket (one branch per transfer without one).
        let bus = FaultableI2CBus(try senseHAT.bus(), seed: control.faultSeed)
        let plan = try senseHAT.kernelPlan(polling: device.kind, gpioChip: gpiochip)
        let display = try senseHAT.display(plan, bus: bus)
        // The joystick is a nicety: without it the hub runs on. Either way the loop waits on
        // it, so a press wakes the hub at once: an edge of GPIO23, or the kernel's events
        // turned into one (the node then reads the keys from the same port).
        var joystick: (any JoystickReader)?
        var waitForEdge: ((Duration) -> GPIOEdge?)?
        switch plan.joystick {
        case .interruptLine:
            do {
                let gpio = try LinuxGPIO(chipPath: gpiochip, edgeLine: HubPorts.joystickLine)
                joystick = JoystickDriver(bus: bus)
                waitForEdge = { timeout in
                    do { return try gpio.waitForEdge(timeout: timeout) } catch {
                        FileHandle.standardError.write(Data("hub: GPIO: \(error)\n".utf8))
                        LiveShell.sleep(timeout)
                        return nil
                    }
                }
            } catch {
                FileHandle.standardError.write(Data("hub: joystick disabled: \(error)\n".utf8))
            }
        case .eventDevice(let path):
            do {
                let events = try LinuxJoystickEventDevice(path: path)
                joystick = events.joystick
                waitForEdge = { timeout in
                    events.waitForChange(timeout: timeout) ? GPIOEdge(line: HubPorts.joystickLine, rising: true) : nil
                }
            } catch {
                FileHandle.standardError.write(Data("hub: joystick disabled: \(error)\n".utf8))
            }
        case .unavailable:
            break  // the plan's summary said why
        }
        let shell = LiveShell(clock: clock, waitForEdge: waitForEdge)
        let outbox = try settings.outbox(fallback: "hub-state")
        let mqtt = try settings.mqtt(shell: shell)
        let cloudPort: any CloudPort
        if let mqtt {
            cloudPort = mqtt
        } else {
            do { cloudPort = try CloudSpoolFile(path: cloudSpool, completions: shell) } catch { throw ValidationError("--cloud-spool: \(error)") }
        }
        let stateDirectory = try settings.preparedStateDirectory(fallback: "hub-state") ?? "hub-state"
        let controlServer = control.path(settings: settings, stateDirectory: stateDirectory).map { path in
            ControlSocketServer(socketPath: path, wakeLoop: { [inbox = shell.inbox] in inbox.wake() })
        }
        let ipc = try ipcOptions.server(shell: shell, faultSeed: control.faultSeed)
        let processes = ipcOptions.processes(shell: shell)
        let identity = try settings.kitIdentity(stateDirectory: stateDirectory, now: clock.now, tool: "hub")
        defer { identity?.broker.stop() }
        config.kitCertificates = identity?.certificates ?? []
        if let warning = settings.kitIdentity?.warning { config.certificateWarning = warning }
        var ports = HubPorts(sensorKits: [MonitoringKit.for(device.kind).drivers(on: bus)], display: display,
                             joystick: joystick, cloud: cloudPort, outbox: outbox,
                             timers: shell, history: controlServer.map { ControlEventTee(history, server: $0) } ?? history, ipc: ipc)
        ports.processes = processes
        ports.deployments = try deploymentOptions.ports(shell: shell, stateDirectory: stateDirectory)
        let node = HubNode(config: config, ports: ports, components: [])
        try ipcOptions.addComponents(to: node)
        if let controlServer {
            ControlOptions.attach(controlServer, to: node, on: shell, bus: bus, ipc: ipc, kitBroker: identity?.broker)
            do { try controlServer.start() } catch { throw ValidationError("--control-socket: \(error)") }
        }
        defer { controlServer?.stop() }
        try options.run(node, on: shell, name: "hub", clients: [mqtt, try settings.kitListener(shell: shell, authority: identity?.broker.authority), ipc, processes]) { edge, now in
            node.gpioEdge(edge, now: now)
        }
    }
}
