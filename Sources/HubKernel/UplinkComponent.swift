import Foundation
import HubCore

/// The uplink's timers.
public enum UplinkTimer: Equatable, Sendable {
    /// Send again what failed, or commit what the outbox could not take.
    case retry
    /// Delete the acknowledged messages from the outbox.
    case flushAcknowledged
    /// Send the telemetry collected since the last batch.
    case batch
}

/// How the uplink batches telemetry: every `interval` (or sooner, once `countMax` messages
/// or `bytesMax` bytes of envelopes wait) the waiting telemetry goes as compressed batches
/// (`TelemetryBatch`). Alerts and health are never batched.
///
/// Why daily in the product: the cost review priced per message and per byte, and a day of
/// readings deflates to a few percent of itself. Scenarios use minutes, so a run of hours
/// sees many batches.
public struct TelemetryBatching: Equatable, Sendable {
    public var interval: Duration
    public var countMax: Int
    /// Envelope bytes per batch before compression; keeps a batch well under a broker's
    /// message limit (AWS IoT: 128 KiB) however little it compresses.
    public var bytesMax: Int
    /// zlib level, 1 (fastest) … 9 (smallest).
    public var compressionLevel: Int32

    /// The product's choice: a batch a day.
    public static let product = TelemetryBatching(interval: .seconds(86_400))
    /// The intervals a hub accepts: 1 s … 7 days.
    public static let intervals: ClosedRange<Duration> = .seconds(1)...Duration.seconds(7 * 86_400)

    public init(interval: Duration, countMax: Int = 2_000, bytesMax: Int = 256 * 1_024, compressionLevel: Int32 = 6) {
        precondition(Self.intervals.contains(interval) && countMax > 0 && bytesMax > 0 && (1...9).contains(compressionLevel))
        self.interval = interval
        self.countMax = countMax
        self.bytesMax = bytesMax
        self.compressionLevel = compressionLevel
    }
}

/// Forwards readings, alerts and health to the cloud through the durable outbox: every
/// message is committed before `handle` returns, and leaves the outbox only after the
/// cloud acknowledged it.
///
/// IDs are `<thing>-<sequence>`, the sequence continuing the outbox's own across restarts,
/// so a message sent again after a crash keeps its id and the cloud de-duplicates it. Each
/// cloud message is an envelope: `{"message_id": ..., "readings": [...]}` for telemetry,
/// `{"message_id": ..., "alert": {...}}`, `{"message_id": ..., "health": {...}}`.
///
/// Sending: at most `inflightMax` cloud messages await an acknowledgement; the rest wait in
/// the outbox and go in sequence order as acknowledgements come back (after a reconnect, the
/// whole backlog, read back from the outbox a window at a time). With `batching`, telemetry
/// waits in the outbox for the batch timer (or a full batch) and goes as compressed
/// batches, one acknowledgement for all their messages; a reconnect sends the backlog at
/// once. Alerts and health never wait behind telemetry: they go at once whenever the
/// connection is up. A failed message goes again on the retry timer (after `retryBackoff`,
/// doubling per failed round up to `retryBackoffMax`).
///
/// Acknowledged messages are deleted in batches (every `acknowledgedFlushCount`, or
/// `acknowledgedFlushDelay`, 5 min, after the first): a crash in between sends them once more with
/// their ids, which costs a duplicate, never a loss, and saves a disk sync per message.
///
/// When the outbox cannot commit (a full disk) the uplink keeps new messages in memory, at
/// most `heldCountMax` (beyond that the oldest telemetry is dropped and counted), reports
/// it, and commits them in order once the outbox takes them again.
public struct UplinkComponent {
    public enum Action: Equatable, Sendable {
        case send(CloudMessage)
        /// A telemetry batch holding these messages.
        case sendBatch(CloudMessage, messageIDs: [String])
        /// The uplink's own health (`hbs/health/uplink`): the cloud connection.
        case publishHealth(HealthReport)
        case schedule(UplinkTimer, at: Instant)
        case record(HistoryEvent)
    }

