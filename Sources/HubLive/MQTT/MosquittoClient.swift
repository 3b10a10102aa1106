import CMosquitto
import Glibc
import HubCore
import HubKernel
import Synchronization

/// Where and how a hub reaches an MQTT broker.
public struct MQTTSettings: Sendable {
    /// Files for TLS: the CA that signed the broker's certificate and, for mutual TLS, the
    /// hub's own certificate and key (PEM). The key's path is never logged.
    public struct TLSFiles: Sendable {
        public var caFile: String
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public var host: String
    public var port: Int
    /// The client id: the thing name, so the broker keeps the hub's session across reconnects.
    public var clientID: String
    public var keepalive: Duration
    public var tls: TLSFiles?
    /// Published by the broker if the hub vanishes: `hbs/<thing>/health` "offline".
    public var willTopic: String?
    public var willPayload: [UInt8]
    /// Topics subscribed at QoS 1 on every connection (the deployments topic).
    public var subscriptions: [String]
    /// QoS 1 messages on the wire awaiting PUBACK; libmosquitto queues the rest.
    public var inflightMax: Int
    public var reconnectInitial: Duration
    public var reconnectMax: Duration

    public init(host: String, port: Int, clientID: String, keepalive: Duration = .seconds(60), tls: TLSFiles? = nil,
                willTopic: String? = nil, willPayload: [UInt8] = Array("offline".utf8), subscriptions: [String] = [],
                inflightMax: Int = 100, reconnectInitial: Duration = .seconds(1), reconnectMax: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepalive = keepalive
        self.tls = tls
        self.willTopic = willTopic
        self.willPayload = willPayload
        self.subscriptions = subscriptions
        self.inflightMax = inflightMax
        self.reconnectInitial = reconnectInitial
        self.reconnectMax = reconnectMax
    }

