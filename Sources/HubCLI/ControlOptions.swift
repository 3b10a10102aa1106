import ArgumentParser
import HubCore
import HubKernel
import HubLive

/// `hub run`'s control socket (docs/control.md): where it listens, and the seed of the
/// faults injected through it.
public struct ControlOptions: ParsableArguments {
    @Option(name: .customLong("control-socket"),
            help: ArgumentHelp("The control socket's path, or 'off'; the configuration file's control_socket. (default: <state dir>/control.sock)",
                               valueName: "path"))
    public var controlSocket: String?

    @Option(name: .customLong("fault-seed"), help: "Seed of the random draws of faults injected with a probability, so a bench session repeats.")
    public var faultSeed: UInt64 = 1

    public init() {}

    /// The socket's path: the flag, the file's `control_socket`, or the state directory's
    /// `control.sock`; nil for `off`.
    public func path(settings: HubRunSettings, stateDirectory: String) -> String? {
        if let controlSocket { return controlSocket == "off" ? nil : controlSocket }
        return settings.controlSocket?.value ?? stateDirectory + "/control.sock"
    }

    /// Serves the control socket for `node` on `shell`'s thread (not started: the caller
    /// starts it before the loop and stops it after). `bus` takes the wire faults, `ipc`
    /// (the hub's IPC bus server, if it runs one) `ipc.down` and `ipc.restart`.
    public static func attach(_ server: ControlSocketServer, to node: HubNode, on shell: LiveShell, bus: FaultableI2CBus?,
                              ipc: UnixSocketIPCServer?, kitBroker: ManagedKitBroker? = nil) {
        final class DeskBox {
            var desk: ControlDesk
            init(_ desk: ControlDesk) { self.desk = desk }
        }
        let box = DeskBox(ControlDesk(thing: node.config.thing, componentNames: node.recipes.map(\.name), wireFaults: bus != nil,
                                          ipcFaults: ipc != nil,
                                          kits: node.config.devices.filter { $0.source != .senseHAT }.map(\.id)))
        let apply = { (effects: [ControlDesk.Effect], now: Instant) in
            for effect in effects {
                switch effect {
                case .wire(let address, let fault, let active): bus?.set(fault, active: active, at: address)
                case .crash(let component): node.crash(component, reason: "injected through the control socket", now: now)
                case .hang(let component, let active): node.hang(component, active)
                case .record(let event): node.ports.history.record(event, at: now)
                case .ipcDown(let active):
                    ipc?.setRefusing(active)
                    // The hub knows its own server is gone, as the simulated hub does: its
                    // supervisor does not blame the components for missing probes meanwhile.
                    if ipc != nil { shell.complete(.ipcServer(up: !active), at: now) }
                case .ipcRestart: ipc?.closeAllSessions()
                case .ipcSlow(let latency): ipc?.setSlow(latency)
                case .ipcDrop(let p): ipc?.setDropping(p)
                case .cloud: break  // a hub's desk refuses cloud faults: they are the proxy's
                case .kitRevoked(let device, let serial):
                    node.revokeKit(device, serial: serial, now: now)
                    do { try kitBroker?.restart() } catch {
                        node.ports.history.record(.componentError(component: "local-broker", error: "restart after revoking \(device): \(error)"), at: now)
                    }
                }
            }
        }
        shell.onEachTurn { now in
            apply(box.desk.expire(now: now), now)
            server.serviceRequests { line in
                let (reply, request, effects) = box.desk.handle(line: line, now: now, status: { node.status(now: now, faults: $0) },
                                                                            outbox: { node.outboxTelemetry() })
                apply(effects, now)
                return (reply, request == .subscribe)
            }
        }
    }
}
