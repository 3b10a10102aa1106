import HubCore
import HubKernel

// Fault model of the simulated cloud: none yet — it receives every message at the instant
// the uplink sends it. (Outages, latency and rejection arrive with the cloud-uplink work.)

/// The cloud side in simulation: records each message it receives, in order.
///
/// It stands where AWS IoT Core stands on the real hub; checkers compare what it holds
/// against what the hub published ("every reading recorded by the cloud").
public final class SimCloudBroker: CloudPort {
    public struct Received: Sendable {
        public let time: Instant
        public let message: CloudMessage
    }

    public private(set) var received: [Received] = []
    private let history: any HistorySink

    public init(history: any HistorySink) {
        self.history = history
    }

    public func send(_ message: CloudMessage, at time: Instant) {
        received.append(Received(time: time, message: message))
        history.record(.cloudReceive(topic: message.topic, messageID: message.messageID), at: time)
    }
}
