import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubKernel
import HubLive
import HubSim

extension SimCommand {
    /// `hubrig sim run`: the real hub against simulated appliances on the real clock.
    ///
    /// This lives in the rig, not in `hub`: the production binary links no simulator.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the hub against simulated appliances and register-level chips on the real clock.",
            discussion: """
                The same hub as `hub run`, with the simulated world's ports; --time-scale speeds \
                the clock up. History goes to --event-log as JSON lines (default: standard output); \
                the simulated cloud acknowledges what the uplink sends, or with --cloud-host a real MQTT \
                broker does; the outbox lives in memory, or in --state-dir. --config FILE reads these \
                settings from a YAML file (docs/config.md); flags given override it. SIGTERM or SIGINT \
                shuts it down gracefully. Exit status 2 for invalid input.
                """)

        @OptionGroup var options: HubRunOptions

        @OptionGroup var cloud: CloudOptions

        @OptionGroup var kitOptions: KitOptions

        @OptionGroup var ipcOptions: IPCOptions
        @OptionGroup var deploymentOptions: DeploymentOptions

        @Option(help: "Seed of the simulated world.")
        var seed: UInt64 = 1

        @Option(name: .customLong("time-scale"),
                help: "Simulated seconds per real second; at most the poll interval / 50 ms (200 at --poll 10s).")
        var timeScale: Int64 = 1

        func run() throws {
            let settings = try options.settings(cloud: cloud, kits: kitOptions)
            var config = try settings.config(timeScale: timeScale, tool: "hubrig")
            if let unsupported = config.devices.first(where: { !SimulatedAppliances.kinds.contains($0.kind) }) {
                throw ValidationError("appliance kind \(unsupported.kind.rawValue) has no simulator yet")
            }
            let history = try options.history()
            let clock = LiveClock(timeScale: timeScale)
            let shell = LiveShell(clock: clock)
            let world = SimWorld(devices: config.devices, seed: seed, start: clock.now, clock: clock, history: history)
            let mqtt = try settings.mqtt(shell: shell)
            var ports = world.hubPorts(timers: shell, completions: shell, history: history, outbox: try settings.outbox(fallback: nil))
            if let mqtt { ports.cloud = mqtt }
            let ipc = try ipcOptions.server(shell: shell)
            let processes = ipcOptions.processes(shell: shell)
            ports.ipc = ipc
            ports.processes = processes
            ports.deployments = try deploymentOptions.ports(shell: shell, stateDirectory: try settings.preparedStateDirectory(fallback: nil))
            // The kits' identity as `hub run` has it (no control socket here: a revocation
            // takes effect when the run starts again).
            let identity = try settings.preparedStateDirectory(fallback: nil).flatMap { directory in
                try settings.kitIdentity(stateDirectory: directory, now: clock.now, tool: "hubrig")
            }
            if settings.kitIdentity?.managed == true, !settings.kits.isEmpty, identity == nil {
                throw ValidationError("local_broker.identity managed keeps the kits' authority in the state directory: give --state-dir or state_dir")
            }
            defer { identity?.broker.stop() }
            config.kitCertificates = identity?.certificates ?? []
            if let warning = settings.kitIdentity?.warning { config.certificateWarning = warning }
            let node = HubNode(config: config, ports: ports, components: [])
            try ipcOptions.addComponents(to: node)
            // Simulated joystick edges reach the hub on the loop's next turn, like libgpiod's would.
            world.gpio.onEdge { edge, now in node.gpioEdge(edge, now: now) }
            try options.run(node, on: shell, name: "hubrig-sim", clients: [mqtt, try settings.kitListener(shell: shell, authority: identity?.broker.authority), ipc, processes])
        }
    }
}
