import HubCore
import HubStore

/// Keeps the typed history for the checkers and, optionally, streams it as JSON lines.
///
/// One instance per simulation. The log's writer renders each event once (the same
/// rendering as the live hub's history); the file gets exactly the bytes the
/// byte-identity tests compare.
public final class HistoryRecorder: HistorySink {
    public struct Entry: Sendable {
        public let time: Instant
        public let event: HistoryEvent
    }

    public private(set) var entries: [Entry] = []
    private let log: EventLogWriter?
    /// False for runs too long to keep (an exported month, an evaluation): events then
    /// only reach the log and the observer.
    private let keepsEntries: Bool
    /// Sees every event as it is recorded (streaming exports and evaluations).
    private let observer: ((HistoryEvent, Instant) -> Void)?
    /// The first failure writing the log; the run reports it instead of losing lines silently.
    public private(set) var logError: StoreError?

    public init(log: EventLogWriter? = nil, keepsEntries: Bool = true, observer: ((HistoryEvent, Instant) -> Void)? = nil) {
        self.log = log
        self.keepsEntries = keepsEntries
        self.observer = observer
    }

    public func record(_ event: HistoryEvent, at time: Instant) {
        if keepsEntries { entries.append(Entry(time: time, event: event)) }
        observer?(event, time)
        guard let log, logError == nil else { return }
        do { try log.append(event, at: time) } catch { logError = error }
    }

    public func finish() throws(StoreError) {
        if let logError { throw logError }
        try log?.close()
    }
}
