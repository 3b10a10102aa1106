import Dispatch
import Foundation

/// Runs independent jobs on the machine's cores and returns their results in input order.
///
/// Why not a task group: simulations are synchronous CPU work; `concurrentPerform` runs
/// them on a fixed set of threads without an async hop per job. The result order never
/// depends on which worker finished first, so reports built from it are deterministic.
public enum ParallelMap {
    /// `transform(index)` for every index in `0..<count`, at most `workers` at a time.
    public static func run<Result: Sendable>(count: Int, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                                             _ transform: @Sendable (Int) -> Result) -> [Result] {
        precondition(count >= 0 && workers >= 1)
        let slots = Slots<Result>(count: count)
        // One lane per worker, each taking the next job when it is free, so a long job on
        // one lane does not leave the others idle.
        DispatchQueue.concurrentPerform(iterations: min(workers, max(count, 1))) { _ in
            while let index = slots.claim() { slots.set(index, transform(index)) }
        }
        return slots.values
    }
}

/// Result slots written by concurrent workers.
final class Slots<Value: Sendable>: @unchecked Sendable {
    // Safe: each worker writes distinct indices under the lock, and `values` is read only
    // after every worker has returned.
    private var slots: [Value?]
    private var nextIndex = 0
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    /// The next job nobody has taken, if any.
    func claim() -> Int? {
        lock.withLock {
            guard nextIndex < slots.count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    func set(_ index: Int, _ value: Value) { lock.withLock { slots[index] = value } }

    var values: [Value] {
        lock.withLock {
            slots.map { value in
                guard let value else { preconditionFailure("a parallel job left no result") }
                return value
            }
        }
    }
}
