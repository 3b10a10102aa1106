import Glibc
import HubCore
import HubKernel
import Synchronization

/// Set by SIGTERM/SIGINT; the shell's loop checks it between waits.
let stopRequested = Atomic<Bool>(false)

/// Runs a `HubNode` in real time: the hub's timers on the real clock, GPIO edges as they come.
///
/// One thread, one loop, like the simulator's — only the waiting is real. The loop sleeps
/// until the next timer (in slices of at most 200 ms, so SIGTERM is answered promptly), or,
/// when the hub has a GPIO line to watch, waits on that line with the same timeout, so a
/// joystick press wakes it at once. Everything the hub does happens on this thread.
public final class LiveShell: TimerPort, CompletionSink {
    public let clock: LiveClock
    private enum Event {
        case timer(HubTimer)
        case completion(PortCompletion)
    }
    private var queue = EventQueue<Event>()
    private var node: HubNode?
    /// Waits up to a real duration for an input edge; nil when there is no GPIO to watch.
    private let waitForEdge: ((Duration) -> GPIOEdge?)?

    public init(clock: LiveClock, waitForEdge: ((Duration) -> GPIOEdge?)? = nil) {
        self.clock = clock
        self.waitForEdge = waitForEdge
    }

    public func schedule(_ timer: HubTimer, at: Instant) {
        queue.push(.timer(timer), at: at)
    }

    /// Queues a port's completion; the loop hands it to the hub on its next turn at or after `at`.
    public func complete(_ completion: PortCompletion, at: Instant) {
        queue.push(.completion(completion), at: at)
    }

    /// Whether SIGTERM or SIGINT has arrived (for other real-time loops, like `i2c-serve`).
    public static var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// Installs SIGTERM and SIGINT handlers that ask the loop to stop after the current step.
    /// A parent may have spawned us with these signals blocked (posix_spawn keeps the
    /// caller's mask), which would turn a polite SIGTERM into a wait for the deadline.
    public static func installSignalHandlers() {
        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// Boots `node` and runs until a signal arrives or `deadline` (if given) passes.
    public func run(_ node: HubNode, until deadline: Instant? = nil, onEdge: ((GPIOEdge, Instant) -> Void)? = nil) {
        self.node = node
        node.boot(now: clock.now)
        while !stopRequested.load(ordering: .relaxed) {
            let now = clock.now
            if let deadline, now >= deadline { break }
            if let due = queue.nextDeadline, due <= now, let entry = queue.pop() {
                switch entry.payload {
                case .timer(let timer): node.fire(timer, now: now)
                case .completion(let completion): node.complete(completion, now: now)
                }
                continue
            }
            var target = queue.nextDeadline ?? now + .seconds(1)
            if let deadline, deadline < target { target = deadline }
            let wait = min(clock.realDelay(until: target), .milliseconds(200))
            if let waitForEdge {
                if let edge = waitForEdge(wait) { onEdge?(edge, clock.now) }
            } else {
                Self.sleep(wait)
            }
        }
    }

    /// Sleeps for a real duration (in one piece; callers slice long waits), returning early on a stop request.
    public static func sleep(_ duration: Duration) {
        guard duration > .zero else { return }
        let nanoseconds = duration.nanoseconds
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR, !stopRequested.load(ordering: .relaxed) {
            request = remaining
        }
    }
}
