import HubCore
import HubKernel
import HubSim

/// Where a live run carries out a timeline entry.
///
/// A live run has no simulator around the hub: each kind of fault goes to the part that
/// owns it for real. The world behind the I²C stand-in takes what happens to the appliances,
/// the chips and the kits; the hub's control socket what happens inside the hub; the fault
/// proxy what happens to the link; the rig itself power and deployments. What none of
/// them can do is refused when the scenario is loaded, naming the entry's line.
public enum LiveRoute: Equatable, Sendable {
    /// The stand-in's simulated world: appliance physics, sensor elements, chip faults, kits,
    /// the deployment bucket's faults.
    case world
    /// The hub's control socket.
    case hub(LiveFault)
    /// The cloud fault proxy's control socket.
    case proxy(CloudLinkFault)
    /// The hub process is killed (SIGKILL) and started again after the entry's `for`.
    case powerLoss
    /// The rig publishes a deployment: artifacts into the bucket directory the hub fetches
    /// from, the document to the cloud broker.
    case publish(DeploymentSpec)
    /// On a bench, a person does it: the entry's prompt is shown and the run waits.
    case person
    /// The owner revokes a kit: the rig runs the real `hub kit revoke` on the hub's state
    /// directory, which tells the running hub through its control socket.
    case revoke(DeviceID)

    /// The route of `fault`.
    public static func of(_ fault: SimFault) throws(LiveRouteError) -> LiveRoute {
        switch fault {
        case .i2cWire(let address, let wire): return .hub(.i2cWire(address: address, wire))
        case .kit(_, .foreignCA), .kit(_, .expiredCertificate), .kit(_, .revokedCertificate):
            throw LiveRouteError("\(fault.name): a live run's kits each keep one certificate; what a kit presents is judged in simulation and by the real-broker tests (docs/kits.md)")
        case .revokeKit(let device): return .revoke(device)
        case .i2cStuck, .i2cReset, .i2cWhoAmI, .sensor, .appliance, .kit: return .world
        case .deployment(.badModel), .deployment(.corruptArtifact): return .world
        case .deployment(let kind):
            throw LiveRouteError("\(kind.name) exists only in simulation (the live hub's components and disk are real)")
        case .component(let name, .crash): return .hub(.componentCrash(name))
        case .component(let name, .hang): return .hub(.componentHang(name))
        case .component(_, let kind):
            throw LiveRouteError("component faults other than crash and hang exist only in simulation (\(kind))")
        case .ipc(.down): return .hub(.ipcDown)
        case .ipc(.restart): return .hub(.ipcRestart)
        case .ipc(.slow(let latency)): return .hub(.ipcSlow(latency: latency))
        case .ipc(.drop(let p)): return .hub(.ipcDrop(probability: p))
        case .cloud(.offline): return .proxy(.offline)
        case .cloud(.latency(let extra, let jitter)): return .proxy(.latency(extra: extra, jitter: jitter))
        case .cloud(let kind):
            throw LiveRouteError("cloud.\(kind.kind) needs the broker's insides; the fault proxy breaks only the connection (offline, latency)")
        case .gpio, .joystick:
            throw LiveRouteError("\(fault.name) needs the Pi's GPIO chip, which the I²C stand-in does not serve (on a bench: docs/bench.md)")
        case .powerLoss: return .powerLoss
        case .deploy(let spec): return .publish(spec)
        }
    }

    /// The route of `entry` on a bench, where the Sense HAT is real: what would happen to
    /// its chips or its appliance (and joystick presses) is a person's to do, shown as the
    /// entry's `prompt`; kits, deployments and everything the hub and proxy take go as in
    /// a live run. `senseHAT` is the appliance on the HAT.
    public static func onBench(_ entry: ScheduledFault, senseHAT: DeviceID) throws(LiveRouteError) -> LiveRoute {
        let onHAT: Bool
        switch entry.fault {
        case .appliance(let device, _, _), .sensor(let device, _, _): onHAT = device == senseHAT
        case .i2cStuck, .i2cReset, .i2cWhoAmI, .joystick: onHAT = true
        default: onHAT = false
        }
        guard onHAT else { return try of(entry.fault) }
        guard entry.prompt != nil else {
            throw LiveRouteError("\(entry.fault.name) happens to the real Sense HAT on a bench: give the entry a prompt saying what the person there does")
        }
        return .person
    }

    /// Why a live run cannot judge `expectation`, or nil if it can: these need totals only
    /// the simulator keeps.
    public static func unsupported(_ expectation: Expectation) -> String? {
        switch expectation {
        case .outboxDepthMax, .cloudBytesPerDayMax, .cloudAttemptsMax, .kitRejectedMin:
            "\(expectation.label) is judged from the simulator's totals at the end of a run; a live run has none"
        case .noCorruptedReading:
            // Found live: a conversion can land between the hub's sampling instant and its
            // bursts, and the world records its truth a few milliseconds after the reading's
            // timestamp, so "the latest truth at or before the timestamp" is the conversion
            // before — a furnace lighting in between looked like a corrupted reading.
            "no-corrupted-reading matches a reading with the latest conversion at or before its timestamp, which holds only where time stands still during a poll (simulation)"
        default:
            nil
        }
    }
}

/// A timeline entry a live run cannot carry out.
public struct LiveRouteError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