    /// What the uplink's `component.error` says, before `: reason`, when its cloud
    /// connection goes up or down: the history's only record of connectivity, which the
    /// report's timeline reads (it starts connected, as the uplink does).
    public static let connectionUpNote = "cloud connection up"
    public static let connectionDownNote = "cloud connection down"

    public let thing: String
    public let retryBackoff: Duration
    public let retryBackoffMax: Duration
    public let inflightMax: Int
    public let heldCountMax: Int
    /// nil: every reading goes as a message of its own.
    public let batching: TelemetryBatching?
    public let acknowledgedFlushCount = 256
    public let acknowledgedFlushDelay = Duration.seconds(300)
    private let outbox: any OutboxStore
    private var sequence: Int64
    private var json = JSONWriter(capacity: 512)
    private let telemetry: Topic
    private let alerts: Topic
    private let health: Topic
    private let deploymentStatus: Topic
    private var connected = true
    /// The uplink's two conditions; its health is the worse of them. The cloud connection:
    /// ok, degraded while unreachable, failed when it refuses the credentials.
    private var cloudCondition = HealthCondition(state: .ok, detail: "cloud connected")
    /// The outbox: ok, degraded while it cannot commit (messages held in memory), failed
    /// once the memory bound makes the uplink drop telemetry.
    private var storageCondition = HealthCondition(state: .ok, detail: "the outbox commits again")
    /// What was last published (ok until something first goes wrong).
    private var reportedHealth = HealthCondition(state: .ok, detail: "cloud connected")
    /// The most messages the outbox held (committed, not yet acknowledged and deleted).
    public private(set) var depthMax = 0
    /// Sent on this connection and not yet acknowledged: cloud message id → the sequences it
    /// carries (looked up, never iterated).
    private var inFlight: [String: [Int64]] = [:]
    /// The sequences inside the batches in `inFlight`, so a drain after a retry skips them.
    private var inFlightBatched: Set<Int64> = []
    /// A drain that sends everything up to the newest message is under way (batching: the
    /// batch timer fired, a batch filled, or the connection came back).
    private var flushing = false
    private var batchScheduled = false
    /// Every outbox message up to this sequence was sent on this connection (or acknowledged).
    private var cursor: Int64
    /// Backlog rows read ahead of the cursor (from `readAheadHead` on), so a drain reads the
    /// outbox 256 rows at a time rather than once per acknowledgement.
    private var readAhead: [OutboxMessage] = []
    private var readAheadHead = 0
    /// `readAhead` holds every outbox message after the cursor, so what is committed next
    /// joins it instead of being read back (a batch is then built from memory). Bounded by
    /// `readAheadCountMax`; past it, the outbox is read again.
    private var readAheadComplete = false
    private let readAheadCountMax = 4_096
    /// Acknowledged and not yet deleted from the outbox.
    private var acknowledged: Set<Int64> = []
    /// Messages the outbox could not commit yet, oldest first.
    private var held: [OutboxMessage] = []
    /// Messages from the cloud refused (wrong topic, oversized, not a JSON object), and
    /// well-formed ones nothing here acts on yet (deployments are the supervisor's).
    public private(set) var inboundRejected = 0
    /// Telemetry dropped from `held` because the outbox stayed unable to commit.
    public private(set) var droppedInMemoryCount = 0
    private var retryScheduled = false
    private var flushScheduled = false
    private var backoff: Duration

    public init(thing: String, outbox: any OutboxStore, batching: TelemetryBatching? = nil, inflightMax: Int = 100,
                heldCountMax: Int = 10_000, retryBackoff: Duration = .seconds(1), retryBackoffMax: Duration = .seconds(60)) {
        precondition(retryBackoff > .zero && retryBackoffMax >= retryBackoff && inflightMax > 0 && heldCountMax > 0)
        self.thing = thing
        self.batching = batching
        self.outbox = outbox
        self.inflightMax = inflightMax
        self.heldCountMax = heldCountMax
        self.retryBackoff = retryBackoff
        self.retryBackoffMax = retryBackoffMax
        backoff = retryBackoff
        sequence = outbox.counters.lastSequence
        // A restart begins with the whole outbox unsent.
        cursor = 0
        telemetry = .cloudTelemetry(thing)
        alerts = .cloudAlerts(thing)
        health = .cloudHealth(thing)
        deploymentStatus = .cloudDeploymentStatus(thing)
    }

