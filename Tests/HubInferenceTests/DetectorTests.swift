import HubCore
import HubInference
import Testing

@Suite("Interim detector and debounce")
struct DetectorTests {
    func reading(_ t: Int64, temperature: Double) -> Reading {
        Reading(timestamp: Instant(secondsSinceEpoch: t), device: "hvac", values: ChannelValues([(.temperature, temperature)]))
    }

    @Test("no score until the window is full")
    func warmUp() {
        var detector = RollingZScoreDetector(windowCount: 10)
        for i in 0..<10 { #expect(detector.observe(reading(Int64(i), temperature: 20)) == nil) }
        #expect(detector.observe(reading(10, temperature: 20)) != nil)
    }

    @Test("steady noise stays under the threshold; a step far outside the window scores high")
    func stepChange() {
        var detector = RollingZScoreDetector(windowCount: 100)
        var random = SeededRandom(seed: 5)
        var highest = 0.0
        for i in 0..<1_000 {
            if let score = detector.observe(reading(Int64(i), temperature: 21 + 0.05 * random.nextGaussian())) {
                highest = max(highest, score)
            }
        }
        #expect(highest < detector.threshold)
        let jump = detector.observe(reading(1_000, temperature: 25))
        #expect((jump ?? 0) > 10)
    }

    @Test("the std floor keeps a perfectly steady channel from exploding")
    func stdFloor() {
        var detector = RollingZScoreDetector(windowCount: 5)
        for i in 0..<5 { _ = detector.observe(reading(Int64(i), temperature: 20)) }
        // 0.05 °C off a flat line is half the 0.1 °C floor, not infinity.
        let score = detector.observe(reading(5, temperature: 20.05)) ?? .infinity
        #expect(abs(score - 0.5) < 1e-9)
    }

    @Test("large offsets keep precision (pressure around 1013 hPa)")
    func precision() {
        var detector = RollingZScoreDetector(windowCount: 50)
        var random = SeededRandom(seed: 8)
        var last: Double?
        for i in 0..<5_000 {
            let r = Reading(timestamp: Instant(secondsSinceEpoch: Int64(i)), device: "hvac",
                            values: ChannelValues([(.pressure, 1013 + 0.2 * random.nextGaussian())]))
            last = detector.observe(r) ?? last
        }
        #expect((last ?? 99) < 5)
    }

    @Test("k-of-n debounce flips only when k of the last n agree, and back")
    func debounce() {
        var debouncer = Debouncer(k: 3, n: 5)
        #expect(debouncer.record(anomalous: true) == nil)
        #expect(debouncer.record(anomalous: false) == nil)
        #expect(debouncer.record(anomalous: true) == nil)
        #expect(debouncer.record(anomalous: true) == .anomalous)
        #expect(debouncer.condition == .anomalous)
        #expect(debouncer.record(anomalous: false) == nil, "T F T T F: still 3 of 5 anomalous")
        // the first T falls out of the window: F T T F F → 3 calm of 5
        #expect(debouncer.record(anomalous: false) == .normal)
    }
}
