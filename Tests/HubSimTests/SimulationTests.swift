import Foundation
import HubCore
import HubKernel
import HubSim
import HubStore
import Testing

@Suite("Simulation determinism and the furnace day")
struct SimulationTests {
    static func setup(seed: UInt64, hours: Int64 = 6, faults: [ScheduledFault] = [],
                      batching: TelemetryBatching? = TelemetryBatching(interval: .seconds(300))) -> SimulationSetup {
        let hub = HubConfig(thing: "hbshub001", devices: [.init(id: "hvac", kind: .furnace)], pollInterval: .seconds(10),
                            detectorWindow: .seconds(1800), telemetryBatching: batching)
        return SimulationSetup(seed: seed, duration: .seconds(hours * 3600), hub: hub, faults: faults)
    }

    /// Runs a setup with the event log in a temporary file and returns the file's bytes.
    static func eventLog(_ setup: SimulationSetup) throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let simulation = Simulation(setup: setup, eventLog: try EventLogWriter(path: path))
        simulation.run()
        try simulation.history.finish()
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test("the same scenario and seed give a byte-identical event log")
    func sameSeedSameBytes() throws {
        let first = try Self.eventLog(Self.setup(seed: 7))
        let second = try Self.eventLog(Self.setup(seed: 7))
        #expect(first.count > 100_000)
        #expect(first == second)
    }

    @Test("the end of a run reports readings, unacknowledged cloud messages and queued events")
    func endReport() throws {
        let simulation = Simulation(setup: Self.setup(seed: 3, hours: 2, batching: nil))
        simulation.run()
        #expect(simulation.cloud.receivedCount == 721)
        #expect(simulation.hub.unacknowledgedCloudMessages == 1, "the reading polled at the last instant is still in flight")
        guard case .simulationEnd(let end)? = simulation.history.entries.last?.event else {
            Issue.record("no sim.end")
            return
        }
        #expect(end.readings == 721 && end.unacknowledged == 1 && end.pending > 0, "its ack and the next poll's timer stay queued")
        #expect(end.outboxTelemetry.description == "721", "the last reading is still in the outbox")
        #expect(end.cloudRefusedAttempts == 0 && end.outboxDepthMax >= 1 && end.cloudBytes > 721 * 100)
    }

    @Test("batched, a run's readings reach the cloud in compressed batches every 5 minutes; the rest wait in the outbox")
    func batchedEndReport() throws {
        let simulation = Simulation(setup: Self.setup(seed: 3, hours: 2))
        simulation.run()
        var received: [String] = []
        var batches = 0
        for entry in simulation.history.entries {
            if case .cloudReceiveBatch(let topic, let batchID, let ids) = entry.event {
                #expect(topic == .cloudTelemetry("hbshub001") && batchID.hasPrefix("hbshub001-batch-"))
                batches += 1
                received += ids
            }
        }
        guard case .simulationEnd(let end)? = simulation.history.entries.last?.event else {
            Issue.record("no sim.end")
            return
        }
        let readings = end.readings
        let outbox = end.outboxTelemetry
        #expect(batches == 23, "the first reading starts the 5-minute timer; the last batch is still being collected")
        #expect(received == (1...received.count).map { "hbshub001-\($0)" }, "in order, each once")
        #expect(readings == 721 && received.count + outbox.count == 721, "received or still in the outbox: \(outbox)")
        #expect(outbox.ranges.first?.lowerBound == Int64(received.count + 1))
    }

    @Test("the simulated cloud acknowledges each message after a round trip drawn from its own stream, reproducibly")
    func cloudRoundTrip() {
        final class Sink: CompletionSink {
            var completions: [(PortCompletion, Instant)] = []
            func complete(_ completion: PortCompletion, at: Instant) { completions.append((completion, at)) }
        }
        final class Silent: HistorySink { func record(_ event: HistoryEvent, at time: Instant) {} }
        func run() -> [(PortCompletion, Instant)] {
            let sink = Sink()
            let broker = SimCloudBroker(history: Silent(), random: SeededRandom(seed: 11))
            broker.completions = sink
            let t0 = Instant(secondsSinceEpoch: 100)
            for n in 0..<200 {
                broker.send(CloudMessage(topic: .cloudTelemetry("hub"), messageID: "hub-\(n)", payload: Array("{}".utf8)), at: t0 + .seconds(Int64(n)))
            }
            return sink.completions
        }
        let first = run()
        #expect(first.count == 200)
        for (n, (completion, at)) in first.enumerated() {
            #expect(completion == .cloud(.acknowledged(messageID: "hub-\(n)")))
            let roundTrip = at - (Instant(secondsSinceEpoch: 100) + .seconds(Int64(n)))
            #expect(roundTrip >= .milliseconds(20) && roundTrip <= .milliseconds(120))
        }
        #expect(Set(first.map { $0.1.nanosecondsSinceEpoch % 1_000_000_000 }).count > 100, "round trips vary")
        #expect(first.map(\.1) == run().map(\.1), "the same stream gives the same round trips")
    }

    @Test("another seed gives a different event log")
    func otherSeedOtherBytes() throws {
        #expect(try Self.eventLog(Self.setup(seed: 7)) != Self.eventLog(Self.setup(seed: 8)))
    }

