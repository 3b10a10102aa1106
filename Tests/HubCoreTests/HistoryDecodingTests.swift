import HubCore
import Testing

@Suite("Event log decoding")
struct HistoryDecodingTests {
    static let time = Instant(nanosecondsSinceEpoch: 1_768_435_210_080_123_000)
    static let stamp = Instant(nanosecondsSinceEpoch: 1_768_435_210_080_100_000)

    /// One event of every kind the history holds.
    static let everyKind: [HistoryEvent] = [
        .hubStarted(thing: "hbshub001"),
        .sensorReady(device: "hvac", chip: "HTS221", detail: "T0=17.375°C T1=41.5°C"),
        .sensorError(device: "hvac", chip: "LPS25H", error: "LPS25H: no ACK at 0x5C \"twice\""),
        .componentError(component: "inference", error: "bad\nmodel"),
        .componentState(component: "uplink", from: "running", to: "errored", reason: "crashed; restart in 1s"),
        .busRefused(component: "display", operation: "publish", topic: "hbs/hub/deployments", reason: "not granted by display@1.0.0", count: 3),
        .busDropped(subscriber: "uplink", topic: .sensorReading("hvac")),
        .modelChange(device: "washer", from: "none", to: "washer-ae@2.0.0"),
        .busPublish(topic: .sensorReading("hvac"), from: "sensor",
                    message: .reading(Reading(timestamp: stamp, device: "hvac", values: ChannelValues([(.temperature, 21.31), (.pressure, 1008.94)]),
                                              quality: .suspect))),
        .busPublish(topic: .inference("hvac"), from: "inference",
                    message: .inference(InferenceResult(timestamp: stamp, device: "hvac", model: "m@1.0.0", score: 0.5, threshold: 1, anomalous: false))),
        .busPublish(topic: .alert("hvac"), from: "inference",
                    message: .alert(Alert(timestamp: stamp, device: "hvac", state: .anomalous, previous: .normal, model: "m@1.0.0", score: 2))),
        .busPublish(topic: .health("sensor"), from: "sensor",
                    message: .health(HealthReport(timestamp: stamp, component: "sensor", device: "hvac", state: .degraded, detail: "x"))),
        .displayWrite(colour: "amber", reason: "health"),
        .displayScroll(text: "t: 21.3C"),
        .joystick(keys: "enter"),
        .cloudSend(topic: .cloudTelemetry("hbshub001"), messageID: "hbshub001-1"),
        .cloudReceive(topic: .cloudTelemetry("hbshub001"), messageID: "hbshub001-1"),
        .ledFrame(colour: "red"),
        .faultStart(name: "i2c.0x5f.nack"),
        .faultEnd(name: "sensor.hvac.drift"),
        .sensorTruth(device: "hvac", chip: "HTS221", values: ChannelValues([(.temperature, 21.3125), (.humidity, 40.5)])),
        .cloudSendBatch(topic: .cloudTelemetry("hbshub001"), batchID: "hbshub001-batch-2-4", messageIDs: ["hbshub001-2", "hbshub001-4"]),
        .cloudReceiveBatch(topic: .cloudTelemetry("hbshub001"), batchID: "hbshub001-batch-2-4", messageIDs: []),
        .simulationEnd(SimulationEndReport(readings: 8641, unacknowledged: 1, outboxTelemetry: SequenceRanges([3...3, 8...9]), outboxDepthMax: 90, cloudBytes: 12_345, cloudRefusedAttempts: 7, pending: 4)),
        .ipcClient(component: "sensor", published: 8_640, dropped: 12, held: 3),
        .hubResources(memoryBytes: 41_943_040, cpuShare: 0.0021, diskBytes: 432_128),
        .hubResources(memoryBytes: nil, cpuShare: nil, diskBytes: 45_056),
        .cloudContent(topic: .cloudTelemetry("hbshub001"), readings: [CloudReadingKey(messageID: "hbshub001-2", device: "hvac", timestamp: 1_768_435_210.08)]),
    ]

    static func line(_ event: HistoryEvent, at time: Instant = time) -> [UInt8] {
        var json = JSONWriter()
        event.write(at: time, to: &json)
        return json.bytes
    }

    @Test("every kind of event decodes back to the event it was written from, at the microsecond")
    func roundTrip() throws {
        #expect(Set(Self.everyKind.map(\.name)) == Set(HistoryEvent.names), "the list covers every kind")
        for event in Self.everyKind {
            let decoded = try HistoryEvent.decode(line: Self.line(event))
            #expect(decoded.event == event)
            #expect(decoded.time == Self.time)
        }
    }

