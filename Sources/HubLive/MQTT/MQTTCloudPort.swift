import Glibc
import HubCore
import HubKernel
import Synchronization

/// The cloud port over MQTT: each cloud message is a QoS 1 publish, acknowledged to the
/// uplink when its PUBACK arrives.
///
/// libmosquitto's thread never touches hub state: PUBACKs and connection changes become
/// `PortCompletion`s posted to a thread-safe `CompletionSink` (the live shell's
/// `CompletionInbox`), which the hub's loop takes in on its own thread. A PUBACK can arrive
/// before `mosquitto_publish` has returned the message id it belongs to; such an early
/// acknowledgement is held until the id is known, so none is lost.
public final class MQTTCloudPort: CloudPort, Sendable {
    private struct Books {
        var messageIDs: [Int32: String] = [:]
        var earlyAcknowledgements: Set<Int32> = []
    }

    public let client: MosquittoClient
    private let books = Mutex(Books())
    private let completions: any CompletionSink & Sendable
    private let clock: LiveClock

    public init(settings: MQTTSettings, random: SeededRandom, clock: LiveClock,
                completions: any CompletionSink & Sendable) throws(MQTTError) {
        self.clock = clock
        self.completions = completions
        let relay = EventRelay()
        client = try MosquittoClient(settings: settings, random: random) { event in relay.port?.hear(event) }
        relay.port = self
    }

    /// Connects, and keeps reconnecting, on the client's thread.
    public func start() { client.start() }

    public func stop() { client.stop() }

    public func send(_ message: CloudMessage, at time: Instant) {
        do throws(MQTTError) {
            let mid = try client.publish(topic: message.topic.name, payload: message.payload)
            let early = books.withLock { books -> Bool in
                if books.earlyAcknowledgements.remove(mid) != nil { return true }
                books.messageIDs[mid] = message.messageID
                return false
            }
            if early { completions.complete(.cloud(.acknowledged(messageID: message.messageID)), at: clock.now) }
        } catch {
            completions.complete(.cloud(.failed(messageID: message.messageID, reason: error.description)), at: time)
        }
    }

    /// On the client's thread.
    private func hear(_ event: MQTTEvent) {
        switch event {
        case .published(let mids):
            // A turn's PUBACKs go to the hub as one batch: one lock here, one in the inbox, one wake-up.
            let acknowledged = books.withLock { books -> [PortCompletion] in
                var acknowledged: [PortCompletion] = []
                acknowledged.reserveCapacity(mids.count)
                for mid in mids {
                    if let id = books.messageIDs.removeValue(forKey: mid) {
                        acknowledged.append(.cloud(.acknowledged(messageID: id)))
                    } else {
                        books.earlyAcknowledgements.insert(mid)
                    }
                }
                return acknowledged
            }
            completions.complete(contentsOf: acknowledged, at: clock.now)
        case .connected:
            completions.complete(.cloud(.connection(up: true, reason: "connected to \(client.settings.host):\(client.settings.port)")), at: clock.now)
        case .connectFailed(let reason), .disconnected(let reason):
            completions.complete(.cloud(.connection(up: false, reason: reason)), at: clock.now)
        case .message(let topic, let payload):
            completions.complete(.cloud(.inbound(topic: topic, payload: payload)), at: clock.now)
        }
    }
}

/// Lets the client's callback reach the port that owns the client, set once after both exist.
private final class EventRelay: @unchecked Sendable {
    // @unchecked Sendable: `port` is written once, in the port's init, before the client's
    // thread starts (only `start` starts it), and only read afterwards.
    weak var port: MQTTCloudPort?
}
