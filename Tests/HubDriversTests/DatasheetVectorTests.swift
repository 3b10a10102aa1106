import HubCore
import HubDrivers
import HubSim
import Testing

// Byte vectors worked by hand from the datasheet formulas (reference/sensehat.md, ST's
// datasheets), not produced by the encoders: the chip models encode with the very
// functions the drivers decode with, so a round trip through them cannot catch an error
// made the same way in both directions. These pin each direction to the datasheet on
// its own.

/// A register file that answers reads from fixed bytes: no conversions, no status
/// clearing, always auto-incrementing. Whatever the driver decodes came from these bytes.
/// Its data-ready bits never clear, which a verifying read takes for new data every
/// burst, so the drivers read it unverified.
final class FixedRegisterChip: SimI2CDevice {
    var registers = [UInt8](repeating: 0, count: 128)
    private var pointer = 0

    init(_ contents: [UInt8: [UInt8]]) {
        for (start, bytes) in contents {
            registers.replaceSubrange(Int(start)..<Int(start) + bytes.count, with: bytes)
        }
    }

    /// Sets the pointer; written values are dropped so the fixed outputs stay as they are.
    func write(_ bytes: [UInt8], now: Instant) {
        if let first = bytes.first { pointer = Int(first & 0x7F) }
    }

    func read(count: Int, now: Instant) -> [UInt8] {
        (0..<count).map { _ in
            defer { pointer = (pointer + 1) & 0x7F }
            return registers[pointer]
        }
    }
}

/// Initialises `driver` and takes one sample (a fixed-register chip always has one ready).
private func firstSample(_ driver: some SensorDriver) throws -> ChannelValues {
    _ = try driver.initialise()
    return try #require(try driver.sample())
}

/// A simulated bus with fixed-register chips at the given addresses.
private func bus(_ chips: [UInt8: FixedRegisterChip]) -> SimI2CBus {
    let bus = SimI2CBus(clock: ManualClock(), random: SeededRandom(seed: 1))
    for (address, chip) in chips { bus.attach(chip, at: address) }
    return bus
}

@Suite("HTS221 datasheet vectors")
struct HTS221DatasheetVectorTests {
    /// One unit's calibration block 0x30...0x3F: H0 = 0x40/2 = 32 %RH, H1 = 0xA0/2 = 80 %RH;
    /// T0 = ((0xC9 & 0x03) << 8 | 0x10)/8 = 0x110/8 = 34 °C, T1 = ((0xC9 & 0x0C) << 6 | 0xD0)/8
    /// = 0x2D0/8 = 90 °C (0x35's reserved high bits set, as they may be); H0_T0_OUT = 0xF060
    /// = −4000, H1_T0_OUT = 0x1F40 = 8000, T0_OUT = 0x012C = 300, T1_OUT = 0x0C1C = 3100.
    static let block: [UInt8] = [0x40, 0xA0, 0x10, 0xD0, 0x00, 0xC9, 0x60, 0xF0,
                                 0x00, 0x00, 0x40, 0x1F, 0x2C, 0x01, 0x1C, 0x0C]
    /// HUMIDITY_OUT 0x07D0 = 2000: 32 + (2000 + 4000)·(80 − 32)/(8000 + 4000) = 56 %RH.
    /// TEMP_OUT 0xFED4 = −300: 34 + (−300 − 300)·(90 − 34)/(3100 − 300) = 22 °C.
    static let outputs: [UInt8] = [0xD0, 0x07, 0xD4, 0xFE]

