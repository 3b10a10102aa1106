import HubCore
import HubScenario
import Testing

/// Checkers judged on hand-written histories: what each one proves, and that it fails
/// when the history gives it nothing to judge.
@Suite("History checkers")
struct HistoryCheckerTests {
    static let start = Instant(secondsSinceEpoch: 1_768_435_200)
    static let hvac = DeviceID("hvac")
    static let context = CheckContext(start: start, end: start + .seconds(60), pollInterval: .seconds(10), devices: [hvac])
    static let telemetry: Topic = "hbs/hbshub001/telemetry"

    static func at(_ seconds: Int64) -> Instant { start + .seconds(seconds) }

    static func reading(_ seconds: Int64, temperature: Double = 21) -> HistoryEvent {
        .busPublish(topic: "dt/local/sensor/hvac", from: "sensor",
                    message: .reading(Reading(timestamp: at(seconds), device: hvac, values: ChannelValues([(.temperature, temperature)]))))
    }

    static func verdict(_ expectation: HubScenario.Expectation, _ history: [(Int64, HistoryEvent)]) -> (passed: Bool, evidence: String) {
        let checker = expectation.makeChecker(context)
        for (seconds, event) in history { checker.observe(event, at: at(seconds)) }
        return checker.verdict()
    }

    @Test("no-reading-lost fails on a run without readings instead of passing on 0 of 0")
    func noReadingLostNeedsReadings() {
        let verdict = Self.verdict(.noReadingLost, [])
        #expect(!verdict.passed)
        #expect(verdict.evidence.contains("nothing to check"))
    }

    @Test("no-reading-lost: every reading reaches the cloud at least once, first arrivals in order, or is still in the outbox")
    func noReadingLostOrder() {
        let sent: [(Int64, HistoryEvent)] = [
            (0, Self.reading(0)), (0, .cloudSend(topic: Self.telemetry, messageID: "hub-1")),
            (10, Self.reading(10)), (10, .cloudSend(topic: Self.telemetry, messageID: "hub-2")),
        ]
        func receive(_ at: Int64, _ id: String) -> (Int64, HistoryEvent) { (at, .cloudReceive(topic: Self.telemetry, messageID: id)) }
        let inOrder = Self.verdict(.noReadingLost, sent + [receive(11, "hub-1"), receive(12, "hub-2")])
        #expect(inOrder.passed, "\(inOrder.evidence)")
        let swapped = Self.verdict(.noReadingLost, sent + [receive(11, "hub-2"), receive(12, "hub-1")])
        #expect(!swapped.passed)
        #expect(swapped.evidence.contains("hub-2 arrived before hub-1"))
        let duplicated = Self.verdict(.noReadingLost, sent + [receive(11, "hub-1"), receive(12, "hub-1"), receive(13, "hub-2"), receive(14, "hub-1")])
        #expect(duplicated.passed, "at least once: \(duplicated.evidence)")
        #expect(duplicated.evidence.contains("2 duplicates"))
        let lost = Self.verdict(.noReadingLost, sent + [receive(11, "hub-1")])
        #expect(!lost.passed)
        #expect(lost.evidence.contains("never received and gone from the outbox (first: hub-2)"))
        let stillHeld = Self.verdict(.noReadingLost, sent + [receive(11, "hub-1"),
                                                            (20, .simulationEnd(SimulationEndReport(readings: 2, unacknowledged: 1, outboxTelemetry: SequenceRanges([2...2]), pending: 0)))])
        #expect(stillHeld.passed, "sent, not yet received, kept: \(stillHeld.evidence)")
        let stranger = Self.verdict(.noReadingLost, sent + [receive(11, "hub-1"), receive(12, "hub-2"), receive(13, "hub-9")])
        #expect(!stranger.passed)
        #expect(stranger.evidence.contains("hub-9, which the hub never sent"))
    }

