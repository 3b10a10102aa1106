import Foundation
import HubCore
import HubKernel
import HubStore
import Testing

@Suite("Uplink commits every message to the outbox and keeps it until the cloud acknowledges it")
struct UplinkComponentTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)

    func reading(_ n: Int) -> BusMessage {
        .reading(Reading(timestamp: t0 + .seconds(Int64(n)), device: "hvac", values: ChannelValues([(.temperature, Double(n))])))
    }

    func alert(_ n: Int) -> BusMessage {
        .alert(Alert(timestamp: t0 + .seconds(Int64(n)), device: "hvac", state: .anomalous, previous: .normal, model: "m", score: 2))
    }

    func sent(_ actions: [UplinkComponent.Action]) -> [String] {
        actions.compactMap { if case .send(let m) = $0 { m.messageID } else { nil } }
    }

    func health(_ actions: [UplinkComponent.Action]) -> [HealthReport] {
        actions.compactMap { if case .publishHealth(let report) = $0 { report } else { nil } }
    }

    func errors(_ actions: [UplinkComponent.Action]) -> [String] {
        actions.compactMap { if case .record(.componentError("uplink", let e)) = $0 { e } else { nil } }
    }

    func memoryOutbox(_ limits: OutboxLimits = OutboxLimits()) throws -> SQLiteOutboxStore {
        try SQLiteOutboxStore(path: nil, limits: limits)
    }

    @Test("each message is committed before handle returns, and leaves the outbox only after its acknowledgement")
    func committedUntilAcknowledged() throws {
        let outbox = try memoryOutbox()
        var uplink = UplinkComponent(thing: "hub", outbox: outbox)
        for n in 1...3 {
            #expect(sent(uplink.handle(reading(n), now: t0)) == ["hub-\(n)"])
            #expect(outbox.counters.depth == n, "committed at once")
        }
        let ack = uplink.handle(.acknowledged(messageID: "hub-2"), now: t0)
        #expect(ack.contains(.schedule(.flushAcknowledged, at: t0 + uplink.acknowledgedFlushDelay)))
        _ = uplink.handle(.acknowledged(messageID: "hub-1"), now: t0)
        _ = uplink.handle(.acknowledged(messageID: "hub-1"), now: t0)
        _ = uplink.handle(.acknowledged(messageID: "nobody-9"), now: t0)
        #expect(uplink.unacknowledgedCount == 1)
        #expect(outbox.counters.depth == 3, "deletions wait for the flush")
        #expect(uplink.timer(.flushAcknowledged, now: t0 + uplink.acknowledgedFlushDelay).isEmpty)
        #expect(try outbox.messages(after: 0, limit: 10).map(\.messageID) == ["hub-3"])
        #expect(uplink.unacknowledgedCount == 1)
    }

    @Test("a failed message is sent again with the same id on the retry timer, with backoff doubling to its cap")
    func failureAndResend() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(), retryBackoff: .seconds(1), retryBackoffMax: .seconds(4))
        _ = uplink.handle(reading(1), now: t0)
        _ = uplink.handle(reading(2), now: t0)
        let failed = uplink.handle(.failed(messageID: "hub-1", reason: "PUBACK timeout"), now: t0)
        #expect(failed.contains(.schedule(.retry, at: t0 + .seconds(1))))
        #expect(errors(failed).contains { $0.contains("hub-1 not delivered: PUBACK timeout") })
        #expect(uplink.handle(.failed(messageID: "hub-2", reason: "x"), now: t0).filter {
            if case .schedule = $0 { true } else { false }
        }.isEmpty, "one retry timer at a time")
        #expect(sent(uplink.timer(.retry, now: t0 + .seconds(1))) == ["hub-1", "hub-2"], "same ids, in order")
        var waits: [Duration] = []
        var now = t0 + .seconds(1)
        for _ in 0..<4 {
            let actions = uplink.handle(.failed(messageID: "hub-1", reason: "x"), now: now)
            guard case .schedule(.retry, let at)? = actions.last else { Issue.record("no retry"); return }
            waits.append(at - now)
            now = at
            #expect(sent(uplink.timer(.retry, now: now)) == ["hub-1"])
        }
        #expect(waits == [.seconds(2), .seconds(4), .seconds(4), .seconds(4)])
        _ = uplink.handle(.acknowledged(messageID: "hub-1"), now: now)
        let after = uplink.handle(.failed(messageID: "hub-2", reason: "x"), now: now)
        #expect(after.contains(.schedule(.retry, at: now + .seconds(1))), "an acknowledgement resets the backoff")
        #expect(uplink.handle(.failed(messageID: "hub-1", reason: "late"), now: now).isEmpty, "an acknowledged message never goes again")
    }

    @Test("while the connection is down nothing is sent; when it is back the backlog drains in order, a window at a time")
    func offlineBacklog() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(), inflightMax: 4)
        _ = uplink.handle(.connection(up: false, reason: "broker unreachable"), now: t0)
        for n in 1...10 { #expect(sent(uplink.handle(reading(n), now: t0)).isEmpty, "kept, not sent") }
        #expect(sent(uplink.timer(.retry, now: t0)).isEmpty)
        let up = uplink.handle(.connection(up: true, reason: "reconnected"), now: t0)
        #expect(sent(up) == ["hub-1", "hub-2", "hub-3", "hub-4"], "the window, oldest first")
        var order = sent(up)
        for n in 1...10 { order += sent(uplink.handle(.acknowledged(messageID: "hub-\(n)"), now: t0)) }
        #expect(order == (1...10).map { "hub-\($0)" }, "each acknowledgement lets the next one go, in order")
        #expect(uplink.unacknowledgedCount == 0)
    }

    @Test("a fresh alert goes at once, even behind a telemetry backlog that fills the window")
    func alertsNotStarved() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(), inflightMax: 2)
        _ = uplink.handle(.connection(up: false, reason: "down"), now: t0)
        for n in 1...50 { _ = uplink.handle(reading(n), now: t0) }
        #expect(sent(uplink.handle(.connection(up: true, reason: "up"), now: t0)) == ["hub-1", "hub-2"])
        #expect(sent(uplink.handle(alert(51), now: t0)) == ["hub-51"], "the alert does not wait")
        #expect(sent(uplink.handle(reading(52), now: t0)).isEmpty, "telemetry waits its turn")
        var order: [String] = []
        for n in [1, 2, 51] + Array(3...52) { order += sent(uplink.handle(.acknowledged(messageID: "hub-\(n)"), now: t0)) }
        #expect(order == (3...50).map { "hub-\($0)" } + ["hub-52"], "the backlog skips the alert already sent")
    }

    @Test("after a restart the ids continue and the outbox's leftovers go first, with their ids")
    func restart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        do {
            var uplink = UplinkComponent(thing: "hub", outbox: try SQLiteOutboxStore(path: path))
            for n in 1...3 { _ = uplink.handle(reading(n), now: t0) }
            _ = uplink.handle(.acknowledged(messageID: "hub-1"), now: t0)
            _ = uplink.timer(.flushAcknowledged, now: t0)
            _ = uplink.handle(reading(4), now: t0)
        }  // the process dies here: hub-2..4 were never acknowledged
        var uplink = UplinkComponent(thing: "hub", outbox: try SQLiteOutboxStore(path: path))
        let start = uplink.start(now: t0)
        #expect(sent(start) == ["hub-2", "hub-3", "hub-4"])
        #expect(errors(start) == ["outbox holds 3 unacknowledged messages from before; sending them"])
        #expect(sent(uplink.handle(reading(5), now: t0)) == ["hub-5"], "the sequence continues")
    }

    @Test("a full outbox evicts the oldest telemetry and says so with the ids and the running totals")
    func eviction() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(OutboxLimits(countMax: 3, hardCountMax: 4)))
        _ = uplink.handle(.connection(up: false, reason: "down"), now: t0)
        var reports: [String] = []
        for n in 1...5 { reports += errors(uplink.handle(reading(n), now: t0)) }
        #expect(reports == ["outbox full: evicted 1 (hub-1); 1 telemetry and 0 alerts/health evicted in all",
                            "outbox full: evicted 1 (hub-2); 2 telemetry and 0 alerts/health evicted in all"])
        #expect(sent(uplink.handle(.connection(up: true, reason: "up"), now: t0)) == ["hub-3", "hub-4", "hub-5"])
    }

    @Test("a full disk holds new messages in memory up to a bound, reports it, and commits them in order when space returns")
    func fullDisk() throws {
        let outbox = try memoryOutbox(OutboxLimits(fileBytesMax: 65_536))
        var uplink = UplinkComponent(thing: "hub", outbox: outbox, heldCountMax: 5)
        _ = uplink.handle(.connection(up: false, reason: "down"), now: t0)
        var n = 0
        var reports: [String] = []
        var firstHealth: [HealthReport] = []
        while reports.isEmpty, n < 10_000 {
            n += 1
            let actions = uplink.handle(reading(n), now: t0)
            reports = errors(actions)
            firstHealth = health(actions)
        }
        #expect(firstHealth.map(\.state) == [.degraded] && firstHealth[0].detail.contains("holding new messages in memory (at most 5)"),
                "a full disk is a clear health state: \(firstHealth.map(\.detail))")
        let committed = outbox.counters.depth
        #expect(committed == n - 1 && committed > 10, "the disk filled after \(committed) messages")
        #expect(reports.count == 1 && reports[0].hasPrefix("outbox full: in-memory outbox:") && reports[0].hasSuffix("holding new messages in memory"),
                "\(reports)")
        var healthReports: [HealthReport] = []
        for k in 1...5 {
            let actions = uplink.handle(reading(n + k), now: t0)
            reports = errors(actions)
            healthReports += health(actions)
        }
        #expect(healthReports.map(\.state) == [.failed], "dropping data is a failure: \(healthReports.map(\.detail))")
        #expect(reports.last?.hasSuffix("5 held in memory: dropped hub-\(n) (1 in all)") == true, "\(reports)")
        #expect(uplink.droppedInMemoryCount == 1)
        #expect(uplink.unacknowledgedCount == committed + 5)
        // Space returns: the cloud acknowledges the committed ones, the flush frees their pages.
        _ = uplink.handle(.connection(up: true, reason: "up"), now: t0)
        for k in 1...committed { _ = uplink.handle(.acknowledged(messageID: "hub-\(k)"), now: t0) }
        _ = uplink.timer(.flushAcknowledged, now: t0)
        let retried = uplink.timer(.retry, now: t0 + .seconds(1))
        #expect(errors(retried) == ["outbox commits again"])
        #expect(health(retried).map(\.state) == [.ok], "the storage condition clears: \(health(retried).map(\.detail))")
        #expect(try outbox.messages(after: 0, limit: 100).map(\.messageID) == (n + 1...n + 5).map { "hub-\($0)" })
    }

    @Test("acknowledging in order keeps the outbox and memory flat over a long run")
    func longRun() throws {
        let outbox = try memoryOutbox()
        var uplink = UplinkComponent(thing: "hub", outbox: outbox)
        for n in 1...20_000 {
            _ = uplink.handle(reading(n), now: t0)
            _ = uplink.handle(.acknowledged(messageID: "hub-\(n)"), now: t0)
        }
        #expect(uplink.unacknowledgedCount == 0)
        #expect(outbox.counters.depth < 256, "flushed in batches")
    }

    // MARK: Batching

    func batches(_ actions: [UplinkComponent.Action]) -> [[String]] {
        actions.compactMap { if case .sendBatch(_, let ids) = $0 { ids } else { nil } }
    }

    func batchIDs(_ actions: [UplinkComponent.Action]) -> [String] {
        actions.compactMap { if case .sendBatch(let message, _) = $0 { message.messageID } else { nil } }
    }

    func ids(_ range: ClosedRange<Int>) -> [String] { range.map { "hub-\($0)" } }

    @Test("batched: telemetry waits in the outbox for the batch timer, then goes as one compressed message the cloud can read")
    func batchTimer() throws {
        let outbox = try memoryOutbox()
        var uplink = UplinkComponent(thing: "hub", outbox: outbox, batching: TelemetryBatching(interval: .seconds(300)))
        let first = uplink.handle(reading(1), now: t0)
        #expect(first == [.schedule(.batch, at: t0 + .seconds(300))], "committed, and the batch timer set")
        for n in 2...30 { #expect(uplink.handle(reading(n), now: t0 + .seconds(Int64(n))).isEmpty, "one timer for the batch") }
        #expect(outbox.counters.depth == 30)
        let fired = uplink.timer(.batch, now: t0 + .seconds(300))
        #expect(batches(fired) == [ids(1...30)])
        #expect(batchIDs(fired) == ["hub-batch-1-30"])
        guard case .sendBatch(let message, _)? = fired.first else { Issue.record("no batch"); return }
        #expect(message.topic == .cloudTelemetry("hub"))
        #expect(try TelemetryBatch.decode(message.payload).messages.map { $0["message_id"] } == ids(1...30).map { .string($0) })
        _ = uplink.handle(.acknowledged(messageID: "hub-batch-1-30"), now: t0 + .seconds(301))
        #expect(uplink.unacknowledgedCount == 0, "one acknowledgement for all thirty")
        #expect(uplink.handle(reading(31), now: t0 + .seconds(302)) == [.schedule(.batch, at: t0 + .seconds(602))], "the next batch begins")
    }

    /// The real outbox, keeping a note of every message the uplink hands it.
    final class RecordingOutbox: OutboxStore {
        let store: SQLiteOutboxStore
        var appended: [OutboxMessage] = []
        init(_ store: SQLiteOutboxStore) { self.store = store }
        var counters: OutboxCounters { store.counters }
        func append(_ messages: [OutboxMessage]) throws(OutboxError) -> [String] {
            appended += messages
            return try store.append(messages)
        }
        func remove(sequences: [Int64]) throws(OutboxError) { try store.remove(sequences: sequences) }
        func messages(after sequence: Int64, limit: Int) throws(OutboxError) -> [OutboxMessage] {
            try store.messages(after: sequence, limit: limit)
        }
    }

    @Test("batched: a reading's envelope holds its own bytes, not the buffer a big batch grew")
    func envelopeCapacity() throws {
        let outbox = RecordingOutbox(try memoryOutbox())
        var uplink = UplinkComponent(thing: "hub", outbox: outbox, batching: TelemetryBatching(interval: .seconds(3600)))
        for n in 1...1_000 { _ = uplink.handle(reading(n), now: t0) }
        #expect(batches(uplink.timer(.batch, now: t0 + .seconds(3600))).flatMap { $0 } == ids(1...1_000))
        _ = uplink.handle(reading(1_001), now: t0 + .seconds(3601))
        let after = try #require(outbox.appended.last)
        #expect(after.messageID == "hub-1001")
        // Before the fix each envelope carried the batch writer's buffer (> 100 KiB here).
        #expect(after.payload.capacity < 1_024, "\(after.payload.count) bytes in a buffer of \(after.payload.capacity)")
    }

    @Test("batched: a batch that fills goes before its timer, and batches end at countMax and bytesMax")
    func batchLimits() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(),
                                     batching: TelemetryBatching(interval: .seconds(3600), countMax: 10, bytesMax: 100_000))
        var sentBatches: [[String]] = []
        for n in 1...25 { sentBatches += batches(uplink.handle(reading(n), now: t0)) }
        #expect(sentBatches == [ids(1...10), ids(11...20)])
        #expect(batches(uplink.timer(.batch, now: t0 + .seconds(3600))) == [ids(21...25)])

        let envelopeBytes = 110  // about one reading's envelope
        var small = UplinkComponent(thing: "hub", outbox: try memoryOutbox(),
                                    batching: TelemetryBatching(interval: .seconds(60), countMax: 1_000, bytesMax: 3 * envelopeBytes))
        _ = small.handle(.connection(up: false, reason: "down"), now: t0)
        for n in 1...7 { _ = small.handle(reading(n), now: t0) }
        let drained = batches(small.handle(.connection(up: true, reason: "up"), now: t0))
        #expect(drained.flatMap { $0 } == ids(1...7), "in order, all of them: \(drained)")
        #expect(drained.allSatisfy { $0.count <= 3 } && drained.count >= 3)
    }

    @Test("batched: alerts go at once and the telemetry around them stays one batch; offline, a batch ends at an alert waiting to go")
    func batchedAlerts() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(), batching: TelemetryBatching(interval: .seconds(60)))
        for n in 1...3 { _ = uplink.handle(reading(n), now: t0) }
        #expect(sent(uplink.handle(alert(4), now: t0)) == ["hub-4"], "at once")
        for n in 5...6 { _ = uplink.handle(reading(n), now: t0) }
        let fired = uplink.timer(.batch, now: t0 + .seconds(60))
        #expect(batches(fired) == [ids(1...3) + ids(5...6)] && sent(fired).isEmpty, "the alert is not sent twice")

        var offline = UplinkComponent(thing: "hub", outbox: try memoryOutbox(), batching: TelemetryBatching(interval: .seconds(60)))
        _ = offline.handle(.connection(up: false, reason: "down"), now: t0)
        for n in 1...3 { _ = offline.handle(reading(n), now: t0) }
        #expect(sent(offline.handle(alert(4), now: t0)).isEmpty, "offline: kept")
        for n in 5...6 { _ = offline.handle(reading(n), now: t0) }
        let up = offline.handle(.connection(up: true, reason: "up"), now: t0)
        #expect(up.compactMap { action -> String? in
            switch action {
            case .send(let message): message.messageID
            case .sendBatch(let message, _): message.messageID
            default: nil
            }
        } == ["hub-batch-1-3", "hub-4", "hub-batch-5-6"], "the reconnect sends the backlog at once, in order")
    }

    @Test("batched: a failed batch goes again whole with its messages' ids; batches still in flight are not sent twice")
    func batchRetry() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox(),
                                     batching: TelemetryBatching(interval: .seconds(60), countMax: 5))
        var all: [[String]] = []
        for n in 1...10 { all += batches(uplink.handle(reading(n), now: t0)) }
        #expect(all == [ids(1...5), ids(6...10)])
        let failed = uplink.handle(.failed(messageID: "hub-batch-1-5", reason: "PUBACK timeout"), now: t0)
        #expect(failed.contains(.schedule(.retry, at: t0 + .seconds(1))))
        #expect(batches(uplink.timer(.retry, now: t0 + .seconds(1))) == [ids(1...5)], "hub-6…10 are still in flight")
        _ = uplink.handle(.acknowledged(messageID: "hub-batch-6-10"), now: t0)
        _ = uplink.handle(.acknowledged(messageID: "hub-batch-1-5"), now: t0)
        #expect(uplink.unacknowledgedCount == 0)
        #expect(try uplink.unacknowledgedTelemetry().isEmpty)
    }

    @Test("batched: after a crash the outbox's telemetry goes first as batches with the same message ids")
    func batchRestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        let batching = TelemetryBatching(interval: .seconds(60))
        do {
            var uplink = UplinkComponent(thing: "hub", outbox: try SQLiteOutboxStore(path: path), batching: batching)
            for n in 1...4 { _ = uplink.handle(reading(n), now: t0) }
            #expect(batches(uplink.timer(.batch, now: t0 + .seconds(60))) == [ids(1...4)])
            for n in 5...6 { _ = uplink.handle(reading(n), now: t0) }
            #expect(try uplink.unacknowledgedTelemetry() == [1...6])
        }  // dies before any acknowledgement
        var uplink = UplinkComponent(thing: "hub", outbox: try SQLiteOutboxStore(path: path), batching: batching)
        #expect(batches(uplink.start(now: t0)) == [ids(1...6)])
    }

    @Test("a message from the cloud on a topic the uplink does not handle is rejected and counted")
    func inbound() throws {
        var uplink = UplinkComponent(thing: "hub", outbox: try memoryOutbox())
        func said(_ topic: String, _ payload: [UInt8]) -> String {
            errors(uplink.handle(.inbound(topic: topic, payload: payload), now: t0)).joined()
        }
        #expect(said("hbs/other/deployments", Array("{}".utf8)).contains("rejected: not a topic the hub subscribes to (1 rejected in all)"))
        #expect(said(String(repeating: "x", count: 300), [0xFF]).contains("(1 bytes) rejected"))
        #expect(uplink.inboundRejected == 2)
    }
}
