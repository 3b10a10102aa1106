import HubCore
import HubKernel

// Fault model of the simulated cloud: none yet — it receives every message at the instant
// the uplink sends it. (Outages, latency and rejection arrive with the cloud-uplink work.)

/// The cloud side in simulation: records each message it receives in the history.
///
/// It stands where AWS IoT Core stands on the real hub; checkers compare the `cloud.receive`
/// events against what the hub published ("every reading recorded by the cloud"). It keeps
/// no list of its own, so a run of any length costs it no memory.
public final class SimCloudBroker: CloudPort {
    public private(set) var receivedCount = 0
    private let history: any HistorySink

    public init(history: any HistorySink) {
        self.history = history
    }

    public func send(_ message: CloudMessage, at time: Instant) {
        receivedCount += 1
        history.record(.cloudReceive(topic: message.topic, messageID: message.messageID), at: time)
    }
}