    /// Messages handed to the uplink and not yet acknowledged (committed or held in memory).
    /// Whether the cloud connection is up, as the uplink last heard.
    public var isConnected: Bool { connected }

    public var unacknowledgedCount: Int { outbox.counters.depth - acknowledged.count + held.count }

    /// The sequences of the telemetry not yet acknowledged — in the outbox or held in memory
    /// — as ascending ranges. With what the cloud received, it accounts for every reading.
    public func unacknowledgedTelemetry() throws(OutboxError) -> [ClosedRange<Int64>] {
        var ranges: [ClosedRange<Int64>] = []
        func add(_ sequence: Int64) {
            if let last = ranges.last, last.upperBound + 1 == sequence {
                ranges[ranges.count - 1] = last.lowerBound...sequence
            } else {
                ranges.append(sequence...sequence)
            }
        }
        var after: Int64 = 0
        while true {
            let page = try outbox.messages(after: after, limit: 4_096)
            guard let last = page.last else { break }
            for message in page where message.priority == .telemetry && !acknowledged.contains(message.sequence) {
                add(message.sequence)
            }
            after = last.sequence
        }
        for message in held where message.priority == .telemetry { add(message.sequence) }
        return ranges
    }

    public mutating func handle(_ message: BusMessage, now: Instant) -> [Action] {
        let topic: Topic
        let key: String
        let priority: OutboxMessage.Priority
        switch message {
        case .reading: topic = telemetry; key = "readings"; priority = .telemetry
        case .alert: topic = alerts; key = "alert"; priority = .kept
        case .health: topic = health; key = "health"; priority = .kept
        case .deployment: topic = deploymentStatus; key = "deployment"; priority = .kept
        case .inference: return []
        }
        sequence += 1
        let id = MessageID.make(thing: thing, sequence: sequence)
        json.removeAll()
        json.beginObject()
        json.field("message_id", id)
        json.key(key)
        if case .reading = message { json.beginArray() }
        message.write(to: &json)
        if case .reading = message { json.endArray() }
        json.endObject()
        // A copy of exactly the envelope's bytes: `json.bytes` itself would hand the message
        // the writer's whole buffer, which a batch grew to hundreds of kilobytes, and every
        // reading held in the read-ahead would carry (and allocate) that much again.
        let payload = json.bytes.withUnsafeBufferPointer { Array($0) }
        let entry = OutboxMessage(sequence: sequence, messageID: id, topic: topic.name, priority: priority, payload: payload)
        let backlog = cursor < sequence - 1 || !held.isEmpty
        var actions: [Action] = []
        guard commit(entry, now: now, into: &actions) else { return actions }
        if let batching, priority == .telemetry {
            remember(entry)
            if !batchScheduled {
                batchScheduled = true
                actions.append(.schedule(.batch, at: now + batching.interval))
            }
            if !flushing, sequence - cursor >= Int64(batching.countMax) {
                flushing = true
                drain(now: now, into: &actions)
            }
            return actions
        }
        guard connected, !backlog, inFlight.count < inflightMax else {
            remember(entry)
            if connected, priority == .kept { send(entry, into: &actions) }  // never behind a telemetry backlog
            return actions
        }
        cursor = sequence
        send(entry, into: &actions)
        return actions
    }

    /// Keeps a message just committed (after the cursor, unsent) in the read-ahead if that
    /// holds everything after the cursor and has room.
    private mutating func remember(_ entry: OutboxMessage) {
        if readAheadHead == readAhead.count {
            readAhead.removeAll(keepingCapacity: true)
            readAheadHead = 0
        }
        if readAheadComplete, readAhead.count - readAheadHead < readAheadCountMax, held.isEmpty {
            readAhead.append(entry)
        } else {
            readAheadComplete = false
        }
    }

