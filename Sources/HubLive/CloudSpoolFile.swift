import HubCore
import HubKernel
import HubStore

/// Where a live hub puts its cloud messages until the MQTT uplink exists: a JSON-lines file.
///
/// Each line is `{"topic": ..., "message_id": ..., "payload": <the payload>}`, appended and
/// flushed as it is sent, so nothing the hub meant for the cloud is lost: an operator can
/// replay the file into a broker. A message is acknowledged once its line is written, and
/// fails (the uplink keeps it and resends) when the write does not succeed. The MQTT
/// uplink with its durable outbox replaces this.
public final class CloudSpoolFile: CloudPort {
    private let writer: EventLogWriter
    private var json = JSONWriter(capacity: 1024)
    public private(set) var writeFailures = 0
    private weak var completions: (any CompletionSink)?

    public init(path: String, completions: any CompletionSink) throws(StoreError) {
        writer = try EventLogWriter(path: path, flushThreshold: 0)
        self.completions = completions
    }

    public func send(_ message: CloudMessage, at time: Instant) {
        json.removeAll()
        json.beginObject()
        json.field("topic", message.topic.name)
        json.field("message_id", message.messageID)
        json.key("payload")
        json.raw(message.payload)
        json.endObject()
        do {
            try writer.append(line: json.bytes)
            completions?.complete(.cloud(.acknowledged(messageID: message.messageID)), at: time)
        } catch {
            if writeFailures == 0 { FileDescriptorOutput.standardError("cloud spool: \(error)") }
            writeFailures += 1
            completions?.complete(.cloud(.failed(messageID: message.messageID, reason: error.description)), at: time)
        }
    }
}
