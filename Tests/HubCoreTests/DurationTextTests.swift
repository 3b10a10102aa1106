import HubCore
import Testing

@Suite("Duration text")
struct DurationTextTests {
    @Test("scenario spellings parse to exact durations", arguments: [
        ("24h", Duration.seconds(86_400)),
        ("1h30m", .seconds(5_400)),
        ("10s", .seconds(10)),
        ("500ms", .milliseconds(500)),
        ("2d", .seconds(172_800)),
        ("1d2h3m4s5ms", .milliseconds(93_784_005)),
        ("0s", .zero),
    ])
    func parse(text: String, expected: Duration) throws {
        #expect(try DurationText.parse(text) == expected)
    }

    @Test("malformed spellings are refused with the reason", arguments: [
        ("", DurationText.ParseError.empty),
        ("h", .missingNumber("h")),
        ("10", .missingUnit("10")),
        ("10 s", .missingUnit("10 s")),
        ("5y", .unknownUnit("5y", unit: "y")),
        ("1.5h", .missingUnit("1.5h")),
        ("-3s", .missingNumber("-3s")),
        ("99999999999999999999d", .overflow("99999999999999999999d")),
        ("999999999999d", .overflow("999999999999d")),
        ("90000d", .overflow("90000d")),
        ("3654d", .overflow("3654d")),
        ("3653d1ms", .overflow("3653d1ms")),
        ("106751d", .overflow("106751d")),
        ("-90000d", .missingNumber("-90000d")),
    ])
    func reject(text: String, error: DurationText.ParseError) {
        #expect(throws: error) { try DurationText.parse(text) }
    }

    @Test("the longest duration is ten years, and start plus it cannot overflow an Instant")
    func maximum() throws {
        #expect(try DurationText.parse("3653d") == DurationText.maximum)
        #expect(try DurationText.parse("1000d") == .seconds(86_400_000))
        let limit = Int64.max - DurationText.latestStart.nanosecondsSinceEpoch
        // A start, the scenario's length, a fault's offset, its length and an expectation window.
        #expect(DurationText.maximum.nanoseconds * 5 < limit)
        #expect(DurationText.ParseError.overflow("90000d").description.contains("3653d"))
    }

    @Test("format and parse round-trip")
    func roundTrip() throws {
        for seconds in [1, 59, 60, 61, 3_599, 3_600, 86_399, 86_400, 90_061] as [Int64] {
            let duration = Duration.seconds(seconds)
            #expect(try DurationText.parse(DurationText.format(duration)) == duration)
        }
        #expect(DurationText.format(.seconds(5_400)) == "1h30m")
    }

    @Test("random text never crashes the parser, and what it accepts is within the maximum (Fuzz)")
    func randomTextFuzz() {
        var random = SeededRandom(seed: Fuzzing.seed(21))
        let alphabet = Array("0123456789smhd.- xµ")
        var accepted = 0
        for _ in 0..<Fuzzing.cases(ci: 10_000) {
            let text = String((0..<random.nextInt(in: 0...10)).map { _ in alphabet[random.nextInt(in: 0...(alphabet.count - 1))] })
            if let duration = try? DurationText.parse(text) {
                accepted += 1
                #expect(duration >= .zero && duration <= DurationText.maximum)
            }
        }
        #expect(accepted > 0)
    }
}

@Suite("Closest name")
struct ClosestNameTests {
    @Test("a typo finds the name it was meant to be; a different word finds none", arguments: [
        ("probabilty", "probability"), ("nack", "nack"), ("hgih", "high"), ("duraton", "duration"),
    ])
    func closest(typo: String, meant: String) {
        #expect(ClosestName.to(typo, in: ["probability", "duration", "nack", "high", "low"]) == meant)
    }

    @Test("nothing close enough gives no hint, and ties go to the first known name")
    func noHint() {
        #expect(ClosestName.to("temperature", in: ["vibration", "ok"]) == nil)
        #expect(ClosestName.hint("zzz", in: ["low"]) == "")
        #expect(ClosestName.to("ab", in: ["ax", "ay"]) == "ax")
    }
}
