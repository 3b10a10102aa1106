/// Counts per reason of an enum, kept in the order its cases are declared.
///
/// Why not a dictionary: a report of these counts must come out in one order every run
/// (determinism), and a fixed array costs no hashing on a path that counts every message
/// a hostile home network sends.
public struct ReasonCounts<Reason: CaseIterable & Equatable & Sendable>: Equatable, Sendable {
    /// The counts, in `Reason.allCases` order.
    public private(set) var counts: [Int]

    public init() {
        counts = Array(repeating: 0, count: Reason.allCases.count)
    }

    public subscript(reason: Reason) -> Int { counts[Self.index(of: reason)] }

    /// Counts one more `reason`; returns its count now.
    @discardableResult
    public mutating func add(_ reason: Reason) -> Int {
        let index = Self.index(of: reason)
        counts[index] += 1
        return counts[index]
    }

    public var total: Int { counts.reduce(0, +) }

    /// `reason`'s place among the cases (every case is among them).
    public static func index(of reason: Reason) -> Int {
        Reason.allCases.distance(from: Reason.allCases.startIndex, to: Reason.allCases.firstIndex(of: reason)!)
    }
}
