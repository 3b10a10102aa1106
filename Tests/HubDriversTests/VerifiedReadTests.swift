import HubCore
import HubDrivers
import HubSim
import Testing

/// A bus that flips chosen bits of chosen reads, so a test can put a corruption exactly
/// where it wants one; everything else passes through to the simulated bus unchanged.
final class ScriptedFlipBus: I2CBus {
    struct Flip {
        /// The register the read starts at (without the auto-increment bit).
        var register: UInt8
        var byte: Int
        var bit: Int
        /// Matching reads to let through untouched before this one flips.
        var after = 0
    }

    let inner: any I2CBus
    let address: UInt8
    /// Flips still to apply, each to the next read that starts at its register.
    var pending: [Flip]
    private(set) var applied = 0

    init(_ inner: any I2CBus, address: UInt8, flips: [Flip]) {
        self.inner = inner
        self.address = address
        pending = flips
    }

    func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        var bytes = try inner.transfer(address: address, write: write, readCount: readCount)
        guard address == self.address, readCount > 0, let pointer = write.first else { return bytes }
        if let index = pending.firstIndex(where: { $0.register == pointer & 0x7F }) {
            if pending[index].after > 0 {
                pending[index].after -= 1
            } else {
                let flip = pending.remove(at: index)
                bytes[flip.byte] ^= UInt8(1) << UInt8(flip.bit)
                applied += 1
            }
        }
        return bytes
    }
}

/// Every register read that feeds a conversion is verified: configuration, calibration
/// and outputs. Each test puts one flipped bit where a single read would have accepted it.
@Suite("Drivers verify every read that feeds a conversion")
struct VerifiedReadTests {
    typealias Flip = ScriptedFlipBus.Flip

    @Test("a calibration block read with a flipped bit is read again, never decoded (T0 stays 14.625 °C, not 15.625)")
    func calibrationFlipRetried() throws {
        var calibration = HTS221Calibration.reference
        calibration.t0DegC = 14.625
        calibration.t0Out = 900
        calibration.t1Out = 900 + Int16(64 * (100 - 14.625))
        let bench = SensorBench(calibration: calibration)
        // Bit 3 of T0_degC_x8 (0x32) is 1 °C: the 14.625 → 15.625.
        let bus = ScriptedFlipBus(bench.bus, address: 0x5F, flips: [Flip(register: 0x30, byte: 2, bit: 3)])
        let driver = HTS221Driver(bus: bus)
        _ = try driver.initialise()
        #expect(bus.applied == 1, "the flip happened")
        #expect(driver.calibration == calibration)
        bench.clock.advance(.milliseconds(100))
        let values = try #require(try driver.sample())
        #expect(abs(values[.temperature]! - 21) < 0.2)
    }

    @Test("a calibration block that never reads the same twice is refused as a retryable mismatch")
    func calibrationNeverAgrees() throws {
        let bench = SensorBench()
        let bus = ScriptedFlipBus(bench.bus, address: 0x5F, flips: [
            Flip(register: 0x30, byte: 0, bit: 1), Flip(register: 0x30, byte: 1, bit: 1), Flip(register: 0x30, byte: 6, bit: 1),
        ])
        let driver = HTS221Driver(bus: bus)
        #expect(throws: DriverError.verifyMismatch(chip: "HTS221")) { try driver.initialise() }
        #expect(driver.calibration == nil)
        _ = try driver.initialise()
        #expect(driver.calibration == .reference, "the next initialisation reads it clean")
    }

    @Test("a flip in the second of two calibration reads is caught by a third")
    func calibrationSecondReadFlipped() throws {
        let bench = SensorBench()
        let bus = ScriptedFlipBus(bench.bus, address: 0x5F, flips: [Flip(register: 0x30, byte: 0x0F, bit: 0, after: 1)])
        let driver = HTS221Driver(bus: bus)
        _ = try driver.initialise()
        #expect(bus.applied == 1)
        #expect(driver.calibration == .reference)
    }

    @Test("calibration outside the datasheet's bounds is refused even when it reads the same twice",
          arguments: [(0x05, UInt8(0x03)), (0x01, UInt8(0xD0)), (0x0F, UInt8(0x01)), (0x0B, UInt8(0x01))])
    func implausibleCalibration(index: Int, value: UInt8) {
        var registers = HTS221Calibration.reference.registers
        registers[index] = value
        #expect(throws: DriverError.self) { try HTS221Calibration(registers: registers) }
    }

    @Test("a WHO_AM_I read with a flipped bit is read again, not taken for a wrong part")
    func whoAmIFlip() throws {
        let bench = SensorBench()
        let bus = ScriptedFlipBus(bench.bus, address: 0x5F, flips: [Flip(register: 0x0F, byte: 0, bit: 4)])
        let driver = HTS221Driver(bus: bus)
        _ = try driver.initialise()
        #expect(bus.applied == 1)
        #expect(driver.calibration == .reference)
    }

