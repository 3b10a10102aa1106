/// Writes JSON with keys in the order given, in the payload style of DESIGN.md.
///
/// Foundation's `JSONEncoder` cannot keep key order and is slow on the simulator's hot
/// path; payloads must match the book byte for byte (`{"timestamp": 1732612345.1234,
/// "device_id": "hvac", ...}`), so the hub writes its JSON with this small writer.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    /// One flag per open container: whether a value has been written in it yet.
    private var hasValue: [Bool] = []

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        hasValue.removeAll(keepingCapacity: true)
    }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); hasValue.append(false) }
    public mutating func endObject() { precondition(hasValue.popLast() != nil); bytes.append(UInt8(ascii: "}")) }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); hasValue.append(false) }
    public mutating func endArray() { precondition(hasValue.popLast() != nil); bytes.append(UInt8(ascii: "]")) }

    /// Writes `"key": `; the value call that follows must not add a separator.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
        pendingKey = true
    }

    private var pendingKey = false

    private mutating func separate() {
        if pendingKey { pendingKey = false; return }
        guard let last = hasValue.indices.last else { return }
        if hasValue[last] {
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: " "))
        }
        hasValue[last] = true
    }

    public mutating func string(_ value: String) { separate(); appendQuoted(value) }
    public mutating func bool(_ value: Bool) { separate(); bytes.append(contentsOf: (value ? "true" : "false").utf8) }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    public mutating func int(_ value: Int) { separate(); JSONText.appendDecimal(Int64(value), to: &bytes) }

    /// The shortest text that reads back as the same double; non-finite values become null
    /// because JSON has no spelling for them.
    public mutating func double(_ value: Double) {
        separate()
        guard value.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        if value == value.rounded(), abs(value) < 1e15 {
            JSONText.appendDecimal(Int64(value), to: &bytes)
            return
        }
        if JSONText.appendFewDecimals(value, to: &bytes) { return }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// Seconds since the epoch with a fixed number of decimals (4 in payloads).
    public mutating func timestamp(_ instant: Instant, decimals: Int = 4) {
        separate()
        JSONText.appendTimestamp(instant, decimals: decimals, to: &bytes)
    }

    /// Splices already-encoded JSON (for example a payload inside an envelope).
    public mutating func raw(_ json: [UInt8]) { separate(); bytes.append(contentsOf: json) }

    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func field(_ name: String, _ value: Double) { key(name); double(value) }
    public mutating func field(_ name: String, _ value: Int) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }
    public mutating func field(_ name: String, _ values: [String]) {
        key(name)
        beginArray()
        for value in values { string(value) }
        endArray()
    }
    /// A string, or `null` for nil.
    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    private mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Almost every string the hub writes (keys, IDs, topics) needs no escaping: scan the
        // string's own bytes and copy them in one go (walking `String.UTF8View` by index cost
        // 6 % of a simulated furnace day).
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard JSONText.needsNoEscaping(utf8) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(JSONText.hexDigit(byte >> 4))
                bytes.append(JSONText.hexDigit(byte & 0x0F))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// Text helpers shared by the JSON writer and log formatting.
public enum JSONText {
    /// True when no byte is a control character, a quote or a backslash. Eight bytes at a
    /// time: `(w − c·ones) & ~w & highs` is non-zero exactly when some byte of `w` is below
    /// `c` (c ≤ 0x80), so a word is tested for all three in a handful of operations.
    static func needsNoEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= utf8.count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let quote = word ^ (0x22 &* ones)
            let backslash = word ^ (0x5C &* ones)
            let found = ((word &- 0x20 &* ones) & ~word) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
            if found & highs != 0 { return false }
            index += 8
        }
        while index < utf8.count {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            index += 1
        }
        return true
    }

    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Exact decimal rendering of an instant, rounded half up at the last decimal.
    public static func appendTimestamp(_ instant: Instant, decimals: Int, to bytes: inout [UInt8]) {
        precondition((0...9).contains(decimals), "timestamp decimals must be 0...9")
        precondition(instant.nanosecondsSinceEpoch >= 0, "timestamps before the epoch are not used by the hub")
        var unit: Int64 = 1
        for _ in 0..<(9 - decimals) { unit *= 10 }
        let ticks = (instant.nanosecondsSinceEpoch + unit / 2) / unit
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        appendDigits((ticks / scale).magnitude, width: 1, to: &bytes)
        guard decimals > 0 else { return }
        bytes.append(UInt8(ascii: "."))
        appendDigits((ticks % scale).magnitude, width: decimals, to: &bytes)
    }

    /// Appends a value that is the double nearest a whole number of hundredths or
    /// ten-thousandths — a channel value after `Channel.rounded` — exactly as its
    /// `description` spells it, without formatting through a String; false (nothing
    /// appended) for any other value.
    ///
    /// Why it is the same text: `description` gives the fewest significant digits that read
    /// back as the value. Below 1e9 a double's spacing is under 1.2e-7, so the decimal
    /// k/10⁴ the value was rounded to is the only decimal with at most four places that
    /// reads back as it, and any shorter decimal would have fewer places; from 1e-4 up to
    /// there `description` writes plain digits, no exponent.
    static func appendFewDecimals(_ value: Double, to bytes: inout [UInt8]) -> Bool {
        guard value.magnitude >= 1e-4, value.magnitude < 1e9 else { return false }
        for (scale, places) in [(100.0, 2), (10_000.0, 4)] {
            let scaled = (value * scale).rounded()
            guard scaled / scale == value else { continue }
            let units = UInt64(scaled.magnitude)
            let divisor: UInt64 = places == 2 ? 100 : 10_000
            var fraction = units % divisor
            guard fraction != 0 else { return false }  // a whole number: not this writer's case
            var width = places
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            appendDigits(units / divisor, width: 1, to: &bytes)
            bytes.append(UInt8(ascii: "."))
            appendDigits(fraction, width: width, to: &bytes)
            return true
        }
        return false
    }

    /// Appends `value` in decimal, as `String(value)` spells it, without making a String:
    /// every event of a run writes a timestamp and most write counts.
    public static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, width: 1, to: &bytes)
    }

    /// Appends the decimal digits of `value`, zero-padded on the left to at least `width`.
    /// The digits go backwards into a stack buffer and join `bytes` in one copy: every
    /// event's timestamp comes through here.
    private static func appendDigits(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
        precondition(width <= 20, "at most 20 digits")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var index = 20
            var remaining = value
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            while 20 - index < width {
                index -= 1
                buffer[index] = UInt8(ascii: "0")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index...]))
        }
    }

    public static func timestamp(_ instant: Instant, decimals: Int) -> String {
        var bytes: [UInt8] = []
        appendTimestamp(instant, decimals: decimals, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
