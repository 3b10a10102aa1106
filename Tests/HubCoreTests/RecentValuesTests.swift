import HubCore
import Testing

@Suite("Recent values")
struct RecentValuesTests {
    @Test("the newest is the last appended; the oldest appears once the ring is full and walks with it")
    func newestAndOldest() {
        var ring = RecentValues(capacity: 3)
        #expect(ring.newest == nil && ring.oldest == nil && ring.count == 0)
        ring.append(1)
        ring.append(2)
        #expect(ring.newest == 2 && ring.oldest == nil && !ring.isFull)
        ring.append(3)
        #expect(ring.oldest == 1 && ring.isFull)
        for value in 4...10 {
            ring.append(Double(value))
            #expect(ring.newest == Double(value) && ring.oldest == Double(value - 2) && ring.count == 3)
        }
    }

    @Test("after removeAll the ring refills before it has an oldest")
    func removeAll() {
        var ring = RecentValues(capacity: 2)
        ring.append(1)
        ring.append(2)
        ring.removeAll()
        #expect(ring.newest == nil && ring.oldest == nil)
        ring.append(5)
        #expect(ring.newest == 5 && ring.oldest == nil)
        ring.append(6)
        #expect(ring.oldest == 5)
    }

    @Test("held lists the values oldest first, while filling, once wrapped and after removeAll")
    func heldInOrder() {
        var ring = RecentValues(capacity: 3)
        #expect(ring.held == [])
        ring.append(1)
        ring.append(2)
        #expect(ring.held == [1, 2])
        for value in 3...5 { ring.append(Double(value)) }
        #expect(ring.held == [3, 4, 5])
        ring.removeAll()
        ring.append(8)
        #expect(ring.held == [8])
        ring.append(9)
        ring.append(10)
        ring.append(11)
        #expect(ring.held == [9, 10, 11])
    }

    @Test("a ring of one holds only the newest, which is also the oldest")
    func capacityOne() {
        var ring = RecentValues(capacity: 1)
        ring.append(7)
        #expect(ring.newest == 7 && ring.oldest == 7)
    }
}
