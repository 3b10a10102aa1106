/// Why JSON text was refused, and where: one-based line (lines end at LF) and column
/// (counted in Unicode scalars: bytes on an ASCII line; a leading byte-order mark is not one).
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    /// Zero-based byte offset of the problem.
    public let offset: Int
    public let reason: String

    public init(line: Int, column: Int, offset: Int, reason: String) {
        self.line = line
        self.column = column
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects `parse` accepts (Foundation's limit too).
    public static let nestingDepthMax = 512

    /// The longest object key `parse` accepts, in bytes. Why: Swift hashes a key in its
    /// normalised form, and normalising one long run of combining marks is worse than
    /// quadratic (a 400 KB key took 45 s); no key anything here reads is longer than a name.
    public static let keyBytesMax = 1_024

    /// Reads one JSON text (RFC 8259) into a value.
    ///
    /// Why not `JSONDecoder`: decoding into `JSONValue` through `Decodable` tries each type in
    /// turn and builds a thrown error with its coding path for every miss; profiled, that was
    /// 44–53 % of the rig's CPU in scenarios whose simulated cloud opens every batch
    /// (cloud-flaky, cloud-offline-24h, kit-certificate-expiry). This reader makes one pass
    /// and allocates only the values.
    ///
    /// Strict where a payload should never be loose: UTF-8 only (a leading byte-order mark is
    /// skipped, UTF-16 is refused by name), no trailing comma, no repeated key in an object
    /// (keys Swift holds equal — canonically equivalent texts — count as repeated: one
    /// dictionary cannot hold both), keys of at most `keyBytesMax` bytes, no unpaired UTF-16
    /// surrogate in an escape, numbers in JSON's grammar that fit a finite `Double`
    /// (correctly rounded), nesting at most `nestingDepthMax` deep. Every refusal says what
    /// and where.
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(JSONSyntaxError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { JSONParser.parse($0) }
            ?? Array(bytes).withUnsafeBufferPointer { JSONParser.parse($0) }
        return try result.get()
    }

    /// Reads `text` (a convenience for tests and literals).
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

/// The single pass behind `JSONValue.parse`.
struct JSONParser {
    /// A refusal at a byte offset; the line and column are counted only when one is thrown.
    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
        var parser = JSONParser(bytes: bytes)
        do throws(Failure) {
            return .success(try parser.document())
        } catch {
            return .failure(located(error, in: bytes))
        }
    }

    private static func located(_ failure: Failure, in bytes: UnsafeBufferPointer<UInt8>) -> JSONSyntaxError {
        var line = 1
        var column = 1
        for byte in bytes[min(byteOrderMarkCount(bytes), failure.offset)..<min(failure.offset, bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONSyntaxError(line: line, column: column, offset: failure.offset, reason: failure.reason)
    }

    /// The bytes of a leading UTF-8 byte-order mark: skipped, and not a column.
    private static func byteOrderMarkCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    private mutating func document() throws(Failure) -> JSONValue {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw Failure(offset: 0, reason: "the text is UTF-16 (it starts with a byte-order mark); JSON must be UTF-8")
        }
        index = Self.byteOrderMarkCount(bytes)
        skipSpace()
        guard index < bytes.count else { throw Failure(offset: index, reason: "no JSON value (the text is empty)") }
        let value = try self.value()
        skipSpace()
        guard index == bytes.count else { throw unexpected("the end of the text after the value") }
        return value
    }

    private mutating func value() throws(Failure) -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw unexpected("a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw unexpected("a value")
        }
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try enter()
        var members: [String: JSONValue] = [:]
        skipSpace()
        if take(UInt8(ascii: "}")) {
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}"), !members.isEmpty { throw trailingComma() }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("a key (a string)") }
            let keyOffset = index
            let key = try string()
            guard index - keyOffset - 2 <= JSONValue.keyBytesMax else {
                throw Failure(offset: keyOffset, reason: "a key of \(index - keyOffset - 2) bytes (at most \(JSONValue.keyBytesMax))")
            }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { throw unexpected("':' after the key") }
            let member = try value()
            if members.updateValue(member, forKey: key) != nil {
                // The dictionary keeps the key it had: the earlier spelling.
                let earlier = members.keys.first { $0 == key } ?? key
                throw Failure(offset: keyOffset, reason: earlier.utf8.elementsEqual(key.utf8)
                    ? "the key \"\(key)\" appears twice in one object"
                    : "the key \"\(key)\" is canonically equivalent to the earlier key \"\(earlier)\" (other code points, the same text), so it appears twice in one object")
            }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            if take(UInt8(ascii: "}")) { break }
            throw unexpected("',' or '}'")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try enter()
        var elements: [JSONValue] = []
        skipSpace()
        if take(UInt8(ascii: "]")) {
            depth -= 1
            return .array(elements)
        }
        while true {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]"), !elements.isEmpty { throw trailingComma() }
            elements.append(try value())
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            if take(UInt8(ascii: "]")) { break }
            throw unexpected("',' or ']'")
        }
        depth -= 1
        return .array(elements)
    }

    /// Steps over an opening bracket, refusing nesting that would run the stack out.
    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= JSONValue.nestingDepthMax else {
            throw Failure(offset: index, reason: "nested deeper than \(JSONValue.nestingDepthMax) arrays and objects")
        }
        index += 1
    }

    /// A string from its opening quote; plain runs are taken whole, escapes byte by byte.
    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return ascii ? String(decoding: run, as: UTF8.self) : try validated(run, rawFrom: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw controlCharacter(byte) }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        // With escapes: the raw bytes between them are copied, then validated once.
        var text = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try validated(text, rawFrom: start)
            case UInt8(ascii: "\\"):
                try escape(into: &text)
            case ..<0x20:
                throw controlCharacter(byte)
            default:
                text.append(byte)
                index += 1
            }
        }
        throw Failure(offset: start - 1, reason: "the string that starts here has no closing '\"'")
    }

    private mutating func escape(into text: inout [UInt8]) throws(Failure) {
        let escapeOffset = index
        index += 1
        guard index < bytes.count else { throw unexpected("an escape after '\\'") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexUnit()
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw Failure(offset: escapeOffset, reason: "the escape \\u\(Self.hex(unit)) is a high surrogate with no low surrogate after it")
                }
                index += 2
                let low = try hexUnit()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw Failure(offset: escapeOffset, reason: "the escape \\u\(Self.hex(unit)) is a high surrogate followed by \\u\(Self.hex(low)), not a low surrogate")
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw Failure(offset: escapeOffset, reason: "the escape \\u\(Self.hex(unit)) is a low surrogate with no high surrogate before it")
            }
            // Every value left is a scalar: surrogates were paired or refused above.
            UTF8.encode(Unicode.Scalar(scalarValue)!) { text.append($0) }
        default:
            index -= 1
            throw unexpected("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)")
        }
    }

    private mutating func hexUnit() throws(Failure) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw unexpected("four hex digits after '\\u'") }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw unexpected("four hex digits after '\\u'")
            }
            unit = unit << 4 | UInt16(digit)
            index += 1
        }
        return unit
    }

    private static func hex(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// `text` as a String, or a refusal at the first byte of the string's source (from
    /// `rawFrom` to the closing quote just passed) that is not UTF-8. Escapes only ever
    /// produce valid UTF-8, so the raw bytes are where a problem is.
    private func validated(_ text: some Collection<UInt8>, rawFrom start: Int) throws(Failure) -> String {
        if let string = String(validating: text, as: UTF8.self) { return string }
        let problem = TextEncodingProblem.find(in: Array(bytes[start..<(index - 1)]))
        throw Failure(offset: start + (problem?.offset ?? 0), reason: "a string holds bytes that are not UTF-8")
    }

    /// A number in JSON's grammar, `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`, as a
    /// finite `Double`.
    private mutating func number() throws(Failure) -> Double {
        let start = index
        let negative = take(UInt8(ascii: "-"))
        guard isDigit(index) else { throw unexpected("a digit") }
        // The digits as an integer (while they fit 15 digits) and the power of ten they are
        // scaled by, for the exact fast path below.
        var mantissa = 0
        var mantissaDigits = 0
        var scale = 0
        func accumulate(_ byte: UInt8) {
            guard mantissa != 0 || byte != UInt8(ascii: "0") else { return }
            mantissa = mantissa &* 10 &+ Int(byte - UInt8(ascii: "0"))
            mantissaDigits += 1
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw Failure(offset: start, reason: "a number may not start with the digit 0 followed by more digits") }
        } else {
            while isDigit(index) {
                accumulate(bytes[index])
                index += 1
            }
        }
        if take(UInt8(ascii: ".")) {
            guard isDigit(index) else { throw unexpected("a digit after the decimal point") }
            while isDigit(index) {
                accumulate(bytes[index])
                scale -= 1
                index += 1
            }
        }
        var exponentDigits = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            let exponentNegative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw unexpected("a digit in the exponent") }
            var exponent = 0
            while isDigit(index) {
                if exponentDigits < 6 { exponent = exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                exponentDigits += 1
                index += 1
            }
            scale += exponentNegative ? -exponent : exponent
        }
        // Clinger's fast path: up to 15 digits the integer is exact in a Double, and so is a
        // power of ten up to 1e22; one correctly rounded multiplication or division of two
        // exact values is the correctly rounded result. Anything else goes to the standard
        // library's correctly rounded conversion.
        if mantissaDigits <= 15, exponentDigits < 6, (-22...22).contains(scale) {
            let magnitude = scale < 0 ? Double(mantissa) / Self.powersOfTen[-scale] : Double(mantissa) * Self.powersOfTen[scale]
            return negative ? -magnitude : magnitude
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        // Too large reads as infinity, too small as zero: either would be a different number.
        guard let value = Double(text), value.isFinite, value != 0 || mantissaDigits == 0 else {
            throw Failure(offset: start, reason: "the number \(text.prefix(40)) is out of a Double's range")
        }
        return value
    }

    /// 1e0 ... 1e22, every one exact in a Double.
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { product, _ in product * 10 }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let start = index
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for byte in expected {
            guard index < bytes.count, bytes[index] == byte else {
                throw Failure(offset: start, reason: "a word that is not true, false or null")
            }
            index += 1
        }
    }

    private func isDigit(_ at: Int) -> Bool {
        at < bytes.count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9")
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func controlCharacter(_ byte: UInt8) -> Failure {
        Failure(offset: index, reason: "a string holds the control character U+00\(Self.hex(UInt16(byte)).suffix(2)), which must be escaped")
    }

    /// Foundation's decoder lets a trailing comma pass; RFC 8259 does not, and neither does this.
    private func trailingComma() -> Failure {
        Failure(offset: index, reason: "a ',' with nothing after it before '\(Character(Unicode.Scalar(bytes[index])))' (JSON allows no trailing comma)")
    }

    private func unexpected(_ expected: String) -> Failure {
        guard index < bytes.count else {
            return Failure(offset: index, reason: "the text ends where \(expected) should be")
        }
        let byte = bytes[index]
        let found = switch byte {
        case 0x21..<0x7F: "'\(Character(Unicode.Scalar(byte)))'"
        // Foundation guesses UTF-16 from NUL bytes; here they are refused and named.
        case 0: "a NUL byte (binary data, or UTF-16 without a byte-order mark)"
        default: "byte 0x\(Self.hex(UInt16(byte)).suffix(2))"
        }
        return Failure(offset: index, reason: "found \(found) where \(expected) should be")
    }
}
