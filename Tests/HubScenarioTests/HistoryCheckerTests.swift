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

    @Test("no-reading-lost passes only when every reading arrives once and in order")
    func noReadingLostOrder() {
        let sent: [(Int64, HistoryEvent)] = [
            (0, Self.reading(0)), (0, .cloudSend(topic: Self.telemetry, messageID: "m1")),
            (10, Self.reading(10)), (10, .cloudSend(topic: Self.telemetry, messageID: "m2")),
        ]
        let inOrder = Self.verdict(.noReadingLost, sent + [(11, .cloudReceive(topic: Self.telemetry, messageID: "m1")),
                                                          (12, .cloudReceive(topic: Self.telemetry, messageID: "m2"))])
        #expect(inOrder.passed, "\(inOrder.evidence)")
        let swapped = Self.verdict(.noReadingLost, sent + [(11, .cloudReceive(topic: Self.telemetry, messageID: "m2")),
                                                          (12, .cloudReceive(topic: Self.telemetry, messageID: "m1"))])
        #expect(!swapped.passed)
        let duplicated = Self.verdict(.noReadingLost, sent + [(11, .cloudReceive(topic: Self.telemetry, messageID: "m1")),
                                                             (12, .cloudReceive(topic: Self.telemetry, messageID: "m1")),
                                                             (13, .cloudReceive(topic: Self.telemetry, messageID: "m2"))])
        #expect(!duplicated.passed)
        let lost = Self.verdict(.noReadingLost, sent + [(11, .cloudReceive(topic: Self.telemetry, messageID: "m1"))])
        #expect(!lost.passed)
        #expect(lost.evidence.contains("1 missing"))
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
