import HubCore

/// How many messages the hub's outbox holds, followed through a run's history: messages
/// handed to the uplink (readings, alerts, health and deployment status on the bus, less
/// those the bus dropped before the uplink took them) minus those the cloud received,
/// each sequence counted once.
///
/// Why derived: the history records no outbox depth, only its peak at the end (`sim.end`,
/// which the `outbox-depth-max` expectation judges), and the event log must stay as it is.
/// The cloud's receipt stands in for the acknowledgement that removes a message (it comes
/// a round trip later), so the derived depth can be a little lower than the hub's own
/// count; evictions (a full outbox) are not in the history and are not subtracted. The
/// report draws the series and shows the hub's own peak beside it.
final class OutboxDepth {
    private(set) var depth = 0
    private var entered = 0
    private var delivered = DeliveredSequences()

    /// Sees one event; true when the depth changed.
    func observe(_ event: HistoryEvent) -> Bool {
        switch event {
        case .busPublish(_, _, let message):
            if case .inference = message { return false }
            entered += 1
        case .busDropped(let subscriber, _) where subscriber == "uplink":
            entered -= 1
        case .cloudReceive(_, let id):
            guard let sequence = MessageID.sequence(of: id), delivered.insert(sequence) else { return false }
        case .cloudReceiveBatch(_, _, let ids):
            var any = false
            for id in ids {
                if let sequence = MessageID.sequence(of: id), delivered.insert(sequence) { any = true }
            }
            guard any else { return false }
        default:
            return false
        }
        let now = max(0, entered - delivered.count)
        let changed = now != depth
        depth = now
        return changed
    }
}

/// The outbox sequences the cloud has received, each counted once however often it came.
///
/// Why a watermark and a set: messages arrive mostly in sequence order, so everything up to
/// the watermark is one number and only early arrivals (an alert overtaking a telemetry
/// backlog) wait in the set. A sequence that never arrives would hold the watermark back
/// for good; past `pendingMax` waiting the watermark jumps to the lowest of them, so memory
/// stays bounded and at worst a late duplicate is counted twice.
struct DeliveredSequences {
    static let pendingMax = 65_536
    private(set) var count = 0
    private var watermark: Int64 = 0
    private var pending: Set<Int64> = []

    /// Adds `sequence`; false when it was received before.
    mutating func insert(_ sequence: Int64) -> Bool {
        guard sequence > watermark, pending.insert(sequence).inserted else { return false }
        count += 1
        advance()
        if pending.count > Self.pendingMax, let lowest = pending.min() {
            watermark = lowest - 1
            advance()
        }
        return true
    }

    private mutating func advance() {
        while pending.remove(watermark + 1) != nil { watermark += 1 }
    }
}
