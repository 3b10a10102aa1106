import HubCore
import HubKernel
import HubLive
import Testing

@Suite("Completion inbox")
struct CompletionInboxTests {
    let at = Instant(secondsSinceEpoch: 5)

    func acknowledged(_ range: ClosedRange<Int>) -> [PortCompletion] {
        range.map { .cloud(.acknowledged(messageID: "hub-\($0)")) }
    }

    @Test("a batch posted from another thread wakes a waiting loop at once and is taken whole, in order")
    func batchWakesTheLoop() async {
        let inbox = CompletionInbox()
        let batch = acknowledged(1...300)
        await Task.detached { [at] in inbox.complete(contentsOf: batch, at: at) }.value
        #expect(ContinuousClock().measure { inbox.wait(.seconds(5)) } < .seconds(1), "the post woke the wait")
        let taken = inbox.take()
        #expect(taken.map(\.0) == batch)
        #expect(taken.allSatisfy { $0.1 == at })
        #expect(inbox.take().isEmpty, "taken once")
    }

    @Test("single posts and batches keep their posting order; an empty batch wakes nothing")
    func orderAcrossSinglesAndBatches() {
        let inbox = CompletionInbox()
        inbox.complete(.cloud(.acknowledged(messageID: "hub-0")), at: at)
        inbox.complete(contentsOf: acknowledged(1...3), at: at)
        inbox.complete(.cloud(.connection(up: false, reason: "lost")), at: at)
        #expect(inbox.take().map(\.0) == acknowledged(0...3) + [.cloud(.connection(up: false, reason: "lost"))])
        inbox.complete(contentsOf: [], at: at)
        #expect(ContinuousClock().measure { inbox.wait(.milliseconds(200)) } >= .milliseconds(150), "nothing posted: the wait runs out")
        #expect(inbox.take().isEmpty)
    }
}
