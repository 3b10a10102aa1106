import Foundation
import HubCore
import Testing

/// `FlatJSONObject` may only ever answer what the full decoder answers: for every payload it
/// takes, the members must equal `JSONDecoder`'s, and what it declines is left to the decoder.
@Suite("FlatJSONObject")
struct FlatJSONObjectTests {
    static func decoded(_ text: String) -> [String: JSONValue]? {
        guard case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        return members
    }

    static let taken: [String] = [
        #"{"timestamp": 1732612345.1234, "device_id": "hvac", "temperature": 21.4, "humidity": 40.2, "pressure": 1011.8}"#,
        #"{"a":1}"#,
        " \n\t{ \"a\" : -0 , \"b\":\"\" }\r\n",
        #"{"x": 0.1, "y": 1e3, "z": -2.5E-7, "w": 123456789012345678901234567890, "v": 1.7976931348623157e308}"#,
        #"{"s": "printable ascii !#$%&'()*+,-./:;<=>?@[]^_`{|}~", "n": 0}"#,
        #"{"p": 2.2250738585072014e-308, "q": 4.9406564584124654e-300, "r": 0.000}"#,
    ]

    static let declined: [String] = [
        "{}", "[]", "1", "\"a\"", "", "{", #"{"a":1"#, #"{"a":1,}"#, #"{"a":1}x"#, #"{"a":1}{"#,
        #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":+1}"#, #"{"a":1e}"#, #"{"a":-}"#, #"{"a":0x10}"#,
        #"{"a":1e400}"#, #"{"a":-1e400}"#, #"{"a":1e-400}"#, #"{"a":5e-324}"#,
        #"{"a":true}"#, #"{"a":null}"#, #"{"a":[1]}"#, #"{"a":{"b":1}}"#, #"{"a":"x\"y"}"#, #"{"a":"\u00e9"}"#,
        "{\"a\":\"é\"}", "{\"a\":\"tab\there\"}", #"{"a":1,"a":2}"#, #"{a:1}"#, #"{'a':1}"#, "\u{FEFF}{\"a\":1}",
        "{\"a\":1}\u{0B}", "{\"a\"\u{0C}:1}", #"{"é":1}"#, #"{"a":NaN}"#, #"{"a":Infinity}"#,
    ]

    @Test("what it takes, it reads as the decoder does", arguments: taken)
    func takes(text: String) throws {
        let members = try #require(FlatJSONObject.members(Array(text.utf8)))
        #expect(members == Self.decoded(text))
    }

    @Test("anything else is left to the decoder", arguments: declined)
    func declines(text: String) {
        #expect(FlatJSONObject.members(Array(text.utf8)) == nil)
    }

    @Test("numbers read bit for bit as the decoder reads them")
    func numbers() {
        var random = SeededRandom(seed: 0xF1A7)
        for trial in 0..<2_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            for text in [value.description, String(Double(random.next() % 100_000) / 7),
                         "\(random.nextInt(in: -99_999...99_999)).\(random.nextInt(in: 0...9_999))e\(random.nextInt(in: -30...30))"] {
                let payload = "{\"v\": \(text)}"
                guard let members = FlatJSONObject.members(Array(payload.utf8)) else { continue }
                guard case .number(let fast)? = members["v"], case .number(let full)? = Self.decoded(payload)?["v"] else {
                    Issue.record("trial \(trial): \(payload) not a number both ways")
                    continue
                }
                #expect(fast.bitPattern == full.bitPattern, "trial \(trial): \(payload)")
            }
        }
    }
}