    /// At start: the outbox may hold what an earlier run never got acknowledged; it goes first.
    public mutating func start(now: Instant) -> [Action] {
        // A (re)start reads where it stands from the outbox, not from the value it was made
        // as: after a crash the supervisor restarts the uplink from that value, and the
        // outbox has moved on since.
        sequence = outbox.counters.lastSequence
        cursor = 0
        var actions: [Action] = []
        if outbox.counters.depth > 0 {
            actions.append(.record(.componentError(component: "uplink", error: "outbox holds \(outbox.counters.depth) unacknowledged messages from before; sending them")))
        }
        flushing = true
        drain(now: now, into: &actions)
        return actions
    }

    public mutating func handle(_ completion: CloudCompletion, now: Instant) -> [Action] {
        var actions: [Action] = []
        switch completion {
        case .acknowledged(let id):
            // Only what is in flight: an id unknown here (a duplicate, or a late PUBACK for a
            // send before a reconnect that will be sent again) changes nothing.
            guard let sequences = inFlight.removeValue(forKey: id) else { return [] }
            if !inFlightBatched.isEmpty { for sequence in sequences { inFlightBatched.remove(sequence) } }
            backoff = retryBackoff
            acknowledged.formUnion(sequences)
            if acknowledged.count >= acknowledgedFlushCount {
                flushAcknowledged(now: now, into: &actions)
            } else if !acknowledged.isEmpty, !flushScheduled {
                flushScheduled = true
                actions.append(.schedule(.flushAcknowledged, at: now + acknowledgedFlushDelay))
            }
            drain(now: now, into: &actions)
        case .failed(let id, let reason):
            guard let sequences = inFlight.removeValue(forKey: id) else { return [] }
            if !inFlightBatched.isEmpty { for sequence in sequences { inFlightBatched.remove(sequence) } }
            actions.append(.record(.componentError(component: "uplink", error: "\(id) not delivered: \(reason); will resend")))
            scheduleRetry(now: now, into: &actions)
        case .inbound(let topic, let payload):
            actions.append(.record(.componentError(component: "uplink", error: inbound(topic: topic, payload: payload))))
        case .connection(let up, let reason):
            // A refused credential is a failure someone must fix; an unreachable cloud is
            // degraded service the outbox rides out.
            let health: HealthState = up ? .ok : Self.healthState(forConnectionFailure: reason)
            if health != cloudCondition.state {
                let detail = switch health {
                case .ok: "cloud connected"
                case .degraded: "cloud unreachable (\(reason)); messages kept in the outbox"
                case .failed where Self.isImpostor(reason):
                    "the cloud endpoint's certificate does not verify against the hub's CA: nothing is sent to it (\(reason)); messages kept in the outbox"
                case .failed: "the cloud refuses this hub's credentials (\(reason)); messages kept in the outbox"
                }
                cloudCondition = HealthCondition(state: health, detail: detail)
                reportHealth(now: now, into: &actions)
            }
            guard up != connected else { return actions }
            connected = up
            actions.append(.record(.componentError(component: "uplink", error: "\(up ? Self.connectionUpNote : Self.connectionDownNote): \(reason)")))
            // Anything sent before the drop may not have arrived: the whole outbox goes again.
            inFlight.removeAll()
            inFlightBatched.removeAll()
            rewind()
            if up {
                flushing = true
                drain(now: now, into: &actions)
            }
        }
        return actions
    }

    public mutating func timer(_ timer: UplinkTimer, now: Instant) -> [Action] {
        var actions: [Action] = []
        switch timer {
        case .retry:
            retryScheduled = false
            commitHeld(now: now, into: &actions)
            guard connected else { return actions }
            rewind()  // what failed lies somewhere behind the cursor
            flushing = true
            drain(now: now, into: &actions)
            backoff = min(backoff * 2, retryBackoffMax)
        case .flushAcknowledged:
            flushScheduled = false
            flushAcknowledged(now: now, into: &actions)
        case .batch:
            batchScheduled = false
            flushing = true
            drain(now: now, into: &actions)
        }
        return actions
    }

