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
    private var json = JSONWriter(capacity: 1024)
    /// The first failure writing the log; the run reports it instead of losing lines silently.
    public private(set) var logError: StoreError?

    public init(log: EventLogWriter? = nil) {
        self.log = log
    }

    public func record(_ event: HistoryEvent, at time: Instant) {
        entries.append(Entry(time: time, event: event))
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
