import HubCore
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    /// RFC 8259 string escaping, one byte at a time: the reference the writer's word-at-a-time
    /// scan must agree with.
    static func reference(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u00" + (hex.count == 1 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test("strings are escaped exactly as RFC 8259 asks, wherever in a word the special byte falls")
    func escaping() {
        // Every position of every byte that needs escaping, next to ASCII and multi-byte
        // UTF-8 neighbours, in strings shorter and longer than one 8-byte word.
        let specials: [Character] = ["\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7}"]
        let fillers: [Character] = ["a", "é", "€", "😀", " ", "~", "\u{7f}", "!", "#", "]"]
        var random = SeededRandom(seed: 11)
        for length in 0...40 {
            for _ in 0..<30 {
                var text = ""
                for _ in 0..<length { text.append(fillers[random.nextInt(in: 0...(fillers.count - 1))]) }
                if length > 0 && random.nextInt(in: 0...2) > 0 {
                    let position = text.index(text.startIndex, offsetBy: random.nextInt(in: 0...(length - 1)))
                    text.insert(specials[random.nextInt(in: 0...(specials.count - 1))], at: position)
                }
                var json = JSONWriter()
                json.string(text)
                #expect(json.string == Self.reference(text), "\(Array(text.utf8))")
            }
        }
    }

    @Test("integers and timestamps read as Swift's own decimal text, including the extremes")
    func integers() {
        for value in [0, 1, -1, 9, 10, 99, 100, 123_456_789, Int.max, Int.min, -1_000_000] {
            var json = JSONWriter()
            json.int(value)
            #expect(json.string == String(value))
        }
        for decimals in 0...9 {
            for nanoseconds: Int64 in [0, 1, 999_999_999, 1_000_000_000, 1_732_612_345_123_456_789, Int64.max / 2] {
                let text = JSONText.timestamp(Instant(nanosecondsSinceEpoch: nanoseconds), decimals: decimals)
                var unit: Int64 = 1
                for _ in 0..<(9 - decimals) { unit *= 10 }
                let ticks = (nanoseconds + unit / 2) / unit
                var scale: Int64 = 1
                for _ in 0..<decimals { scale *= 10 }
                let fraction = String(ticks % scale)
                let expected = decimals == 0 ? String(ticks) : "\(ticks / scale)." + String(repeating: "0", count: decimals - fraction.count) + fraction
                #expect(text == expected)
            }
        }
    }

    @Test("doubles read as their description: rounded channel values, their neighbours and arbitrary ones")
    func doubles() {
        var random = SeededRandom(seed: 0xD0B1E)
        var values: [Double] = [0.0001, -0.0001, 0.01, 0.05, 0.1, 0.5, 21.4, -21.4, 1011.8, 99.99, 0.0042, 999_999_999.99,
                                123_456_789.0001, 1e9 + 0.5, 1e-5, 0.00015, 1 / 3, .pi, 1e300, -2.5e-300, .leastNonzeroMagnitude]
        for _ in 0..<20_000 {
            let places = random.nextInt(in: 0...1) == 0 ? 100.0 : 10_000.0
            let whole = Double(random.nextInt(in: -2_000_000...2_000_000)) * (random.nextInt(in: 0...3) == 0 ? 1_000 : 1)
            let value = (whole / 97 * places).rounded() / places
            values += [value, value.nextUp, value.nextDown, Double(bitPattern: random.next())]
        }
        for value in values where value.isFinite && value != value.rounded() {
            var json = JSONWriter()
            json.double(value)
            #expect(json.string == value.description, "\(value.bitPattern)")
        }
    }
}