    @Test("a calibration block decodes to the points the datasheet's bit layout gives")
    func calibrationBlock() throws {
        let calibration = try HTS221Calibration(registers: Self.block)
        #expect(calibration == HTS221Calibration(t0DegC: 34, t1DegC: 90, t0Out: 300, t1Out: 3100,
                                                 h0RH: 32, h1RH: 80, h0T0Out: -4000, h1T0Out: 8000))
    }

    @Test("output bytes decode to the datasheet's straight line through the two points")
    func outputsDecode() throws {
        let calibration = try HTS221Calibration(registers: Self.block)
        let values = calibration.values(outputRegisters: Self.outputs[...])
        #expect(values.humidity == 56)
        #expect(values.temperature == 22)
        // TEMP_OUT 0x0514 = 1300: 34 + 1000·56/2800 = 54 °C; HUMIDITY_OUT 0x7FFF is past 100 %RH.
        #expect(calibration.values(outputRegisters: [0xFF, 0x7F, 0x14, 0x05]).temperature == 54)
        #expect(calibration.values(outputRegisters: [0xFF, 0x7F, 0x14, 0x05]).humidity == 100, "clamped")
    }

    @Test("conditions encode to the datasheet's output bytes")
    func outputsEncode() throws {
        let calibration = try HTS221Calibration(registers: Self.block)
        #expect(calibration.outputRegisters(humidity: 56, temperature: 22) == Self.outputs)
    }

    @Test("the driver reads the datasheet's values from the chip's bytes")
    func throughDriver() throws {
        let chip = FixedRegisterChip([HTS221Register.whoAmI: [HTS221Register.whoAmIValue], HTS221Register.status: [0x03] + Self.outputs,
                                      HTS221Register.calibrationStart: Self.block])
        let values = try firstSample(HTS221Driver(bus: bus([HTS221Register.address: chip]), verifyReads: false))
        #expect(values[.humidity] == 56)
        #expect(values[.temperature] == 22)
    }
}

@Suite("LPS25H datasheet vectors")
struct LPS25HDatasheetVectorTests {
    /// PRESS_OUT 0x3F5000 = 4 149 248: /4096 = 1013 hPa. TEMP_OUT 0xD990 = −9840:
    /// 42.5 − 9840/480 = 22 °C.
    static let outputs: [UInt8] = [0x00, 0x50, 0x3F, 0x90, 0xD9]

    @Test("output bytes decode to hPa = raw/4096 and °C = 42.5 + raw/480")
    func outputsDecode() {
        let values = LPS25HConversion.values(outputRegisters: Self.outputs[...])
        #expect(values.hectopascals == 1013)
        #expect(values.celsius == 22)
        // 0x3E8800 = 4 098 048 is 1000.5 hPa; TEMP_OUT 0x0000 is 42.5 °C.
        let other = LPS25HConversion.values(outputRegisters: [0x00, 0x88, 0x3E, 0x00, 0x00])
        #expect(other.hectopascals == 1000.5 && other.celsius == 42.5)
        // PRESS_OUT is 24-bit two's complement: 0x800000 is −8 388 608, −2048 hPa.
        #expect(LPS25HConversion.values(outputRegisters: [0x00, 0x00, 0x80, 0x00, 0x00]).hectopascals == -2048)
    }

    @Test("conditions encode to the datasheet's output bytes")
    func outputsEncode() {
        #expect(LPS25HConversion.outputRegisters(hectopascals: 1013, celsius: 22) == Self.outputs)
        #expect(LPS25HConversion.outputRegisters(hectopascals: 1000.5, celsius: 42.5) == [0x00, 0x88, 0x3E, 0x00, 0x00])
    }

    @Test("the driver reads the datasheet's values from the chip's bytes")
    func throughDriver() throws {
        let chip = FixedRegisterChip([LPS25HRegister.whoAmI: [LPS25HRegister.whoAmIValue], LPS25HRegister.status: [0x03] + Self.outputs])
        let values = try firstSample(LPS25HDriver(bus: bus([LPS25HRegister.address: chip]), verifyReads: false))
        #expect(values[.pressure] == 1013)
        #expect(values[.referenceTemperature] == 22)
    }
}

@Suite("LSM9DS1 datasheet vectors")
struct LSM9DS1DatasheetVectorTests {
    typealias AG = LSM9DS1AccelGyroRegister
    typealias M = LSM9DS1MagnetometerRegister

