import HubCore

/// A min-heap of pending simulation events ordered by `(deadline, sequence)`.
///
/// The sequence number is the insertion count, so two events due at the same instant run
/// in the order they were scheduled — the tie-break that makes a run reproducible.
///
/// `@inlinable` throughout: the simulator's loop pushes and pops millions of events, and
/// an unspecialised generic heap would look up its element's metadata on every one.
public struct EventQueue<Payload> {
    public struct Entry {
        public let deadline: Instant
        public let sequence: UInt64
        public let payload: Payload

        @inlinable
        init(deadline: Instant, sequence: UInt64, payload: Payload) {
            self.deadline = deadline
            self.sequence = sequence
            self.payload = payload
        }
    }

    /// What the heap orders: the deadline, the tie-break and where the payload waits.
    /// Plain values, so sifting moves no payload (an event with a reference or an
    /// existential inside would be retained and released on every swap and comparison).
    @usableFromInline
    struct Key {
        @usableFromInline let deadline: Instant
        @usableFromInline let sequence: UInt64
        @usableFromInline let slot: Int

        @inlinable
        init(deadline: Instant, sequence: UInt64, slot: Int) {
            self.deadline = deadline
            self.sequence = sequence
            self.slot = slot
        }

        @inlinable
        func precedes(_ other: Key) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    @usableFromInline var heap: [Key] = []
    /// Payloads by slot; a popped event's slot is reused (`freeSlots`), so the array stays
    /// as large as the most events ever pending at once.
    @usableFromInline var payloads: [Payload?] = []
    @usableFromInline var freeSlots: [Int] = []
    @usableFromInline var nextSequence: UInt64 = 0

    @inlinable public init() {}

    @inlinable public var count: Int { heap.count }
    @inlinable public var isEmpty: Bool { heap.isEmpty }
    @inlinable public var nextDeadline: Instant? { heap.first?.deadline }

    @inlinable
    public mutating func push(_ payload: Payload, at deadline: Instant) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            payloads[slot] = payload
        } else {
            slot = payloads.count
            payloads.append(payload)
        }
        heap.append(Key(deadline: deadline, sequence: nextSequence, slot: slot))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable
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
        guard let payload = payloads[top.slot].take() else { preconditionFailure("a queued event without its payload") }
        freeSlots.append(top.slot)
        return Entry(deadline: top.deadline, sequence: top.sequence, payload: payload)
    }
}
