import HubCore
import HubKernel

// Fault model of the simulated cloud: none yet — it receives every message at the instant
// the uplink sends it and acknowledges each after a round trip of `latency` (uniform,
// drawn per message from its own random stream, so a run replays from its seed), scheduled
// on the shell's event queue like any other completion. Outages, rejection and lost acks
// arrive with the cloud-uplink work (`cloud.offline` and friends).

/// The cloud side in simulation: records each message it receives in the history and
/// acknowledges it after a network round trip.
///
/// It stands where AWS IoT Core stands on the real hub; checkers compare the `cloud.receive`
/// events against what the hub published ("every reading recorded by the cloud"). It keeps
/// no list of its own, so a run of any length costs it no memory.
public final class SimCloudBroker: CloudPort {
    public private(set) var receivedCount = 0
    /// The round trip from send to acknowledgement.
    public let latency: ClosedRange<Duration>
    private let history: any HistorySink
    private var random: SeededRandom
    /// Where acknowledgements go: the shell that runs the hub (set when the hub's ports are made).
    public weak var completions: (any CompletionSink)?

    public init(history: any HistorySink, random: SeededRandom,
                latency: ClosedRange<Duration> = .milliseconds(20)...Duration.milliseconds(120)) {
        self.history = history
        self.random = random
        self.latency = latency
    }

    public func send(_ message: CloudMessage, at time: Instant) {
        guard let completions else { preconditionFailure("the cloud broker has no completion sink: make the hub's ports with hubPorts") }
        receivedCount += 1
        if message.topic.name.hasSuffix("/telemetry"), message.payload.first != UInt8(ascii: "{") {
            // A zlib batch, not a JSON envelope: the cloud learns its contents from the
            // payload, as the real one does.
            do throws(TelemetryBatchError) {
                let batch = try TelemetryBatch.header(of: message.payload)
                history.record(.cloudReceiveBatch(topic: message.topic, batchID: batch.batchID, messageIDs: batch.messageIDs), at: time)
            } catch {
                // The broker acknowledges what it was handed whatever it holds, as a real one
                // does; the messages inside are not counted as received, so checkers see them missing.
                history.record(.componentError(component: "cloud", error: "\(message.messageID) unreadable: \(error)"), at: time)
            }
        } else {
            history.record(.cloudReceive(topic: message.topic, messageID: message.messageID), at: time)
        }
        let span = (latency.upperBound - latency.lowerBound).nanoseconds
        let roundTrip = latency.lowerBound + .nanoseconds(span == 0 ? 0 : Int64(random.nextDouble() * Double(span)))
        completions.complete(.cloud(.acknowledged(messageID: message.messageID)), at: time + roundTrip)
    }
}
