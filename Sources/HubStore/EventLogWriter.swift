import Glibc
import HubCore

/// Appends JSON lines to a file through a large buffer.
///
/// The simulator writes hundreds of thousands of lines per simulated day; one `write(2)`
/// per line would dominate the run, so lines collect in memory and go out in 256 KiB
/// chunks. `close()` (or deinit) flushes the rest; a failed write is reported, never dropped.
public final class EventLogWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let flushThreshold: Int
    public private(set) var linesWritten = 0
    /// Reused for every history event, so rendering one allocates nothing.
    private var json = JSONWriter(capacity: 1024)

    /// `flushThreshold` 0 writes every line at once (a live hub's log, read with `tail -f`).
    public init(path: String, flushThreshold: Int = 256 * 1024) throws(StoreError) {
        self.path = path
        self.flushThreshold = flushThreshold
        let fd = path == "/dev/stdout" ? dup(1) : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", errno: errno) }
        self.fd = fd
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    /// Appends one line; `line` must not contain a newline.
    public func append(line: [UInt8]) throws(StoreError) {
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
        linesWritten += 1
        if buffer.count >= flushThreshold { try flush() }
    }

    /// Appends `event` at `time` as one line in the history's JSON form.
    ///
    /// The one place a history event becomes a line: the simulator's log and the live
    /// hub's history both come through here, so `EventLogReader` and the checkers read
    /// either the same way and the simulator's byte-identity holds for whichever writes.
    public func append(_ event: HistoryEvent, at time: Instant) throws(StoreError) {
        json.removeAll()
        event.write(at: time, to: &json)
        try append(line: json.bytes)
    }

    public func flush() throws(StoreError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { raw in
                write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, operation: "write", errno: errno)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    public func close() throws(StoreError) {
        try flush()
        _ = Glibc.close(fd)
        closed = true
    }

    private var closed = false

    deinit {
        if !closed {
            try? flush()
            _ = Glibc.close(fd)
        }
    }
}

/// A durable-store failure, naming the file and the operation.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .io(let path, let operation, let errno):
            "\(path): \(operation) failed: \(String(cString: strerror(errno)))"
        }
    }
}
