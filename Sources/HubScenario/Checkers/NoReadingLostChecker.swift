import HubCore

/// Proves every reading published on the bus reached the cloud — at least once, first
/// arrivals in the order sent — or is still in the hub's outbox at the end of the run; and
/// that there were readings to lose: "0 of 0" proves nothing, so a run without readings
/// fails. Readings of a component over IPC must first reach the bus: its publishes are
/// accounted for (`IPCAccounting`) and none may have been dropped by its client.
///
/// Delivery is at least once: a message whose acknowledgement was lost goes again, and
/// the cloud de-duplicates on its id, so duplicates are counted and allowed. Message ids
/// end in the hub's sequence, which rises in sending order; that makes de-duplication
/// streaming: sent messages not yet received wait in a queue, so memory follows what is
/// in flight, not the length of the run.
final class NoReadingLostChecker: HistoryChecker {
    private var readings = 0
    private var sentUnique = 0
    private var highestSent: Int64 = 0
    private var received = 0
    private var duplicates = 0
    private var outOfOrder = 0
    private var unknown = 0
    /// Sent, not yet received, in sending order (from `head` on).
    private var awaiting: [(id: String, sequence: Int64)] = []
    private var head = 0
    private var outboxAtEnd: SequenceRanges?
    private var firstViolation: String?
    private let ipc: [IPCAccounting]

    init(ipcComponents: [String] = []) {
        ipc = ipcComponents.map(IPCAccounting.init(component:))
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        for accounting in ipc { accounting.observe(event) }
        switch event {
        case .busPublish(_, _, .reading):
            readings += 1
        case .cloudSend(let topic, let id) where topic.name.hasSuffix("/telemetry"):
            sent(id)
        case .cloudSendBatch(let topic, _, let ids) where topic.name.hasSuffix("/telemetry"):
            for id in ids { sent(id) }
        case .cloudReceive(let topic, let id) where topic.name.hasSuffix("/telemetry"):
            receive(id)
        case .cloudReceiveBatch(let topic, _, let ids) where topic.name.hasSuffix("/telemetry"):
            for id in ids { receive(id) }
        case .simulationEnd(let end):
            outboxAtEnd = end.outboxTelemetry
        default:
            break
        }
    }

    private func sent(_ id: String) {
        guard let sequence = MessageID.sequence(of: id) else {
            if firstViolation == nil { firstViolation = "telemetry id \(id) does not end in a sequence" }
            return
        }
        guard sequence > highestSent else { return }  // sent again: already awaited or received
        highestSent = sequence
        sentUnique += 1
        awaiting.append((id, sequence))
    }

    private func receive(_ id: String) {
        if head < awaiting.count, awaiting[head].id == id {
            head += 1
            received += 1
            if head > 1024, head * 2 > awaiting.count {
                awaiting.removeFirst(head)
                head = 0
            }
            return
        }
        guard let sequence = MessageID.sequence(of: id), sequence <= highestSent else {
            unknown += 1
            if firstViolation == nil { firstViolation = "the cloud received \(id), which the hub never sent" }
            return
        }
        if let index = awaiting[head...].firstIndex(where: { $0.sequence == sequence }) {
            // Overtook messages sent before it: a reordering, still a delivery.
            awaiting.remove(at: index)
            received += 1
            outOfOrder += 1
            if firstViolation == nil {
                firstViolation = "telemetry \(id) arrived before \(awaiting[head].id), which was sent earlier"
            }
        } else {
            duplicates += 1
        }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        if readings == 0 { return (false, "no readings were published, so none could be lost: nothing to check") }
        let outbox = outboxAtEnd ?? SequenceRanges()
        let missing = awaiting[head...].filter { !outbox.contains($0.sequence) }
        let unsent = outbox.ranges.reduce(0) { total, range in
            total + Int(max(0, range.upperBound - max(range.lowerBound - 1, highestSent)))
        }
        let counts = "\(received) of \(readings) readings received by the cloud, \(duplicates) duplicates, "
            + "\(awaiting.count - head) sent and still in the outbox, \(unsent) never sent yet"
        if let first = missing.first {
            return (false, "\(counts); \(missing.count) sent, never received and gone from the outbox (first: \(first.id))")
        }
        if sentUnique + unsent != readings {
            return (false, "\(counts): \(readings - sentUnique - unsent) readings unaccounted for")
        }
        if let firstViolation { return (false, "\(counts); \(firstViolation)") }
        var overIPC = ""
        for accounting in ipc {
            let (accounted, figures) = accounting.verdict()
            if !accounted { return (false, "\(counts); \(figures)") }
            if let report = accounting.report, report.dropped > 0 {
                return (false, "\(counts); \(figures): dropped before reaching the bus")
            }
            overIPC += "; \(figures)"
        }
        return (true, "\(counts); in order\(overIPC)")
    }
}
