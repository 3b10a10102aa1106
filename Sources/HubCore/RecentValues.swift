/// The last `capacity` values of a series, in a fixed ring.
///
/// The fridge's watches compare the air now with the air a set number of samples ago and
/// with the sample before, the washer's sway watch takes a level over its last tumbling
/// readings; a ring answers them without shifting an array on every poll.
public struct RecentValues: Sendable {
    private var values: [Double]
    private var next = 0
    public private(set) var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a ring holds at least one value")
        values = Array(repeating: 0, count: capacity)
    }

    public var capacity: Int { values.count }
    public var isFull: Bool { count == values.count }

    /// The value appended last, if any.
    public var newest: Double? { count > 0 ? values[(next + values.count - 1) % values.count] : nil }

    /// Once full, the value `capacity - 1` appends before the newest; nil until then.
    public var oldest: Double? { isFull ? values[next] : nil }

    /// The values held, oldest first.
    public var held: [Double] {
        let capacity = values.count
        return (0..<count).map { values[(next - count + $0 + capacity) % capacity] }
    }

    public mutating func append(_ value: Double) {
        values[next] = value
        next = (next + 1) % values.count
        count = min(count + 1, values.count)
    }

    /// Forgets every value (a gap in the series).
    public mutating func removeAll() { count = 0 }
}