    /// The hub's settings for thing `thing`: last will on its health topic, its deployments subscribed.
    public static func hub(thing: String, host: String, port: Int, tls: TLSFiles? = nil) -> MQTTSettings {
        MQTTSettings(host: host, port: port, clientID: thing, tls: tls, willTopic: "hbs/\(thing)/health",
                     subscriptions: ["hbs/\(thing)/deployments"])
    }
}

/// What the MQTT client's own thread reports: everything, including PUBACKs, comes back
/// as one of these, never as a call into hub state.
public enum MQTTEvent: Equatable, Sendable {
    /// CONNACK accepted.
    case connected
    /// A connection attempt failed (TCP, TLS or a refused CONNACK); the reason says which.
    case connectFailed(String)
    /// An established connection was lost.
    case disconnected(String)
    /// The broker acknowledged (PUBACK) the messages with these ids, in arrival order: every
    /// PUBACK one turn of the client's loop read, reported together.
    case published(mids: [Int32])
    /// A message arrived on a subscribed topic.
    case message(topic: String, payload: [UInt8])
}

/// Errors of the MQTT client that the caller can act on.
public struct MQTTError: Error, Equatable, CustomStringConvertible {
    public let description: String
}

/// A libmosquitto client run on a thread of its own, with reconnects under
/// `ReconnectBackoff` (exponential, with jitter).
///
/// The hub never waits for the network: `publish` queues the message in libmosquitto and
/// returns its message id; the client's thread drives the socket (`mosquitto_loop`) and
/// reports connections, losses, PUBACKs (all those of one turn of its loop in one event)
/// and inbound messages through `events`. Beyond `inflightMax` on the wire, libmosquitto
/// queues a publish without touching the socket or waking the client's thread, and that
/// thread sends it when a PUBACK frees the window: a backlog flows at the network's pace
/// whatever the hub's thread is doing. The
/// session is persistent (clean session off), so QoS 1 messages still in flight when the
/// connection drops are sent again by libmosquitto after the reconnect.
public final class MosquittoClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` is shared by the caller's thread (`publish`, which
    // libmosquitto built with thread support locks internally) and the client's thread
    // (everything else); the other mutable fields (`connected`, `reportedFailure`,
    // `lastLoggedError`, `acknowledgedMids`, `backoff`) are touched only on the client's
    // thread, in its loop and in the callbacks libmosquitto makes from that loop; the stop
    // flag is atomic.
    public let settings: MQTTSettings
    private let handle: OpaquePointer
    private let events: @Sendable (MQTTEvent) -> Void
    private let stopRequested = Atomic<Bool>(false)
    private var thread: pthread_t?
    private var backoff: ReconnectBackoff
    /// Client-thread state: whether CONNACK accepted the current connection, and the last
    /// error libmosquitto logged (OpenSSL's reason for a failed handshake).
    private var connected = false
    private var reportedFailure = false
    private var lastLoggedError: String?
    /// PUBACKs read in the current turn of the loop, reported (`published`) when it ends.
    private var acknowledgedMids: [Int32] = []

    public init(settings: MQTTSettings, random: SeededRandom, events: @escaping @Sendable (MQTTEvent) -> Void) throws(MQTTError) {
        precondition(settings.inflightMax > 0, "at least one message in flight")
        self.settings = settings
        self.events = events
        backoff = ReconnectBackoff(initial: settings.reconnectInitial, maximum: settings.reconnectMax, random: random)
        Self.initialiseLibrary
        guard let handle = mosquitto_new(settings.clientID, false, nil) else {
            throw MQTTError(description: "mosquitto_new failed for client id \(settings.clientID)")
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        // Our own thread runs the network loop: publish then only queues and wakes it, instead
        // of writing the socket from the hub's thread while the loop thread reads it.
        mosquitto_threaded_set(handle, true)
        mosquitto_max_inflight_messages_set(handle, UInt32(settings.inflightMax))
        if let topic = settings.willTopic {
            let rc = settings.willPayload.withUnsafeBytes {
                mosquitto_will_set(handle, topic, Int32($0.count), $0.baseAddress, 1, true)
            }
            try Self.check(rc, "last will on \(topic)")
        }
        if let tls = settings.tls {
            try Self.check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil),
                           "TLS files (CA \(tls.caFile)\(tls.certificateFile.map { ", certificate \($0)" } ?? ""))")
        }
        mosquitto_connect_callback_set(handle) { _, context, rc in MosquittoClient.from(context).didConnect(rc) }
        mosquitto_publish_callback_set(handle) { _, context, mid in MosquittoClient.from(context).acknowledgedMids.append(mid) }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let message = message?.pointee else { return }
            let payload = message.payloadlen > 0 && message.payload != nil
                ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
            MosquittoClient.from(context).events(.message(topic: String(cString: message.topic), payload: payload))
        }
    }

    /// Hears libmosquitto's log while a connection is being made, for OpenSSL's reason when
    /// the handshake fails. Only then: with a log callback set, libmosquitto formats a debug
    /// line (malloc and vsnprintf) for every packet it sends or reads.
    private func listenToLog(_ on: Bool) {
        guard on else { return mosquitto_log_callback_set(handle, nil) }
        mosquitto_log_callback_set(handle) { _, context, level, text in
            guard level & MOSQ_LOG_ERR != 0, let text else { return }
            MosquittoClient.from(context).lastLoggedError = String(cString: text)
        }
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
    }

    private static let initialiseLibrary: Void = { _ = mosquitto_lib_init() }()

    private static func from(_ context: UnsafeMutableRawPointer?) -> MosquittoClient {
        Unmanaged<MosquittoClient>.fromOpaque(context!).takeUnretainedValue()
    }

    private static func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return }
        throw MQTTError(description: "\(what): \(String(cString: mosquitto_strerror(rc)))")
    }

    /// Starts the client's thread: it connects, and reconnects after every loss.
    public func start() {
        precondition(thread == nil, "started once")
        var created = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&created, nil, { context in
            let client = Unmanaged<MosquittoClient>.fromOpaque(context!).takeRetainedValue()
            client.run()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = created
    }

    /// Disconnects cleanly (no last will) and joins the client's thread.
    public func stop() {
        guard let thread else { return }
        stopRequested.store(true, ordering: .relaxed)
        pthread_join(thread, nil)
        self.thread = nil
    }

    /// Queues a QoS 1 message; returns its message id (the PUBACK reports it).
    public func publish(topic: String, payload: [UInt8]) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { mosquitto_publish(handle, &mid, topic, Int32($0.count), $0.baseAddress, 1, false) }
        try Self.check(rc, "publish on \(topic)")
        return mid
    }

    // MARK: The client's thread

    private func run() {
        while !stopRequested.load(ordering: .relaxed) {
            lastLoggedError = nil
            reportedFailure = false
            listenToLog(true)
            let keepalive = Int32(max(5, settings.keepalive.nanoseconds / 1_000_000_000))
            var rc = mosquitto_connect(handle, settings.host, Int32(settings.port), keepalive)
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                while !stopRequested.load(ordering: .relaxed) {
                    rc = mosquitto_loop(handle, 100, 1)
                    reportAcknowledged()
                    if rc != MOSQ_ERR_SUCCESS.rawValue { break }
                }
                if stopRequested.load(ordering: .relaxed) {
                    mosquitto_disconnect(handle)
                    // Lets the DISCONNECT go out (so the broker drops the will); ends at the close.
                    for _ in 0..<10 {
                        rc = mosquitto_loop(handle, 50, 1)
                        reportAcknowledged()
                        if rc != MOSQ_ERR_SUCCESS.rawValue { break }
                    }
                    return
                }
            }
            let reason = describe(rc)
            if connected {
                connected = false
                events(.disconnected(reason))
            } else if !reportedFailure {
                events(.connectFailed(reason))
            }
            pause(backoff.nextDelay())
        }
    }

    /// One event for all the PUBACKs of a turn: one post, one wake-up of the hub's loop.
    private func reportAcknowledged() {
        guard !acknowledgedMids.isEmpty else { return }
        events(.published(mids: acknowledgedMids))
        acknowledgedMids.removeAll(keepingCapacity: true)
    }

    private func didConnect(_ rc: Int32) {
        guard rc == 0 else {
            reportedFailure = true
            events(.connectFailed("broker refused the connection: \(String(cString: mosquitto_connack_string(rc)))"))
            return
        }
        connected = true
        listenToLog(false)
        backoff.reset()
        for topic in settings.subscriptions { mosquitto_subscribe(handle, nil, topic, 1) }
        events(.connected)
    }

    /// `mosquitto_strerror`, with OpenSSL's reason when libmosquitto logged one.
    private func describe(_ rc: Int32) -> String {
        let base = rc == MOSQ_ERR_ERRNO.rawValue ? String(cString: strerror(errno)) : String(cString: mosquitto_strerror(rc))
        return "\(settings.host):\(settings.port): \(base)" + (lastLoggedError.map { " (\($0))" } ?? "")
    }

    /// Waits out a backoff in slices, so a stop is answered within 100 ms.
    private func pause(_ delay: Duration) {
        var left = delay
        while left > .zero, !stopRequested.load(ordering: .relaxed) {
            let slice = min(left, .milliseconds(100))
            LiveShell.sleep(slice)
            left -= slice
        }
    }
}
