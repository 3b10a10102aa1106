import HubCore
import HubInference
import Testing

/// `steps_p90` as docs/models.md defines it: the nearest-rank 90th percentile of the
/// absolute steps between neighbouring readings. train.py computes the same sample, so
/// these vectors are the contract's specification, not just the hub's behaviour.
@Suite("Window feature: steps_p90")
struct StepsPercentileTests {
    static let step = 10.0 / 3600

    static func stepsP90(_ values: [Double]) -> Double {
        WindowFeatures.compute(.stepsP90, values[...], stepHours: step)
    }

    static let known: [(values: [Double], expected: Double)] = [
        // 2 readings, 1 step: the only step.
        ([0.0, 3], 3.0),
        // Steps 1, 2, 3, 4 (m = 4): rank ⌈3.6⌉ = 4, the largest.
        ([0, 1, 3, 6, 10], 4),
        // Steps 1…10 (m = 10, even): rank 9, the second largest; no interpolation towards 10.
        ([0, 1, 3, 6, 10, 15, 21, 28, 36, 45, 55], 9),
        // Steps 1…11 (m = 11, odd): rank ⌈9.9⌉ = 10.
        ([0, 1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 66], 10),
        // Falls count like rises: steps 5, 5, 1, 1, …
        ([0, 5, 0, 1, 0, 1, 0, 1, 0, 1, 0], 5),
    ]

    @Test("nearest rank ⌈0.9·m⌉ of the m sorted steps, for odd and even m", arguments: known)
    func knownVectors(values: [Double], expected: Double) {
        #expect(Self.stepsP90(values) == expected)
    }

    @Test("a constant window has no steps: 0, not NaN")
    func constant() {
        for count in [2, 3, 120, 361] {
            let value = Self.stepsP90(Array(repeating: 0.0042, count: count))
            #expect(value == 0, "count \(count)")
        }
    }

    @Test("bursts every few readings lift it, one long plateau does not")
    func burstsAgainstPlateau() {
        // A redistributing drum: two loud readings in every six. A spin: one jump up, then steady.
        let bursts = (0..<120).map { [0.002, 0.002, 0.002, 0.002, 0.009, 0.012][$0 % 6] }
        let plateau = (0..<120).map { $0 < 60 ? 0.002 : 0.04 }
        #expect(Self.stepsP90(bursts) > 0.006)
        #expect(Self.stepsP90(plateau) == 0)
    }

    @Test("it is one of the steps, with at least 90 % of steps at or below it and fewer above it than 10 %")
    func isANearestRankSample() {
        var random = SeededRandom(seed: 0x57E9)
        for trial in 0..<200 {
            let count = 2 + random.nextInt(in: 0...300)
            let values = (0..<count).map { _ in Double(random.nextInt(in: 0...1000)) / 997 }
            let steps = zip(values.dropFirst(), values).map { abs($0 - $1) }
            let value = Self.stepsP90(values)
            #expect(steps.contains(value), "trial \(trial)")
            // Rank ⌈0.9·m⌉ in integers: at least that many steps are ≤ it, fewer are < it.
            let rank = (9 * steps.count + 9) / 10
            #expect(steps.filter { $0 <= value }.count >= rank, "trial \(trial)")
            #expect(steps.filter { $0 < value }.count < rank, "trial \(trial)")
        }
    }

    @Test("with many equal steps it is still the sorted steps' nearest-rank sample")
    func ties() {
        var random = SeededRandom(seed: 0x71E5)
        for trial in 0..<300 {
            let count = 2 + random.nextInt(in: 0...400)
            let values = (0..<count).map { _ in Double(random.nextInt(in: 0...4)) / 8 }
            let steps = zip(values.dropFirst(), values).map { abs($0 - $1) }.sorted()
            #expect(Self.stepsP90(values) == steps[(9 * steps.count + 9) / 10 - 1], "trial \(trial)")
        }
    }

    @Test("it reads only the slice it is given")
    func slice() {
        let values: [Double] = [100, 0, 1, 3, 6, 10, -100]
        #expect(WindowFeatures.compute(.stepsP90, values[1..<6], stepHours: Self.step) == 4)
    }

    @Test("a manifest names it steps_p90")
    func manifestName() {
        #expect(FeatureStat(rawValue: "steps_p90") == .stepsP90)
    }
}