    @Test("a bad line is refused naming the field and what is wrong", arguments: [
        (#"{"t": 1, "ev": "hub.begin", "thing": "x"}"#, "ev", "unknown event 'hub.begin' (known: hub.start,"),
        (#"{"ev": "hub.start", "thing": "x"}"#, "t", "missing"),
        (#"{"t": "soon", "ev": "hub.start", "thing": "x"}"#, "t", "must be a number"),
        (#"{"t": -5, "ev": "hub.start", "thing": "x"}"#, "t", "seconds since the epoch"),
        (#"{"t": 1, "ev": "hub.start", "thing": "x", "colour": 1}"#, "colour", "unknown field"),
        (#"{"t": 1, "ev": "led.frame", "colour": 3}"#, "colour", "must be a string"),
        (#"{"t": 1, "ev": "sim.end", "readings": 1.5, "unacknowledged": 0, "outbox_telemetry": "", "outbox_depth_max": 0, "cloud_bytes": 0, "cloud_refused": 0, "kit_rejected": 0, "pending": 0}"#, "readings", "whole number"),
        (#"{"t": 1, "ev": "sim.end", "readings": -2, "unacknowledged": 0, "outbox_telemetry": "", "outbox_depth_max": 0, "cloud_bytes": 0, "cloud_refused": 0, "kit_rejected": 0, "pending": 0}"#, "readings", "must not be negative"),
        (#"{"t": 1, "ev": "sim.end", "readings": 2, "outbox_telemetry": "", "outbox_depth_max": 0, "cloud_bytes": 0, "cloud_refused": 0, "kit_rejected": 0, "pending": 0}"#, "unacknowledged", "missing"),
        (#"{"t": 1, "ev": "sim.end", "readings": 2, "unacknowledged": 0, "outbox_telemetry": "5-3", "outbox_depth_max": 0, "cloud_bytes": 0, "cloud_refused": 0, "kit_rejected": 0, "pending": 0}"#, "outbox_telemetry", "ascending range"),
        (#"{"t": 1, "ev": "sim.end", "readings": 2, "unacknowledged": 0, "outbox_telemetry": "1-3,3", "outbox_depth_max": 0, "cloud_bytes": 0, "cloud_refused": 0, "kit_rejected": 0, "pending": 0}"#, "outbox_telemetry", "does not ascend"),
        (#"{"t": 1, "ev": "uplink.send", "topic": "hbs/x/telemetry", "message_id": "b", "message_ids": ["a", 2]}"#, "message_ids[1]", "must be a string"),
        (#"{"t": 1, "ev": "cloud.receive", "topic": "hbs/x/telemetry", "message_id": "b", "message_ids": "a"}"#, "message_ids", "array of strings"),
        (#"{"t": 1, "ev": "bus.publish", "topic": "hbs/other/x", "from": "s", "payload": {}}"#, "topic", "no topic of the hub's bus"),
        (#"{"t": 1, "ev": "bus.publish", "topic": "dt/local/sensor/hvac", "from": "s", "payload": 3}"#, "payload", "must be a JSON object"),
        (#"{"t": 1, "ev": "bus.publish", "topic": "dt/local/sensor/hvac", "from": "s", "payload": {"timestamp": 1}}"#, "device_id", "missing"),
        (#"{"t": 1, "ev": "sim.truth", "device_id": "hvac", "chip": "HTS221", "reference_temperature": 3}"#, "reference_temperature", "unknown field"),
        (#"{"t": 1, "ev": "uplink.send", "topic": "a/+/b", "message_id": "x"}"#, "topic", "wildcard"),
    ] as [(String, String, String)])
    func refused(line: String, field: String, reason: String) {
        #expect {
            _ = try HistoryEvent.decode(line: Array(line.utf8))
        } throws: { error in
            guard let error = error as? PayloadError else { return false }
            return error.field == field && error.reason.contains(reason)
        }
    }

    @Test("mutated log lines decode to events that round-trip, or are refused with a typed error (Fuzz)")
    func fuzz() {
        let tally = Fuzzing.run(seeds: Self.everyKind.map { Self.line($0) }, base: 0x415_70E7, ci: 1_500) { number, bytes in
            let decoded: (event: HistoryEvent, time: Instant)
            do throws(PayloadError) {
                decoded = try HistoryEvent.decode(line: bytes)
            } catch {
                #expect(!error.reason.isEmpty, "case \(number)")
                return false
            }
            let again = Self.line(decoded.event, at: decoded.time)
            #expect((try? HistoryEvent.decode(line: again))?.event == decoded.event, "case \(number): \(String(decoding: again, as: UTF8.self))")
            return true
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
    }
}

@Suite("Sequence ranges: what a hub's outbox still holds, written compactly")
struct SequenceRangesTests {
    @Test("adjacent ranges merge, and the text reads back to the same set")
    func roundTrip() throws {
        let ranges = SequenceRanges([1...3, 4...4, 6...9, 11...11])
        #expect(ranges.description == "1-4,6-9,11")
        #expect(ranges.count == 9)
        #expect(try SequenceRanges(parsing: ranges.description) == ranges)
        #expect(try SequenceRanges(parsing: "").count == 0)
        #expect([0, 1, 4, 5, 6, 9, 10, 11, 12].map(ranges.contains) == [false, true, true, false, true, true, false, true, false])
    }

    @Test("bad text is refused naming the item", arguments: ["0", "-3", "3-", "a", "1,,2", "5-2", "1-3,2", "1-3,4", "9223372036854775808", "1-2-3", " 1"])
    func refused(_ text: String) {
        #expect(throws: SequenceRanges.ParseError.self, "\(text)") { try SequenceRanges(parsing: text) }
    }
}