    @Test("each full-scale setting has the datasheet's sensitivity (table 3)")
    func sensitivities() {
        // FS_XL 00 ±2 g, 01 ±16 g, 10 ±4 g, 11 ±8 g: 0.061, 0.732, 0.122, 0.244 mg/LSB.
        #expect((0...3).map { LSM9DS1Sensitivity.acceleration(fsXL: $0) } == [0.000061, 0.000732, 0.000122, 0.000244])
        // FS_G 00 ±245, 01 ±500, 11 ±2000 °/s: 8.75, 17.50, 70 mdps/LSB.
        #expect([0, 1, 3].map { LSM9DS1Sensitivity.angularRate(fsG: $0) } == [0.00875, 0.0175, 0.07])
        // FS 00 ±4, 01 ±8, 10 ±12, 11 ±16 gauss: 0.14, 0.29, 0.43, 0.58 mgauss/LSB.
        #expect((0...3).map { LSM9DS1Sensitivity.magneticField(fsM: $0) } == [0.00014, 0.00029, 0.00043, 0.00058])
        // The rows the hub's driver runs at.
        #expect(AG.accelScale2g == 0.000061 && AG.gyroScale245dps == 0.00875 && M.scale4Gauss == 0.00014)
    }

    @Test("output bytes decode as little-endian int16 counts times the sensitivity")
    func outputsDecode() {
        // 0x4000 = 16384, 0xC000 = −16384, 0x0001 = 1 at ±2 g.
        let accel = LSM9DS1Axes(outputRegisters: [0x00, 0x40, 0x00, 0xC0, 0x01, 0x00], at: 0)
        #expect(accel == LSM9DS1Axes(x: 16384, y: -16384, z: 1))
        let g = accel.value(sensitivity: LSM9DS1Sensitivity.acceleration(fsXL: 0b00))
        #expect(abs(g.x - 0.999424) < 1e-12 && abs(g.y + 0.999424) < 1e-12 && abs(g.z - 0.000061) < 1e-15)
        // The same count at ±16 g: 16384 × 0.732 mg.
        #expect(abs(accel.value(sensitivity: LSM9DS1Sensitivity.acceleration(fsXL: 0b01)).x - 11.993088) < 1e-9)
    }

    @Test("values encode to the datasheet's counts, saturating at the int16 range")
    func outputsEncode() {
        var bytes = [UInt8](repeating: 0, count: 6)
        // 35 °/s at ±245 °/s is 4000 = 0x0FA0; −35 is 0xF060.
        LSM9DS1Axes(Vector3(x: 35, y: -35, z: 0), sensitivity: LSM9DS1Sensitivity.angularRate(fsG: 0b00)).write(into: &bytes, at: 0)
        #expect(bytes == [0xA0, 0x0F, 0x60, 0xF0, 0x00, 0x00])
        // ±3 g at ±2 g full scale pins at 0x7FFF and 0x8000.
        #expect(LSM9DS1Axes(Vector3(x: 3, y: -3, z: 1), sensitivity: LSM9DS1Sensitivity.acceleration(fsXL: 0b00))
            == LSM9DS1Axes(x: 32767, y: -32768, z: 16393))
    }

    @Test("the driver reads the datasheet's field from the chip's bytes")
    func throughDriver() throws {
        // Magnetometer 3000, −1000, 0 counts at ±4 gauss: 0.42, −0.14, 0 gauss.
        let accelGyro = FixedRegisterChip([AG.whoAmI: [AG.whoAmIValue]])
        let magnetometer = FixedRegisterChip([M.whoAmI: [M.whoAmIValue], M.outXLM: [0xB8, 0x0B, 0x18, 0xFC, 0x00, 0x00]])
        let driver = LSM9DS1Driver(bus: bus([AG.address: accelGyro, M.address: magnetometer]))
        _ = try driver.initialise()
        let field = try driver.readMagneticField()
        #expect(abs(field.x - 0.42) < 1e-12 && abs(field.y + 0.14) < 1e-12 && field.z == 0)
    }
}
