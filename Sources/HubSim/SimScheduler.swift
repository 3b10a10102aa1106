import HubCore
import HubKernel

/// What the simulation loop can be asked to do at an instant.
public enum SimEvent: Sendable {
    case hub(HubTimer)
    case faultStart(Int)
    case faultEnd(Int)
    case gpioEdge(GPIOEdge)
    /// A port's completion, due at its instant.
    case completion(PortCompletion)
}

/// Virtual time and the pending-event queue of one simulation.
///
/// It is the hub's clock and timer port in simulation: scheduling a hub timer is pushing
/// an event, and time only moves when the loop pops the next one.
public final class SimScheduler: TimerPort, CompletionSink, HubClock {
    public private(set) var now: Instant
    private var queue = EventQueue<SimEvent>()

    public init(start: Instant) {
        now = start
    }

    public func schedule(_ timer: HubTimer, at: Instant) {
        precondition(at >= now, "cannot schedule into the past")
        queue.push(.hub(timer), at: at)
    }

    public func complete(_ completion: PortCompletion, at: Instant) {
        precondition(at >= now, "a completion cannot arrive in the past")
        queue.push(.completion(completion), at: at)
    }

    /// Events still queued (timers, completions, faults), for the end-of-run report.
    public var pendingCount: Int { queue.count }

    public func schedule(_ event: SimEvent, at: Instant) {
        precondition(at >= now, "cannot schedule into the past")
        queue.push(event, at: at)
    }

    /// Pops the next event due no later than `end`, advancing virtual time to it.
    func next(notAfter end: Instant) -> SimEvent? {
        guard let deadline = queue.nextDeadline, deadline <= end, let entry = queue.pop() else { return nil }
        now = entry.deadline
        return entry.payload
    }

    func advance(to instant: Instant) {
        precondition(instant >= now, "time never runs backwards")
        now = instant
    }
}