    @Test("a day of furnace physics cycles 2–5 times an hour and stays below the high limit")
    func furnaceCycles() throws {
        let simulation = Simulation(setup: Self.setup(seed: 3, hours: 24))
        simulation.run()
        let furnace = try #require(simulation.world.kits[0].appliance as? FurnaceModel)
        let perHour = Double(furnace.burnerCycles) / 24
        #expect((2.0...5.0).contains(perHour), "cycles per hour: \(perHour)")
        var highest = -100.0
        var lowest = 100.0
        for entry in simulation.history.entries {
            if case .busPublish(_, _, .reading(let r)) = entry.event, let t = r.values[.temperature] {
                highest = max(highest, t)
                lowest = min(lowest, t)
            }
        }
        #expect(highest < 71, "high limit opens at 71 °C")
        #expect(highest > 45, "the supply air heats up while the burner runs")
        #expect(lowest > 15 && lowest < 25, "between burns the plenum sits at room temperature")
        #expect(simulation.hub.readingsPublished == 24 * 360 + 1)
    }

    @Test("an absent sensor for an hour stops its channels; the hub keeps publishing the rest")
    func absentFault() {
        let fault = ScheduledFault(at: .seconds(3600), duration: .seconds(3600), fault: .i2cWire(address: 0x5F, .absent))
        let simulation = Simulation(setup: Self.setup(seed: 2, hours: 3, faults: [fault]))
        simulation.run()
        var withTemperature = 0
        var pressureOnly = 0
        var errors = 0
        for entry in simulation.history.entries {
            switch entry.event {
            case .busPublish(_, _, .reading(let r)):
                if r.values[.temperature] != nil { withTemperature += 1 } else if r.values[.pressure] != nil { pressureOnly += 1 }
            case .sensorError(_, let chip, _):
                #expect(chip == "HTS221")
                errors += 1
            default: break
            }
        }
        // One hour at 10 s without the HTS221, plus at most one backoff period (≤ 30 polls) to notice it is back.
        #expect((360...390).contains(pressureOnly))
        #expect(withTemperature + pressureOnly == 3 * 360 + 1, "a reading every poll, whatever the HTS221 does")
        #expect(errors < 60, "a failed sensor is retried with backoff, not every poll: \(errors) errors")
        let health = simulation.history.entries.compactMap { entry -> HealthState? in
            if case .busPublish(_, _, .health(let report)) = entry.event { return report.state }
            return nil
        }
        #expect(health == [.degraded, .failed, .degraded, .ok])
        #expect(simulation.display.frames.map { $0.frame.uniformStatusName } == ["green", "amber", "green"])
        #expect(simulation.history.entries.contains { $0.event == .faultStart(name: "i2c.0x5f.absent") })
        #expect(simulation.history.entries.contains { $0.event == .faultEnd(name: "i2c.0x5f.absent") })
    }

    @Test("the LED matrix model receives the hub's green frame at boot")
    func ledAtBoot() {
        let simulation = Simulation(setup: Self.setup(seed: 1, hours: 1))
        simulation.run()
        #expect(simulation.display.frames.count == 1)
        #expect(simulation.display.currentFrame.uniformStatusName == "green")
    }

    @Test("reading a chip more or less often never changes the physics it sees")
    func lazyPhysicsIsQueryIndependent() {
        let weatherA = HouseWeather(start: SimulationSetup.defaultStart, random: SeededRandom(seed: 5))
        let weatherB = HouseWeather(start: SimulationSetup.defaultStart, random: SeededRandom(seed: 5))
        let a = FurnaceModel(weather: weatherA, start: SimulationSetup.defaultStart, random: SeededRandom(seed: 6))
        let b = FurnaceModel(weather: weatherB, start: SimulationSetup.defaultStart, random: SeededRandom(seed: 6))
        let end = SimulationSetup.defaultStart + .seconds(7200)
        var t = SimulationSetup.defaultStart
        while t < end {
            _ = a.environment(at: t)
            t = t + .seconds(7)
        }
        #expect(a.environment(at: end) == b.environment(at: end))
    }
}

@Suite("Simulated I²C bus")
struct SimI2CBusTests {
    final class Clock: HubClock { var now = Instant(secondsSinceEpoch: 0) }

    @Test("an empty address answers no-ACK, like an empty socket")
    func emptyAddress() {
        let bus = SimI2CBus(clock: Clock(), random: SeededRandom(seed: 1))
        #expect(throws: I2CError.noAck(address: 0x10)) { try bus.transfer(address: 0x10, write: [0x0F], readCount: 1) }
    }

    @Test("a nack probability refuses about that share of transfers, reproducibly")
    func nackProbability() throws {
        func refusals(seed: UInt64) -> Int {
            let bus = SimI2CBus(clock: Clock(), random: SeededRandom(seed: seed))
            bus.attach(ATtiny88Model(history: nil), at: 0x46)
            bus.set(.nack(probability: 0.25), active: true, at: 0x46)
            var count = 0
            for _ in 0..<4_000 {
                do { _ = try bus.readRegister(0x46, 0xF0) } catch { count += 1 }
            }
            return count
        }
        let first = refusals(seed: 9)
        #expect(first == refusals(seed: 9))
        #expect((800...1_200).contains(first))
    }
}
