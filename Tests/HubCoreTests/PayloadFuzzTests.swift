import HubCore
import Testing

/// Fuzz harness for the bus payload decoders (docs/fuzzing.md): `Reading`,
/// `InferenceResult`, `Alert` and `HealthReport` meet mutations of real payloads of every
/// type. The property: never crash, never hang; a payload either decodes to a value that
/// encodes and decodes back to itself, or is refused with a `PayloadError` naming its type.
@Suite("Payload fuzzing")
struct PayloadFuzzTests {
    static let instant = Instant(nanosecondsSinceEpoch: 1_732_612_345_123_400_000)

    static let seeds: [[UInt8]] = [
        BusMessage.reading(Reading(timestamp: instant, device: "hvac",
                                   values: ChannelValues([(.temperature, 21.4), (.humidity, 40.2), (.pressure, 1011.8)]))).jsonBytes,
        BusMessage.reading(Reading(timestamp: instant, device: "washer", values: ChannelValues([(.vibration, 0.012)]),
                                   quality: .partial)).jsonBytes,
        BusMessage.inference(InferenceResult(timestamp: instant, device: "hvac", model: "furnace-ae@1.2.0", score: 0.42,
                                             threshold: 0.84, anomalous: false)).jsonBytes,
        BusMessage.alert(Alert(timestamp: instant, device: "fridge", state: .anomalous, previous: .normal, model: "m@1.0.0",
                               score: 5.5)).jsonBytes,
        BusMessage.health(HealthReport(timestamp: instant, component: "sensor", device: "hvac", state: .degraded,
                                       detail: "HTS221 \"no ACK\"")).jsonBytes,
    ]

    /// Decodes with one decoder; a value must survive encode → decode unchanged.
    static func exercise<T: Equatable>(_ bytes: [UInt8], _ decode: ([UInt8]) throws(PayloadError) -> T,
                                       _ encode: (T) -> [UInt8], type: String, case number: Int) -> Bool {
        do {
            let value = try decode(bytes)
            let again = encode(value)
            do {
                #expect(try decode(again) == value, "case \(number): \(type) does not round-trip: \(String(decoding: again, as: UTF8.self))")
            } catch {
                Issue.record("case \(number): \(type) re-encoded to something it refuses: \(error): \(String(decoding: again, as: UTF8.self))")
            }
            return true
        } catch {
            #expect(error.type == type && !error.reason.isEmpty, "case \(number): \(error)")
            return false
        }
    }

    @Test("mutated payloads decode to values that round-trip, or are refused with a typed error (Fuzz)")
    func payloads() {
        var decoded = 0
        let tally = Fuzzing.run(seeds: Self.seeds, base: 0x9A71_0AD5, ci: 1_500) { number, bytes in
            let results = [
                Self.exercise(bytes, Reading.decode, { BusMessage.reading($0).jsonBytes }, type: "reading", case: number),
                Self.exercise(bytes, InferenceResult.decode, { BusMessage.inference($0).jsonBytes }, type: "inference result", case: number),
                Self.exercise(bytes, Alert.decode, { BusMessage.alert($0).jsonBytes }, type: "alert", case: number),
                Self.exercise(bytes, HealthReport.decode, { BusMessage.health($0).jsonBytes }, type: "health report", case: number),
            ]
            decoded += results.filter { $0 }.count
            return results.contains(true)
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(decoded > 0 && tally.refused > 0, "\(decoded) decodings; \(tally)")
    }
}
