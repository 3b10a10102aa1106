/// A set of outbox sequences as ascending, disjoint, non-adjacent ranges, written
/// `"1-300,302,305-400"` (empty: `""`).
///
/// Why ranges: what a hub still holds at the end of a run is mostly one or two runs of
/// consecutive sequences, however many messages they are.
public struct SequenceRanges: Equatable, Sendable, CustomStringConvertible {
    public private(set) var ranges: [ClosedRange<Int64>]

    public init() { ranges = [] }

    /// `ranges` must be ascending and disjoint (adjacent ones are merged).
    public init(_ ranges: [ClosedRange<Int64>]) {
        self.ranges = []
        for range in ranges { append(range) }
    }

    public var count: Int { ranges.reduce(0) { $0 + Int($1.count) } }

    public func contains(_ sequence: Int64) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < sequence { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].contains(sequence)
    }

    private mutating func append(_ range: ClosedRange<Int64>) {
        if let last = ranges.last {
            precondition(range.lowerBound > last.upperBound, "sequence ranges must ascend without overlap")
            if range.lowerBound == last.upperBound + 1 {
                ranges[ranges.count - 1] = last.lowerBound...range.upperBound
                return
            }
        }
        ranges.append(range)
    }

    public var description: String {
        ranges.map { $0.count == 1 ? String($0.lowerBound) : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }

    /// Why a text is not a list of sequence ranges.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let item: String
        public let reason: String
        public var description: String { "\"\(item)\": \(reason) (expected ascending ranges such as 1-300,302)" }
    }

    public init(parsing text: String) throws(ParseError) {
        ranges = []
        guard !text.isEmpty else { return }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int64(bounds[0]), let high = Int64(bounds[bounds.count - 1]),
                  low > 0, low <= high else {
                throw ParseError(item: String(item), reason: "not a positive sequence or an ascending range")
            }
            if let last = ranges.last, low <= last.upperBound + 1 {
                throw ParseError(item: String(item), reason: "does not ascend past the range before it")
            }
            ranges.append(low...high)
        }
    }
}
