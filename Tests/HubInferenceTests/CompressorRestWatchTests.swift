import HubCore
import HubInference
import Testing

@Suite("Compressor rest watch")
struct CompressorRestWatchTests {
    /// Rests up to 16 min are healthy; defrosts at most every 8 h; running above 4 mg.
    static let rule = ModelManifest.CompressorRest(runningG: 0.004, restMax: .seconds(16 * 60), defrostInterval: .seconds(8 * 3600))

    /// Feeds `minutes` of 10 s samples from `start` (seconds), running or not; returns the last score.
    @discardableResult
    static func feed(_ watch: inout CompressorRestWatch, from start: inout Int64, minutes: Int, running: Bool) -> Double {
        var score = 0.0
        for _ in 0..<(minutes * 6) {
            score = watch.observe(at: Instant(secondsSinceEpoch: start), vibration: running ? 0.02 : 0.0015, continuous: true)
            start += 10
        }
        return score
    }

    /// A watch that has seen a 30-minute defrost begin at second 600, now running again.
    static func afterDefrost() -> (CompressorRestWatch, Int64) {
        var watch = CompressorRestWatch(rule: rule)
        var t: Int64 = 0
        feed(&watch, from: &t, minutes: 10, running: true)
        feed(&watch, from: &t, minutes: 30, running: false)
        feed(&watch, from: &t, minutes: 5, running: true)
        return (watch, t)
    }

    @Test("a rest longer than a healthy one that ends with the compressor running is taken for a defrost")
    func defrostSeen() {
        let (watch, _) = Self.afterDefrost()
        #expect(watch.lastDefrostStart == Instant(secondsSinceEpoch: 600))
    }

    @Test("within the defrost interval, a rest scores its length in units of the longest healthy rest")
    func stallScored() {
        var (watch, t) = Self.afterDefrost()
        let at8: Double = Self.feed(&watch, from: &t, minutes: 8, running: false)
        let expected: Double = 470.0 / 960.0  // the last sample is 7 min 50 s into the rest
        #expect(at8 == expected)
        let at24 = Self.feed(&watch, from: &t, minutes: 16, running: false)
        #expect(at24 > 1.45 && at24 < 1.5, "\(at24)")
        // The compressor starts again: the rest is over, and it was long enough to count as a defrost.
        #expect(Self.feed(&watch, from: &t, minutes: 1, running: true) == 0)
        #expect(watch.lastDefrostStart == Instant(secondsSinceEpoch: 45 * 60))
    }

    @Test("a healthy rhythm of 5-minute runs and 10-minute rests never reaches 1")
    func healthyRhythm() {
        var (watch, t) = Self.afterDefrost()
        var highest = 0.0
        for _ in 0..<20 {
            highest = max(highest, Self.feed(&watch, from: &t, minutes: 10, running: false))
            Self.feed(&watch, from: &t, minutes: 5, running: true)
        }
        #expect(highest < 0.65, "\(highest)")
    }

    @Test("a rest that begins once a defrost may be due again scores nothing, however long")
    func defrostDue() {
        var (watch, t) = Self.afterDefrost()
        // 8 h after the last defrost began, runs and rests as usual...
        while t < 600 + 8 * 3600 {
            Self.feed(&watch, from: &t, minutes: 5, running: true)
            Self.feed(&watch, from: &t, minutes: 10, running: false)
        }
        Self.feed(&watch, from: &t, minutes: 5, running: true)
        // ...then a 45-minute rest: a defrost or a stall, no one can tell yet.
        #expect(Self.feed(&watch, from: &t, minutes: 45, running: false) == 0)
    }

    @Test("before the first defrost ends nothing is scored: a fresh hub knows no defrost timer")
    func noDefrostYet() {
        var watch = CompressorRestWatch(rule: Self.rule)
        var t: Int64 = 0
        Self.feed(&watch, from: &t, minutes: 5, running: true)
        #expect(Self.feed(&watch, from: &t, minutes: 120, running: false) == 0)
        #expect(watch.lastDefrostStart == nil)
    }

    @Test("after a gap in the samples the rest's start is unknown until the compressor is seen running again")
    func gapForgets() {
        var (watch, t) = Self.afterDefrost()
        Self.feed(&watch, from: &t, minutes: 10, running: false)
        t += 600
        #expect(watch.observe(at: Instant(secondsSinceEpoch: t), vibration: 0.0015, continuous: false) == 0)
        t += 10
        #expect(Self.feed(&watch, from: &t, minutes: 40, running: false) == 0)
        // A rest seen from its start is scored again.
        Self.feed(&watch, from: &t, minutes: 1, running: true)
        #expect(Self.feed(&watch, from: &t, minutes: 20, running: false) > 1)
    }
}