    @Test("no-reading-lost counts batches by the messages they carry, and readings never sent must be in the outbox")
    func noReadingLostBatches() {
        let readings = (1...5).map { (Int64($0), Self.reading(Int64($0))) }
        let batch: [(Int64, HistoryEvent)] = [
            (6, .cloudSendBatch(topic: Self.telemetry, batchID: "hub-batch-1-3", messageIDs: ["hub-1", "hub-2", "hub-3"])),
            (6, .cloudReceiveBatch(topic: Self.telemetry, batchID: "hub-batch-1-3", messageIDs: ["hub-1", "hub-2", "hub-3"])),
        ]
        func end(_ outbox: [ClosedRange<Int64>]) -> (Int64, HistoryEvent) {
            (9, .simulationEnd(SimulationEndReport(readings: 5, unacknowledged: 2, outboxTelemetry: SequenceRanges(outbox), pending: 0)))
        }
        let waiting = Self.verdict(.noReadingLost, readings + batch + [end([4...5])])
        #expect(waiting.passed, "\(waiting.evidence)")
        #expect(waiting.evidence.contains("3 of 5 readings received by the cloud, 0 duplicates, 0 sent and still in the outbox, 2 never sent yet"))
        let dropped = Self.verdict(.noReadingLost, readings + batch + [end([5...5])])
        #expect(!dropped.passed)
        #expect(dropped.evidence.contains("1 readings unaccounted for"))
    }

    @Test("no-corrupted-reading compares with the latest conversion before the reading, and fails with nothing to compare")
    func noCorruptedReading() {
        let truth: (Int64, HistoryEvent) = (0, .sensorTruth(device: Self.hvac, chip: "HTS221", values: ChannelValues([(.temperature, 21.0)])))
        #expect(Self.verdict(.noCorruptedReading, [truth, (1, Self.reading(1, temperature: 21.1))]).passed)
        let corrupted = Self.verdict(.noCorruptedReading, [truth, (1, Self.reading(1, temperature: 22.0))])
        #expect(!corrupted.passed)
        #expect(corrupted.evidence.contains("hvac temperature 22.0"))
        let nothing = Self.verdict(.noCorruptedReading, [(1, Self.reading(1))])
        #expect(!nothing.passed)
        #expect(nothing.evidence.contains("nothing to check"))
    }

    @Test("readings-every-poll counts the gap before the first and after the last reading")
    func readingsEveryPollEdges() {
        let regular = (0...6).map { (Int64($0) * 10, Self.reading(Int64($0) * 10)) }
        #expect(Self.verdict(.readingsEveryPoll(device: nil), regular).passed)
        let lateStart = Self.verdict(.readingsEveryPoll(device: nil), Array(regular.dropFirst(2)))
        #expect(!lateStart.passed)
        #expect(lateStart.evidence.contains("largest gap 20s at +0s"))
        #expect(!Self.verdict(.readingsEveryPoll(device: nil), Array(regular.dropLast(2))).passed)
        #expect(!Self.verdict(.readingsEveryPoll(device: nil), []).passed)
    }

    @Test("an LED expectation reads the frames the matrix received; a matrix never written to is off")
    func ledFrames() {
        #expect(Self.verdict(.led(colour: "off", after: nil, within: nil), []).passed)
        let frames: [(Int64, HistoryEvent)] = [(5, .ledFrame(colour: "green")), (20, .ledFrame(colour: "red")), (40, .ledFrame(colour: "green"))]
        #expect(Self.verdict(.led(colour: "green", after: nil, within: nil), frames).passed)
        #expect(Self.verdict(.led(colour: "red", after: .seconds(10), within: .seconds(15)), frames).passed)
        #expect(!Self.verdict(.led(colour: "red", after: .seconds(41), within: .seconds(10)), frames).passed)
        #expect(!Self.verdict(.led(colour: "red", after: .seconds(0), within: .seconds(15)), frames).passed)
        #expect(Self.verdict(.led(colour: "red", after: .seconds(25), within: .seconds(5)), frames).passed, "red when the window opened")
    }
}
