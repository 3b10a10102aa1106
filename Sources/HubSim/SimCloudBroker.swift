import HubCore
import HubKernel

// Fault model of the simulated cloud (the MQTT client's connection, the network and the
// broker, as the uplink's cloud port sees them). Healthy, it receives every message at
// the instant the uplink sends it and acknowledges each after a round trip of `latency`
// (uniform, drawn per message from its own random stream, so a run replays from its
// seed), scheduled on the shell's event queue like any other completion. Faults
// (`cloud.<kind>`, `SimCloudBroker.faultKinds`):
// - `offline`: the connection drops at once (the uplink hears "connection lost") and every
//   connection attempt is refused until the fault ends. Messages sent before the drop
//   whose acknowledgements were still on their way are acknowledged late, to a connection
//   that is gone: the uplink sends them again (duplicates the cloud de-duplicates).
// - `reject-auth`: as offline, but each attempt reaches the broker and is refused "not
//   authorised" (CONNACK 5): what a revoked or wrong certificate does.
// - `impostor`: as offline, but what answers is not the cloud: a server whose certificate
//   the hub's CA did not sign (a spoofed endpoint, or a plaintext or foreign-CA server in
//   its place); each attempt fails the TLS handshake with "certificate verify failed", as
//   real libmosquitto words it (tested against mosquitto in MQTTCloudPortTests).
// - `restart`: the broker restarts: the connection drops and messages received but not
//   yet acknowledged are lost with it (a broker without persistence); it is back after
//   `down`.
// - `latency`: every round trip takes `extra` longer, plus up to `jitter`.
// - `flaky`: each message, with chance `p`, resets the connection instead of arriving;
//   the client reconnects after its backoff.
// - `puback-lost`: each message arrives but, with chance `p`, its acknowledgement is lost
//   and the connection resets (a lost PUBACK is a broken TCP connection).
// - `puback-delay`: acknowledgements come `delay` late.
// Cloud → hub: `deliver` hands the hub a message on a topic it subscribes to (a deployment
// on `hbs/<thing>/deployments`) after a one-way latency drawn from the same stream; while
// the connection is down the broker holds it and delivers it, in order, on reconnect (a
// persistent session at QoS 1).
// The client reconnects with the live client's `ReconnectBackoff` (1 s doubling to 60 s,
// jittered); each refused attempt is recorded, so a scenario can prove there is no tight
// reconnect loop.

/// The cloud side in simulation: records each message it receives in the history and
/// acknowledges it after a network round trip, or fails the way the cloud fault model says.
///
/// It stands where AWS IoT Core stands on the real hub; checkers compare the `cloud.receive`
/// events against what the hub published ("every reading recorded by the cloud"). It keeps
/// no list of its own, so a run of any length costs it no memory.
public final class SimCloudBroker: CloudPort, FaultApplying {
    public private(set) var receivedCount = 0
    /// Wire bytes of the MQTT PUBLISH packets received (fixed header, topic, packet id, payload).
    public private(set) var receivedBytes = 0
    /// Connection attempts refused so far.
    public private(set) var refusedAttempts = 0
    /// The round trip from send to acknowledgement.
    public let latency: ClosedRange<Duration>
    private let history: any HistorySink
    private var random: SeededRandom
    private var backoff: ReconnectBackoff
    /// Where acknowledgements go: the shell that runs the hub (set when the hub's ports are made).
    public weak var completions: (any CompletionSink)?
    /// Schedules the client's next connection attempt (`connectAttempt(now:)` at that instant).
    public var scheduleAttempt: ((Instant) -> Void)?
    /// Sees every message the cloud receives, at the instant it arrives (the fleet's cloud
    /// reads deployment statuses here). It cannot change the run.
    public var onMessage: ((CloudMessage, Instant) -> Void)?
    /// Messages for the hub held while the connection is down, in the order given.
    private var held: [(topic: String, payload: [UInt8])] = []
    private var lastInboundAt: Instant?

    private var connected = true
    /// The hub is off: no client, nobody to reconnect.
    private var clientAbsent = false
    private var attemptScheduled = false
    private var offline = false
    private var rejectingAuth = false
    private var impostor = false
    private var restartingUntil: Instant?
    private var extraLatency: Duration = .zero
    private var jitter: Duration = .zero
    private var flakyChance = 0.0
    private var pubackLostChance = 0.0
    private var pubackDelay: Duration = .zero
    /// Record the readings each telemetry message carried (`cloud.content`): the cloud
    /// opens every batch, which costs an inflate and a parse, so only when a checker asks.
    public var recordsContent = false

