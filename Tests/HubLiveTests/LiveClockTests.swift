import Glibc
import HubCore
import HubLive
import Testing

@Suite("The live clock a rig hands its hub (HUBRIG_CLOCK)")
struct LiveClockTests {
    @Test("a clock rebuilt from another's HUBRIG_CLOCK reads what it reads, scaled")
    func sharedClock() throws {
        let rig = LiveClock(timeScale: 40, origin: Instant(secondsSinceEpoch: 1_768_435_200))
        let hub = try LiveClock.fromEnvironment([LiveClock.environmentName: rig.environmentValue])
        #expect(hub.timeScale == 40 && hub.origin == rig.origin)
        let (a, b) = (rig.now, hub.now)
        #expect(abs((b - a).secondsValue) < 0.04, "both read one monotonic clock: \(a) \(b)")
        usleep(50_000)
        let advanced = (hub.now - b).secondsValue
        #expect(advanced >= 1.9 && advanced < 20, "50 ms of real time is about 2 s at 40×: \(advanced)")
    }

    @Test("without HUBRIG_CLOCK the clock is the real one, at scale 1")
    func realClock() throws {
        let clock = try LiveClock.fromEnvironment([:])
        #expect(clock.timeScale == 1)
        #expect(abs(clock.now.secondsSinceEpoch - LiveClock().now.secondsSinceEpoch) < 1)
    }

    @Test("a malformed HUBRIG_CLOCK is an error naming the variable, never a silently real clock", arguments: [
        "", "40", "40@", "40@1/", "x@1/2", "40@1/2/3", "0@1768435200000000000/5", "-3@1768435200000000000/5",
        "40@-1/5", "40@1768435200000000000/0", "40@1768435200000000000/9223372036854775807", "40@99999999999999999999/5",
    ])
    func malformed(_ value: String) {
        do {
            _ = try LiveClock.fromEnvironment([LiveClock.environmentName: value])
            Issue.record("\(value.debugDescription) was accepted")
        } catch {
            #expect(error.description.hasPrefix("HUBRIG_CLOCK"), "\(error)")
        }
    }
}
