import Foundation
import HubCore
import HubKernel

/// The hub's side of the home network's MQTT: subscribes on the local broker to the
/// monitoring kits' telemetry (`hbs/kits/+/telemetry`) and hands each message to the loop
/// as a `kitMessage` completion, for the kit bridge to check.
///
/// Nothing here judges a message: whatever arrives, however broken, reaches the bridge,
/// which counts and logs it. libmosquitto's thread only posts to the inbox.
public final class LocalKitListener: Sendable {
    private let client: MosquittoClient
    private let connection = ConnectionFlag()

    /// `tls`: the listener's own certificate from the hub's kit authority (a broker that
    /// requires certificates); nil on a plaintext broker.
    public init(host: String, port: Int, clientID: String, tls: MQTTSettings.TLSFiles? = nil, random: SeededRandom, clock: LiveClock,
                completions: any CompletionSink & Sendable) throws(MQTTError) {
        let settings = MQTTSettings(host: host, port: port, clientID: clientID, tls: tls, subscriptions: ["hbs/kits/+/telemetry"])
        client = try MosquittoClient(settings: settings, random: random) { [connection] event in
            switch event {
            case .message(let topic, let payload):
                completions.complete(.kitMessage(topic: topic, payload: payload), at: clock.now)
            case .connectFailed(let reason), .disconnected(let reason):
                FileHandle.standardError.write(Data("local broker \(host):\(port): \(reason)\n".utf8))
            case .connected:
                connection.up()
            case .published:
                break
            }
        }
    }

    /// Whether it has connected to the broker (and asked for the kits' topics) at least once.
    public var hasConnected: Bool { connection.isUp }

    public func start() { client.start() }
    public func stop() { client.stop() }
}
