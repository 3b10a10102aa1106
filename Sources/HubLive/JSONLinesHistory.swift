import Glibc
import HubCore
import HubStore

/// The live hub's history: each event written as one JSON line the moment it happens.
///
/// Unlike the simulator's recorder it keeps nothing in memory (a hub runs for months) and
/// flushes every line, so `tail -f` and a crash both see everything up to the last event.
/// A write failure is reported once on standard error and counted, never thrown into the hub.
public final class JSONLinesHistory: HistorySink {
    private let writer: EventLogWriter
    public private(set) var writeFailures = 0

    public init(path: String) throws(StoreError) {
        writer = try EventLogWriter(path: path, flushThreshold: 0)
    }

    public func record(_ event: HistoryEvent, at time: Instant) {
        do {
            try writer.append(event, at: time)
        } catch {
            if writeFailures == 0 { FileDescriptorOutput.standardError("history: \(error)") }
            writeFailures += 1
        }
    }
}

/// Writing diagnostics without Foundation's FileHandle.
enum FileDescriptorOutput {
    static func standardError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