    public init(history: any HistorySink, random: SeededRandom,
                latency: ClosedRange<Duration> = .milliseconds(20)...Duration.milliseconds(120)) {
        self.history = history
        self.latency = latency
        var random = random
        backoff = ReconnectBackoff(random: random.split("reconnect"))
        self.random = random
    }

    /// The hub lost power: its connection is gone without a word (the broker finds out by
    /// keep-alive), and no client tries to reconnect until it boots (`clientBooted`).
    func clientGone(now: Instant) {
        connected = false
        clientAbsent = true
    }

    /// The hub booted: its client connects at once.
    func clientBooted(now: Instant) {
        clientAbsent = false
        backoff.reset()
        scheduleAttempt?(now)
        attemptScheduled = true
    }

    public func send(_ message: CloudMessage, at time: Instant) {
        guard let completions else { preconditionFailure("the cloud broker has no completion sink: make the hub's ports with hubPorts") }
        guard connected else {
            completions.complete(.cloud(.failed(messageID: message.messageID, reason: "not connected")), at: time)
            return
        }
        if flakyChance > 0, random.chance(flakyChance) {
            drop(at: time, reason: "connection reset while sending \(message.messageID)")
            return
        }
        receive(message, at: time)
        let roundTrip = drawRoundTrip()
        if pubackLostChance > 0, random.chance(pubackLostChance) {
            drop(at: time + roundTrip, reason: "PUBACK for \(message.messageID) lost: connection reset")
            return
        }
        completions.complete(.cloud(.acknowledged(messageID: message.messageID)), at: time + roundTrip + pubackDelay)
    }

    /// The cloud sends the hub `payload` on `topic` at `time`: it arrives after a one-way
    /// latency if connected, or is held until the connection is back.
    public func deliver(topic: String, payload: [UInt8], at time: Instant) {
        guard connected, !clientAbsent, let completions else {
            held.append((topic, payload))
            return
        }
        // One session keeps its order: a message never overtakes the one sent before it.
        let arrival = max(time + drawRoundTrip() / 2, lastInboundAt ?? time)
        lastInboundAt = arrival
        completions.complete(.cloud(.inbound(topic: topic, payload: payload)), at: arrival)
    }

    private func receive(_ message: CloudMessage, at time: Instant) {
        receivedCount += 1
        onMessage?(message, time)
        // PUBLISH at QoS 1: fixed header (1 byte + 1…4 of remaining length), topic with its
        // 2-byte length, 2-byte packet id, payload.
        let remaining = 2 + message.topic.name.utf8.count + 2 + message.payload.count
        receivedBytes += 1 + (remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4) + remaining
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
        if recordsContent, message.topic.name.hasSuffix("/telemetry") { recordContent(message, at: time) }
    }

    /// Opens a telemetry message as the real cloud does and records its readings.
    private func recordContent(_ message: CloudMessage, at time: Instant) {
        guard let readings = CloudReadingKey.telemetryReadings(message.payload) else { return }
        history.record(.cloudContent(topic: message.topic, readings: readings), at: time)
    }

    private func drawRoundTrip() -> Duration {
        let span = (latency.upperBound - latency.lowerBound).nanoseconds
        var roundTrip = latency.lowerBound + .nanoseconds(span == 0 ? 0 : Int64(random.nextDouble() * Double(span)))
        roundTrip += extraLatency
        if jitter > .zero { roundTrip += .nanoseconds(Int64(random.nextDouble() * Double(jitter.nanoseconds))) }
        return roundTrip
    }

    /// The connection is lost at `time`: the uplink hears it, the client tries again after its backoff.
    private func drop(at time: Instant, reason: String) {
        guard connected, let completions else { return }
        connected = false
        completions.complete(.cloud(.connection(up: false, reason: reason)), at: time)
        scheduleNextAttempt(after: time)
    }

    private func scheduleNextAttempt(after time: Instant) {
        guard !attemptScheduled, let scheduleAttempt else { return }
        attemptScheduled = true
        scheduleAttempt(time + backoff.nextDelay())
    }

