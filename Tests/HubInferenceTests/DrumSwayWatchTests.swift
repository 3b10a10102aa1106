import HubCore
import HubInference
import Testing

@Suite("Drum sway watch")
struct DrumSwayWatchTests {
    /// Tumbling from 2.3 to 4.5 mg, the level over 8 readings, 3.3 mg the loudest healthy.
    static let rule = ModelManifest.DrumSway(tumblingMinG: 0.0023, tumblingMaxG: 0.0045, readings: 8, levelMaxG: 0.0033)

    /// A washer's samples every 10 s.
    struct Washer {
        var watch = DrumSwayWatch(rule: DrumSwayWatchTests.rule)
        var second: Int64 = 0

        /// Feeds `readings` in order; returns every score.
        mutating func feed(_ readings: [Double], continuous: Bool = true) -> [Double] {
            var scores: [Double] = []
            for (index, vibration) in readings.enumerated() {
                scores.append(watch.observe(at: Instant(secondsSinceEpoch: second), vibration: vibration,
                                            continuous: continuous || index > 0))
                second += 10
            }
            return scores
        }
    }

    @Test("a drum tumbling louder than a sound one ever does scores above 1 once the readings are in")
    func loudTumblingScores() {
        var washer = Washer()
        let scores = washer.feed(Array(repeating: 0.0036, count: 10))
        #expect(scores[..<7].allSatisfy { $0 == 0 }, "\(scores)")
        #expect(abs(scores[7] - 0.0036 / 0.0033) < 1e-12)
    }

    @Test("a sound drum's tumbling scores below 1")
    func soundTumblingQuiet() {
        var washer = Washer()
        let scores = washer.feed([0.0029, 0.0033, 0.0031, 0.0030, 0.0032, 0.0031, 0.0028, 0.0034, 0.0031, 0.0030])
        #expect(scores.allSatisfy { $0 < 1 }, "\(scores)")
        #expect(scores.last! > 0.9)
    }

    @Test("idle, distribute and spin readings do not count: only tumbling fills the rule")
    func onlyTumblingCounts() {
        var washer = Washer()
        let mixed = [0.0017, 0.0036, 0.02, 0.0036, 0.0016, 0.0036, 0.06, 0.0036, 0.0036, 0.0046, 0.0036, 0.0036, 0.0036]
        let scores = washer.feed(mixed)
        // The eighth tumbling reading is the last one.
        #expect(scores[..<12].allSatisfy { $0 == 0 } && scores[12] > 1, "\(scores)")
    }

    @Test("the middle half decides: two readings caught in a ramp or a pause barely move the level")
    func interquartileMeanResists() {
        var washer = Washer()
        let scores = washer.feed([0.0031, 0.0044, 0.0031, 0.0031, 0.0044, 0.0031, 0.0031, 0.0031])
        #expect(abs(scores[7] - 0.0031 / 0.0033) < 1e-12, "\(scores)")
        #expect(DrumSwayWatch.interquartileMean([4, 1, 3, 2, 100, 0, 2, 3]) == 2.5)
    }

    @Test("a gap starts the rule afresh")
    func gapRestarts() {
        var washer = Washer()
        _ = washer.feed(Array(repeating: 0.0036, count: 8))
        let after = washer.feed(Array(repeating: 0.0036, count: 8), continuous: false)
        #expect(after[..<7].allSatisfy { $0 == 0 } && after[7] > 1, "\(after)")
    }
}
