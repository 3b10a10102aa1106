import HubCore
import HubKernel

/// What the simulation loop can be asked to do at an instant.
public enum SimEvent: Sendable {
    /// A hub timer, set while the hub was in its `power`-th run (one set before a power loss is void).
    case hub(HubTimer, power: Int)
    case faultStart(Int)
    case faultEnd(Int)
    case gpioEdge(GPIOEdge)
    /// A port's completion, due at its instant, for the hub's `power`-th run.
    indirect case completion(PortCompletion, power: Int)
    /// The simulated MQTT client tries to connect to the cloud again.
    case cloudConnect
    /// Monitoring kit `index` (of `SimWorld.mqttKits`) reads its chips and publishes.
    case kitPoll(Int)
    /// One second of the active `component.<name>.flood` faults.
    case componentFlood
    /// The hub's power comes back after a `host.power-loss`.
    case powerOn
    /// Something on the simulated IPC bus: a frame arrives, a component process acts.
    indirect case ipc(SimIPCEvent)
    /// Time to record the hub's resource use (`SimulationSetup.resourceSampleInterval`).
    case resourceSample
}

/// Virtual time and the pending events of one simulation: the project's one `EventLoop`
/// on a `VirtualClock`.
///
/// It is the hub's clock, timer port and completion sink in simulation: scheduling a hub
/// timer or delivering a completion is queueing an event, and time only moves when the
/// loop reaches the next one.
public final class SimScheduler: TimerPort, CompletionSink, HubClock {
    public let loop: EventLoop<SimEvent, VirtualClock>

    /// Which run of the hub this is: a power loss ends one, so what was due to it is dropped.
    public internal(set) var power = 0

    public init(start: Instant) {
        loop = EventLoop(clock: VirtualClock(start: start))
    }

    public var now: Instant { loop.now }

    public func schedule(_ timer: HubTimer, at: Instant) {
        schedule(.hub(timer, power: power), at: at)
    }

    public func complete(_ completion: PortCompletion, at: Instant) {
        precondition(at >= now, "a completion cannot arrive in the past")
        loop.schedule(.completion(completion, power: power), at: at)
    }

    /// Events still queued (timers, completions, faults), for the end-of-run report.
    public var pendingCount: Int { loop.pendingCount }

    public func schedule(_ event: SimEvent, at: Instant) {
        precondition(at >= now, "cannot schedule into the past")
        loop.schedule(event, at: at)
    }
}
