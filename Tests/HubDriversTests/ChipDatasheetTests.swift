import Foundation
import HubCore
import HubDrivers
import HubSim
import Testing

/// The chip models against their datasheets, register by register, as a bench program
/// talking to the real parts would see them (each fact cites its section in the model's
/// file). Register I/O goes through the simulated bus, as any driver's does.
@Suite("chip models as the datasheets say")
struct ChipDatasheetTests {
    typealias AG = LSM9DS1AccelGyroRegister
    typealias M = LSM9DS1MagnetometerRegister

    // MARK: LSM9DS1

    @Test("LSM9DS1 power-on values: CTRL_REG4 0x38, CTRL_REG5_XL 0x38, CTRL_REG8 0x04, INT_CFG_M 0x08")
    func lsm9ds1PowerOn() throws {
        let bench = IMUBench()
        #expect(try bench.bus.readRegister(AG.address, 0x1E) == 0x38)
        #expect(try bench.bus.readRegister(AG.address, 0x1F) == 0x38)
        #expect(try bench.bus.readRegister(AG.address, AG.ctrlReg8) == 0x04)
        #expect(try bench.bus.readRegister(M.address, 0x30) == 0x08)
        // SW_RESET brings them back after a change.
        try bench.bus.writeRegister(AG.address, 0x1E, 0x00)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg8, AG.ctrlReg8Default | AG.softwareReset)
        #expect(try bench.bus.readRegister(AG.address, 0x1E) == 0x38)
    }

    @Test("LSM9DS1 accel/gyro: the register address is 7 bits, bit 7 is ignored (0x8F reads WHO_AM_I)")
    func lsm9ds1SevenBitAddress() throws {
        let bench = IMUBench()
        #expect(try bench.bus.readRegister(AG.address, 0x8F) == AG.whoAmIValue)
        #expect(try bench.bus.readRegisters(AG.address, 0x8E, count: 2, autoIncrementBit: 0) == [0x00, AG.whoAmIValue])
    }

    /// Gyroscope on at 238 Hz (its ODR paces both), FIFO continuous, 50 ms of frames.
    func fifoBench(gyro: Bool) throws -> IMUBench {
        let bench = IMUBench(seed: 3, angularRate: Vector3(x: 35, y: -70, z: 10))
        try bench.bus.writeRegister(AG.address, AG.ctrlReg1G, gyro ? 0x80 : 0x00)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg6XL, AG.ctrlReg6XLRun)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg9, AG.fifoEnable)
        try bench.bus.writeRegister(AG.address, AG.fifoCtrl, AG.fifoModeContinuous)
        bench.clock.advance(.milliseconds(50))
        return bench
    }

    @Test("LSM9DS1 FIFO with the gyroscope on: 12-byte gyro + accel frames, 0x1D→0x28 and 0x2D→0x18, a pop per frame")
    func lsm9ds1GyroFrames() throws {
        let bench = try fifoBench(gyro: true)
        let before = try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask
        #expect(before == 11, "50 ms at 238 Hz")
        let bytes = try bench.bus.readRegisters(AG.address, AG.outXLG, count: 36, autoIncrementBit: 0)
        for frame in 0..<3 {
            let gyro = LSM9DS1Axes(outputRegisters: bytes, at: frame * 12).value(sensitivity: AG.gyroScale245dps)
            let accel = LSM9DS1Axes(outputRegisters: bytes, at: frame * 12 + 6).value(sensitivity: AG.accelScale2g)
            // Gyro noise 0.1 °/s; accel 1 mg noise plus the unit's offset within ±90 mg.
            #expect(abs(gyro.x - 35) < 1 && abs(gyro.y + 70) < 1 && abs(gyro.z - 10) < 1, "frame \(frame): \(gyro)")
            #expect(abs(accel.magnitude - 1) < 0.2, "frame \(frame): \(accel)")
        }
        #expect(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask == before - 3)
    }

    @Test("LSM9DS1 FIFO with the gyroscope off: 6-byte accel frames from 0x28, wrapping 0x2D→0x28")
    func lsm9ds1AccelFrames() throws {
        let bench = try fifoBench(gyro: false)
        let before = try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask
        let bytes = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 18, autoIncrementBit: 0)
        for frame in 0..<3 {
            let accel = LSM9DS1Axes(outputRegisters: bytes, at: frame * 6).value(sensitivity: AG.accelScale2g)
            #expect(abs(accel.magnitude - 1) < 0.2, "frame \(frame): \(accel)")
        }
        #expect(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoUnreadMask == before - 3)
    }

    @Test("the LSM9DS1 driver reads acceleration, never gyroscope counts: a still kit's vibration is noise")
    func lsm9ds1DriverStill() throws {
        let bench = IMUBench(seed: 5, angularRate: Vector3(x: 200, y: -200, z: 200))
        let driver = LSM9DS1Driver(bus: bench.bus)
        _ = try driver.initialise()
        bench.clock.advance(.milliseconds(200))
        let vibration = try #require(try driver.sample()?[.vibration])
        // 1 mg noise per axis: about 1 mg on the magnitude. Gyroscope counts read as
        // acceleration (200 °/s is 22,857 counts, 1.39 g) would give hundreds of mg.
        #expect(vibration < 0.003, "\(vibration)")
    }

    @Test("LSM9DS1 accelerometer noise follows the anti-alias bandwidth: 1 mg per axis at 238 Hz, 1.97 at 50, 0.69 at 119, BW_XL when BW_SCAL_ODR is set",
          arguments: [(UInt8(0x80), 0.001), (UInt8(0x40), 0.00197), (UInt8(0x60), 0.00069), (UInt8(0x20), 0.00197), (UInt8(0x47), 0.00069), (UInt8(0x85), 0.00142)] as [(UInt8, Double)])
    func lsm9ds1NoiseBandwidth(control: UInt8, sigma: Double) throws {
        let bench = IMUBench(seed: 11)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg6XL, control)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg9, AG.fifoEnable)
        try bench.bus.writeRegister(AG.address, AG.fifoCtrl, AG.fifoModeContinuous)
        // 20 full FIFOs of a still kit: per axis, the spread about each burst's mean is the noise.
        var squares = 0.0
        var count = 0
        for _ in 0..<20 {
            bench.clock.advance(.seconds(4))
            let bytes = try bench.bus.readRegisters(AG.address, AG.outXLXL, count: 32 * 6, autoIncrementBit: 0)
            let samples = (0..<32).map { LSM9DS1Axes(outputRegisters: bytes, at: $0 * 6).value(sensitivity: AG.accelScale2g) }
            let mean = samples.reduce(Vector3.zero, +) * (1.0 / 32)
            for sample in samples {
                let d = sample - mean
                squares += d.x * d.x + d.y * d.y + d.z * d.z
                count += 3
            }
        }
        let measured = (squares / Double(count) * 32 / 31).squareRoot()
        #expect(abs(measured / sigma - 1) < 0.1, "CTRL_REG6_XL \(String(control, radix: 16)): \(measured) g against \(sigma)")
    }

    @Test("LSM9DS1 FIFO_SRC FTH reads 0 while the threshold is 0, and 1 once FSS reaches it")
    func lsm9ds1Threshold() throws {
        let bench = try fifoBench(gyro: false)
        #expect(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoThresholdReached == 0)
        try bench.bus.writeRegister(AG.address, AG.fifoCtrl, AG.fifoModeContinuous | 4)
        bench.clock.advance(.milliseconds(50))
        #expect(try bench.bus.readRegister(AG.address, AG.fifoSrc) & AG.fifoThresholdReached != 0)
    }

    @Test("LSM9DS1 OUT_TEMP: 16 LSB/°C from 25 °C, STATUS TDA set by a conversion and cleared by reading OUT_TEMP_H")
    func lsm9ds1Temperature() throws {
        let bench = IMUBench()
        #expect(try bench.bus.readRegister(AG.address, AG.status) & AG.temperatureReady == 0)
        try bench.bus.writeRegister(AG.address, AG.ctrlReg6XL, AG.ctrlReg6XLRun)
        bench.clock.advance(.milliseconds(10))
        #expect(try bench.bus.readRegister(AG.address, AG.status) & AG.temperatureReady != 0)
        let bytes = try bench.bus.readRegisters(AG.address, AG.outTempL, count: 2, autoIncrementBit: 0)
        // The bench's environment is at 21 °C: (21 − 25) × 16 = −64.
        #expect(Int16(bitPattern: UInt16(bytes[0]) | UInt16(bytes[1]) << 8) == -64)
        #expect(try bench.bus.readRegister(AG.address, AG.status) & AG.temperatureReady == 0)
    }

    // MARK: LPS25H and HTS221

    @Test("LPS25H SWRESET and BOOT clear themselves and restore the power-on values (RES_CONF 0x05)")
    func lps25hReset() throws {
        for bit: UInt8 in [LPS25HRegister.softwareReset, LPS25HRegister.boot] {
            let bench = SensorBench()
            try bench.bus.writeRegister(0x5C, LPS25HRegister.resConf, 0x0F)
            try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg1, LPS25HRegister.ctrlReg1Run)
            try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg2, bit)
            #expect(try bench.bus.readRegister(0x5C, LPS25HRegister.ctrlReg2) == 0)
            #expect(try bench.bus.readRegister(0x5C, LPS25HRegister.resConf) == 0x05)
            #expect(try bench.bus.readRegister(0x5C, LPS25HRegister.ctrlReg1) == 0, "powered down again")
        }
    }

    @Test("LPS25H with FIFO_EN: a PRESS_OUT burst wraps at PRESS_OUT_H, TEMP_OUT is read on its own (as RTIMULib does)")
    func lps25hFifoReadOut() throws {
        let bench = SensorBench(pressure: 1013)
        try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg1, LPS25HRegister.ctrlReg1Run)
        try bench.bus.writeRegister(0x5C, LPS25HRegister.fifoCtrl, 0xC0)
        try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg2, LPS25HRegister.fifoEnable)
        bench.clock.advance(.milliseconds(100))
        let burst = try bench.bus.readRegisters(0x5C, LPS25HRegister.pressOutXL, count: 6)
        #expect(Array(burst[3..<6]) == Array(burst[0..<3]), "0x2A wraps back to 0x28")
        let temperature = try bench.bus.readRegisters(0x5C, LPS25HRegister.tempOutL, count: 2)
        let celsius = 42.5 + Double(Int16(bitPattern: UInt16(temperature[0]) | UInt16(temperature[1]) << 8)) / 480
        #expect(abs(celsius - 21) < 2.5, "the LPS25H is accurate to ±2 °C")
        // Without FIFO_EN (the hub's configuration) one burst carries pressure and temperature.
        try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg2, 0)
        let plain = try bench.bus.readRegisters(0x5C, LPS25HRegister.pressOutXL, count: 5)
        #expect(Array(plain[3..<5]) == temperature)
    }

    /// The standard deviation of `count` pressures read one conversion apart.
    func pressureSpread(fifoControl: UInt8, count: Int) throws -> Double {
        let bench = SensorBench(seed: 9, pressure: 1013)
        try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg1, LPS25HRegister.ctrlReg1Run)
        try bench.bus.writeRegister(0x5C, LPS25HRegister.fifoCtrl, fifoControl)
        try bench.bus.writeRegister(0x5C, LPS25HRegister.ctrlReg2, LPS25HRegister.fifoEnable)
        var values: [Double] = []
        for _ in 0..<count {
            bench.clock.advance(.milliseconds(40))
            let bytes = try bench.bus.readRegisters(0x5C, LPS25HRegister.pressOutXL, count: 3)
            values.append(Double(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16) / 4096)
        }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
    }

    @Test("LPS25H FIFO mean mode averages the WTM_POINT-selected number of conversions")
    func lps25hMeanMode() throws {
        // 0.01 hPa noise per conversion is 41 LSB; a 32-sample moving average cuts it
        // several times, and WTM_POINT 00000 (RTIMULib's 0xC0) does not average at all.
        let single = try pressureSpread(fifoControl: 0xC0, count: 300)
        let averaged = try pressureSpread(fifoControl: 0xDF, count: 300)
        #expect(single > 0.007 && single < 0.013, "\(single)")
        #expect(averaged < single / 3, "\(averaged) against \(single)")
    }

    @Test("HTS221 and LPS25H: ONE_SHOT clears itself once the conversion completes, seen by polling CTRL_REG2")
    func oneShotClears() throws {
        let bench = SensorBench()
        for (address, conversion) in [(UInt8(0x5F), Duration.milliseconds(15)), (UInt8(0x5C), Duration.milliseconds(40))] {
            try bench.bus.writeRegister(address, 0x20, 0x80)  // powered up, ODR 0: one-shot mode
            try bench.bus.writeRegister(address, 0x21, 0x01)
            #expect(try bench.bus.readRegister(address, 0x21) & 0x01 == 1, "converting")
            bench.clock.advance(conversion)
            #expect(try bench.bus.readRegister(address, 0x21) & 0x01 == 0, "\(hexAddress(address)) done")
            #expect(try bench.bus.readRegister(address, 0x27) & 0x03 == 0x03, "with new data")
        }
    }

    // MARK: ATtiny88

    @Test("ATtiny88: VER reads 0; WAI, VER and KEYS do not auto-increment; unmapped registers read 0xFF")
    func attiny88Registers() throws {
        let bench = JoystickBench()
        let bus = bench.bus
        #expect(try bus.readRegisters(0x46, 0xF0, count: 3, autoIncrementBit: 0) == [0x73, 0x73, 0x73])
        #expect(try bus.readRegisters(0x46, 0xF1, count: 2, autoIncrementBit: 0) == [0x00, 0x00])
        bench.attiny.press(0x04, now: bench.clock.now)
        #expect(try bus.readRegisters(0x46, 0xF2, count: 2, autoIncrementBit: 0) == [0x04, 0x04])
        #expect(try bus.readRegisters(0x46, 0xC0, count: 4, autoIncrementBit: 0) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try bus.readRegister(0x46, 0xFF) == 0xFF)
        // The frame does auto-increment, and a write past it changes nothing else.
        _ = try bus.transfer(address: 0x46, write: [0xBE, 7, 9, 11], readCount: 0)
        #expect(try bus.readRegisters(0x46, 0xBE, count: 3, autoIncrementBit: 0) == [7, 9, 0xFF])
        #expect(try bus.readRegister(0x46, 0xF0) == 0x73)
    }
}