    /// The client's connection attempt at `now` (scheduled by `scheduleAttempt`).
    public func connectAttempt(now: Instant) {
        attemptScheduled = false
        guard !connected, !clientAbsent, let completions else { return }
        let refusal: String? = if rejectingAuth {
            "connection refused: not authorised (CONNACK 5)"
        } else if impostor {
            "A TLS error occurred. (certificate verify failed)"
        } else if offline {
            "connection refused: broker unreachable"
        } else if let restartingUntil, now < restartingUntil {
            "connection refused: broker restarting"
        } else {
            nil
        }
        if let refusal {
            refusedAttempts += 1
            history.record(.componentError(component: "cloud", error: "attempt \(backoff.attempts): \(refusal)"), at: now)
            completions.complete(.cloud(.connection(up: false, reason: refusal)), at: now)
            scheduleNextAttempt(after: now)
            return
        }
        connected = true
        backoff.reset()
        completions.complete(.cloud(.connection(up: true, reason: "connected")), at: now)
        let waiting = held
        held = []
        for message in waiting { deliver(topic: message.topic, payload: message.payload, at: now) }
    }

    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .cloud(let cloudFault) = fault else { preconditionFailure("\(fault.name) is not a cloud fault") }
        switch cloudFault {
        case .offline:
            offline = active
            if active { drop(at: now, reason: "connection lost") }
        case .rejectAuth:
            rejectingAuth = active
            if active { drop(at: now, reason: "connection lost") }
        case .impostor:
            impostor = active
            if active { drop(at: now, reason: "connection lost") }
        case .restart(let down):
            if active {
                restartingUntil = now + down
                drop(at: now, reason: "broker restarted")
            }
        case .latency(let extra, let jitter):
            extraLatency = active ? extra : .zero
            self.jitter = active ? jitter : .zero
        case .flaky(let chance):
            flakyChance = active ? chance : 0
        case .pubackLost(let chance):
            pubackLostChance = active ? chance : 0
        case .pubackDelay(let delay):
            pubackDelay = active ? delay : .zero
        }
    }

    /// The cloud fault kinds (see the fault model at the top of this file).
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "cloud", name: "offline", summary: "the connection drops; every attempt is refused until the fault ends",
                  port: "SimCloudBroker") { _, _ in .cloud(.offline) },
        FaultKind(layer: "cloud", name: "reject-auth", summary: "the connection drops; the broker refuses the credentials (not authorised)",
                  port: "SimCloudBroker") { _, _ in .cloud(.rejectAuth) },
        FaultKind(layer: "cloud", name: "impostor",
                  summary: "the connection drops; what answers presents a certificate the hub's CA did not sign (TLS verification fails)",
                  port: "SimCloudBroker") { _, _ in .cloud(.impostor) },
        FaultKind(layer: "cloud", name: "restart",
                  parameters: [FaultParameter("down", .duration(.milliseconds(1)...Duration.seconds(3600)), default: "5s",
                                              summary: "how long the broker is away")],
                  summary: "the broker restarts: the connection drops, unacknowledged messages are lost", port: "SimCloudBroker") {
            .cloud(.restart(down: $1.duration("down")))
        },
        FaultKind(layer: "cloud", name: "latency",
                  parameters: [FaultParameter("extra", .duration(.zero...Duration.seconds(600)), default: "500ms", summary: "added to every round trip"),
                               FaultParameter("jitter", .duration(.zero...Duration.seconds(600)), default: "0s", summary: "up to this much more, drawn per message")],
                  summary: "round trips take longer", port: "SimCloudBroker") {
            .cloud(.latency(extra: $1.duration("extra"), jitter: $1.duration("jitter")))
        },
        FaultKind(layer: "cloud", name: "flaky",
                  parameters: [FaultParameter("p", .probability, default: "0.05", summary: "chance per message of a connection reset")],
                  summary: "messages reset the connection instead of arriving", port: "SimCloudBroker") {
            .cloud(.flaky(chance: $1.number("p")))
        },
        FaultKind(layer: "cloud", name: "puback-lost",
                  parameters: [FaultParameter("p", .probability, default: "0.05", summary: "chance per message")],
                  summary: "a message arrives, its acknowledgement is lost and the connection resets", port: "SimCloudBroker") {
            .cloud(.pubackLost(chance: $1.number("p")))
        },
        FaultKind(layer: "cloud", name: "puback-delay",
                  parameters: [FaultParameter("delay", .duration(.milliseconds(1)...Duration.seconds(3600)), default: "10s",
                                              summary: "added to every acknowledgement")],
                  summary: "acknowledgements come late", port: "SimCloudBroker") {
            .cloud(.pubackDelay(delay: $1.duration("delay")))
        },
    ]
}

/// `cloud.<kind>`: what goes wrong between the uplink and the cloud (see `SimCloudBroker`).
public enum CloudFault: Equatable, Sendable {
    case offline
    case rejectAuth
    case impostor
    case restart(down: Duration)
    case latency(extra: Duration, jitter: Duration)
    case flaky(chance: Double)
    case pubackLost(chance: Double)
    case pubackDelay(delay: Duration)

    public var kind: String {
        switch self {
        case .offline: "offline"
        case .rejectAuth: "reject-auth"
        case .impostor: "impostor"
        case .restart: "restart"
        case .latency: "latency"
        case .flaky: "flaky"
        case .pubackLost: "puback-lost"
        case .pubackDelay: "puback-delay"
        }
    }
}
