import HubCore
import HubDrivers
import HubSim
import Testing

@Suite("HTS221 driver")
struct HTS221DriverTests {
    @Test("the reference calibration set converts raw counts as the datasheet formula says")
    func referenceConversion() throws {
        let registers: [UInt8] = [0x00, 0xC8, 0x00, 0x20, 0x00, 0x0C, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x19]
        let calibration = try HTS221Calibration(registers: registers)
        #expect(calibration == .reference)
        #expect(calibration.t1DegC == 100)
        #expect(calibration.h1RH == 100)
        #expect(calibration.temperature(raw: 0) == 0)
        #expect(calibration.temperature(raw: 64 * 21) == 21)
        #expect(calibration.temperature(raw: -640) == -10)
        #expect(calibration.humidity(raw: 256 * 40) == 40)
        #expect(calibration.humidity(raw: 30_000) == 100, "clamped to 100 %RH")
        #expect(calibration.humidity(raw: -100) == 0, "clamped to 0 %RH")
        #expect(calibration.registers == registers)
    }

    @Test("the driver reads physical values through the reference chip within its resolution")
    func referenceThroughChip() throws {
        let bench = SensorBench(temperature: 22.5, humidity: 45)
        let driver = HTS221Driver(bus: bench.bus)
        _ = try driver.initialise()
        #expect(driver.calibration == .reference)
        bench.clock.advance(.milliseconds(100))
        let values = try #require(try driver.sample())
        // Noise is 0.03 °C / 0.15 %RH RMS; 6 σ plus one LSB.
        #expect(abs(values[.temperature]! - 22.5) < 0.2)
        #expect(abs(values[.humidity]! - 45) < 1.0)
        #expect(values[.pressure] == nil)
    }

    @Test("random per-unit calibrations round-trip physical values within the resolution",
          arguments: Array(UInt64(1)...UInt64(40)))
    func randomCalibrationRoundTrip(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let calibration = HTS221Model.randomCalibration(using: &random)
        let decoded = try HTS221Calibration(registers: calibration.registers)
        #expect(decoded == calibration)
        let tResolution = abs((calibration.t1DegC - calibration.t0DegC) / Double(Int(calibration.t1Out) - Int(calibration.t0Out)))
        let hResolution = abs((calibration.h1RH - calibration.h0RH) / Double(Int(calibration.h1T0Out) - Int(calibration.h0T0Out)))
        for _ in 0..<50 {
            let t = random.nextDouble(in: -40...120)
            let h = random.nextDouble(in: 0...100)
            #expect(abs(decoded.temperature(raw: calibration.rawTemperature(t)) - t) <= tResolution / 2 + 1e-9)
            #expect(abs(decoded.humidity(raw: calibration.rawHumidity(h)) - h) <= hResolution / 2 + 1e-9)
        }
    }

    @Test("through the chip model, each unit's calibration gives the true value", arguments: [UInt64(3), 17, 99])
    func randomUnitThroughChip(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let bench = SensorBench(calibration: HTS221Model.randomCalibration(using: &random), seed: seed,
                                temperature: 61.5, humidity: 4.5)
        let driver = HTS221Driver(bus: bench.bus)
        _ = try driver.initialise()
        #expect(driver.calibration == bench.hts221.calibration)
        bench.clock.advance(.milliseconds(80))
        let values = try #require(try driver.sample())
        #expect(abs(values[.temperature]! - 61.5) < 0.2)
        #expect(abs(values[.humidity]! - 4.5) < 1.0)
    }

    @Test("no data-ready before the first conversion, and a reading clears the bits")
    func dataReady() throws {
        let bench = SensorBench()
        let driver = HTS221Driver(bus: bench.bus)
        _ = try driver.initialise()
        #expect(try driver.sample() == nil, "12.5 Hz: the first conversion lands 80 ms after power-up")
        bench.clock.advance(.milliseconds(80))
        #expect(try driver.sample() != nil)
        #expect(try driver.sample() == nil, "reading the outputs cleared H_DA and T_DA")
        bench.clock.advance(.milliseconds(80))
        #expect(try driver.sample() != nil)
    }

