import HubCore
import HubScenario
import Testing

/// The IPC side of "nothing lost": a component over IPC's publishes are on the bus, held by
/// its client at the end, or counted as dropped — judged on hand-written histories.
@Suite("IPC accounting")
struct IPCAccountingTests {
    typealias H = HistoryCheckerTests
    static let context = CheckContext(start: H.start, end: H.start + .seconds(60), pollInterval: .seconds(10), devices: [H.hvac],
                                      ipcComponents: ["sensor"])

    static func verdict(_ expectation: HubScenario.Expectation, _ history: [(Int64, HistoryEvent)]) -> (passed: Bool, evidence: String) {
        let checker = expectation.makeChecker(context)
        for (seconds, event) in history { checker.observe(event, at: H.at(seconds)) }
        return checker.verdict()
    }

    /// Readings at 0, 10, 20 s on the bus (the one at 10 s twice: an acknowledgement was lost),
    /// each sent to and received by the cloud, and the client's report.
    static func history(published: Int, dropped: Int, held: Int) -> [(Int64, HistoryEvent)] {
        var events: [(Int64, HistoryEvent)] = []
        for (index, seconds) in [0, 10, 10, 20].enumerated() {
            events.append((Int64(seconds), H.reading(Int64(seconds))))
            events.append((Int64(seconds), .cloudSend(topic: H.telemetry, messageID: "hub-\(index + 1)")))
            events.append((Int64(seconds), .cloudReceive(topic: H.telemetry, messageID: "hub-\(index + 1)")))
        }
        events.append((60, .ipcClient(component: "sensor", published: published, dropped: dropped, held: held)))
        return events
    }

    @Test("every publish on the bus (a repeat counted once), held or counted: the account holds")
    func accounted() {
        let exact = Self.verdict(.ipcDropped(component: "sensor", min: 0, max: 0), Self.history(published: 3, dropped: 0, held: 0))
        #expect(exact.passed, "\(exact.evidence)")
        #expect(exact.evidence.contains("3 reached the bus (1 repeats not counted)"))
        #expect(Self.verdict(.ipcDropped(component: "sensor", min: 2, max: 2), Self.history(published: 5, dropped: 2, held: 0)).passed)
        #expect(Self.verdict(.ipcDropped(component: "sensor", min: 0, max: 0), Self.history(published: 4, dropped: 0, held: 1)).passed,
                "one still held at the end")
        #expect(Self.verdict(.noReadingLost, Self.history(published: 3, dropped: 0, held: 0)).passed)
    }

    @Test("a publish that vanished uncounted, a drop counted that was no loss, or a count outside the range fails")
    func failures() {
        let vanished = Self.verdict(.ipcDropped(component: "sensor", min: 0, max: 10), Self.history(published: 5, dropped: 1, held: 0))
        #expect(!vanished.passed)
        #expect(vanished.evidence.contains("1 publishes lost without being counted"))
        let overCounted = Self.verdict(.ipcDropped(component: "sensor", min: 0, max: 10), Self.history(published: 3, dropped: 1, held: 0))
        #expect(!overCounted.passed)
        #expect(overCounted.evidence.contains("1 more than it published"))
        let outside = Self.verdict(.ipcDropped(component: "sensor", min: 3, max: nil), Self.history(published: 5, dropped: 2, held: 0))
        #expect(!outside.passed)
        #expect(outside.evidence.contains("dropped 2, expected 3…∞"))
        let noReport = Self.verdict(.ipcDropped(component: "sensor", min: 0, max: 0), Array(Self.history(published: 3, dropped: 0, held: 0).dropLast()))
        #expect(!noReport.passed && noReport.evidence.contains("no ipc.client report"))
    }

    @Test("no-reading-lost fails when the component's client dropped readings, even if the cloud got all the bus had")
    func noReadingLostSeesDrops() {
        let verdict = Self.verdict(.noReadingLost, Self.history(published: 5, dropped: 2, held: 0))
        #expect(!verdict.passed)
        #expect(verdict.evidence.contains("dropped before reaching the bus"))
        let vanished = Self.verdict(.noReadingLost, Self.history(published: 4, dropped: 0, held: 0))
        #expect(!vanished.passed && vanished.evidence.contains("lost without being counted"))
    }
}
