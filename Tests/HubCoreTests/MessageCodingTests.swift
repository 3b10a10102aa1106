import HubCore
import Testing

@Suite("Message payloads")
struct MessageCodingTests {
    let instant = Instant(nanosecondsSinceEpoch: 1_732_612_345_123_400_000)

    @Test("a reading encodes byte for byte as DESIGN.md shows it")
    func readingGolden() {
        let reading = Reading(timestamp: instant, device: "hvac",
                              values: ChannelValues([(.pressure, 1011.8), (.temperature, 21.4), (.humidity, 40.2)]))
        let text = BusMessage.reading(reading).jsonBytes
        #expect(String(decoding: text, as: UTF8.self)
            == #"{"timestamp": 1732612345.1234, "device_id": "hvac", "temperature": 21.4, "humidity": 40.2, "pressure": 1011.8}"#)
    }

    @Test("inference results, alerts and health reports have fixed key order")
    func otherGoldens() {
        let result = InferenceResult(timestamp: instant, device: "hvac", model: "furnace-ae@1.2.0",
                                     score: 0.42, threshold: 1, anomalous: false)
        #expect(String(decoding: BusMessage.inference(result).jsonBytes, as: UTF8.self)
            == #"{"timestamp": 1732612345.1234, "device_id": "hvac", "model": "furnace-ae@1.2.0", "score": 0.42, "threshold": 1, "anomalous": false}"#)
        let alert = Alert(timestamp: instant, device: "hvac", state: .anomalous, previous: .normal, model: "zscore@0.1.0", score: 5.5)
        #expect(String(decoding: BusMessage.alert(alert).jsonBytes, as: UTF8.self)
            == #"{"timestamp": 1732612345.1234, "device_id": "hvac", "state": "anomalous", "previous": "normal", "model": "zscore@0.1.0", "score": 5.5}"#)
        let health = HealthReport(timestamp: instant, component: "sensor", device: "hvac", state: .degraded, detail: "HTS221 \"no ACK\"")
        #expect(String(decoding: BusMessage.health(health).jsonBytes, as: UTF8.self)
            == #"{"timestamp": 1732612345.1234, "component": "sensor", "device_id": "hvac", "state": "degraded", "detail": "HTS221 \"no ACK\""}"#)
    }

    @Test("timestamps round half up at the 4th decimal and keep leading zeros")
    func timestamps() {
        #expect(JSONText.timestamp(Instant(nanosecondsSinceEpoch: 1_000_000_000_050_000), decimals: 4) == "1000000.0001")
        #expect(JSONText.timestamp(Instant(nanosecondsSinceEpoch: 1_000_000_000_049_999), decimals: 4) == "1000000.0000")
        #expect(JSONText.timestamp(Instant(nanosecondsSinceEpoch: 5_000_000_000), decimals: 6) == "5.000000")
        #expect(JSONText.timestamp(Instant(nanosecondsSinceEpoch: 1_999_999_999), decimals: 0) == "2")
    }

    @Test("every payload decodes back to the value that was encoded")
    func roundTrip() throws {
        let reading = Reading(timestamp: instant, device: "washer",
                              values: ChannelValues([(.temperature, -3.25), (.vibration, 0.0123), (.dutyCycles, 3)]))
        #expect(try Reading.decode(BusMessage.reading(reading).jsonBytes) == reading)
        let suspect = Reading(timestamp: instant, device: "hvac", values: ChannelValues([(.temperature, 31.5)]), quality: .suspect)
        #expect(String(decoding: BusMessage.reading(suspect).jsonBytes, as: UTF8.self).hasSuffix(#""quality": "suspect"}"#))
        #expect(try Reading.decode(BusMessage.reading(suspect).jsonBytes) == suspect)
        let result = InferenceResult(timestamp: instant, device: "hvac", model: "m@1.0.0", score: 1e-7, threshold: 2.5, anomalous: true)
        #expect(try InferenceResult.decode(BusMessage.inference(result).jsonBytes) == result)
        let alert = Alert(timestamp: instant, device: "fridge", state: .normal, previous: .anomalous, model: "m@1", score: 0)
        #expect(try Alert.decode(BusMessage.alert(alert).jsonBytes) == alert)
        let health = HealthReport(timestamp: instant, component: "uplink", device: nil, state: .failed, detail: "línea\n2")
        #expect(try HealthReport.decode(BusMessage.health(health).jsonBytes) == health)
    }

    @Test("decoding errors name the payload type and the field")
    func decodeErrors() {
        func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
        #expect(throws: PayloadError(type: "reading", field: "timestamp", reason: "missing")) {
            try Reading.decode(bytes(#"{"device_id": "hvac"}"#))
        }
        #expect(throws: PayloadError(type: "reading", field: "temperature", reason: "must be a number")) {
            try Reading.decode(bytes(#"{"timestamp": 1, "device_id": "hvac", "temperature": "hot"}"#))
        }
        #expect(throws: PayloadError(type: "reading", field: "colour", reason: "unknown channel")) {
            try Reading.decode(bytes(#"{"timestamp": 1, "device_id": "hvac", "colour": 3}"#))
        }
        #expect(throws: PayloadError(type: "reading", field: "reference_temperature", reason: "unknown channel"),
                "the LPS25H's temperature never leaves the hub, so no payload may carry it") {
            try Reading.decode(bytes(#"{"timestamp": 1, "device_id": "hvac", "reference_temperature": 20}"#))
        }
        #expect(throws: PayloadError(type: "reading", field: "quality", reason: "must be good, partial or suspect")) {
            try Reading.decode(bytes(#"{"timestamp": 1, "device_id": "hvac", "quality": "dubious"}"#))
        }
        #expect(throws: PayloadError(type: "inference result", field: "anomalous", reason: "must be true or false")) {
            try InferenceResult.decode(bytes(#"{"timestamp": 1, "device_id": "h", "model": "m", "score": 1, "threshold": 1, "anomalous": 1}"#))
        }
        #expect(throws: PayloadError(type: "alert", field: nil, reason: "not valid JSON (line 1, column 2: the text ends where a key (a string) should be)")) { try Alert.decode(bytes("{")) }
        #expect(throws: PayloadError(type: "alert", field: nil, reason: "not a JSON object")) { try Alert.decode(bytes("[1]")) }
        #expect(throws: PayloadError(type: "reading", field: "device_id", reason: "must start with a lowercase letter")) {
            try Reading.decode(bytes(#"{"timestamp": 1, "device_id": "Hvac"}"#))
        }
    }
}
