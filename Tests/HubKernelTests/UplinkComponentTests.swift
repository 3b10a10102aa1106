import HubCore
import HubKernel
import Testing

@Suite("Uplink keeps messages until the cloud acknowledges them")
struct UplinkComponentTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)

    func reading(_ n: Int) -> BusMessage {
        .reading(Reading(timestamp: t0 + .seconds(Int64(n)), device: "hvac", values: ChannelValues([(.temperature, Double(n))])))
    }

    func sent(_ actions: [UplinkComponent.Action]) -> [String] {
        actions.compactMap { if case .send(let m) = $0 { m.messageID } else { nil } }
    }

    @Test("an acknowledged message is forgotten; an unacknowledged one is counted")
    func acknowledgements() {
        var uplink = UplinkComponent(thing: "hub")
        for n in 1...3 { _ = uplink.handle(reading(n), now: t0) }
        #expect(uplink.unacknowledgedCount == 3)
        #expect(uplink.handle(.acknowledged(messageID: "hub-2"), now: t0).isEmpty, "out of order is fine")
        #expect(uplink.handle(.acknowledged(messageID: "hub-1"), now: t0).isEmpty)
        #expect(uplink.unacknowledgedCount == 1)
        #expect(uplink.handle(.acknowledged(messageID: "hub-1"), now: t0).isEmpty, "a duplicate ack changes nothing")
        #expect(uplink.handle(.acknowledged(messageID: "nobody-9"), now: t0).isEmpty)
        #expect(uplink.unacknowledgedCount == 1)
    }

    @Test("a failed message is sent again with the same id on the retry timer, with backoff doubling to its cap")
    func failureAndResend() {
        var uplink = UplinkComponent(thing: "hub", retryBackoff: .seconds(1), retryBackoffMax: .seconds(4))
        _ = uplink.handle(reading(1), now: t0)
        _ = uplink.handle(reading(2), now: t0)
        let failed = uplink.handle(.failed(messageID: "hub-1", reason: "PUBACK timeout"), now: t0)
        #expect(failed.contains(.schedule(.retry, at: t0 + .seconds(1))))
        #expect(failed.contains { if case .record(.componentError("uplink", let e)) = $0 { e.contains("hub-1 not delivered: PUBACK timeout") } else { false } })
        #expect(uplink.handle(.failed(messageID: "hub-2", reason: "x"), now: t0).filter {
            if case .schedule = $0 { true } else { false }
        }.isEmpty, "one retry timer at a time")
        #expect(sent(uplink.timer(.retry, now: t0 + .seconds(1))) == ["hub-1", "hub-2"], "same ids, in order")
        // Fails again: the next round waits twice as long, then four times, then stays at the cap.
        var waits: [Duration] = []
        var now = t0 + .seconds(1)
        for _ in 0..<4 {
            let actions = uplink.handle(.failed(messageID: "hub-1", reason: "x"), now: now)
            guard case .schedule(.retry, let at)? = actions.last else { Issue.record("no retry"); return }
            waits.append(at - now)
            now = at
            #expect(sent(uplink.timer(.retry, now: now)) == ["hub-1"])
        }
        #expect(waits == [.seconds(2), .seconds(4), .seconds(4), .seconds(4)])
        _ = uplink.handle(.acknowledged(messageID: "hub-1"), now: now)
        let after = uplink.handle(.failed(messageID: "hub-2", reason: "x"), now: now)
        #expect(after.contains(.schedule(.retry, at: now + .seconds(1))), "an acknowledgement resets the backoff")
        #expect(uplink.handle(.failed(messageID: "hub-1", reason: "late"), now: now).isEmpty, "an acknowledged message never goes again")
    }

    @Test("while the connection is down nothing is sent; when it is back every unacknowledged message goes again, in order")
    func offline() {
        var uplink = UplinkComponent(thing: "hub")
        _ = uplink.handle(reading(1), now: t0)
        let down = uplink.handle(.connection(up: false, reason: "broker unreachable"), now: t0)
        #expect(sent(down).isEmpty)
        #expect(sent(uplink.handle(reading(2), now: t0)).isEmpty, "kept, not sent")
        #expect(sent(uplink.timer(.retry, now: t0)).isEmpty)
        let up = uplink.handle(.connection(up: true, reason: "reconnected"), now: t0)
        #expect(sent(up) == ["hub-1", "hub-2"])
        #expect(uplink.unacknowledgedCount == 2)
    }

    @Test("beyond its bound the oldest pending message is dropped and reported, never silently")
    func bounded() {
        var uplink = UplinkComponent(thing: "hub", pendingCountMax: 3)
        var reports: [String] = []
        for n in 1...5 {
            for case .record(.componentError(_, let error)) in uplink.handle(reading(n), now: t0) { reports.append(error) }
        }
        #expect(uplink.unacknowledgedCount == 3)
        #expect(reports == ["3 messages unacknowledged: dropped the oldest, hub-1", "3 messages unacknowledged: dropped the oldest, hub-2"])
    }

    @Test("acknowledging in order keeps memory flat over a long run")
    func longRun() {
        var uplink = UplinkComponent(thing: "hub")
        for n in 1...50_000 {
            _ = uplink.handle(reading(n), now: t0)
            _ = uplink.handle(.acknowledged(messageID: "hub-\(n)"), now: t0)
        }
        #expect(uplink.unacknowledgedCount == 0)
    }
}
