import HubCore
import Testing

@Suite("Counts per reason")
struct ReasonCountsTests {
    enum Reason: String, CaseIterable, Sendable { case first, second, third }

    @Test("counts each reason in the order its cases are declared, and the total")
    func counts() {
        var counts = ReasonCounts<Reason>()
        #expect(counts.counts == [0, 0, 0] && counts.total == 0)
        #expect(counts.add(.third) == 1)
        #expect(counts.add(.third) == 2)
        counts.add(.first)
        #expect(counts.counts == [1, 0, 2])
        #expect(counts[.second] == 0 && counts[.third] == 2 && counts.total == 3)
        #expect(ReasonCounts<Reason>.index(of: .second) == 1)
    }
}