    // MARK: Outbox

    /// Commits `entry` (after anything held, in order); on failure holds it. True if committed.
    private mutating func commit(_ entry: OutboxMessage, now: Instant, into actions: inout [Action]) -> Bool {
        held.append(entry)
        commitHeld(now: now, into: &actions)
        depthMax = max(depthMax, unacknowledgedCount)
        return held.isEmpty
    }

    private mutating func commitHeld(now: Instant, into actions: inout [Action]) {
        guard !held.isEmpty else { return }
        let wasHolding = held.count > 1
        do throws(OutboxError) {
            let evicted = try outbox.append(held)
            if held.count > 1 || !evicted.isEmpty { rewindReadAhead() }
            held.removeAll(keepingCapacity: true)
            if wasHolding {
                actions.append(.record(.componentError(component: "uplink", error: "outbox commits again")))
            }
            if storageCondition.state != .ok {
                storageCondition = HealthCondition(state: .ok, detail: "the outbox commits again")
                reportHealth(now: now, into: &actions)
            }
            if !evicted.isEmpty {
                let counters = outbox.counters
                actions.append(.record(.componentError(
                    component: "uplink",
                    error: "outbox full: evicted \(evicted.count) (\(evicted[0])\(evicted.count > 1 ? "…" + evicted[evicted.count - 1] : "")); "
                        + "\(counters.evictedTelemetry) telemetry and \(counters.evictedKept) alerts/health evicted in all")))
            }
        } catch {
            readAheadComplete = false  // what is held joins the outbox later, behind the read-ahead's back
            if held.count > heldCountMax, let oldest = held.firstIndex(where: { $0.priority == .telemetry }) ?? held.indices.first {
                let dropped = held.remove(at: oldest)
                droppedInMemoryCount += 1
                actions.append(.record(.componentError(component: "uplink",
                                                       error: "\(error); \(heldCountMax) held in memory: dropped \(dropped.messageID) (\(droppedInMemoryCount) in all)")))
                if storageCondition.state != .failed {
                    storageCondition = HealthCondition(state: .failed, detail: "the outbox cannot commit (\(error)) and \(heldCountMax) messages wait in memory: dropping the oldest telemetry")
                    reportHealth(now: now, into: &actions)
                }
            } else if !wasHolding {
                actions.append(.record(.componentError(component: "uplink", error: "\(error); holding new messages in memory")))
                storageCondition = HealthCondition(state: .degraded, detail: "the outbox cannot commit (\(error)); holding new messages in memory (at most \(heldCountMax))")
                reportHealth(now: now, into: &actions)
            }
            scheduleRetry(now: now, into: &actions)
        }
    }

    /// A message from the cloud on a topic nobody here handles (the node hands deployments
    /// to its deployment agent before components hear of inbound messages): rejected, counted.
    private mutating func inbound(topic: String, payload: [UInt8]) -> String {
        inboundRejected += 1
        return "inbound message on \(String(topic.prefix(100)).debugDescription) (\(payload.count) bytes) rejected: not a topic the hub subscribes to (\(inboundRejected) rejected in all)"
    }

    /// Publishes the worse of the two conditions if it differs from what was last published.
    private mutating func reportHealth(now: Instant, into actions: inout [Action]) {
        // On a tie the outbox speaks: data at risk says more than a connection down.
        let worse = storageCondition.state != .ok && storageCondition.state >= cloudCondition.state ? storageCondition : cloudCondition
        guard worse != reportedHealth else { return }
        reportedHealth = worse
        actions.append(.publishHealth(HealthReport(timestamp: now, component: "uplink", device: nil, state: worse.state, detail: worse.detail)))
    }

    private mutating func flushAcknowledged(now: Instant, into actions: inout [Action]) {
        guard !acknowledged.isEmpty else { return }
        do throws(OutboxError) {
            try outbox.remove(sequences: acknowledged.sorted())  // sorted: a Set's order is not to be relied on
            acknowledged.removeAll(keepingCapacity: true)
        } catch {
            actions.append(.record(.componentError(component: "uplink", error: "\(error); acknowledged messages kept for now")))
            if !flushScheduled {
                flushScheduled = true
                actions.append(.schedule(.flushAcknowledged, at: now + acknowledgedFlushDelay))
            }
        }
    }

