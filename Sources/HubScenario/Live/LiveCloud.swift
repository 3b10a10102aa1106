import HubCore
import HubKernel
import HubLive
import HubSim
import Synchronization

/// The cloud of a live run: a client of the TLS cloud broker (not through the fault proxy)
/// that records what reaches the cloud as `cloud.receive` events, and publishes the
/// deployments the timeline brings.
///
/// Its events go to a history of their own (`cloud.jsonl`), written from its client's
/// thread only; the run merges the files by time before judging.
final class LiveCloud: Sendable {
    private let client: MosquittoClient
    private let connection = ConnectionFlag()

    init(thing: String, port: Int, certificates: LocalCertificates, history: SharedHistory, clock: LiveClock) throws(LiveRunError) {
        let topics = ["telemetry", "alerts", "health", "deployments/status"].map { "hbs/\(thing)/\($0)" }
        let settings = MQTTSettings(host: "127.0.0.1", port: port, clientID: "hubrig-live-cloud",
                                    tls: .init(caFile: certificates.path("ca.crt"), certificateFile: certificates.path("sink.crt"),
                                               keyFile: certificates.path("sink.key")),
                                    subscriptions: topics)
        do {
            client = try MosquittoClient(settings: settings, random: SeededRandom(seed: 1)) { [connection] event in
                switch event {
                case .connected:
                    connection.up()
                case .message(let topic, let payload):
                    let now = clock.now
                    switch CloudArrival(topic: topic, payload: payload, thing: thing) {
                    case .messages(let kind, let batchID, let ids):
                        // The broker delivers only what the subscriptions above match: valid topics.
                        guard let name = try? Topic(validating: topic) else { return }
                        if let batchID {
                            history.record(.cloudReceiveBatch(topic: name, batchID: batchID, messageIDs: ids), at: now)
                        } else {
                            history.record(.cloudReceive(topic: name, messageID: ids[0]), at: now)
                        }
                        // Live, the cloud opens every message anyway: its contents cost nothing more.
                        if kind == "telemetry", let readings = CloudReadingKey.telemetryReadings(payload), !readings.isEmpty {
                            history.record(.cloudContent(topic: name, readings: readings), at: now)
                        }
                    case .lastWill:
                        break
                    case .unreadable(let reason):
                        // The messages inside are not counted as received, so checkers see them missing.
                        history.record(.componentError(component: "cloud", error: reason), at: now)
                    }
                case .connectFailed, .disconnected, .published:
                    break
                }
            }
        } catch {
            throw .setup("the cloud's client: \(error)")
        }
    }

    var isConnected: Bool { connection.isUp }

    func start() { client.start() }

    func stop() { client.stop() }

    /// Sends a deployment document to the hub (QoS 1, as the cloud's jobs service would).
    func publishDeployment(_ document: [UInt8], thing: String) throws(LiveRunError) {
        do { _ = try client.publish(topic: Topic.cloudDeployments(thing).name, payload: document) } catch {
            throw .setup("publishing a deployment: \(error)")
        }
    }
}

/// The simulated monitoring kits of a live run, publishing over the hub's kits' broker: each
/// `SimMQTTKit` reads its own simulated chips and hands its message here, which that kit's
/// own MQTT client — mutual TLS with the certificate the hub enrolled it with — publishes
/// where the hub's kit listener subscribes (the broker's ACL lets it publish only there).
final class LiveKitPublisher: CompletionSink, Sendable {
    private let clients: [(kit: String, client: MosquittoClient, connection: ConnectionFlag)]
    private let failures = Atomic<Int>(0)

    init(port: Int, kits: [DeviceID], authority: KitAuthority, files: String) throws(LiveRunError) {
        var clients: [(String, MosquittoClient, ConnectionFlag)] = []
        for kit in kits {
            let connection = ConnectionFlag()
            let tls = MQTTSettings.TLSFiles(caFile: authority.path("ca.crt"), certificateFile: files + "/\(kit).crt", keyFile: files + "/\(kit).key")
            let settings = MQTTSettings(host: "127.0.0.1", port: port, clientID: "hubrig-live-kit-\(kit)", tls: tls)
            do {
                let client = try MosquittoClient(settings: settings, random: SeededRandom(seed: 2)) { [connection] event in
                    if case .connected = event { connection.up() }
                }
                clients.append((kit.rawValue, client, connection))
            } catch {
                throw .setup("kit \(kit)'s client: \(error)")
            }
        }
        self.clients = clients
    }

    var isConnected: Bool { clients.allSatisfy { $0.connection.isUp } }

    func start() { for entry in clients { entry.client.start() } }

    func stop() { for entry in clients { entry.client.stop() } }

    func complete(_ completion: PortCompletion, at: Instant) {
        guard case .kitMessage(let topic, let payload) = completion else { preconditionFailure("a kit hands over only kit messages") }
        guard let kit = KitBridgeComponent.kitID(in: topic), let client = clients.first(where: { $0.kit == kit })?.client else {
            preconditionFailure("a kit publishes on its own topic")
        }
        do { _ = try client.publish(topic: topic, payload: payload) } catch {
            failures.add(1, ordering: .relaxed)
        }
    }
}
