import HubCore
import HubKernel
import Testing

@Suite("The event loop")
struct EventLoopTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)

    @Test("on virtual time, events run at their deadlines in (deadline, scheduling) order, the end included")
    func virtualOrder() {
        let loop = EventLoop<String, VirtualClock>(clock: VirtualClock(start: t0))
        loop.schedule("b", at: t0 + .seconds(5))
        loop.schedule("a", at: t0 + .seconds(2))
        loop.schedule("c", at: t0 + .seconds(5))
        loop.schedule("end", at: t0 + .seconds(10))
        loop.schedule("late", at: t0 + .seconds(11))
        var seen: [(String, Instant)] = []
        loop.run(until: t0 + .seconds(10)) { event, now in
            seen.append((event, now))
            if event == "a" { loop.schedule("from-a", at: now) }
        }
        #expect(seen.map(\.0) == ["a", "from-a", "b", "c", "end"])
        #expect(seen.map(\.1) == [t0 + .seconds(2), t0 + .seconds(2), t0 + .seconds(5), t0 + .seconds(5), t0 + .seconds(10)])
        #expect(loop.now == t0 + .seconds(10))
        #expect(loop.pendingCount == 1, "what is left is reported, not lost")
    }

    @Test("with nothing queued, virtual time goes straight to the end")
    func emptyRun() {
        let loop = EventLoop<Int, VirtualClock>(clock: VirtualClock(start: t0))
        loop.run(until: t0 + .seconds(3600)) { _, _ in Issue.record("no events") }
        #expect(loop.now == t0 + .seconds(3600))
    }

    /// A clock that moves only in the steps the loop asks for, as a real one would when
    /// woken early, and asks the loop to stop after a number of waits.
    final class SteppingClock: LoopClock {
        var now: Instant
        var waits: [Instant] = []
        let stopAfterWaits: Int
        init(start: Instant, stopAfterWaits: Int) { now = start; self.stopAfterWaits = stopAfterWaits }
        func wait(until instant: Instant) {
            waits.append(instant)
            // Wakes early: only half way there, like a 200 ms slice of a long sleep.
            now = now + .nanoseconds(max(1, (instant - now).nanoseconds / 2))
        }
        var isStopRequested: Bool { waits.count >= stopAfterWaits }
    }

    @Test("a clock that wakes early is asked to wait again; an event is handled once its deadline has come, at the clock's now")
    func earlyWakes() {
        let clock = SteppingClock(start: t0, stopAfterWaits: 1000)
        let loop = EventLoop<String, SteppingClock>(clock: clock)
        loop.schedule("x", at: t0 + .seconds(8))
        var handled: [Instant] = []
        loop.run(until: t0 + .seconds(9)) { _, now in handled.append(now) }
        #expect(handled.count == 1)
        #expect(handled[0] >= t0 + .seconds(8))
        #expect(clock.waits.count > 2, "woke early and waited again: \(clock.waits.count)")
        #expect(clock.now >= t0 + .seconds(9))
    }

    @Test("a stop request ends the run before the next event, with the rest still queued")
    func stop() {
        let clock = SteppingClock(start: t0, stopAfterWaits: 3)
        let loop = EventLoop<Int, SteppingClock>(clock: clock)
        for n in 1...5 { loop.schedule(n, at: t0 + .seconds(Int64(100 * n))) }
        var handled = 0
        loop.run(until: nil) { _, _ in handled += 1 }
        #expect(handled == 0)
        #expect(loop.pendingCount == 5)
    }
}
