import HubCore
import HubKernel
import Testing

@Suite("The cloud ledger accounts for a hub's deliveries by message id")
struct CloudLedgerTests {
    static func envelope(_ n: Int) -> [UInt8] { Array(#"{"message_id":"hub-\#(n)","alert":{}}"#.utf8) }

    static func batch(_ range: ClosedRange<Int64>) -> [UInt8] {
        var json = JSONWriter()
        let messages = range.map { n in
            OutboxMessage(sequence: n, messageID: "hub-\(n)", topic: "hbs/hub/telemetry", priority: .telemetry,
                          payload: Array(#"{"message_id":"hub-\#(n)","readings":[{"timestamp":\#(1000 + n),"device_id":"hvac","temperature":21.5}]}"#.utf8))
        }
        return TelemetryBatch.encode(batchID: "hub-batch-\(range.lowerBound)-\(range.upperBound)", messages: messages, level: 1, json: &json)
    }

    @Test("batches and envelopes count each id once; a resent batch is duplicates; a gap is missing")
    func counts() {
        var ledger = CloudLedger(thing: "hub")
        ledger.receive(topic: "hbs/hub/telemetry", payload: Self.batch(1...5))
        ledger.receive(topic: "hbs/hub/alerts", payload: Self.envelope(6))
        ledger.receive(topic: "hbs/hub/telemetry", payload: Self.batch(3...5))
        ledger.receive(topic: "hbs/hub/telemetry", payload: Self.batch(9...10))
        #expect(ledger.messagesReceived == 4 && ledger.uniqueReceived == 8 && ledger.duplicates == 3)
        #expect(ledger.missing == 2 && ledger.missingSequences(limit: 10) == [7, 8])
        #expect(ledger.outOfOrder == 0)
        ledger.receive(topic: "hbs/hub/telemetry", payload: Self.batch(7...7))
        #expect(ledger.outOfOrder == 1, "7 came after 10 on the same topic")
        #expect(ledger.json().contains(#""received": 9, "lowest": 1, "highest": 10, "duplicates": 3, "missing": 1, "out_of_order": 1"#))
    }

    @Test("the hub's last will is not a message; foreign topics, ids and garbage are counted unreadable with a reason", arguments: [
        ("hbs/hub/deployments", Array(#"{"message_id":"hub-1"}"#.utf8), "not one of the hub's cloud topics"),
        ("hbs/other/alerts", Array(#"{"message_id":"other-1"}"#.utf8), "not one of the hub's cloud topics"),
        ("hbs/hub/alerts", Array(#"{"message_id":"other-1"}"#.utf8), "is not hub-<sequence>"),
        ("hbs/hub/alerts", Array(#"{"message_id":"hub--4"}"#.utf8), "is not hub-<sequence>"),
        ("hbs/hub/alerts", Array(#"{"message_id":7}"#.utf8), "without a string message_id"),
        ("hbs/hub/alerts", [0xFF, 0x00, 0x7B], "neither a telemetry batch nor JSON"),
        ("hbs/hub/telemetry", [0x78, 0x9C, 0x01], "telemetry batch"),
    ] as [(String, [UInt8], String)])
    func unreadable(_ topic: String, _ payload: [UInt8], _ reason: String) {
        var ledger = CloudLedger(thing: "hub")
        ledger.receive(topic: "hbs/hub/health", payload: Array("offline".utf8))
        ledger.receive(topic: topic, payload: payload)
        #expect(ledger.unreadable == 1 && ledger.uniqueReceived == 0)
        #expect(ledger.unreadableReasons.first?.contains(reason) == true, "\(ledger.unreadableReasons)")
    }

    @Test("a message reads as the cloud reads it: a batch's ids and batch id, an envelope's id under its kind, the last will, the unreadable with a reason")
    func arrival() {
        #expect(CloudArrival(topic: "hbs/hub/telemetry", payload: Self.batch(4...6), thing: "hub")
                == .messages(kind: "telemetry", batchID: "hub-batch-4-6", ids: ["hub-4", "hub-5", "hub-6"]))
        #expect(CloudReadingKey.telemetryReadings(Self.batch(4...6))
                == (4...6).map { CloudReadingKey(messageID: "hub-\($0)", device: "hvac", timestamp: Double(1000 + $0)) })
        #expect(CloudArrival(topic: "hbs/hub/deployments/status", payload: Self.envelope(9), thing: "hub")
                == .messages(kind: "deployments/status", batchID: nil, ids: ["hub-9"]))
        #expect(CloudArrival(topic: "hbs/hub/health", payload: Array("offline".utf8), thing: "hub") == .lastWill)
        for (topic, payload) in [("hbs/other/alerts", Self.envelope(1)), ("hbs/hub/telemetry", [0x78, 0x01, 0x00]),
                                 ("hbs/hub/alerts", Array("{\"message_id\": 7}".utf8)), ("hbs/hub/alerts", [])] {
            guard case .unreadable(let reason) = CloudArrival(topic: topic, payload: payload, thing: "hub") else {
                Issue.record("\(topic) \(payload) read as messages")
                continue
            }
            #expect(reason.hasPrefix(topic), "the reason names the topic: \(reason)")
        }
    }
}
