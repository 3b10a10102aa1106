import HubCore
import HubInference
import Testing

@Suite("Compressor rest watch")
struct CompressorRestWatchTests {
    /// Rests up to 16 min are healthy; defrosts at most every 8 h; running above 4 mg.
    static let rule = ModelManifest.CompressorRest(runningG: 0.004, restMax: .seconds(16 * 60), defrostInterval: .seconds(8 * 3600))

    /// A fridge's samples every 10 s: the air cools 0.3 K a sample while the compressor
    /// runs (to its 1 °C cut-out), warms 0.08 K a sample while it rests (5 K in ten
    /// minutes, the cut-in), unless `airChange` says otherwise.
    struct Fridge {
        var watch = CompressorRestWatch(rule: CompressorRestWatchTests.rule)
        var second: Int64 = 0
        var temperature = 4.0

        /// Feeds `minutes` of samples; `vibrating` is what the kit reads (the compressor
        /// runs when `running`, which is `vibrating` unless the sensor is stuck). Returns the last score.
        @discardableResult
        mutating func feed(minutes: Int, running: Bool, vibrating: Bool? = nil, airChange: Double? = nil) -> Double {
            var score = 0.0
            for _ in 0..<(minutes * 6) {
                temperature = airChange.map { temperature + $0 } ?? (running ? max(1, temperature - 0.3) : temperature + 0.08)
                score = watch.observe(at: Instant(secondsSinceEpoch: second), vibration: (vibrating ?? running) ? 0.02 : 0.0015,
                                      temperature: temperature, continuous: true)
                second += 10
            }
            return score
        }
    }

    /// A fridge that has seen a 30-minute defrost begin at second 600, now running again.
    static func afterDefrost() -> Fridge {
        var fridge = Fridge()
        fridge.feed(minutes: 10, running: true)
        fridge.feed(minutes: 30, running: false)
        fridge.feed(minutes: 5, running: true)
        return fridge
    }

    @Test("a rest longer than a healthy one that ends with the compressor running is taken for a defrost")
    func defrostSeen() {
        #expect(Self.afterDefrost().watch.lastDefrostStart == Instant(secondsSinceEpoch: 600))
    }

    @Test("within the defrost interval, a rest scores its length in units of the longest healthy rest")
    func stallScored() {
        var fridge = Self.afterDefrost()
        let at8 = fridge.feed(minutes: 8, running: false)
        #expect(at8 == 470.0 / 960.0, "the last sample is 7 min 50 s into the rest")
        let at24 = fridge.feed(minutes: 16, running: false)
        #expect(at24 > 1.45 && at24 < 1.5, "\(at24)")
        // The compressor starts again: the rest is over, and it was long enough to count as a defrost.
        #expect(fridge.feed(minutes: 1, running: true) == 0)
        #expect(fridge.watch.lastDefrostStart == Instant(secondsSinceEpoch: 45 * 60))
    }

    @Test("a healthy rhythm of 5-minute runs and 10-minute rests never reaches 1")
    func healthyRhythm() {
        var fridge = Self.afterDefrost()
        var highest = 0.0
        for _ in 0..<20 {
            highest = max(highest, fridge.feed(minutes: 10, running: false))
            fridge.feed(minutes: 5, running: true)
        }
        #expect(highest < 0.65, "\(highest)")
    }

    @Test("a rest that begins once a defrost may be due again scores nothing, however long")
    func defrostDue() {
        var fridge = Self.afterDefrost()
        // 8 h after the last defrost began, runs and rests as usual...
        while fridge.second < 600 + 8 * 3600 {
            fridge.feed(minutes: 5, running: true)
            fridge.feed(minutes: 10, running: false)
        }
        fridge.feed(minutes: 5, running: true)
        // ...then a 45-minute rest: a defrost or a stall, no one can tell yet.
        #expect(fridge.feed(minutes: 45, running: false) == 0)
    }

    @Test("before the first defrost ends nothing is scored: a fresh hub knows no defrost timer")
    func noDefrostYet() {
        var fridge = Fridge()
        fridge.feed(minutes: 5, running: true)
        #expect(fridge.feed(minutes: 120, running: false) == 0)
        #expect(fridge.watch.lastDefrostStart == nil)
    }

    @Test("after a gap in the samples the rest's start is unknown until the compressor is seen running again")
    func gapForgets() {
        var fridge = Self.afterDefrost()
        fridge.feed(minutes: 10, running: false)
        fridge.second += 600
        #expect(fridge.watch.observe(at: Instant(secondsSinceEpoch: fridge.second), vibration: 0.0015, temperature: fridge.temperature,
                                     continuous: false) == 0)
        fridge.second += 10
        #expect(fridge.feed(minutes: 40, running: false) == 0)
        // A rest seen from its start is scored again.
        fridge.feed(minutes: 1, running: true)
        #expect(fridge.feed(minutes: 20, running: false) > 1)
    }

    @Test("a door opened during a stall warms the air, and its slow settling back does not clear the stall")
    func openingDuringStall() {
        var fridge = Self.afterDefrost()
        fridge.feed(minutes: 3, running: false)
        fridge.temperature += 3
        // The air settles toward the food at 0.18 K a minute, then warms on.
        fridge.feed(minutes: 10, running: false, airChange: -0.03)
        #expect(fridge.feed(minutes: 5, running: false) > 1)
    }

    @Test("a rest in which the air cools is a silent vibration sensor, not a stalled compressor: never scored past the longest rest")
    func stuckSensorIsNoStall() {
        var fridge = Self.afterDefrost()
        fridge.feed(minutes: 2, running: false)
        // The accelerometer sticks two minutes into a rest; the compressor keeps its rhythm.
        var highest = fridge.feed(minutes: 8, running: false)
        for _ in 0..<10 {
            highest = max(highest, fridge.feed(minutes: 5, running: true, vibrating: false))
            highest = max(highest, fridge.feed(minutes: 10, running: false))
        }
        #expect(highest < 1, "\(highest)")
    }
}
