import Glibc
import HubCore

/// Reads an event log back, one typed event at a time.
///
/// Streams the file in 1 MiB chunks, so judging a thousand-day log takes no more memory
/// than a day's. Every line must decode (`HistoryEvent.decode(line:)`) and events must not
/// go back in time (but `sim.truth`, stamped with its conversion's instant): the checkers rely on both, and a log that was cut short, edited or
/// written by something else must be refused with the line that is wrong, not half judged.
public enum EventLogReader {
    /// The longest line accepted: far above any event the hub writes (a reading is ~150 bytes).
    public static let lineBytesMax = 1 << 20

    /// Calls `each` with every event of the log at `path`, in file order; returns the count.
    @discardableResult
    public static func read(path: String, each: (HistoryEvent, Instant) -> Void) throws(EventLogReadError) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EventLogReadError(path: path, line: nil, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { _ = close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw EventLogReadError(path: path, line: nil, reason: "is a directory, not an event log")
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var lineNumber = 0
        var count = 0
        var last: Instant?
        func handle(_ line: ArraySlice<UInt8>) throws(EventLogReadError) {
            lineNumber += 1
            guard !line.isEmpty else { throw EventLogReadError(path: path, line: lineNumber, reason: "empty line") }
            let decoded: (event: HistoryEvent, time: Instant)
            do { decoded = try HistoryEvent.decode(line: Array(line)) } catch {
                throw EventLogReadError(path: path, line: lineNumber, reason: error.description)
            }
            // A `sim.truth` line carries its conversion's own instant, which the chip latched
            // lazily before the poll that read it, so only the other events keep time order.
            if case .sensorTruth = decoded.event {
                count += 1
                each(decoded.event, decoded.time)
                return
            }
            if let last, decoded.time < last {
                throw EventLogReadError(path: path, line: lineNumber, reason: "t \(decoded.time) is before the previous event's \(last): events must be in time order")
            }
            last = decoded.time
            count += 1
            each(decoded.event, decoded.time)
        }
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw EventLogReadError(path: path, line: nil, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            pending.append(contentsOf: chunk[0..<got])
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                try handle(pending[start..<newline])
                start = newline + 1
            }
            pending.removeSubrange(..<start)
            if pending.count > lineBytesMax {
                throw EventLogReadError(path: path, line: lineNumber + 1, reason: "line longer than \(lineBytesMax) bytes: not an event log")
            }
        }
        // A last line without its newline is read like any other: if the writer was cut off
        // mid-line, it does not decode and says so.
        if !pending.isEmpty { try handle(pending[...]) }
        return count
    }
}

/// An event log that cannot be read or judged, naming the file, the line and what is wrong.
public struct EventLogReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let line: Int?
    public let reason: String

    public init(path: String, line: Int?, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
}
