import Foundation
import HubCore
import Testing

/// `JSONValue.parse` against Foundation's `JSONDecoder`, a reader nobody here wrote: what one
/// accepts the other reads to the same value, and where they part it is only for the
/// strictness `parse` documents (a repeated key, a trailing comma, a number out of range,
/// an unpaired surrogate, UTF-16 text or NUL bytes).
@Suite("JSON parser")
struct JSONParserTests {
    /// Foundation's reading of a document, through `Decodable` (the test's oracle).
    struct Oracle: Decodable {
        let value: JSONValue

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                value = .null
            } else if let bool = try? container.decode(Bool.self) {
                value = .bool(bool)
            } else if let number = try? container.decode(Double.self) {
                value = .number(number)
            } else if let text = try? container.decode(String.self) {
                value = .string(text)
            } else if let elements = try? container.decode([Oracle].self) {
                value = .array(elements.map(\.value))
            } else {
                value = .object(try container.decode([String: Oracle].self).mapValues(\.value))
            }
        }

        static func read(_ bytes: [UInt8]) -> JSONValue? {
            try? JSONDecoder().decode(Oracle.self, from: Data(bytes)).value
        }
    }

    static let documents: [String] = [
        #"{"timestamp": 1732612345.1234, "device_id": "hvac", "temperature": 21.4, "humidity": 40.2, "pressure": 1011.8}"#,
        " \n\t{ \"a\" : -0 , \"b\":\"\" }\r\n",
        #"{"x": 0.1, "y": 1e3, "z": -2.5E-7, "w": 123456789012345678901234567890, "v": 1.7976931348623157e308}"#,
        #"{"p": 2.2250738585072014e-308, "q": 4.9406564584124654e-300, "r": 0.000, "s": 999999999999999, "t": -1000000000000000}"#,
        #"{"s": "printable ascii !#$%&'()*+,-./:;<=>?@[]^_`{|}~", "n": 0}"#,
        #"{"esc": "q\"b\\s\/n\nr\rt\tb\bf\f", "u": "\u00e9\u20AC\ud83d\ude00\u0000", "raw": "é€😀"}"#,
        #"[1, [2, [3, {"a": [true, false, null]}]], {}, [], "", -0.5]"#,
        #"{"message_id": "hbshub001-1", "reading": {"device_id": "hvac", "values": {"temperature": 21.4}}, "tags": ["a", "b"]}"#,
        "17", "-3.25e-2", "\"text\"", "true", "false", "null", "[]", "{}",
        "\u{FEFF}{\"bom\": 1}",
    ]

    @Test("reads every document as Foundation's decoder does", arguments: documents)
    func readsAsFoundation(text: String) throws {
        let parsed = try JSONValue.parse(text)
        let oracle = try #require(Oracle.read(Array(text.utf8)), "Foundation refuses \(text)")
        #expect(parsed == oracle)
    }

    static let refusals: [(text: String, line: Int, column: Int, reason: String)] = [
        ("", 1, 1, "no JSON value (the text is empty)"),
        ("   \n ", 2, 2, "no JSON value (the text is empty)"),
        ("{", 1, 2, "the text ends where a key (a string) should be"),
        (#"{"a":1"#, 1, 7, "the text ends where ',' or '}' should be"),
        (#"{"a":1,}"#, 1, 8, "a ',' with nothing after it before '}' (JSON allows no trailing comma)"),
        ("[1,\n 2, ]", 2, 5, "a ',' with nothing after it before ']' (JSON allows no trailing comma)"),
        ("[,1]", 1, 2, "found ',' where a value should be"),
        ("{\n  \"a\": 1,\n  \"b\" 2\n}", 3, 7, "found '2' where ':' after the key should be"),
        (#"{"a":1}x"#, 1, 8, "found 'x' where the end of the text after the value should be"),
        (#"[1 2]"#, 1, 4, "found '2' where ',' or ']' should be"),
        (#"{"a":01}"#, 1, 6, "a number may not start with the digit 0 followed by more digits"),
        (#"{"a":1.}"#, 1, 8, "found '}' where a digit after the decimal point should be"),
        (#"{"a":.5}"#, 1, 6, "found '.' where a value should be"),
        (#"{"a":+1}"#, 1, 6, "found '+' where a value should be"),
        (#"{"a":1e}"#, 1, 8, "found '}' where a digit in the exponent should be"),
        (#"{"a":-}"#, 1, 7, "found '}' where a digit should be"),
        (#"{"a":1e400}"#, 1, 6, "the number 1e400 is out of a Double's range"),
        (#"{"a":-1e400}"#, 1, 6, "the number -1e400 is out of a Double's range"),
        (#"{"a":1e-400}"#, 1, 6, "the number 1e-400 is out of a Double's range"),
        (#"{"a":NaN}"#, 1, 6, "found 'N' where a value should be"),
        (#"{"a":tru}"#, 1, 6, "a word that is not true, false or null"),
        (#"{"a":1,"a":2}"#, 1, 8, "the key \"a\" appears twice in one object"),
        (#"{a:1}"#, 1, 2, "found 'a' where a key (a string) should be"),
        (#"{'a':1}"#, 1, 2, "found ''' where a key (a string) should be"),
        ("{\"a\":\"tab\there\"}", 1, 10, "a string holds the control character U+0009, which must be escaped"),
        (#"{"a":"open"#, 1, 6, "the string that starts here has no closing '\"'"),
        (#"["\x"]"#, 1, 4, "found 'x' where an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) should be"),
        (#"["\u12G4"]"#, 1, 7, "found 'G' where four hex digits after '\\u' should be"),
        (#"["\ud800"]"#, 1, 3, "the escape \\uD800 is a high surrogate with no low surrogate after it"),
        (#"["\ud800\u0041"]"#, 1, 3, "the escape \\uD800 is a high surrogate followed by \\u0041, not a low surrogate"),
        (#"["\udc00"]"#, 1, 3, "the escape \\uDC00 is a low surrogate with no high surrogate before it"),
        ("{\"é\": \"ok\", \"b\": x}", 1, 18, "found 'x' where a value should be"),
        ("{\"a\"\u{0C}:1}", 1, 5, "found byte 0x0C where ':' after the key should be"),
        ("\u{FEFF}[1 x]", 1, 4, "found 'x' where ',' or ']' should be"),
        ("{\"\u{E9}\":1,\"e\u{301}\":2}", 1, 8, "the key \"e\u{301}\" is canonically equivalent to the earlier key \"\u{E9}\" (other code points, the same text), so it appears twice in one object"),
    ]

    @Test("refuses malformed text, saying what and at which line and column", arguments: 0..<refusals.count)
    func refuses(index: Int) {
        let (text, line, column, reason) = Self.refusals[index]
        #expect(throws: JSONSyntaxError(line: line, column: column, offset: Self.offset(of: line, column, in: text), reason: reason)) {
            try JSONValue.parse(text)
        }
    }

    /// The byte offset of a one-based line and column (in Unicode scalars, after any
    /// byte-order mark).
    static func offset(of line: Int, _ column: Int, in text: String) -> Int {
        let mark = text.unicodeScalars.first == "\u{FEFF}" ? 3 : 0
        let body = String(text.unicodeScalars.dropFirst(mark == 0 ? 0 : 1))
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false).prefix(line)
        let last = lines.removeLast()
        return mark + lines.reduce(0) { $0 + $1.utf8.count + 1 } + String(last.unicodeScalars.prefix(column - 1)).utf8.count
    }

    @Test("refuses a key longer than 1,024 bytes (hashing a long run of combining marks is worse than quadratic)")
    func longKeys() throws {
        let longest = String(repeating: "k", count: 1_024)
        #expect(try JSONValue.parse("{\"\(longest)\": 1}") == .object([longest: .number(1)]))
        let marks = "a" + String(repeating: "\u{301}\u{316}", count: 100_000)
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: JSONSyntaxError(line: 1, column: 2, offset: 1, reason: "a key of 400001 bytes (at most 1024)")) {
            try JSONValue.parse("{\"\(marks)\": 1}")
        }
        #expect(clock.now - started < .seconds(2), "refusing took \(clock.now - started)")
    }

    @Test("refuses bytes that are not UTF-8, and UTF-16 by name")
    func encodings() {
        #expect(throws: JSONSyntaxError(line: 1, column: 3, offset: 2, reason: "a string holds bytes that are not UTF-8")) {
            try JSONValue.parse([0x5B, 0x22, 0xFF, 0x22, 0x5D])
        }
        // After escapes, the place is still the raw byte's: `["\n\u00e9` then 0xFF.
        #expect(throws: JSONSyntaxError(line: 1, column: 11, offset: 10, reason: "a string holds bytes that are not UTF-8")) {
            try JSONValue.parse(Array(#"["\n\u00e9"#.utf8) + [0xFF, 0x22, 0x5D])
        }
        #expect(throws: JSONSyntaxError(line: 1, column: 1, offset: 0, reason: "the text is UTF-16 (it starts with a byte-order mark); JSON must be UTF-8")) {
            try JSONValue.parse([0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00])
        }
        #expect(throws: JSONSyntaxError(line: 1, column: 2, offset: 1, reason: "found a NUL byte (binary data, or UTF-16 without a byte-order mark) where a key (a string) should be")) {
            try JSONValue.parse([0x7B, 0x00, 0x7D, 0x00])
        }
        #expect(throws: JSONSyntaxError(line: 1, column: 1, offset: 0, reason: "found byte 0xC3 where a value should be")) {
            try JSONValue.parse(Array("é".utf8))
        }
    }

    @Test("refuses nesting beyond 512 levels without running the stack out")
    func nesting() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try JSONValue.parse(deepest) != .null)
        for depth in [513, 100_000] {
            #expect(throws: JSONSyntaxError(line: 1, column: 513, offset: 512, reason: "nested deeper than 512 arrays and objects")) {
                try JSONValue.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
            }
        }
        let objects = String(repeating: #"{"a":"#, count: 600) + "1" + String(repeating: "}", count: 600)
        #expect(throws: JSONSyntaxError(line: 1, column: 2561, offset: 2560, reason: "nested deeper than 512 arrays and objects")) {
            try JSONValue.parse(objects)
        }
    }

    @Test("numbers read bit for bit as Foundation reads them")
    func numbers() {
        var random = SeededRandom(seed: 0xF1A7)
        for trial in 0..<3_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            for text in [value.description, String(Double(random.next() % 100_000) / 7), String(random.nextInt(in: -999_999_999_999_999...999_999_999_999_999)),
                         "\(random.nextInt(in: -99_999...99_999)).\(random.nextInt(in: 0...9_999))e\(random.nextInt(in: -30...30))",
                         Self.decimal(&random)] {
                let bytes = Array("[\(text)]".utf8)
                guard case .array(let ours)? = try? JSONValue.parse(bytes), case .number(let fast)? = ours.first,
                      case .array(let theirs)? = Oracle.read(bytes), case .number(let full)? = theirs.first else {
                    Issue.record("trial \(trial): \(text) is not a number both ways")
                    continue
                }
                #expect(fast.bitPattern == full.bitPattern, "trial \(trial): \(text)")
            }
        }
    }

    /// Up to 17 significant digits with the point anywhere and an exponent around ±22: both
    /// sides of `parse`'s exact fast path (15 digits, 1e±22) and its edges.
    static func decimal(_ random: inout SeededRandom) -> String {
        func digits(_ count: Int) -> String { String((0..<count).map { _ in Character(String(random.nextInt(in: 0...9))) }) }
        let total = random.nextInt(in: 1...17)
        let integerCount = random.nextInt(in: 1...total)
        let integer = integerCount == 1 ? digits(1) : String(random.nextInt(in: 1...9)) + digits(integerCount - 1)
        let fraction = integerCount == total ? "" : "." + digits(total - integerCount)
        // Foundation's decoder refuses a zero with an exponent (`0e5`, valid JSON; see `zeros`).
        let zero = (integer + fraction).allSatisfy { $0 == "0" || $0 == "." }
        let exponent = zero || random.chance(0.5) ? "" : "e\(random.nextInt(in: -25...25))"
        return (random.chance(0.5) ? "-" : "") + integer + fraction + exponent
    }

    @Test("reads a zero with an exponent, which RFC 8259 allows and Foundation's decoder refuses")
    func zeros() throws {
        guard case .array(let values) = try JSONValue.parse("[0e5, -0.0e17, 0.00e-3]") else { Issue.record("not an array"); return }
        #expect(values.map { if case .number(let v) = $0 { v.bitPattern } else { 1 } } == [0.0, -0.0, 0.0].map(\.bitPattern))
        #expect(Oracle.read(Array("[0e5]".utf8)) == nil, "Foundation's decoder now reads 0e5: the generator in `decimal` can make zeros with exponents again")
    }

    /// Where `parse` is stricter than Foundation by design (its documentation lists these).
    static let strictness = ["appears twice in one object", "out of a Double's range", "surrogate", "UTF-16", "nested deeper", "trailing comma",
                             "a key of"]

    @Test("mutated documents: what parse accepts Foundation reads the same; what it alone refuses is documented strictness (Fuzz)")
    func differential() {
        let seeds = Self.documents.map { Array($0.utf8) }
        var agreed = 0
        let tally = Fuzzing.run(seeds: seeds, base: 0x150A_7E55, ci: 4_000) { number, bytes in
            let oracle = Oracle.read(bytes)
            do throws(JSONSyntaxError) {
                let value = try JSONValue.parse(bytes)
                if oracle == nil {
                    // Foundation's decoder refuses some valid JSON (`0e5`, see `zeros`): then its
                    // JSONSerialization, a second reader, must take it.
                    let serialized = try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
                    #expect(serialized != nil, "case \(number): neither of Foundation's readers takes \(Array(bytes.prefix(200)))")
                } else {
                    #expect(oracle == value, "case \(number): Foundation reads \(String(describing: oracle)) from \(Array(bytes.prefix(200)))")
                }
                agreed += 1
                return true
            } catch {
                #expect(error.line >= 1 && error.column >= 1 && error.offset <= bytes.count && !error.reason.isEmpty, "case \(number): \(error)")
                if oracle != nil {
                    #expect(Self.strictness.contains { error.reason.contains($0) }, "case \(number): only Foundation accepts \(Array(bytes.prefix(200))): \(error)")
                }
                return false
            }
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(agreed > 100 && tally.refused > 100, "\(tally)")
    }

    @Test("every truncation of a document is refused with a place inside it, never a crash")
    func truncations() {
        for text in Self.documents where text.utf8.count > 8 {
            let bytes = Array(text.utf8)
            for cut in 1..<bytes.count where !bytes[cut...].allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
                do throws(JSONSyntaxError) {
                    let value = try JSONValue.parse(bytes[..<cut])
                    // A number cut short is still a number ("17" → "1").
                    guard case .number = value else { Issue.record("\(text) cut at \(cut) read as \(value)"); continue }
                } catch {
                    #expect(error.offset <= cut, "\(text) cut at \(cut): \(error)")
                }
            }
        }
    }
}
