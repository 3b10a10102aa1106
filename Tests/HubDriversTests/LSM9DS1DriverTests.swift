import Foundation
import HubCore
import HubDrivers
import HubSim
import Testing

@Suite("LSM9DS1 driver")
struct LSM9DS1DriverTests {
    typealias AG = LSM9DS1AccelGyroRegister

    /// Unread samples as FIFO_SRC reports them.
    func unread(_ bench: IMUBench) throws -> Int {
        Int(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask)
    }

    @Test("a still kit reads the accelerometer's noise, whatever this unit's zero-g offset",
          arguments: Array(UInt64(1)...UInt64(8)))
    func stillKit(seed: UInt64) throws {
        let bench = IMUBench(seed: seed)
        let offset = bench.accelGyro.zeroGOffset
        #expect(abs(offset.x) <= 0.09 && abs(offset.y) <= 0.09 && abs(offset.z) <= 0.09)
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(200))
        let values = try #require(try driver.sample())
        let vibration = try #require(values[.vibration])
        // 1 mg RMS per axis: the magnitude's AC part is about 1 mg, never the offset or gravity.
        #expect(vibration < 0.005)
        #expect(vibration > 0.0003, "noise is present, the FIFO did not return one sample 32 times")
        #expect(values[.temperature] == nil)
    }

    @Test("units differ: each seed draws its own zero-g offset")
    func offsetsPerUnit() {
        let a = IMUBench(seed: 1).accelGyro.zeroGOffset
        let b = IMUBench(seed: 2).accelGyro.zeroGOffset
        #expect(a != b)
        #expect(IMUBench(seed: 1).accelGyro.zeroGOffset == a)
    }

    @Test("a kit shaking at 17 Hz with 0.05 g amplitude reads 0.05/√2 g RMS within 15 %",
          arguments: [UInt64(1), 5, 9])
    func shakingKit(seed: UInt64) throws {
        let bench = IMUBench(seed: seed, frequency: 17, amplitude: 0.05)
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        let expected = 0.05 / 2.0.squareRoot()
        // Different gaps give different phases and window lengths (a full FIFO of 32, or 16–20).
        for gap in [200, 1_000, 70, 83, 2_500] {
            bench.clock.advance(.milliseconds(gap))
            let vibration = try #require(try driver.sample()?[.vibration])
            #expect(abs(vibration - expected) < 0.15 * expected, "gap \(gap) ms: \(vibration) g")
        }
    }

    @Test("the FIFO is not ready right after power-up; 16 samples at 238 Hz take 67 ms")
    func notReadyAfterPowerUp() throws {
        let bench = IMUBench()
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        #expect(try driver.sample() == nil)
        bench.clock.advance(.milliseconds(60))
        #expect(try unread(bench) == 14)
        #expect(try driver.sample() == nil)
        bench.clock.advance(.milliseconds(8))
        #expect(try unread(bench) == 16)
        #expect(try driver.sample() != nil)
        #expect(try unread(bench) == 0, "the burst drained every sample it used")
        #expect(try driver.sample() == nil)
    }

    @Test("a sample is FIFO_SRC read twice plus one burst of 6 bytes per unread sample")
    func oneBurst() throws {
        let bench = IMUBench()
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.seconds(1))
        let transfers = bench.bus.transferCount
        let bytes = bench.bus.byteCount
        _ = try #require(try driver.sample())
        #expect(bench.bus.transferCount == transfers + 3)
        // Each transfer: address (+ repeated-start address) + pointer byte + data.
        #expect(bench.bus.byteCount == bytes + 2 * (2 + 1 + 1) + (2 + 1 + 32 * 6))
    }

    @Test("reading six output bytes pops one sample; other reads do not")
    func popsPerSample() throws {
        let bench = IMUBench()
        _ = try LSM9DS1Driver(bus: bench.bus).initialise()
        bench.clock.advance(.milliseconds(100))
        #expect(try unread(bench) == 23)
        _ = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 12, autoIncrementBit: 0)
        #expect(try unread(bench) == 21)
        _ = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 5, autoIncrementBit: 0)
        #expect(try unread(bench) == 21, "a sample pops when its last byte (OUT_Z_H_XL) is read")
        _ = try bench.bus.readRegister(AG.address, AG.status)
        #expect(try unread(bench) == 21)
    }

    @Test("continuous mode keeps the newest 32 samples and flags the overrun")
    func keepsNewest() throws {
        let bench = IMUBench()
        bench.environment.rampPerSecond = 0.1
        _ = try LSM9DS1Driver(bus: bench.bus).initialise()
        bench.clock.advance(.seconds(1))
        let source = try bench.bus.readRegister(AG.address, AG.fifoSrc)
        #expect(source & AG.fifoUnreadMask == 32)
        #expect(source & AG.fifoOverrun != 0)
        let bytes = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 32 * 6, autoIncrementBit: 0)
        var xs = [Double]()
        for offset in stride(from: 0, to: bytes.count, by: 6) {
            let raw = Int16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
            xs.append(Double(raw) * AG.accelScale2g - bench.accelGyro.zeroGOffset.x)
        }
        // The last 32 conversions before t = 1 s span 0.870...1.0 s: x = 0.1 g/s · t.
        #expect(abs(xs.first! - 0.0870) < 0.004)
        #expect(abs(xs.last! - 0.0996) < 0.004)
        #expect(xs.last! > xs.first!, "oldest first")
        let drained = try bench.bus.readRegister(AG.address, AG.fifoSrc)
        #expect(drained & (AG.fifoUnreadMask | AG.fifoOverrun) == 0, "drained, overrun cleared")
    }

    @Test("after an hour unread, the model computes at most 32 conversions, not 850 000")
    func longGap() throws {
        let bench = IMUBench()
        _ = try LSM9DS1Driver(bus: bench.bus).initialise()
        let before = bench.environment.queries
        bench.clock.advance(.seconds(3600))
        #expect(try unread(bench) == 32)
        // 32 accelerometer conversions and the latest gyroscope one.
        #expect(bench.environment.queries - before <= 33)
    }

    @Test("at power-on nothing converts: ODR 0, CTRL_REG8 = IF_ADD_INC")
    func powerOnDefaults() throws {
        let bench = IMUBench()
        #expect(try bench.bus.readRegister(AG.address, AG.whoAmI) == 0x68)
        #expect(try bench.bus.readRegister(AG.address, AG.ctrlReg8) == 0x04)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg9, AG.fifoEnable)
        try bench.bus.writeRegister(AG.address, AG.fifoCtrl, AG.fifoModeContinuous)
        bench.clock.advance(.seconds(1))
        #expect(try unread(bench) == 0, "FIFO on but the accelerometer is powered down")
        #expect(try bench.bus.readRegister(AG.address, AG.status) == 0)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg6XL, 0x40)  // accelerometer alone at 50 Hz (ODR_XL 010)
        bench.clock.advance(.milliseconds(100))
        #expect(try unread(bench) == 5)
        let status = try bench.bus.readRegister(AG.address, AG.status)
        #expect(status & (AG.accelReady | AG.gyroReady) == AG.accelReady, "gyroscope still off")
    }

    @Test("bit 7 of the accelerometer's register address is ignored: 0xA8 reads OUT_X_XL, auto-increment is IF_ADD_INC")
    func autoIncrementConvention() throws {
        let bench = IMUBench()
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(100))
        let stConvention = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 6, autoIncrementBit: 0x80)
        let acceleration = LSM9DS1Axes(outputRegisters: stConvention, at: 0).value(sensitivity: AG.accelScale2g)
        #expect(abs(acceleration.magnitude - 1) < 0.2, "0xA8 is 0x28: \(acceleration)")
        try bench.bus.writeRegister(AG.address, AG.ctrlReg8, 0x00)
        let stuck = try bench.bus.readRegisters(AG.address, AG.whoAmI, count: 3, autoIncrementBit: 0)
        #expect(stuck == [0x68, 0x68, 0x68], "without IF_ADD_INC the pointer stays put")
        // initialise() restores IF_ADD_INC, so the driver recovers from a cleared bit.
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(100))
        #expect(try driver.sample() != nil)
    }

    @Test("re-initialising empties the FIFO, so no sample predates it")
    func reinitialiseFlushes() throws {
        let bench = IMUBench()
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(300))
        #expect(try unread(bench) == 32)
        _ = try driver.initialise()
        #expect(try unread(bench) == 0)
        #expect(try driver.sample() == nil)
    }

    @Test("the driver powers the gyroscope down; the magnetometer reads the environment's field through the chip")
    func gyroOffAndMagnetometer() throws {
        let field = Vector3(x: 0.21, y: -0.05, z: -0.43)
        let bench = IMUBench(seed: 4, angularRate: Vector3(x: 12.5, y: -30, z: 4), magneticField: field)
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        #expect(try bench.bus.readRegister(0x6A, LSM9DS1AccelGyroRegister.ctrlReg1G) == 0, "ODR_G 0: power-down")
        #expect(try driver.readMagneticField() == .zero, "no conversion yet at 10 Hz")
        bench.clock.advance(.milliseconds(150))
        let b = try driver.readMagneticField()
        // Noise: 3 mgauss RMS; 5 σ plus one LSB.
        #expect(abs(b.x - field.x) < 0.016 && abs(b.y - field.y) < 0.016 && abs(b.z - field.z) < 0.016)
        let status = try bench.bus.readRegister(LSM9DS1MagnetometerRegister.address, LSM9DS1MagnetometerRegister.statusM)
        #expect(status & LSM9DS1MagnetometerRegister.dataReady == 0, "reading OUT_Z_H_M cleared ZYXDA")
    }

    @Test("the magnetometer stays powered down until continuous mode is set")
    func magnetometerPowerDown() throws {
        let bench = IMUBench()
        typealias M = LSM9DS1MagnetometerRegister
        bench.clock.advance(.seconds(1))
        #expect(try bench.bus.readRegister(M.address, M.statusM) == 0)
        #expect(try bench.bus.readRegister(M.address, M.ctrlReg3M) == 0x03)
        try bench.bus.writeRegister(M.address, M.ctrlReg3M, M.ctrlReg3MRun)
        bench.clock.advance(.milliseconds(100))
        #expect(try bench.bus.readRegister(M.address, M.statusM) & M.dataReady != 0)
    }

    @Test("a wrong WHO_AM_I on either die is a typed error naming both values")
    func wrongDevice() throws {
        let clock = ManualClock()
        let bus = SimI2CBus(clock: clock, random: SeededRandom(seed: 1))
        bus.attach(ImpostorChip(value: 0x69), at: 0x6A)
        let driver = LSM9DS1Driver(bus: bus)
        #expect(throws: DriverError.wrongDevice(chip: "LSM9DS1", address: 0x6A, expected: 0x68, found: 0x69)) {
            try driver.initialise()
        }
        #expect(throws: DriverError.notInitialised(chip: "LSM9DS1")) { try driver.sample() }

        let environment = ShakingEnvironment(start: clock.now)
        let other = SimI2CBus(clock: clock, random: SeededRandom(seed: 1))
        other.attach(LSM9DS1AccelGyroModel(source: environment, random: SeededRandom(seed: 2)), at: 0x6A)
        other.attach(ImpostorChip(value: 0x3C), at: 0x1C)
        #expect(throws: DriverError.wrongDevice(chip: "LSM9DS1", address: 0x1C, expected: 0x3D, found: 0x3C)) {
            try LSM9DS1Driver(bus: other).initialise()
        }
    }

    @Test("an absent die is a typed error, not a crash or a zero")
    func absent() throws {
        let clock = ManualClock()
        let empty = SimI2CBus(clock: clock, random: SeededRandom(seed: 1))
        #expect(throws: DriverError.absent(chip: "LSM9DS1", address: 0x6A)) { try LSM9DS1Driver(bus: empty).initialise() }
        let bench = IMUBench()
        bench.bus.setAbsent(true, at: 0x1C)
        let driver = LSM9DS1Driver(bus: bench.bus)
        #expect(throws: DriverError.absent(chip: "LSM9DS1", address: 0x1C)) { try driver.initialise() }
        #expect(throws: DriverError.notInitialised(chip: "LSM9DS1")) { try driver.readMagneticField() }
    }

    @Test("a die that vanishes after initialisation gives a bus error")
    func vanishes() throws {
        let bench = IMUBench()
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.bus.setAbsent(true, at: 0x6A)
        #expect(throws: DriverError.bus(chip: "LSM9DS1", .noAck(address: 0x6A))) { try driver.sample() }
    }

    @Test("AC RMS removes the mean vector: a constant has none, a square wave its half-amplitude on any axis")
    func acRMS() {
        let g = Vector3.gravity
        #expect(LSM9DS1Driver.acRMS([g, g, g, g]) == 0)
        // The same swing along gravity or across it gives the same figure.
        let vertical = [g + Vector3(x: 0, y: 0, z: 1), g - Vector3(x: 0, y: 0, z: 1)]
        let horizontal = [g + Vector3(x: 1, y: 0, z: 0), g - Vector3(x: 1, y: 0, z: 0)]
        #expect(LSM9DS1Driver.acRMS(vertical) == 1)
        #expect(LSM9DS1Driver.acRMS(horizontal) == 1)
        // Axes add as variances: 0.03 across and 0.04 along make 0.05.
        let both = [Vector3(x: 0.03, y: 0, z: 1.04), Vector3(x: -0.03, y: 0, z: 0.96)]
        #expect(abs(LSM9DS1Driver.acRMS(both) - 0.05) < 1e-12)
    }

    @Test("horizontal shaking counts in full: a magnitude-based figure would see under a tenth of it")
    func horizontalShaking() throws {
        // 17 Hz, 0.05 g along x only, the kit flat (gravity on z).
        let scale = LSM9DS1AccelGyroRegister.accelScale2g
        var bytes = [UInt8]()
        var magnitudes = [Double]()
        for i in 0..<32 {
            let raw = [0.05 * sin(2 * Double.pi * 17 * Double(i) / 238), 0, 1.0].map { Int16(($0 / scale).rounded()) }
            for value in raw { bytes += [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)] }
            magnitudes.append(raw.map { Double($0) * scale }.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        #expect(LSM9DS1Driver.spikedSample(bytes) == nil)
        let figure = LSM9DS1Driver.vibration(fifoBurst: bytes)
        #expect(abs(figure - 0.05 / 2.0.squareRoot()) < 0.002, "\(figure) g")
        let mean = magnitudes.reduce(0, +) / Double(magnitudes.count)
        let magnitudeFigure = (magnitudes.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(magnitudes.count)).squareRoot()
        #expect(magnitudeFigure < figure / 10, "|a| sees \(magnitudeFigure) g of \(figure) g")
    }

    @Test("the same seed gives the same figure, sample for sample")
    func deterministic() throws {
        func run(seed: UInt64) throws -> [Double] {
            let bench = IMUBench(seed: seed, frequency: 17, amplitude: 0.05)
            let driver = LSM9DS1Driver(bus: bench.bus)
            _ = try driver.initialise()
            var figures = [Double]()
            for _ in 0..<5 {
                bench.clock.advance(.milliseconds(250))
                figures.append(try #require(try driver.sample()?[.vibration]))
            }
            return figures
        }
        #expect(try run(seed: 3) == run(seed: 3))
        #expect(try run(seed: 3) != run(seed: 4))
    }
}
