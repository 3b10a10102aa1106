import HubCore
import HubDrivers
import HubKernel
import HubSim
import Testing

/// A world that presents a Pi with the rpi-sense overlay loaded: the hub's LED matrix and
/// joystick go through the kernel drivers' twins, which reach the ATtiny88 over I²C.
@Suite("Simulated Sense HAT kernel drivers")
struct SimSenseHATKernelTests {
    static func run(bound: Bool) -> Simulation {
        let hub = HubConfig(thing: "hbshub001", devices: [.init(id: "hvac", kind: .furnace)], pollInterval: .seconds(10))
        var setup = SimulationSetup(seed: 4, duration: .seconds(1800), hub: hub,
                                    faults: [ScheduledFault(at: .seconds(600), duration: .milliseconds(300), fault: .joystick(keys: 0x08, name: "enter"))])
        setup.senseHATKernelBound = bound
        let simulation = Simulation(setup: setup)
        simulation.run()
        return simulation
    }

    @Test("with the overlay bound the hub's frames go through the framebuffer twin (identity gamma) and the stick through the event twin")
    func boundPaths() throws {
        let bound = Self.run(bound: true)
        let kernel = try #require(bound.world.kernel)
        #expect(kernel.framebuffer.gamma == RPiSenseFramebuffer.gammaIdentity)
        #expect(kernel.framebuffer.memory != [UInt8](repeating: 0, count: 128))
        #expect(RPiSenseFramebuffer.frameTransfer(memory: kernel.framebuffer.memory, gamma: kernel.framebuffer.gamma).dropFirst().elementsEqual(bound.display.currentFrame.registerBytes),
                "what the ATtiny88 shows is what the framebuffer holds")
        let scrolls = bound.history.entries.filter { if case .displayScroll = $0.event { true } else { false } }
        #expect(scrolls.count == 1, "the ENTER press read through the twin scrolled once")
        // The same run without the overlay: the same pictures on the LEDs, by the other path.
        let direct = Self.run(bound: false)
        #expect(direct.world.kernel == nil)
        #expect(direct.display.currentFrame == bound.display.currentFrame)
        #expect(direct.history.entries.filter { if case .displayScroll = $0.event { true } else { false } }.count == 1)
    }
}

/// The Pi's warmth under the HAT: the simulated thermometers read it, the hub takes it off.
@Suite("Self-heating of the Sense HAT")
struct SelfHeatingTests {
    /// The mean of the hub's temperature minus the HTS221's true air temperature.
    static func meanError(compensation: SelfHeating) -> Double {
        var hub = HubConfig(thing: "hbshub001", devices: [.init(id: "hvac", kind: .furnace)], pollInterval: .seconds(10))
        hub.selfHeating = compensation
        let simulation = Simulation(setup: SimulationSetup(seed: 2, duration: .seconds(3600), hub: hub), recordTruth: true)
        simulation.run()
        var truth: Double?
        var errors: [Double] = []
        for entry in simulation.history.entries {
            switch entry.event {
            case .sensorTruth(_, "HTS221", let values): truth = values[.temperature]
            case .busPublish(_, "sensor", .reading(let reading)): if let truth, let value = reading.values[.temperature] { errors.append(value - truth) }
            default: break
            }
        }
        precondition(errors.count > 300, "a reading every 10 s")
        return errors.reduce(0, +) / Double(errors.count)
    }

    @Test("the simulated HTS221 reads the air plus the Pi's 4 K; the hub's default compensation takes it off, exactly")
    func compensated() {
        #expect(abs(Self.meanError(compensation: .piUnderHAT)) < 0.05)
        #expect(abs(Self.meanError(compensation: .none) - SelfHeating.piUnderHAT.hts221) < 0.05)
        #expect(abs(Self.meanError(compensation: SelfHeating(hts221: 1, lps25h: 5)) - 3) < 0.05, "a bench's own figure")
    }
}

@Suite("Simulated Sense HAT kernel drivers across a power loss")
struct SimSenseHATKernelPowerLossTests {
    static func run(outage: Duration) throws -> SimSenseHATKernel {
        let hub = HubConfig(thing: "hbshub001", devices: [.init(id: "hvac", kind: .furnace)], pollInterval: .seconds(10))
        var setup = SimulationSetup(seed: 5, duration: .seconds(3600), hub: hub,
                                    faults: [ScheduledFault(at: .seconds(600), duration: outage, fault: .powerLoss)])
        setup.senseHATKernelBound = true
        let simulation = Simulation(setup: setup)
        simulation.run()
        return try #require(simulation.world.kernel)
    }

    @Test("a power loss restarts the kernel twins (memory zeroed, default gamma); the rebooted hub sets its gamma again")
    func powerLoss() throws {
        let dark = try Self.run(outage: .seconds(7200))  // no power until the end
        #expect(dark.framebuffer.memory == [UInt8](repeating: 0, count: 128))
        #expect(dark.framebuffer.gamma == RPiSenseFramebuffer.gammaDefault)
        let back = try Self.run(outage: .seconds(60))
        #expect(back.framebuffer.gamma == RPiSenseFramebuffer.gammaIdentity, "set again by the rebooted hub")
        #expect(back.framebuffer.memory != [UInt8](repeating: 0, count: 128))
    }
}
