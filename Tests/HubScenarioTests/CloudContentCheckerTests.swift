import HubCore
import HubScenario
import Testing

@Suite("What the cloud holds after de-duplication: each reading once, each device in order")
struct CloudContentCheckerTests {
    static let start = Instant(secondsSinceEpoch: 1_768_435_200)
    static let context = CheckContext(start: start, end: start + .seconds(3600), pollInterval: .seconds(10), devices: ["hvac"])

    /// Feeds receipts of (message id, device, timestamp) lists to both checkers.
    static func judge(_ receipts: [[(String, String, Double)]]) -> [(passed: Bool, evidence: String)] {
        [Expectation.noDuplicateAfterDedup, .perDeviceOrder].map { expectation in
            let checker = expectation.makeChecker(context)
            for (index, receipt) in receipts.enumerated() {
                let readings = receipt.map { CloudReadingKey(messageID: $0.0, device: $0.1, timestamp: $0.2) }
                checker.observe(.cloudContent(topic: .cloudTelemetry("hub"), readings: readings), at: start + .seconds(Int64(index)))
            }
            return checker.verdict()
        }
    }

    @Test("a batch sent twice (the acknowledgement lost) is dropped by its ids: both hold")
    func resentBatch() {
        let batch = [("hub-1", "hvac", 10.0), ("hub-2", "hvac", 20.0)]
        let verdicts = Self.judge([batch, batch, [("hub-3", "hvac", 30.0)]])
        #expect(verdicts.allSatisfy { $0.passed }, "\(verdicts)")
        #expect(verdicts[0].evidence.contains("3 readings of 1 device after de-duplication (2 copies by id dropped)"))
    }

    @Test("a reading sent again under a new id is a duplicate de-duplication cannot remove")
    func sameReadingNewID() {
        let verdicts = Self.judge([[("hub-1", "hvac", 10.0), ("hub-2", "hvac", 20.0)], [("hub-3", "hvac", 20.0)]])
        #expect(!verdicts[0].passed)
        #expect(verdicts[0].evidence.contains("hvac's reading of 20.0 came again in hub-3"), "\(verdicts[0].evidence)")
        #expect(!verdicts[1].passed, "a repeat is also not after the last")
    }

    @Test("a device's readings arriving out of time order fail per-device-order only; other devices do not interfere")
    func outOfOrder() {
        let verdicts = Self.judge([[("hub-1", "hvac", 10.0), ("hub-2", "fridge", 5.0)], [("hub-4", "hvac", 30.0)], [("hub-3", "hvac", 20.0)]])
        #expect(verdicts[0].passed, "\(verdicts[0].evidence)")
        #expect(!verdicts[1].passed && verdicts[1].evidence.contains("hvac's reading of 20.0 (hub-3) arrived after its reading of 30.0"), "\(verdicts[1].evidence)")
    }

    @Test("no readings at the cloud is nothing to check, not a pass")
    func nothing() {
        #expect(Self.judge([]).allSatisfy { !$0.passed && $0.evidence.contains("nothing to check") })
    }
}
