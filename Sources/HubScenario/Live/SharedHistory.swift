import HubCore
import Synchronization

/// A history several threads record into (the stand-in's serving thread, the kits, the
/// cloud's client, the timeline).
///
/// An event log is in time order, but two threads read the clock and then race for the
/// lock: an event is recorded no earlier than the one before it (a few real microseconds
/// moved at most), so the file reads back in order.
final class SharedHistory: HistorySink, @unchecked Sendable {
    // @unchecked Sendable: `history` and `last` are touched only while `lock` is held.
    private let lock = Mutex(())
    private let history: any HistorySink
    private var last = Instant(nanosecondsSinceEpoch: 0)

    init(_ history: any HistorySink) {
        self.history = history
    }

    func record(_ event: HistoryEvent, at time: Instant) {
        lock.withLock { _ in
            last = max(last, time)
            history.record(event, at: last)
        }
    }
}
