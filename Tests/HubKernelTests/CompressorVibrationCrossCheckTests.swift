import HubCore
import HubKernel
import Testing

@Suite("Compressor vibration cross-check")
struct CompressorVibrationCrossCheckTests {
    /// Small settings at a 10 s poll: a fall over 3 samples, 6 samples of quiet after an
    /// opening, cooling confirmed on 2 samples in a row, the verdict held 10 samples.
    let settings = CompressorVibrationCrossCheck.Settings(runningG: 0.004, coolingSpan: .seconds(30), coolingK: 1.2, fastCoolingK: 2.0,
                                                          openingStepK: 0.4, openingQuiet: .seconds(60), confirm: .seconds(10),
                                                          hold: .seconds(100))
    static let rest = 0.0017
    static let running = 0.02

    func check() -> CompressorVibrationCrossCheck { CompressorVibrationCrossCheck(pollInterval: .seconds(10), settings: settings) }

    /// Feeds (temperature, vibration) samples; returns the verdict changes with their sample index.
    func feed(_ check: inout CompressorVibrationCrossCheck, _ samples: [(Double, Double)]) -> [(Int, Bool)] {
        var changes: [(Int, Bool)] = []
        for (i, (temperature, vibration)) in samples.enumerated() {
            if let verdict = check.add(temperature: temperature, vibration: vibration) { changes.append((i, verdict)) }
        }
        return changes
    }

    /// `count` samples of air at rest falling `perSample` K from `from` °C.
    static func falling(from: Double, perSample: Double, count: Int, vibration: Double = rest) -> [(Double, Double)] {
        (1...count).map { (from - perSample * Double($0), vibration) }
    }

    static func steady(_ temperature: Double, count: Int, vibration: Double = rest) -> [(Double, Double)] {
        Array(repeating: (temperature, vibration), count: count)
    }

    @Test("air cooling 0.5 K a sample at rest, long after any opening, is a compressor the accelerometer does not hear")
    func coolingAtRestIsUnheard() {
        var check = check()
        let changes = feed(&check, Self.steady(5, count: 10) + Self.falling(from: 5, perSample: 0.5, count: 5))
        // The third falling sample is 1.5 K below the sample three before it; the fourth confirms it.
        #expect(changes.count == 1 && changes[0] == (13, true), "\(changes)")
        #expect(check.isSuspect)
        #expect(check.detail.contains("LSM9DS1"))
    }

    @Test("the same cooling with the compressor heard is a fridge working")
    func coolingWhileRunningIsNormal() {
        var check = check()
        let samples = Self.steady(5, count: 10, vibration: Self.running)
            + Self.falling(from: 5, perSample: 0.4, count: 5, vibration: Self.running)
        #expect(feed(&check, samples).isEmpty)
    }

    @Test("a dead compressor warms the air at rest: never a verdict")
    func warmingAtRestIsNormal() {
        var check = check()
        #expect(feed(&check, Self.steady(5, count: 10) + Self.falling(from: 5, perSample: -0.3, count: 40)).isEmpty)
    }

    @Test("the air settling after a door opening is not cooling until the opening's quiet has passed")
    func settlingAfterOpening() {
        var check = check()
        // Rest, an opening's step of 3 K, then the air settles 0.4 K a sample.
        var samples = Self.steady(5, count: 10) + [(8.0, Self.rest)]
        samples += Self.falling(from: 8, perSample: 0.4, count: 5)
        #expect(feed(&check, samples).isEmpty, "within the quiet after the step")
        // Still falling after the quiet (6 samples since the step): now it counts.
        let later = feed(&check, Self.falling(from: 6, perSample: 0.4, count: 3))
        #expect(later.count == 1 && later[0].1, "\(later)")
    }

    @Test("a fall no settling makes is the compressor, however soon after an opening")
    func fastCoolingAfterOpening() {
        var check = check()
        let samples = Self.steady(5, count: 10) + [(9.0, Self.rest)] + Self.falling(from: 9, perSample: 0.7, count: 4)
        // 2.1 K over the three samples after the step, none of them a step, and again on the next.
        let changes = feed(&check, samples)
        #expect(changes.count == 1 && changes[0] == (14, true), "\(changes)")
    }

    @Test("a fall that ends on a step is not counted as fast cooling")
    func stepInsideTheSpan() {
        var check = check()
        // 2.4 K below three samples before, but an opening's step lies inside the span.
        let samples = Self.steady(5, count: 10) + [(4.0, Self.rest), (4.6, Self.rest), (2.6, Self.rest)]
        #expect(feed(&check, samples).isEmpty)
    }

    @Test("a one-sample dip, a spike on the thermometer, is not cooling")
    func spikeIsNotCooling() {
        var check = check()
        let samples = Self.steady(5, count: 30) + [(2.0, Self.rest)] + Self.steady(5, count: 30)
        #expect(feed(&check, samples).isEmpty)
    }

    @Test("the verdict clears at once when the compressor is heard again")
    func clearsWhenHeard() {
        var check = check()
        _ = feed(&check, Self.steady(5, count: 10) + Self.falling(from: 5, perSample: 0.5, count: 4))
        #expect(check.isSuspect)
        #expect(feed(&check, [(3.0, Self.running)]).map(\.1) == [false])
    }

    @Test("the verdict holds for `hold` after the last cooling, then clears")
    func holdExpires() {
        var check = check()
        _ = feed(&check, Self.steady(5, count: 10) + Self.falling(from: 5, perSample: 0.5, count: 4))
        #expect(check.isSuspect)
        // Resting air from here: 10 samples of hold, the eleventh clears it.
        let changes = feed(&check, Self.steady(3.0, count: 12))
        #expect(changes.count == 1 && changes[0] == (10, false), "\(changes)")
    }

    @Test("the production figures: 1.2 K in 3 min, 2 K without a step, 15 min after an opening, for 30 s, held 3 h")
    func productionFigures() {
        let production = CompressorVibrationCrossCheck.Settings.production
        #expect(production.coolingSpan == .seconds(180) && production.coolingK == 1.2 && production.fastCoolingK == 2.0)
        #expect(production.openingQuiet == .seconds(900) && production.hold == .seconds(10_800) && production.runningG == 0.004)
        #expect(production.confirm == .seconds(30))
    }
}
