import HubCore

/// A min-heap of pending simulation events ordered by `(deadline, sequence)`.
///
/// The sequence number is the insertion count, so two events due at the same instant run
/// in the order they were scheduled — the tie-break that makes a run reproducible.
public struct EventQueue<Payload> {
    public struct Entry {
        public let deadline: Instant
        public let sequence: UInt64
        public let payload: Payload

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    public var nextDeadline: Instant? { heap.first?.deadline }

    public mutating func push(_ payload: Payload, at deadline: Instant) {
        heap.append(Entry(deadline: deadline, sequence: nextSequence, payload: payload))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    public mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var first = parent
            if left < heap.count, heap[left].precedes(heap[first]) { first = left }
            if right < heap.count, heap[right].precedes(heap[first]) { first = right }
            if first == parent { break }
            heap.swapAt(parent, first)
            parent = first
        }
        return top
    }
}