    @Test("a driver that skips power-up never sees data")
    func poweredDown() throws {
        let bench = SensorBench()
        bench.clock.advance(.seconds(5))
        let status = try bench.bus.readRegister(HTS221Register.address, HTS221Register.status)
        #expect(status & 0x03 == 0)
    }

    @Test("a wrong WHO_AM_I is a typed error naming both values")
    func wrongDevice() throws {
        let clock = ManualClock()
        let bus = SimI2CBus(clock: clock, random: SeededRandom(seed: 1))
        bus.attach(ImpostorChip(value: 0xBD), at: HTS221Register.address)
        let driver = HTS221Driver(bus: bus)
        #expect(throws: DriverError.wrongDevice(chip: "HTS221", address: 0x5F, expected: 0xBC, found: 0xBD)) {
            try driver.initialise()
        }
        #expect(throws: DriverError.notInitialised(chip: "HTS221")) { try driver.sample() }
    }

    @Test("an absent device is a typed error, not a crash or a zero")
    func absent() throws {
        let bus = SimI2CBus(clock: ManualClock(), random: SeededRandom(seed: 1))
        #expect(throws: DriverError.absent(chip: "HTS221", address: 0x5F)) { try HTS221Driver(bus: bus).initialise() }
        #expect(throws: DriverError.absent(chip: "LPS25H", address: 0x5C)) { try LPS25HDriver(bus: bus).initialise() }
    }

    @Test("a chip that vanishes after initialisation gives a bus error")
    func vanishes() throws {
        let bench = SensorBench()
        let driver = HTS221Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.bus.setAbsent(true, at: HTS221Register.address)
        #expect(throws: DriverError.bus(chip: "HTS221", .noAck(address: 0x5F))) { try driver.sample() }
    }

    @Test("calibration with coinciding points is refused")
    func invalidCalibration() {
        var registers = HTS221Calibration.reference.registers
        registers[0x0E] = 0
        registers[0x0F] = 0
        #expect(throws: DriverError.self) { try HTS221Calibration(registers: registers) }
    }
}

@Suite("LPS25H driver")
struct LPS25HDriverTests {
    @Test("datasheet conversions: hPa = raw/4096, °C = 42.5 + raw/480")
    func conversions() {
        #expect(LPS25HConversion.hectopascals(raw24: 4_149_248) == 1013)
        #expect(LPS25HConversion.celsius(raw16: 0) == 42.5)
        #expect(LPS25HConversion.celsius(raw16: -10_560) == 20.5)
        #expect(LPS25HConversion.raw24(0xFF, 0xFF, 0xFF) == -1)
        #expect(LPS25HConversion.raw24(0x00, 0x50, 0x3F) == 0x3F5000)
    }

    @Test("reads pressure through the chip model within its accuracy")
    func throughChip() throws {
        let bench = SensorBench(pressure: 1001.25)
        let driver = LPS25HDriver(bus: bench.bus)
        _ = try driver.initialise()
        #expect(try driver.sample() == nil)
        bench.clock.advance(.milliseconds(40))
        let values = try #require(try driver.sample())
        #expect(abs(values[.pressure]! - 1001.25) < 0.3, "±0.2 hPa unit offset plus noise")
        #expect(values[.temperature] == nil, "the reading's temperature is the HTS221's")
        #expect(abs(values[.referenceTemperature]! - 21) <= 2.2, "its own thermometer, a second opinion: ±2 °C unit offset plus noise")
    }

    @Test("a die temperature outside the chip's −30…105 °C range is refused, not passed on as a second opinion")
    func implausibleTemperature() throws {
        let bench = SensorBench(temperature: 130)
        let driver = LPS25HDriver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(40))
        #expect {
            _ = try driver.sample()
        } throws: { error in
            guard case DriverError.implausible(chip: "LPS25H", channel: .referenceTemperature, _) = error else { return false }
            return true
        }
    }
}
