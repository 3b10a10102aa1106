/// A strict reader for the shape nearly every bus and kit payload has: one flat JSON object
/// whose values are numbers and plain strings, `{"timestamp": 1732612345.1234,
/// "device_id": "hvac", "temperature": 21.4}`.
///
/// Why: `JSONDecoder` into `JSONValue` tries each type in turn and throws for every miss, so
/// a six-field reading cost about 100,000 instructions, and a monitoring kit's readings all
/// come through it. This reader takes only what it is sure of — keys and strings of
/// printable ASCII without escapes, numbers in JSON's own grammar that fit a `Double`, no
/// repeated key, JSON whitespace — and answers nil for anything else, which the caller then
/// decodes in full. So a payload is accepted or refused, and reads as the same values,
/// exactly as with the decoder alone (numbers parse correctly rounded either way).
public enum FlatJSONObject {
    /// The object's members, or nil when `bytes` is not such a flat object (which says
    /// nothing about whether it is valid JSON).
    public static func members(_ bytes: [UInt8]) -> [String: JSONValue]? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer)
            return reader.object()
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func object() -> [String: JSONValue]? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var members: [String: JSONValue] = [:]
            repeat {
                skipSpace()
                guard let key = plainString() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                let value: JSONValue
                if let text = plainString() {
                    value = .string(text)
                } else if let number = number() {
                    value = .number(number)
                } else {
                    return nil
                }
                guard members.updateValue(value, forKey: key) == nil else { return nil }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
            skipSpace()
            return index == bytes.count && !members.isEmpty ? members : nil
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        /// A string of printable ASCII with no escape; nil (index unchanged) otherwise.
        private mutating func plainString() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                guard bytes[end] >= 0x20, bytes[end] < 0x7F, bytes[end] != UInt8(ascii: "\\") else { return nil }
                end += 1
            }
            guard end < bytes.count else { return nil }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end]), as: UTF8.self)
            index = end + 1
            return text
        }

        /// A number in JSON's grammar, `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`, that
        /// reads as a finite `Double`; nil (index unchanged) otherwise.
        private mutating func number() -> Double? {
            var end = index
            func isDigit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
            if end < bytes.count, bytes[end] == UInt8(ascii: "-") { end += 1 }
            guard isDigit(end) else { return nil }
            if bytes[end] == UInt8(ascii: "0") {
                end += 1
            } else {
                while isDigit(end) { end += 1 }
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: ".") {
                end += 1
                guard isDigit(end) else { return nil }
                while isDigit(end) { end += 1 }
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "e") || bytes[end] == UInt8(ascii: "E") {
                end += 1
                if end < bytes.count, bytes[end] == UInt8(ascii: "+") || bytes[end] == UInt8(ascii: "-") { end += 1 }
                guard isDigit(end) else { return nil }
                while isDigit(end) { end += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
            // Out of range either way (overflow, underflow to zero or a subnormal) is left to
            // the full decoder, whatever it makes of it.
            guard let value = Double(text), value.isFinite, value == 0 || value.magnitude >= .leastNormalMagnitude,
                  value != 0 || !text.utf8.contains(where: { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }) else { return nil }
            index = end
            return value
        }
    }
}
