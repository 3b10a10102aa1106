import HubCore

/// Accounts for every message a component over IPC published: each reached the bus, is
/// still held by its client at the end of the run, or was dropped and counted — so a
/// publish cannot vanish between a component's process and the hub unseen, and the client's
/// drop counter is neither short nor long.
///
/// The component's side comes from its `ipc.client` report at the end of the run
/// (published, dropped, held); the bus's side from `bus.publish` events. Delivery is at
/// least once (an acknowledgement lost with a connection makes the client send again), so a
/// repeat of one of the component's recent publishes counts once: a resend can only repeat
/// one of the publishes that were on the wire unacknowledged (`IPCClient.windowCountMax`),
/// so the last `recentCountMax` distinct publishes are all a repeat is compared with.
/// Publishes held at the end may already be on the bus (sent, acknowledgement on its way),
/// so the bus may hold up to `held` of them twice over; with nothing held the account is exact.
final class IPCAccounting {
    let component: String
    private var recent: [BusMessage] = []
    /// Each recent message's timestamp: compared first, so a whole message is compared only
    /// with those of its instant (a component publishes every poll; 256 full compares of
    /// every publish were a third of the ipc-loss scenario's time).
    private var recentStamps: [Int64] = []
    private var recentHead = 0
    private(set) var distinct = 0
    private(set) var repeats = 0
    private(set) var report: (published: Int, dropped: Int, held: Int)?

    /// At least `IPCClient`'s default window, with room to spare.
    static let recentCountMax = 256

    init(component: String) { self.component = component }

    func observe(_ event: HistoryEvent) {
        switch event {
        case .busPublish(_, let from, let message) where from == component:
            let stamp = Self.stamp(message)
            if recentStamps.indices.contains(where: { recentStamps[$0] == stamp && recent[$0] == message }) {
                repeats += 1
                return
            }
            distinct += 1
            if recent.count < Self.recentCountMax {
                recent.append(message)
                recentStamps.append(stamp)
            } else {
                recent[recentHead] = message
                recentStamps[recentHead] = stamp
                recentHead = (recentHead + 1) % Self.recentCountMax
            }
        case .ipcClient(let name, let published, let dropped, let held) where name == component:
            report = (published, dropped, held)
        default:
            break
        }
    }

    /// The message's timestamp in nanoseconds (a deployment status has none: 0, compared in full).
    private static func stamp(_ message: BusMessage) -> Int64 {
        switch message {
        case .reading(let reading): reading.timestamp.nanosecondsSinceEpoch
        case .inference(let result): result.timestamp.nanosecondsSinceEpoch
        case .alert(let alert): alert.timestamp.nanosecondsSinceEpoch
        case .health(let report): report.timestamp.nanosecondsSinceEpoch
        case .deployment: 0
        }
    }

    /// Whether every publish is accounted for, and the figures that say so.
    func verdict() -> (passed: Bool, evidence: String) {
        guard let report else { return (false, "\(component): no ipc.client report in the history, so its publishes cannot be accounted for") }
        let figures = "\(component) published \(report.published) over IPC: \(distinct) reached the bus (\(repeats) repeats not counted), "
            + "\(report.dropped) dropped and counted, \(report.held) held at the end"
        let accounted = distinct + report.dropped
        if accounted > report.published {
            return (false, "\(figures): \(accounted - report.published) more than it published (a drop counted that was not lost)")
        }
        if accounted + report.held < report.published {
            return (false, "\(figures): \(report.published - accounted - report.held) publishes lost without being counted")
        }
        return (true, figures)
    }
}

/// `ipc-dropped`: the component's IPC client dropped between `min` and `max` publishes, and
/// every publish is accounted for (`IPCAccounting`), so the counter is the real loss.
final class IPCDroppedChecker: HistoryChecker {
    private let accounting: IPCAccounting
    private let range: ClosedRange<Int>

    init(component: String, range: ClosedRange<Int>) {
        accounting = IPCAccounting(component: component)
        self.range = range
    }

    func observe(_ event: HistoryEvent, at time: Instant) { accounting.observe(event) }

    func verdict() -> (passed: Bool, evidence: String) {
        let (accounted, figures) = accounting.verdict()
        guard accounted, let report = accounting.report else { return (false, figures) }
        guard range.contains(report.dropped) else {
            return (false, "\(figures); dropped \(report.dropped), expected \(range.lowerBound)…\(range.upperBound == Int.max ? "∞" : String(range.upperBound))")
        }
        return (true, figures)
    }
}
