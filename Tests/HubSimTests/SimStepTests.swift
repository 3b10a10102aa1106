import Foundation
import HubCore
import HubKernel
import HubSim
import HubStore
import Testing

@Suite("A simulation run in steps")
struct SimulationStepTests {
    @Test("advancing in epochs handles the same events in the same order as one run to the end")
    func steppedEqualsWhole() throws {
        let setup = SimulationTests.setup(seed: 11, hours: 2, faults: [ScheduledFault(at: .seconds(1800), duration: .seconds(600), fault: .cloud(.offline))])
        let whole = try SimulationTests.eventLog(setup)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sim-step-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let simulation = Simulation(setup: setup, eventLog: try EventLogWriter(path: path))
        simulation.boot()
        // Uneven steps, one landing exactly on the fault's start and one beyond the end.
        for seconds: Int64 in [7, 60, 1800, 1801, 3333, 7200, 9000] {
            simulation.advance(until: setup.start + .seconds(seconds))
            #expect(simulation.scheduler.now == min(setup.start + .seconds(seconds), simulation.end))
        }
        simulation.finish()
        try simulation.history.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == whole)
    }
}

@Suite("The simulated cloud sends to the hub")
struct SimCloudDeliveryTests {
    @Test("connected, a message arrives after a one-way latency; while offline it is held and comes, in order, on reconnect")
    func deliverAndHold() {
        let (broker, completions, _, attempts) = SimCloudBrokerTests().broker()
        let t0 = Instant(secondsSinceEpoch: 1_000)
        broker.deliver(topic: "hbs/hub/deployments", payload: [1], at: t0)
        let first = completions.entries.last
        #expect(first?.0 == .cloud(.inbound(topic: "hbs/hub/deployments", payload: [1])))
        #expect(first.map { $0.1 > t0 && $0.1 <= t0 + .milliseconds(60) } == true, "half a round trip of 20…120 ms")
        broker.apply(.cloud(.offline), active: true, now: t0 + .seconds(1))
        let count = completions.entries.count
        broker.deliver(topic: "hbs/hub/deployments", payload: [2], at: t0 + .seconds(2))
        broker.deliver(topic: "hbs/hub/deployments", payload: [3], at: t0 + .seconds(3))
        #expect(completions.entries.count == count, "held while offline")
        broker.apply(.cloud(.offline), active: false, now: t0 + .seconds(4))
        let reconnect = attempts().last!
        broker.connectAttempt(now: reconnect)
        let inbound = completions.entries.dropFirst(count).compactMap { entry -> ([UInt8], Instant)? in
            if case .cloud(.inbound(_, let payload)) = entry.0 { (payload, entry.1) } else { nil }
        }
        #expect(inbound.map(\.0) == [[2], [3]])
        #expect(inbound.allSatisfy { $0.1 >= reconnect } && inbound[0].1 <= inbound[1].1)
    }

    @Test("the observer sees every message the cloud receives, at its instant")
    func observer() {
        let (broker, completions, _, _) = SimCloudBrokerTests().broker()
        var seen: [(String, Instant)] = []
        broker.onMessage = { message, time in seen.append((message.messageID, time)) }
        let t0 = Instant(secondsSinceEpoch: 1_000)
        broker.send(SimCloudBrokerTests().message(1), at: t0)
        broker.send(SimCloudBrokerTests().message(2), at: t0 + .seconds(1))
        #expect(seen.map(\.0) == ["hub-1", "hub-2"] && seen.map(\.1) == [t0, t0 + .seconds(1)])
        #expect(completions.entries.count == 2, "each acknowledged")
    }
}