    @Test("a WHO_AM_I that reads wrong twice alike is a wrong part")
    func whoAmIWrongTwice() {
        let bench = SensorBench()
        let bus = ScriptedFlipBus(bench.bus, address: 0x5F, flips: [Flip(register: 0x0F, byte: 0, bit: 4), Flip(register: 0x0F, byte: 0, bit: 4)])
        let driver = HTS221Driver(bus: bus)
        #expect(throws: DriverError.wrongDevice(chip: "HTS221", address: 0x5F, expected: 0xBC, found: 0xAC)) { try driver.initialise() }
    }

    @Test("a CTRL_REG1 read-back with a flipped bit is not a chip reset", arguments: [UInt8(0x5F), 0x5C])
    func controlFlipIsNotReset(address: UInt8) throws {
        let bench = SensorBench()
        let bus = ScriptedFlipBus(bench.bus, address: address, flips: [])
        let driver: any SensorDriver = address == 0x5F ? HTS221Driver(bus: bus) : LPS25HDriver(bus: bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(100))
        #expect(try driver.sample() != nil)
        // No new conversion yet: the driver reads CTRL_REG1 back to tell "not ready" from "reset".
        bus.pending = [Flip(register: 0x20, byte: 0, bit: 7)]
        #expect(try driver.sample() == nil)
        #expect(bus.applied == 1)
        // A real reset is still recognised.
        if address == 0x5F { bench.hts221.powerOnReset() } else { bench.lps25h.powerOnReset() }
        #expect(throws: DriverError.chipReset(chip: driver.chip)) { try driver.sample() }
    }

    @Test("once the bus has corrupted a transfer, two bursts carrying the same flip are refused: a third must agree")
    func identicalFlipsAfterSuspicion() throws {
        let bench = SensorBench(pressure: 1013)
        let bus = ScriptedFlipBus(bench.bus, address: 0x5C, flips: [])
        let driver = LPS25HDriver(bus: bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(100))
        let clean = try #require(try driver.sample()?[.pressure])
        let transfersClean = bench.bus.transferCount
        bench.clock.advance(.milliseconds(40))
        _ = try driver.sample()
        #expect(bench.bus.transferCount - transfersClean == 2, "a quiet bus: each sample is two bursts")
        // A plain flip: refused, and the chip is now under suspicion.
        bus.pending = [Flip(register: 0x27, byte: 3, bit: 0)]
        bench.clock.advance(.milliseconds(40))
        #expect(throws: DriverError.verifyMismatch(chip: "LPS25H")) { try driver.sample() }
        // The same flip (P_H bit 0: 16 hPa, still a plausible pressure) in the first two bursts of the next sample.
        bus.pending = [Flip(register: 0x27, byte: 3, bit: 0), Flip(register: 0x27, byte: 3, bit: 0)]
        bench.clock.advance(.milliseconds(40))
        #expect(throws: DriverError.verifyMismatch(chip: "LPS25H")) { try driver.sample() }
        #expect(bus.applied == 3)
        bench.clock.advance(.milliseconds(40))
        let transfers = bench.bus.transferCount
        let pressure = try #require(try driver.sample()?[.pressure])
        #expect(abs(pressure - clean) < 0.3)
        #expect(bench.bus.transferCount - transfers == 3, "under suspicion: three bursts")
    }

    @Test("pressure outputs read with a flipped bit are refused, then read clean", arguments: [0, 1, 2])
    func pressureFlip(byte: Int) throws {
        let bench = SensorBench(pressure: 1013)
        let bus = ScriptedFlipBus(bench.bus, address: 0x5C, flips: [])
        let driver = LPS25HDriver(bus: bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(100))
        // Byte 0 of the burst is STATUS; 1...3 the pressure.
        bus.pending = [Flip(register: 0x27, byte: 1 + byte, bit: 6)]
        #expect(throws: DriverError.verifyMismatch(chip: "LPS25H")) { try driver.sample() }
        #expect(bus.applied == 1)
        bench.clock.advance(.milliseconds(40))
        let values = try #require(try driver.sample())
        #expect(abs(values[.pressure]! - 1013) < 0.3)
    }
}

/// The LSM9DS1's FIFO pops as it is read, so its bursts cannot be read twice: they are
/// checked for the jump a flipped bit makes instead, and FIFO_SRC is read twice.
@Suite("LSM9DS1 FIFO reads under bit flips")
struct FIFOVerificationTests {
    typealias AG = LSM9DS1AccelGyroRegister