    // MARK: Sending

    private mutating func send(_ entry: OutboxMessage, into actions: inout [Action]) {
        inFlight[entry.messageID] = [entry.sequence]
        actions.append(.send(CloudMessage(topic: cloudTopic(entry.topic), messageID: entry.messageID, payload: entry.payload)))
    }

    /// Sends `batch` (telemetry in sequence order) as one compressed cloud message.
    private mutating func send(batch: [OutboxMessage], level: Int32, into actions: inout [Action]) {
        guard let first = batch.first, let last = batch.last else { return }
        let id = TelemetryBatch.batchID(thing: thing, first: first.sequence, last: last.sequence)
        let payload = TelemetryBatch.encode(batchID: id, messages: batch, level: level, json: &json)
        inFlight[id] = batch.map(\.sequence)
        for message in batch { inFlightBatched.insert(message.sequence) }
        actions.append(.sendBatch(CloudMessage(topic: cloudTopic(first.topic), messageID: id, payload: payload),
                                  messageIDs: batch.map(\.messageID)))
    }

    /// The stored topic name as a `Topic`: one of this thing's three, or (an outbox written
    /// under another thing name) validated afresh — it was valid when it was written.
    private func cloudTopic(_ name: String) -> Topic {
        if name == telemetry.name { return telemetry }
        if name == alerts.name { return alerts }
        if name == health.name { return health }
        if name == deploymentStatus.name { return deploymentStatus }
        do { return try Topic(validating: name) } catch { preconditionFailure("the outbox holds an invalid topic \(name): \(error)") }
    }

    /// Sends the outbox's unsent messages in sequence order while the window has room.
    /// Unbatched, every message goes on its own; batched, only while `flushing`, consecutive
    /// telemetry going as batches (a batch ends at its limits, at an alert or health message,
    /// or at the newest message), and the flush ends once everything was sent.
    private mutating func drain(now: Instant, into actions: inout [Action]) {
        if batching != nil, !flushing { return }
        var batch: [OutboxMessage] = []
        var batchBytes = 0
        func sendBatch(_ uplink: inout UplinkComponent) {
            guard !batch.isEmpty, let batching = uplink.batching else { return }
            uplink.send(batch: batch, level: batching.compressionLevel, into: &actions)
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
        }
        while connected, inFlight.count < inflightMax, cursor < sequence {
            if readAheadHead == readAhead.count {
                do throws(OutboxError) {
                    readAhead = try outbox.messages(after: cursor, limit: 256)
                    readAheadHead = 0
                    readAheadComplete = readAhead.count < 256
                } catch {
                    actions.append(.record(.componentError(component: "uplink", error: "\(error); will try again")))
                    scheduleRetry(now: now, into: &actions)
                    sendBatch(&self)
                    return
                }
                guard !readAhead.isEmpty else {
                    cursor = sequence
                    break
                }
            }
            let entry = readAhead[readAheadHead]
            readAheadHead += 1
            cursor = entry.sequence
            if inFlight[entry.messageID] != nil || inFlightBatched.contains(entry.sequence) || acknowledged.contains(entry.sequence) {
                continue
            }
            guard let batching, entry.priority == .telemetry else {
                sendBatch(&self)
                if inFlight.count < inflightMax {
                    send(entry, into: &actions)
                } else {
                    cursor = entry.sequence - 1  // no room left: it goes first next time
                    readAheadHead -= 1
                }
                continue
            }
            if !batch.isEmpty, batchBytes + entry.payload.count > batching.bytesMax {
                sendBatch(&self)
                if inFlight.count >= inflightMax {
                    cursor = entry.sequence - 1  // no room left: it starts the next batch
                    readAheadHead -= 1
                    break
                }
            }
            batch.append(entry)
            batchBytes += entry.payload.count
            if batch.count >= batching.countMax { sendBatch(&self) }
        }
        sendBatch(&self)
        if cursor >= sequence { flushing = false }
    }

