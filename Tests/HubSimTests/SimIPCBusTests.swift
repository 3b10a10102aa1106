import HubCore
import HubKernel
import HubSim
import Testing

/// The sensor in a process of its own behind the simulated IPC bus: the real node, the real
/// `ComponentOverIPC` and `IPCClient`, in virtual time.
@Suite("Simulated IPC bus")
struct SimIPCBusTests {
    static func run(hours: Int64 = 1, seed: UInt64 = 5, overIPC: Bool = true, buffer: Int = SimIPCSetup.defaultBufferCountMax,
                    faults: [ScheduledFault] = []) -> Simulation {
        var setup = SimulationTests.setup(seed: seed, hours: hours, faults: faults)
        if overIPC { setup.ipc = SimIPCSetup(components: ["sensor"], bufferCountMax: buffer) }
        let simulation = Simulation(setup: setup)
        simulation.run()
        return simulation
    }

    static func readings(_ simulation: Simulation) -> [Reading] {
        simulation.history.entries.compactMap { entry in
            if case .busPublish(_, "sensor", .reading(let reading)) = entry.event { reading } else { nil }
        }
    }

    static func totals(_ simulation: Simulation) -> (published: Int, dropped: Int, held: Int)? {
        for entry in simulation.history.entries {
            if case .ipcClient("sensor", let published, let dropped, let held) = entry.event { return (published, dropped, held) }
        }
        return nil
    }

    static func states(_ simulation: Simulation) -> [String] {
        simulation.history.entries.compactMap { entry in
            if case .componentState("sensor", _, let to, _) = entry.event { to } else { nil }
        }
    }

    @Test("over IPC the sensor publishes exactly the readings it publishes in the hub process, at the same instants")
    func sameReadings() {
        let remote = Self.run()
        let local = Self.run(overIPC: false)
        #expect(Self.readings(remote).count == 361)
        #expect(Self.readings(remote) == Self.readings(local))
        #expect(remote.hub.state(of: "sensor") == .running)
        #expect(Self.totals(remote)! == (361, 0, 0))
        #expect(Self.totals(local) == nil, "no component over IPC, no report")
    }

    @Test("ten minutes without the bus server: readings are held and arrive in order, the supervisor does not restart the sensor")
    func downHoldsEverything() {
        let simulation = Self.run(faults: [ScheduledFault(at: .seconds(600), duration: .seconds(600), fault: .ipc(.down))])
        let readings = Self.readings(simulation)
        #expect(readings.count == 361)
        #expect(readings.map(\.timestamp) == readings.map(\.timestamp).sorted(), "in the order polled")
        #expect(Self.states(simulation) == ["starting", "running"], "never errored: the server, not the sensor, was away")
        #expect(Self.totals(simulation)! == (361, 0, 0))
        let published = simulation.history.entries.filter { if case .busPublish(_, "sensor", .reading) = $0.event { true } else { false } }
        let gap = zip(published, published.dropFirst()).map { $1.time - $0.time }.max()!
        #expect(gap >= .seconds(600) && gap <= .seconds(661), "nothing reached the bus while it was down, then the backlog at once")
    }

    @Test("a small buffer drops the oldest while the bus is away, and says exactly how many")
    func overflowCounted() {
        let simulation = Self.run(buffer: 20, faults: [ScheduledFault(at: .seconds(600), duration: .seconds(600), fault: .ipc(.down))])
        let totals = Self.totals(simulation)!
        let readings = Self.readings(simulation)
        #expect(totals.dropped >= 40 && totals.dropped <= 46)
        #expect(readings.count + totals.dropped + totals.held == totals.published, "every reading is on the bus, held or counted")
        let errors = simulation.history.entries.compactMap { entry -> String? in
            if case .componentError("sensor", let error) = entry.event, error.hasPrefix("IPC buffer full") { error } else { nil }
        }
        #expect(errors.count == totals.dropped, "each drop is logged as it happens")
    }

    @Test("lost frames reset the connection: unacknowledged publishes go again, none is lost, repeats are the only cost")
    func dropResends() {
        let simulation = Self.run(faults: [ScheduledFault(at: .seconds(60), duration: .seconds(3000), fault: .ipc(.drop(chance: 0.05)))])
        let readings = Self.readings(simulation)
        var distinct: [Reading] = []
        for reading in readings where distinct.last.map({ $0.timestamp < reading.timestamp }) ?? true { distinct.append(reading) }
        #expect(distinct.count == 361, "every poll's reading reached the bus")
        #expect(readings.count > distinct.count, "some acknowledgements were lost, so some readings came twice")
        let resets = simulation.history.entries.filter { if case .componentError("sensor", let error) = $0.event { error.contains("lost (fault)") } else { false } }
        #expect(resets.count > 10)
        #expect(simulation.hub.state(of: "sensor") == .running)
    }

    @Test("killing the sensor's process loses what it held, counted; the supervisor starts a new one")
    func killCounted() {
        let simulation = Self.run(faults: [ScheduledFault(at: .seconds(600), duration: .seconds(300), fault: .ipc(.down)),
                                           ScheduledFault(at: .seconds(800), duration: nil, fault: .component(name: "sensor", .crash))])
        let totals = Self.totals(simulation)!
        #expect(Self.states(simulation).contains("errored"))
        #expect(simulation.hub.state(of: "sensor") == .running)
        #expect(totals.dropped == 20, "the readings of 600 s…790 s died with the process")
        #expect(Self.readings(simulation).count + totals.dropped + totals.held == totals.published)
    }

    @Test("the same seed gives the same history through every IPC fault")
    func deterministic() {
        let faults = [ScheduledFault(at: .seconds(300), duration: nil, fault: .ipc(.restart)),
                      ScheduledFault(at: .seconds(600), duration: .seconds(600), fault: .ipc(.drop(chance: 0.1))),
                      ScheduledFault(at: .seconds(1500), duration: .seconds(600), fault: .ipc(.slow(latency: .seconds(3)))),
                      ScheduledFault(at: .seconds(2400), duration: .seconds(300), fault: .ipc(.down))]
        let first = Self.run(seed: 9, faults: faults).history.entries
        let second = Self.run(seed: 9, faults: faults).history.entries
        #expect(first.count > 500)
        #expect(first.map(\.event) == second.map(\.event))
        #expect(first.map(\.time) == second.map(\.time))
        let other = Self.run(seed: 10, faults: faults).history.entries
        #expect(other.map(\.event) != first.map(\.event), "another seed drops other frames")
    }
}
