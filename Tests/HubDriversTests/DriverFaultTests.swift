import HubCore
import HubDrivers
import HubSim
import Testing

/// Every fault of the simulated bus and chips, seen through the production drivers.
@Suite("Drivers under injected faults")
struct DriverFaultTests {
    /// A bench whose HTS221 is initialised and has one conversion ready.
    func readyBench(seed: UInt64 = 1) throws -> (SensorBench, HTS221Driver) {
        let bench = SensorBench(seed: seed)
        let driver = HTS221Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(80))
        return (bench, driver)
    }

    @Test("nack: the driver reports a typed bus error")
    func nack() throws {
        let (bench, driver) = try readyBench()
        bench.bus.set(.nack(probability: 1), active: true, at: 0x5F)
        #expect(throws: DriverError.bus(chip: "HTS221", .noAck(address: 0x5F))) { try driver.sample() }
        bench.bus.set(.nack(probability: 1), active: false, at: 0x5F)
        #expect(try driver.sample() != nil)
    }

    @Test("timeout: the driver reports a typed bus error")
    func timeout() throws {
        let (bench, driver) = try readyBench()
        bench.bus.set(.timeout(probability: 1), active: true, at: 0x5F)
        #expect(throws: DriverError.bus(chip: "HTS221", .timeout(address: 0x5F))) { try driver.sample() }
    }

    @Test("slow device: with CLKT = 0 a stretch of 2 ms still works (0.64 ms was the old limit); beyond the 1 s transfer timeout it times out")
    func slow() throws {
        let (bench, driver) = try readyBench()
        bench.bus.set(.slow(stretch: .milliseconds(2)), active: true, at: 0x5F)
        #expect(try driver.sample() != nil)
        #expect(bench.bus.stretchTime > .zero)
        bench.clock.advance(.milliseconds(80))
        bench.bus.set(.slow(stretch: .milliseconds(1001)), active: true, at: 0x5F)
        #expect(throws: DriverError.bus(chip: "HTS221", .timeout(address: 0x5F))) { try driver.sample() }
    }

    @Test("stuck output register: refused after five identical samples")
    func stuck() throws {
        let (bench, driver) = try readyBench()
        bench.hts221.setOutputsFrozen(true)
        var outcomes: [String] = []
        for _ in 0..<7 {
            bench.clock.advance(.milliseconds(80))
            do {
                _ = try driver.sample()
                outcomes.append("ok")
            } catch {
                if case .stuck = error { outcomes.append("stuck") } else { outcomes.append("\(error)") }
            }
        }
        #expect(outcomes == ["ok", "ok", "ok", "ok", "ok", "stuck", "stuck"])
        bench.hts221.setOutputsFrozen(false)
        bench.clock.advance(.milliseconds(80))
        #expect(try driver.sample() != nil, "fresh conversions clear the suspicion")
    }

    @Test("chip reset: the driver notices the lost configuration and re-initialisation brings data back")
    func reset() throws {
        let (bench, driver) = try readyBench()
        _ = try driver.sample()
        bench.hts221.powerOnReset()
        bench.clock.advance(.milliseconds(80))
        #expect(throws: DriverError.chipReset(chip: "HTS221")) { try driver.sample() }
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(80))
        #expect(try driver.sample() != nil)
    }

    @Test("device vanishing and coming back")
    func vanishAndReturn() throws {
        let (bench, driver) = try readyBench()
        bench.bus.set(.absent, active: true, at: 0x5F)
        #expect(throws: DriverError.absent(chip: "HTS221", address: 0x5F)) { try driver.initialise() }
        bench.bus.set(.absent, active: false, at: 0x5F)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(80))
        #expect(try driver.sample() != nil)
    }

    @Test("WHO_AM_I mismatch: initialisation refuses the part")
    func whoAmI() throws {
        let bench = SensorBench()
        bench.hts221.setWhoAmIOverride(0xBD)
        #expect(throws: DriverError.wrongDevice(chip: "HTS221", address: 0x5F, expected: 0xBC, found: 0xBD)) {
            try HTS221Driver(bus: bench.bus).initialise()
        }
    }

    @Test("bit flips at a brutal rate never produce an accepted reading outside the physical range")
    func bitflipsRange() throws {
        for seed in UInt64(1)...UInt64(5) {
            let (bench, driver) = try readyBench(seed: seed)
            let pressure = LPS25HDriver(bus: bench.bus)
            _ = try pressure.initialise()
            bench.bus.set(.bitflip(probability: 0.5), active: true, at: 0x5F)
            bench.bus.set(.bitflip(probability: 0.5), active: true, at: 0x5C)
            var accepted = 0
            for _ in 0..<2_000 {
                bench.clock.advance(.milliseconds(80))
                if let values = try? driver.sample() {
                    accepted += 1
                    #expect((-40...120).contains(values[.temperature]!))
                    #expect((0...100).contains(values[.humidity]!))
                }
                if let values = try? pressure.sample() {
                    #expect((260...1260).contains(values[.pressure]!))
                }
            }
            #expect(accepted > 100)
        }
    }

    @Test("bit flips at 1 % never get a corrupted value accepted: every reading matches the truth")
    func bitflipsTruth() throws {
        let (bench, driver) = try readyBench(seed: 3)
        bench.bus.set(.bitflip(probability: 0.01), active: true, at: 0x5F)
        var rejected = 0
        for _ in 0..<20_000 {
            bench.clock.advance(.milliseconds(80))
            do {
                guard let values = try driver.sample() else { continue }
                #expect(abs(values[.temperature]! - 21) < 0.2)
                #expect(abs(values[.humidity]! - 40) < 1)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 100, "about 2 % of samples see a flip and are refused")
    }

    @Test("sensor drift, spike and stuck change what the element reports, not the bus")
    func sensorFaults() throws {
        let clock = ManualClock()
        let physics = FixedEnvironment(temperature: 20, humidity: 40, pressure: 1000)
        let environment = FaultableEnvironment(source: physics, random: SeededRandom(seed: 1))
        let hts221 = environment.element(.hts221), lps25h = environment.element(.lps25h)
        environment.start(.drift(channel: .temperature, perHour: 1.5), on: .hts221, at: clock.now)
        #expect(hts221.environment(at: clock.now + .seconds(7200)).temperature == 23)
        #expect(lps25h.environment(at: clock.now + .seconds(7200)).temperature == 20, "the other thermometer sees the truth")
        environment.end(.drift(channel: .temperature, perHour: 1.5), on: .hts221)
        environment.start(.drift(channel: .temperature, perHour: -2), on: .lps25h, at: clock.now)
        #expect(lps25h.environment(at: clock.now + .seconds(3600)).temperature == 18)
        #expect(hts221.environment(at: clock.now + .seconds(3600)).temperature == 20)
        environment.end(.drift(channel: .temperature, perHour: -2), on: .lps25h)
        environment.start(.spike(channel: .pressure, magnitude: 50, probability: 1), on: .lps25h, at: clock.now)
        #expect(abs(lps25h.environment(at: clock.now).pressure - 1000) == 50)
        environment.end(.spike(channel: .pressure, magnitude: 50, probability: 1), on: .lps25h)
        environment.start(.stuck(channel: .humidity), on: .hts221, at: clock.now)
        physics.environment.humidity = 70
        #expect(hts221.environment(at: clock.now + .seconds(60)).humidity == 40)
    }
}
