import Glibc
import HubCore
import HubKernel
import Synchronization

/// The real clock as the event loop waits on it: sleeps in slices of at most 200 ms (so a
/// stop is answered promptly), or, when there is a GPIO line to watch, waits on that line
/// with the same timeout, so a joystick press wakes the loop at once.
public final class RealTimeClock: LoopClock, @unchecked Sendable {
    // @unchecked Sendable: everything but `stop` is touched only by the loop's own thread;
    // `requestStop` may come from any thread and is an atomic store.
    public let clock: LiveClock
    private let stop = Atomic<Bool>(false)
    /// Waits up to a real duration for an input edge; nil when there is no GPIO to watch.
    private let waitForEdge: ((Duration) -> GPIOEdge?)?
    /// Hears each edge the wait brought, at the instant it arrived.
    var onEdge: ((GPIOEdge, Instant) -> Void)?
    /// Completions posted by port threads (MQTT); a post wakes the wait.
    let inbox = CompletionInbox()
    /// Hears each completion the wait brought.
    var onCompletion: ((PortCompletion, Instant) -> Void)?
    /// Runs after every wait, on the loop's thread (the control socket's requests).
    var onTurn: ((Instant) -> Void)?

    public init(clock: LiveClock, waitForEdge: ((Duration) -> GPIOEdge?)? = nil) {
        self.clock = clock
        self.waitForEdge = waitForEdge
    }

    public var now: Instant { clock.now }

    public var isStopRequested: Bool { stop.load(ordering: .relaxed) }

    /// Asks the loop to stop after its current step (from any thread: a shutdown handler).
    public func requestStop() { stop.store(true, ordering: .relaxed) }

    public func wait(until instant: Instant) {
        let wait = min(clock.realDelay(until: instant), .milliseconds(200))
        if let waitForEdge {
            // The GPIO wait cannot also watch the inbox: short slices keep PUBACKs prompt.
            if let edge = waitForEdge(min(wait, .milliseconds(10))) { onEdge?(edge, clock.now) }
        } else {
            inbox.wait(wait)
        }
        for (completion, at) in inbox.take() { onCompletion?(completion, at) }
        onTurn?(clock.now)
    }
}

/// Runs a `HubNode` in real time: the project's one `EventLoop` on the real clock, with
/// the hub's timers, its ports' completions and GPIO edges as events.
///
/// One thread, one loop, like the simulator's — only the waiting is real. Everything the
/// hub does happens on this thread.
public final class LiveShell: TimerPort, CompletionSink {
    public let clock: LiveClock
    public enum Event {
        case timer(HubTimer)
        case completion(PortCompletion)
        case edge(GPIOEdge)
    }
    public let loop: EventLoop<Event, RealTimeClock>

    public init(clock: LiveClock, waitForEdge: ((Duration) -> GPIOEdge?)? = nil) {
        self.clock = clock
        let realTime = RealTimeClock(clock: clock, waitForEdge: waitForEdge)
        loop = EventLoop(clock: realTime)
        realTime.onEdge = { [loop] edge, now in loop.schedule(.edge(edge), at: now) }
        realTime.onCompletion = { [loop] completion, at in loop.schedule(.completion(completion), at: max(at, clock.now)) }
        inbox = realTime.inbox
    }

    /// Where ports that answer from their own threads (MQTT) post completions.
    public let inbox: CompletionInbox

    /// Runs `body` on the loop's thread after every wait (at least every 200 ms, and at
    /// once after `inbox.wake()`): where the control socket's requests are answered, between
    /// two of the hub's events.
    public func onEachTurn(_ body: @escaping (Instant) -> Void) {
        loop.clock.onTurn = body
    }

    public func schedule(_ timer: HubTimer, at: Instant) {
        loop.schedule(.timer(timer), at: at)
    }

    /// Queues a port's completion; the loop hands it to the hub on its next turn at or after `at`.
    public func complete(_ completion: PortCompletion, at: Instant) {
        loop.schedule(.completion(completion), at: at)
    }

    /// A parent may have spawned us with SIGTERM and SIGINT blocked (posix_spawn keeps the
    /// caller's mask, and Foundation's Process does so), which would turn a polite SIGTERM
    /// into a wait for the deadline; the service group's handlers need them unblocked.
    public static func unblockShutdownSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// Boots `node` and runs until a signal arrives or `deadline` (if given) passes;
    /// `onEdge` hears GPIO edges (the hub's joystick line). Returns what was still pending.
    @discardableResult
    public func run(_ node: HubNode, until deadline: Instant? = nil, onEdge: ((GPIOEdge, Instant) -> Void)? = nil) -> Int {
        node.boot(now: clock.now)
        loop.run(until: deadline) { event, now in
            switch event {
            case .timer(let timer): node.fire(timer, now: now)
            case .completion(let completion): node.complete(completion, now: now)
            case .edge(let edge): onEdge?(edge, now)
            }
        }
        // An orderly stop: dependents first, and the log gets the refusals still being counted.
        node.shutdown(now: clock.now)
        node.flushRefusals(now: clock.now)
        return loop.pendingCount
    }

    /// Sleeps for a real duration (in one piece; callers slice long waits of at most 200 ms).
    public static func sleep(_ duration: Duration) {
        guard duration > .zero else { return }
        let nanoseconds = duration.nanoseconds
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR {
            request = remaining
        }
    }
}
