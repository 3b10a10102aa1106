import HubScenario
import Testing

@Suite("Seed ranges")
struct SeedRangesTests {
    @Test("training, calibration, validation and test units never overlap")
    func disjoint() {
        let ranges = [SeedRanges.training, SeedRanges.calibration, SeedRanges.validation, SeedRanges.test]
        for (i, a) in ranges.enumerated() {
            for b in ranges[(i + 1)...] { #expect(!a.overlaps(b), "\(a) and \(b)") }
        }
        #expect(SeedRanges.test.count >= 100 && SeedRanges.validation.count >= 100)
    }

    @Test("names and A..B parse; anything else is refused", arguments: [
        ("test", SeedRanges.test), ("validation", SeedRanges.validation), ("7..7", 7...7), ("1..100", 1...100),
    ])
    func parses(text: String, range: ClosedRange<UInt64>) {
        #expect(SeedRanges.parse(text) == range)
    }

    @Test("hostile seed texts are refused", arguments: ["", "..", "5..4", "-1..3", "1..", "a..b", "1...3", "1..2..3",
                                                         "99999999999999999999..1", " 1..2", "TEST", "1..2\u{0}"])
    func refuses(text: String) {
        #expect(SeedRanges.parse(text) == nil)
    }

    @Test("the JSON train.py reads names every range with its bounds")
    func json() {
        #expect(SeedRanges.json == "{\"training\": [1001, 1100], \"calibration\": [2001, 2050], \"validation\": [2051, 2150], \"test\": [9001, 9100]}")
    }
}