    /// Starts the next drain from the oldest message in the outbox.
    private mutating func rewind() {
        cursor = 0
        rewindReadAhead()
    }

    /// Forgets the read-ahead: the next drain reads the outbox again from the cursor.
    private mutating func rewindReadAhead() {
        readAhead.removeAll(keepingCapacity: true)
        readAheadHead = 0
        readAheadComplete = false
    }

    private mutating func scheduleRetry(now: Instant, into actions: inout [Action]) {
        guard !retryScheduled else { return }
        retryScheduled = true
        actions.append(.schedule(.retry, at: now + backoff))
    }
}

extension UplinkComponent: HubComponent {
    public var name: String { "uplink" }
    /// Not while a backlog waits: the cloud away, messages in flight or held in memory, an
    /// alert or status not yet acknowledged. Telemetry waiting only for its next batch is
    /// no backlog — it waits in the durable outbox across a restart as it would anyway.
    public var safePoint: String? {
        if !connected { return "the uplink is not connected to the cloud" }
        if !held.isEmpty { return "the uplink holds \(held.count) message\(held.count == 1 ? "" : "s") its outbox could not commit" }
        if !inFlight.isEmpty { return "the uplink has \(inFlight.count) message\(inFlight.count == 1 ? "" : "s") in flight" }
        let kept = outbox.counters.depthKept
        if kept > 0 { return "the uplink's outbox holds \(kept) alert/health/status message\(kept == 1 ? "" : "s") not yet acknowledged" }
        if !flushing, batchScheduled { return nil }
        let telemetry = outbox.counters.depthTelemetry
        return telemetry == 0 ? nil : "the uplink's outbox holds \(telemetry) reading\(telemetry == 1 ? "" : "s") not yet sent"
    }

    /// What a failed connection says of the uplink's health: a broker that refuses the
    /// hub's credentials, or an endpoint whose certificate does not verify (an impostor, or
    /// a plaintext or foreign-CA server in its place), is a failure someone must act on —
    /// retrying will not mend it; anything else is the network, and the hub waits (degraded).
    public static func healthState(forConnectionFailure reason: String) -> HealthState {
        reason.contains("not authorised") || isImpostor(reason) ? .failed : .degraded
    }

    /// OpenSSL's words (through libmosquitto's log) for a server certificate the CA did not sign.
    static func isImpostor(_ reason: String) -> Bool { reason.contains("certificate verify failed") }

    public var subscriptions: [TopicFilter] { ["dt/local/sensor/+", "hbs/alerts/+", "hbs/health/#", "hbs/deployments/status"] }
    public var publications: [TopicFilter] { ["hbs/health/uplink"] }

    public mutating func handle(_ event: ComponentEvent<UplinkTimer>, now: Instant) -> [ComponentAction<UplinkTimer>] {
        let actions: [Action]
        switch event {
        case .message(_, let message): actions = handle(message, now: now)
        case .timer(let due): actions = timer(due, now: now)
        case .completion(.cloud(let completion)): actions = handle(completion, now: now)
        case .start: actions = start(now: now)
        case .completion, .input, .command: return []
        }
        var mapped: [ComponentAction<UplinkTimer>] = []
        for action in actions {
            switch action {
            case .send(let message):
                mapped.append(.record(.cloudSend(topic: message.topic, messageID: message.messageID)))
                mapped.append(.request(.sendCloud(message)))
            case .sendBatch(let message, let ids):
                mapped.append(.record(.cloudSendBatch(topic: message.topic, batchID: message.messageID, messageIDs: ids)))
                mapped.append(.request(.sendCloud(message)))
            case .schedule(let timer, let at): mapped.append(.schedule(timer, at: at))
            case .record(let event): mapped.append(.record(event))
            case .publishHealth(let report): mapped.append(.publish(.health("uplink"), .health(report)))
            }
        }
        return mapped
    }
}

/// One of the uplink's health conditions: a state and what it means.
struct HealthCondition: Equatable {
    var state: HealthState
    var detail: String
}
