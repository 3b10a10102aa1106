import Foundation
import HubCore

/// The cloud side's account of what one hub delivered: every MQTT message received on the
/// hub's topics, opened (a telemetry batch, or one JSON envelope), de-duplicated by message
/// id, and checked for gaps and order.
///
/// Why on message ids' sequences: ids are `<thing>-<sequence>`, one sequence over all the
/// hub's topics, rising in the order the hub handed messages over, and kept across its
/// restarts. A sequence never received between the lowest and the highest received is
/// missing; a first arrival below the highest already received on its topic came out of
/// order (the hub keeps order per topic). Used by `hubrig cloud sink` against a real broker.
public struct CloudLedger: Sendable {
    public let thing: String
    /// MQTT messages received (a batch counts once).
    public private(set) var messagesReceived = 0
    /// Message ids received at least once.
    public private(set) var uniqueReceived = 0
    public private(set) var duplicates = 0
    public private(set) var outOfOrder = 0
    /// Messages that could not be read (not a batch, not an envelope, a foreign id), with the first reasons.
    public private(set) var unreadable = 0
    public private(set) var unreadableReasons: [String] = []
    private var received: Set<Int64> = []
    private var highestPerTopic: [String: Int64] = [:]
    private var lowest = Int64.max
    private var highest: Int64 = 0

    public init(thing: String) {
        self.thing = thing
    }

    /// Sequences between the lowest and the highest received that never arrived.
    public var missing: Int { uniqueReceived == 0 ? 0 : Int(highest - lowest + 1) - uniqueReceived }

    /// The first `limit` missing sequences, ascending.
    public func missingSequences(limit: Int) -> [Int64] {
        guard uniqueReceived > 0 else { return [] }
        var gaps: [Int64] = []
        var sequence = lowest
        while sequence <= highest, gaps.count < limit {
            if !received.contains(sequence) { gaps.append(sequence) }
            sequence += 1
        }
        return gaps
    }

    /// Records one MQTT message from topic `topic` (`hbs/<thing>/<kind>`).
    public mutating func receive(topic: String, payload: [UInt8]) {
        messagesReceived += 1
        switch CloudArrival(topic: topic, payload: payload, thing: thing) {
        case .messages(let kind, _, let ids) where ["telemetry", "alerts", "health"].contains(kind):
            for id in ids { count(id, topic: kind) }
        case .messages:
            refuse("\(topic): not one of the hub's cloud topics")
        case .lastWill:
            break
        case .unreadable(let reason):
            refuse(reason)
        }
    }

    private mutating func count(_ id: String, topic: String) {
        guard let sequence = MessageID.sequence(of: id, thing: thing) else {
            return refuse("message id \(id.debugDescription) is not \(thing)-<sequence>")
        }
        guard received.insert(sequence).inserted else {
            duplicates += 1
            return
        }
        uniqueReceived += 1
        if sequence < highestPerTopic[topic, default: 0] { outOfOrder += 1 }
        highestPerTopic[topic] = max(highestPerTopic[topic, default: 0], sequence)
        lowest = min(lowest, sequence)
        highest = max(highest, sequence)
    }

    private mutating func refuse(_ reason: String) {
        unreadable += 1
        if unreadableReasons.count < 5 { unreadableReasons.append(reason) }
    }

    /// The report as one JSON object: `{"thing", "messages", "received", "duplicates",
    /// "missing", "out_of_order", "unreadable", "first_missing": [...], "unreadable_reasons": [...]}`.
    public func json() -> String {
        var json = JSONWriter()
        json.beginObject()
        json.field("thing", thing)
        json.field("messages", messagesReceived)
        json.field("received", uniqueReceived)
        json.field("lowest", uniqueReceived == 0 ? 0 : Int(lowest))
        json.field("highest", Int(highest))
        json.field("duplicates", duplicates)
        json.field("missing", missing)
        json.field("out_of_order", outOfOrder)
        json.field("unreadable", unreadable)
        json.key("first_missing")
        json.beginArray()
        for sequence in missingSequences(limit: 20) { json.int(Int(sequence)) }
        json.endArray()
        json.key("unreadable_reasons")
        json.beginArray()
        for reason in unreadableReasons { json.string(reason) }
        json.endArray()
        json.endObject()
        return json.string
    }
}

/// What one MQTT message on a hub's cloud topic carries, read as the cloud reads it: the
/// message ids of a JSON envelope or of a telemetry batch.
///
/// One reading for `hubrig cloud sink`'s ledger and a live scenario run's cloud, so both
/// count the same messages the same way.
public enum CloudArrival: Equatable, Sendable {
    /// `kind` is the topic after `hbs/<thing>/` (`telemetry`, `alerts`, `health`,
    /// `deployments/status`); `batchID` is set for a telemetry batch.
    case messages(kind: String, batchID: String?, ids: [String])
    /// The hub's last will ("offline" on its health topic), not a message.
    case lastWill
    case unreadable(String)

    public init(topic: String, payload: [UInt8], thing: String) {
        self = Self.read(topic: topic, payload: payload, thing: thing)
    }

    private static func read(topic: String, payload: [UInt8], thing: String) -> CloudArrival {
        let prefix = "hbs/\(thing)/"
        guard topic.hasPrefix(prefix) else { return .unreadable("\(topic): not one of the hub's cloud topics") }
        let kind = String(topic.dropFirst(prefix.count))
        if payload == Array("offline".utf8), kind == "health" { return .lastWill }
        if kind == "telemetry", payload.first != UInt8(ascii: "{") {
            let batch: TelemetryBatch
            let envelopes: [[String: JSONValue]]
            do throws(TelemetryBatchError) {
                (batch, envelopes) = try TelemetryBatch.decode(payload)
            } catch {
                return .unreadable("\(topic): \(error)")
            }
            _ = envelopes
            return .messages(kind: kind, batchID: batch.batchID, ids: batch.messageIDs)
        }
        guard let parsed = try? JSONValue.parse(payload) else {
            return .unreadable("\(topic): neither a telemetry batch nor JSON")
        }
        guard case .object(let members) = parsed, case .string(let id)? = members["message_id"] else {
            return .unreadable("\(topic): a JSON message without a string message_id")
        }
        return .messages(kind: kind, batchID: nil, ids: [id])
    }
}

extension CloudReadingKey {
    /// The readings inside a telemetry payload — a compressed batch or one JSON envelope —
    /// or nil when it cannot be read (the receipt's own checks say why).
    public static func telemetryReadings(_ payload: [UInt8]) -> [CloudReadingKey]? {
        if payload.first != UInt8(ascii: "{") {
            guard let (batch, envelopes) = try? TelemetryBatch.decode(payload) else { return nil }
            var readings: [CloudReadingKey] = []
            for (id, envelope) in zip(batch.messageIDs, envelopes) { readings += Self.readings(in: envelope, messageID: id) }
            return readings
        }
        guard case .object(let members)? = try? JSONValue.parse(payload),
              case .string(let id)? = members["message_id"] else { return nil }
        return Self.readings(in: members, messageID: id)
    }
}