    /// A full FIFO burst (32 samples) straight from the chip model, unverified.
    static func burst(seed: UInt64, frequency: Double, amplitude: Double, after gap: Duration = .milliseconds(200)) throws -> [UInt8] {
        let bench = IMUBench(seed: seed, frequency: frequency, amplitude: amplitude)
        _ = try LSM9DS1Driver(bus: bench.bus).initialise()
        bench.clock.advance(gap)
        let bytes = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 32 * AG.sampleBytes, autoIncrementBit: 0)
        #expect(bench.accelGyro.unreadSamples == 0, "the burst drained a full FIFO")
        #expect(Set(bytes).count > 16, "the burst carries conversions, not reset registers")
        return bytes
    }

    @Test("every single-bit flip in a FIFO burst is refused, or moves the vibration by less than 2 mg or a quarter of it",
          arguments: [(0.0, 0.0), (17.0, 0.05), (20.0, 0.3), (55.0, 0.015), (120.0, 0.02), (100.0, 0.2)])
    func everyFlip(frequency: Double, amplitude: Double) throws {
        for seed in UInt64(3)...UInt64(6) {
            let clean = try Self.burst(seed: seed, frequency: frequency, amplitude: amplitude)
            #expect(LSM9DS1Driver.spikedSample(clean) == nil, "a clean burst passes")
            let truth = LSM9DS1Driver.vibration(fifoBurst: clean)
            var refused = 0
            var worst = 0.0
            for bit in 0..<(clean.count * 8) {
                var flipped = clean
                flipped[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
                if LSM9DS1Driver.spikedSample(flipped) != nil {
                    refused += 1
                    continue
                }
                worst = max(worst, abs(LSM9DS1Driver.vibration(fifoBurst: flipped) - truth))
            }
            #expect(worst < max(0.002, truth / 4),
                    "worst accepted error \(worst) g (vibration \(truth) g, \(refused) of \(clean.count * 8) flips refused)")
            // At any frequency, a flip worth more than four times the shaking (plus 20 mg)
            // never passes: it moves its sample that far from every other in three dimensions.
            let bits = (0..<8).filter {
                Double(1 << (8 + $0)) * LSM9DS1AccelGyroRegister.accelScale2g > 4 * amplitude + 0.02
            }
            for sample in 1..<31 {
                for axis in 0..<3 {
                    for bit in bits {
                        var flipped = clean
                        flipped[sample * 6 + axis * 2 + 1] ^= UInt8(1) << UInt8(bit)
                        #expect(LSM9DS1Driver.spikedSample(flipped) != nil, "sample \(sample) axis \(axis) high bit \(bit)")
                    }
                }
            }
        }
    }

    @Test("clean bursts are never refused: still, drum-like, clipped at ±2 g and near-Nyquist shaking, many units",
          arguments: [(0.0, 0.0), (10.0, 0.5), (17.0, 0.05), (20.0, 1.2), (55.0, 0.02), (100.0, 0.2), (140.0, 0.1)])
    func noFalseAlarms(frequency: Double, amplitude: Double) throws {
        for seed in UInt64(1)...UInt64(40) {
            let bench = IMUBench(seed: seed, frequency: frequency, amplitude: amplitude)
            _ = try LSM9DS1Driver(bus: bench.bus).initialise()
            for gap in [150, 70, 300, 90, 1000] {
                bench.clock.advance(.milliseconds(gap))
                let unread = Int(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask)
                let bytes = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: min(unread, 32) * AG.sampleBytes, autoIncrementBit: 0)
                #expect(LSM9DS1Driver.spikedSample(bytes) == nil, "seed \(seed), gap \(gap) ms")
            }
        }
    }

    @Test("a FIFO burst with a flipped bit is refused by the driver, and the next window reads clean")
    func driverRefusesFlippedBurst() throws {
        let bench = IMUBench(seed: 2, frequency: 17, amplitude: 0.05)
        // Bit 4 of the high byte of sample 10's z axis: 0.25 g, well inside ±2 g.
        let bus = ScriptedFlipBus(bench.bus, address: AG.address, flips: [ScriptedFlipBus.Flip(register: AG.outXLXL, byte: 10 * 6 + 5, bit: 4)])
        let driver = LSM9DS1Driver(bus: bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(200))
        #expect(throws: DriverError.verifyMismatch(chip: "LSM9DS1")) { try driver.sample() }
        #expect(bus.applied == 1)
        bench.clock.advance(.milliseconds(100))
        let vibration = try #require(try driver.sample()?[.vibration])
        #expect(abs(vibration - 0.05 / 2.0.squareRoot()) < 0.15 * 0.05 / 2.0.squareRoot())
    }

    @Test("a FIFO_SRC read with a flipped count bit is refused, never read past the FIFO's end")
    func fifoSourceFlip() throws {
        let bench = IMUBench(seed: 2)
        let bus = ScriptedFlipBus(bench.bus, address: AG.address, flips: [ScriptedFlipBus.Flip(register: AG.fifoSrc, byte: 0, bit: 3)])
        let driver = LSM9DS1Driver(bus: bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(100))
        let unread = { Int(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask) }
        #expect(try unread() == 23)
        #expect(throws: DriverError.verifyMismatch(chip: "LSM9DS1")) { try driver.sample() }
        #expect(bus.applied == 1)
        #expect(try unread() == 23, "nothing was popped on a count the driver could not trust")
        #expect(try driver.sample() != nil)
    }
}
