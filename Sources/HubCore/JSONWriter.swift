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
    public mutating func int(_ value: Int) { separate(); bytes.append(contentsOf: String(value).utf8) }

    /// The shortest text that reads back as the same double; non-finite values become null
    /// because JSON has no spelling for them.
    public mutating func double(_ value: Double) {
        separate()
        guard value.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        if value == value.rounded(), abs(value) < 1e15 {
            bytes.append(contentsOf: String(Int64(value)).utf8)
            return
        }
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

    private mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Almost every string the hub writes (keys, IDs, topics) needs no escaping.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: text.utf8)
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
        bytes.append(contentsOf: String(ticks / scale).utf8)
        guard decimals > 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var fraction = ticks % scale
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: decimals)
        var position = decimals - 1
        while fraction > 0 {
            digits[position] = UInt8(ascii: "0") + UInt8(fraction % 10)
            fraction /= 10
            position -= 1
        }
        bytes.append(contentsOf: digits)
    }

    public static func timestamp(_ instant: Instant, decimals: Int) -> String {
        var bytes: [UInt8] = []
        appendTimestamp(instant, decimals: decimals, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
