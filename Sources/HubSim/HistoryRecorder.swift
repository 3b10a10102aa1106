import HubCore
import HubStore

/// Keeps the typed history for the checkers and, optionally, streams it as JSON lines.
///
/// One instance per simulation. Encoding happens here, once per event, with a reused
/// writer; the file gets exactly the bytes the byte-identity tests compare.
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
    private var json = JSONWriter(capacity: 1024)
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
        json.removeAll()
        event.write(at: time, to: &json)
        do { try log.append(line: json.bytes) } catch { logError = error }
    }

    public func finish() throws(StoreError) {
        if let logError { throw logError }
        try log?.close()
    }
}
