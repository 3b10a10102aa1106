import HubCore
import HubKernel
import Testing

@Suite("Discrete-event queue")
struct EventQueueTests {
    @Test("events pop by deadline, and in scheduling order when deadlines tie")
    func tieBreak() {
        var queue = EventQueue<String>()
        let t = Instant(secondsSinceEpoch: 100)
        queue.push("late", at: t + .seconds(5))
        queue.push("first-at-t", at: t)
        queue.push("second-at-t", at: t)
        queue.push("early", at: t - .seconds(1))
        queue.push("third-at-t", at: t)
        var order: [String] = []
        while let entry = queue.pop() { order.append(entry.payload) }
        #expect(order == ["early", "first-at-t", "second-at-t", "third-at-t", "late"])
    }

    @Test("a large random workload pops in (deadline, sequence) order")
    func heapProperty() {
        var queue = EventQueue<Int>()
        var random = SeededRandom(seed: 4)
        for i in 0..<5_000 {
            queue.push(i, at: Instant(nanosecondsSinceEpoch: Int64(random.nextInt(in: 0...200))))
        }
        var previous: (Instant, UInt64)?
        while let entry = queue.pop() {
            if let (deadline, sequence) = previous {
                #expect(deadline < entry.deadline || (deadline == entry.deadline && sequence < entry.sequence))
            }
            previous = (entry.deadline, entry.sequence)
        }
        #expect(queue.isEmpty)
    }
}
