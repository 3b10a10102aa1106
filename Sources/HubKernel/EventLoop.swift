import HubCore

/// How an `EventLoop` waits for its next event: by jumping (virtual time) or by sleeping
/// (the real clock).
///
/// The loop itself is the same in simulation and on a Pi; only this differs, as
/// SwiftNIO's `EmbeddedEventLoop` differs from its real loops only in how time passes.
public protocol LoopClock: HubClock {
    /// Waits until `instant`, or less: a real clock returns early when an input arrived or a
    /// stop was asked, and the loop looks again. A virtual clock moves to `instant` at once.
    func wait(until instant: Instant)
    /// Whether the loop must stop before its next event (a signal, a shutdown request).
    var isStopRequested: Bool { get }
}

/// Virtual time: `wait` jumps to the instant, so a simulated day passes as fast as its
/// events can be handled, and the same events in the same order give the same run.
public final class VirtualClock: LoopClock {
    public private(set) var now: Instant

    public init(start: Instant) {
        now = start
    }

    public func wait(until instant: Instant) {
        precondition(instant >= now, "virtual time never runs backwards")
        now = instant
    }

    public var isStopRequested: Bool { false }
}

/// The one event loop: events in `(deadline, sequence)` order on a clock.
///
/// The simulator runs it on a `VirtualClock`, the live hub and `hubrig sim i2c-serve` on the
/// real clock; nothing else in the project loops over time. An event is handled at the
/// clock's `now` once its deadline has come (in virtual time exactly at its deadline).
/// Events due at the same instant run in the order they were scheduled — the tie-break
/// that makes a simulated run reproducible. What is still queued when a run ends is
/// counted (`pendingCount`), as SwiftNIO's `EmbeddedChannel.finish()` reports what was left.
///
/// `@inlinable`, so each shell's loop is specialised for its event and clock types.
public final class EventLoop<Event, Clock: LoopClock>: HubClock {
    public let clock: Clock
    @usableFromInline var queue = EventQueue<Event>()

    @inlinable
    public init(clock: Clock) {
        self.clock = clock
    }

    @inlinable public var now: Instant { clock.now }

    /// Events still queued.
    @inlinable public var pendingCount: Int { queue.count }

    /// The deadline of the next queued event, if any.
    @inlinable public var nextDeadline: Instant? { queue.nextDeadline }

    @inlinable
    public func schedule(_ event: Event, at deadline: Instant) {
        queue.push(event, at: deadline)
    }

    /// Runs until `end` (events due at `end` included; nil: until a stop is requested) and
    /// returns with the clock at `end`, or wherever the stop found it. `idleWait` bounds a
    /// real clock's wait when nothing is queued and no end is set.
    @inlinable
    public func run(until end: Instant?, idleWait: Duration = .seconds(1), handle: (Event, Instant) -> Void) {
        while !clock.isStopRequested {
            let now = clock.now
            if let due = queue.nextDeadline, due <= now, end.map({ due <= $0 }) ?? true, let entry = queue.pop() {
                handle(entry.payload, now)
                continue
            }
            if let end, now >= end { return }
            var target = queue.nextDeadline ?? end ?? now + idleWait
            if let end, end < target { target = end }
            clock.wait(until: max(target, now))
        }
    }
}
