import Foundation
import HubCore

/// Why a payload is not a telemetry batch; each case says where it went wrong.
public enum TelemetryBatchError: Error, Equatable, CustomStringConvertible {
    case compression(ZlibError)
    /// The inflated JSON breaks the batch grammar at this byte offset.
    case malformed(offset: Int, expected: String)
    /// The `messages` array does not match `message_ids`.
    case mismatch(index: Int, reason: String)

    public var description: String {
        switch self {
        case .compression(let error): "telemetry batch: \(error)"
        case .malformed(let offset, let expected): "telemetry batch: at byte \(offset) of the inflated JSON: expected \(expected)"
        case .mismatch(let index, let reason): "telemetry batch: messages[\(index)]: \(reason)"
        }
    }
}

/// Many telemetry messages in one compressed cloud message (docs/uplink.md, "Telemetry
/// batches").
///
/// The payload is a zlib stream (RFC 1950) of one JSON object, keys in this order:
/// `{"batch_id": "<thing>-batch-<first>-<last>", "message_ids": ["<thing>-<n>", …],
/// "messages": [<envelope>, …]}`, where `messages[i]` is the envelope the outbox holds for
/// `message_ids[i]` (`{"message_id": …, "readings": [...]}`), byte for byte. The cloud
/// de-duplicates on the message ids, never on the batch id: after a reconnect the same
/// messages may travel again in differently cut batches.
///
/// Why the ids come first and repeat what the envelopes say: a receiver can account for a
/// batch (the simulated cloud, the sink's counts) from the header alone without parsing
/// every reading. Ids are printable ASCII without `"` or `\` (thing names are topic
/// levels), so the header needs no unescaping.
public struct TelemetryBatch: Equatable, Sendable {
    public var batchID: String
    public var messageIDs: [String]

    /// The most a batch may inflate to: 64× the uplink's largest batch.
    public static let inflatedBytesMax = 16 << 20

    public init(batchID: String, messageIDs: [String]) {
        self.batchID = batchID
        self.messageIDs = messageIDs
    }

    /// The batch id of the messages with sequences `first…last`.
    public static func batchID(thing: String, first: Int64, last: Int64) -> String {
        "\(thing)-batch-\(first)-\(last)"
    }

    /// The compressed payload of `messages` (their stored envelopes, in order).
    /// `json` is scratch space, reused across batches.
    public static func encode(batchID: String, messages: [OutboxMessage], level: Int32, json: inout JSONWriter) -> [UInt8] {
        json.removeAll()
        json.beginObject()
        json.field("batch_id", batchID)
        json.key("message_ids")
        json.beginArray()
        for message in messages { json.string(message.messageID) }
        json.endArray()
        json.key("messages")
        json.beginArray()
        for message in messages { json.raw(message.payload) }
        json.endArray()
        json.endObject()
        return Zlib.compress(json.bytes, level: level)
    }

    /// The batch id and message ids of a compressed batch, reading only the header.
    public static func header(of payload: [UInt8]) throws(TelemetryBatchError) -> TelemetryBatch {
        let text = try inflate(payload)
        var scanner = HeaderScanner(bytes: text)
        return try scanner.header().batch
    }

    /// The whole batch: the header, and every envelope parsed and checked against its id.
    public static func decode(_ payload: [UInt8]) throws(TelemetryBatchError) -> (batch: TelemetryBatch, messages: [[String: JSONValue]]) {
        let text = try inflate(payload)
        var scanner = HeaderScanner(bytes: text)
        let (batch, messagesOffset) = try scanner.header()
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(text)
        } catch {
            throw .malformed(offset: error.offset, expected: "valid JSON (\(error.reason))")
        }
        guard case .object(let root) = parsed, root.count == 3, case .array(let messages)? = root["messages"] else {
            throw .malformed(offset: messagesOffset, expected: "exactly the keys batch_id, message_ids and messages")
        }
        guard messages.count == batch.messageIDs.count else {
            throw .mismatch(index: min(messages.count, batch.messageIDs.count),
                            reason: "\(messages.count) messages for \(batch.messageIDs.count) message ids")
        }
        var envelopes: [[String: JSONValue]] = []
        envelopes.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            guard case .object(let envelope) = message else { throw .mismatch(index: index, reason: "not an object") }
            guard case .string(let id)? = envelope["message_id"], id == batch.messageIDs[index] else {
                throw .mismatch(index: index, reason: "message_id is not \(batch.messageIDs[index]), as message_ids says")
            }
            envelopes.append(envelope)
        }
        return (batch, envelopes)
    }

    private static func inflate(_ payload: [UInt8]) throws(TelemetryBatchError) -> [UInt8] {
        do { return try Zlib.decompress(payload, bytesMax: inflatedBytesMax) } catch { throw .compression(error) }
    }
}

/// Reads `{"batch_id": "...", "message_ids": [...], "messages":` strictly, JSON whitespace
/// allowed between tokens.
private struct HeaderScanner {
    let bytes: [UInt8]
    var index = 0

    mutating func header() throws(TelemetryBatchError) -> (batch: TelemetryBatch, messagesOffset: Int) {
        try expect("{")
        try expectKey("batch_id")
        let batchID = try string()
        try expect(",")
        try expectKey("message_ids")
        try expect("[")
        var ids: [String] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            index += 1
        } else {
            while true {
                ids.append(try string())
                skipSpace()
                guard let next = peek() else { throw .malformed(offset: index, expected: "\",\" or \"]\"") }
                index += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else { throw .malformed(offset: index - 1, expected: "\",\" or \"]\"") }
            }
        }
        try expect(",")
        try expectKey("messages")
        skipSpace()
        guard peek() == UInt8(ascii: "[") else { throw .malformed(offset: index, expected: "\"[\"") }
        return (TelemetryBatch(batchID: batchID, messageIDs: ids), index)
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ token: Unicode.Scalar) throws(TelemetryBatchError) {
        skipSpace()
        guard peek() == UInt8(ascii: token) else { throw .malformed(offset: index, expected: "\"\(token)\"") }
        index += 1
    }

    private mutating func expectKey(_ key: String) throws(TelemetryBatchError) {
        let start = index
        guard try string() == key else { throw .malformed(offset: start, expected: "the key \"\(key)\"") }
        try expect(":")
    }

    /// A string of printable ASCII without escapes (what batch and message ids are made of).
    private mutating func string() throws(TelemetryBatchError) -> String {
        try expect("\"")
        let start = index
        while let byte = peek(), byte != UInt8(ascii: "\"") {
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else {
                throw .malformed(offset: index, expected: "an id of printable ASCII without escapes")
            }
            index += 1
        }
        guard peek() != nil else { throw .malformed(offset: index, expected: "the closing quote of a string") }
        index += 1
        return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
    }
}
