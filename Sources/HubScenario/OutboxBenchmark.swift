import Foundation
import HubCore
import HubStore

/// `hubrig bench outbox`: how fast the outbox commits, on a real file (WAL, synchronous
/// FULL) and in memory (the simulator's), one message per transaction and in batches.
///
/// Each case appends `count` telemetry messages of a reading's size (a 180-byte envelope)
/// to a new store, in batches of `batch` per transaction, and then removes them in
/// batches of 256 as the uplink does after acknowledgements. Figures are the median of
/// `runs` runs.
public enum OutboxBenchmark {
    public struct Case: Sendable {
        public let storage: String
        public let batch: Int
        public let count: Int
        public let appendPerSecond: Double
        public let removePerSecond: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(directory: String, runs: Int = 3) throws -> [Case] {
        var cases: [Case] = []
        for (storage, batch, count) in [("file", 1, 2_000), ("file", 100, 200_000), ("file", 1000, 200_000),
                                        ("memory", 1, 200_000), ("memory", 100, 200_000)] {
            var appends: [Double] = []
            var removes: [Double] = []
            for run in 0..<runs {
                let path = storage == "file" ? directory + "/bench-\(batch)-\(run).sqlite" : nil
                defer { if let path { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } } }
                let (append, remove) = try measure(path: path, batch: batch, count: count)
                appends.append(append)
                removes.append(remove)
            }
            cases.append(Case(storage: storage, batch: batch, count: count,
                              appendPerSecond: median(appends), removePerSecond: median(removes)))
        }
        return cases
    }

    static func measure(path: String?, batch: Int, count: Int) throws -> (append: Double, remove: Double) {
        let store = try SQLiteOutboxStore(path: path, limits: OutboxLimits(countMax: count * 2, hardCountMax: count * 2))
        let clock = ContinuousClock()
        let appendStart = clock.now
        try fill(store, count: count, batch: batch)
        let appendTime = clock.now - appendStart
        guard store.counters.depth == count else { throw Failure(description: "\(store.counters.depth) of \(count) committed") }
        let removeStart = clock.now
        var next = 1
        while next <= count {
            try store.remove(sequences: (next..<min(next + 256, count + 1)).map { Int64($0) })
            next += 256
        }
        let removeTime = clock.now - removeStart
        guard store.counters.depth == 0 else { throw Failure(description: "\(store.counters.depth) left after removing all") }
        return (Double(count) / appendTime.secondsValue, Double(count) / removeTime.secondsValue)
    }

    /// Appends `count` telemetry messages of a reading's size, `batch` per transaction.
    static func fill(_ store: SQLiteOutboxStore, count: Int, batch: Int) throws {
        var sequence: Int64 = 0
        var pending: [OutboxMessage] = []
        pending.reserveCapacity(batch)
        while sequence < count {
            pending.removeAll(keepingCapacity: true)
            for _ in 0..<min(batch, count - Int(sequence)) {
                sequence += 1
                pending.append(OutboxMessage(sequence: sequence, messageID: "bench-\(sequence)", topic: "hbs/bench/telemetry",
                                             priority: .telemetry, payload: payload))
            }
            _ = try store.append(pending)
        }
    }

    /// A reading-sized envelope's worth of bytes.
    static let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 180)

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    public static func table(_ cases: [Case]) -> String {
        var lines = ["hubrig bench outbox: telemetry messages of 180 bytes; medians of 3 runs", "",
                     "storage  per_txn  messages  append_msgs_per_s  remove_msgs_per_s (256 per txn)"]
        for c in cases {
            lines.append(c.storage.padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(c.batch).padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(c.count).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(Int(c.appendPerSecond.rounded())).padding(toLength: 19, withPad: " ", startingAt: 0)
                + String(Int(c.removePerSecond.rounded())))
        }
        return lines.joined(separator: "\n")
    }
}

