import HubCore

/// Forwards readings, alerts and health to the cloud, each with a stable message ID.
///
/// IDs are `<thing>-<sequence>`, numbered in the order messages are handed over, so the
/// cloud can de-duplicate at-least-once delivery. Each cloud message is an envelope:
/// `{"message_id": ..., "readings": [...]}` for telemetry, `{"message_id": ..., "alert": {...}}`,
/// `{"message_id": ..., "health": {...}}`.
public struct UplinkComponent {
    public enum Action: Equatable, Sendable {
        case send(CloudMessage)
    }

    public let thing: String
    private var sequence = 0
    private var json = JSONWriter(capacity: 512)
    private let telemetry: Topic
    private let alerts: Topic
    private let health: Topic

    public init(thing: String) {
        self.thing = thing
        telemetry = .cloudTelemetry(thing)
        alerts = .cloudAlerts(thing)
        health = .cloudHealth(thing)
    }

    public mutating func handle(_ message: BusMessage) -> [Action] {
        let topic: Topic
        let key: String
        switch message {
        case .reading: topic = telemetry; key = "readings"
        case .alert: topic = alerts; key = "alert"
        case .health: topic = health; key = "health"
        case .inference: return []
        }
        sequence += 1
        let id = thing + "-" + String(sequence)
        json.removeAll()
        json.beginObject()
        json.field("message_id", id)
        json.key(key)
        if case .reading = message { json.beginArray() }
        message.write(to: &json)
        if case .reading = message { json.endArray() }
        json.endObject()
        return [.send(CloudMessage(topic: topic, messageID: id, payload: json.bytes))]
    }
}
