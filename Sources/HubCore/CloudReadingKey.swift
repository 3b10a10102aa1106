/// What identifies a reading the cloud received, whatever message carried it: its device
/// and its own timestamp, with the id of the message it came in. Two messages with
/// different ids carrying one reading are a duplicate that de-duplication on the id
/// cannot remove; a device's timestamps going backwards is a reading out of order.
public struct CloudReadingKey: Equatable, Sendable {
    public var messageID: String
    public var device: String
    public var timestamp: Double

    public init(messageID: String, device: String, timestamp: Double) {
        self.messageID = messageID
        self.device = device
        self.timestamp = timestamp
    }

    /// The readings of a telemetry envelope (`{"message_id", "readings": [{"device_id",
    /// "timestamp", ...}]}`); those without a device or timestamp are not keys.
    public static func readings(in envelope: [String: JSONValue], messageID: String) -> [CloudReadingKey] {
        guard case .array(let readings)? = envelope["readings"] else { return [] }
        return readings.compactMap { reading in
            guard case .object(let fields) = reading, case .string(let device)? = fields["device_id"],
                  case .number(let timestamp)? = fields["timestamp"] else { return nil }
            return CloudReadingKey(messageID: messageID, device: device, timestamp: timestamp)
        }
    }
}
