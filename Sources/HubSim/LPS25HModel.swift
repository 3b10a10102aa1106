import HubCore
import HubDrivers

// Fault model of the LPS25H chip model: chip-level faults come from `ConvertingSTChip`
// (`stuck` outputs, `reset` to power-on defaults, `whoami` override); wire faults from
// `SimI2CBus`; sensing-element faults from `FaultableEnvironment`. Behaviour (ST
// DocID023722, the LPS25H datasheet, Rev 5, and AN4450, its hardware and software
// guidelines): powered down at reset (RES_CONF 0x05), conversions at the CTRL_REG1 ODR
// once PD is set, P_DA/T_DA set by a conversion and cleared by reading
// PRESS_OUT_H/TEMP_OUT_H, ONE_SHOT in ODR 0 clearing itself when its conversion completes
// (§7.5 CTRL_REG2). SWRESET and BOOT clear themselves and bring every register back to
// its power-on value (§7.5). FIFO (§7.10 FIFO_CTRL, CTRL_REG2 FIFO_EN): while FIFO_EN is
// set and F_MODE is not bypass, an auto-increment read of PRESS_OUT wraps from
// PRESS_OUT_H (0x2A) back to PRESS_OUT_XL (0x28), so the temperature is read separately
// from TEMP_OUT (AN4450, FIFO read-out); in FIFO mean mode (F_MODE 110) PRESS_OUT shows
// the moving average of the last 2, 4, 8, 16 or 32 conversions that WTM_POINT 00001,
// 00011, 00111, 01111 or 11111 selects (any other WTM_POINT: no averaging, the latest
// conversion). The FIFO's store-and-pop modes are not modelled (outputs as in bypass).
// Each unit carries a pressure offset within the ±0.2 hPa accuracy and
// 0.01 hPa RMS noise (datasheet, with internal averaging), and a temperature offset within
// the ±2 °C accuracy with 0.05 °C RMS noise. It reads the conditions through its own
// sensing elements, so a `sensor.<device>.drift` with `chip: lps25h` drifts only this chip.

/// Register-level model of the LPS25H barometer at 0x5C.
public final class LPS25HModel: ConvertingSTChip {
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    private var thermometerRandom: SeededRandom
    /// This unit's pressure error (within the ±0.2 hPa accuracy).
    public let pressureOffset: Double
    /// This unit's temperature error (within the ±2 °C accuracy).
    public let temperatureOffset: Double
    static let noisePressure = 0.01
    static let noiseTemperature = 0.05
    /// The latest pressures converted in FIFO mean mode, newest last (at most 32).
    private var meanWindow: [Double] = []

    /// `thermometerRandom` is a stream of its own, so adding the thermometer left every
    /// pressure the model produced as it was.
    /// Kelvin the die reads above the air: the Pi's warmth under the HAT (`SelfHeating`).
    public let selfHeating: Double

    public init(source: any SensorEnvironmentSource, random: SeededRandom, thermometerRandom: SeededRandom, selfHeating: Double = 0) {
        self.source = source
        self.selfHeating = selfHeating
        var random = random
        pressureOffset = random.nextDouble(in: -0.2...0.2)
        self.random = random
        var thermometerRandom = thermometerRandom
        temperatureOffset = thermometerRandom.nextDouble(in: -2...2)
        self.thermometerRandom = thermometerRandom
        super.init(oneShotTime: .milliseconds(40))
        powerOnReset()
    }

    public override func powerOnReset() {
        super.powerOnReset()
        registers = [UInt8](repeating: 0, count: 128)
        registers[Int(LPS25HRegister.whoAmI)] = LPS25HRegister.whoAmIValue
        registers[Int(LPS25HRegister.resConf)] = LPS25HRegister.resConfDefault
        meanWindow.removeAll()
    }

    private var fifoMode: UInt8 { registers[Int(LPS25HRegister.fifoCtrl)] >> 5 }

    /// FIFO_EN set and a FIFO mode other than bypass.
    private var fifoActive: Bool {
        registers[Int(LPS25HRegister.ctrlReg2)] & LPS25HRegister.fifoEnable != 0 && fifoMode != 0
    }

    /// How many conversions FIFO mean mode averages; nil outside mean mode.
    private var meanCount: Int? {
        guard fifoActive, fifoMode == 0b110 else { return nil }
        switch registers[Int(LPS25HRegister.fifoCtrl)] & 0x1F {
        case 0b00001: return 2
        case 0b00011: return 4
        case 0b00111: return 8
        case 0b01111: return 16
        case 0b11111: return 32
        default: return 1
        }
    }

    public override func nextRegister(after register: UInt8) -> UInt8 {
        if fifoActive, register == LPS25HRegister.pressOutXL + 2 { return LPS25HRegister.pressOutXL }
        return super.nextRegister(after: register)
    }

    public override var period: Duration? {
        switch (registers[0x20] >> 4) & 0x07 {
        case 1: odrPeriod(hertz: 1)
        case 2: odrPeriod(hertz: 7)
        case 3: odrPeriod(hertz: 12.5)
        case 4: odrPeriod(hertz: 25)
        default: nil
        }
    }

    public override func writeRegister(_ register: UInt8, _ value: UInt8, now: Instant) {
        switch register {
        case LPS25HRegister.resConf:
            registers[Int(register)] = value
        case LPS25HRegister.fifoCtrl:
            registers[Int(register)] = value
            meanWindow.removeAll()
        case LPS25HRegister.ctrlReg1:
            registers[Int(register)] = value
            controlChanged(now: now)
        case LPS25HRegister.ctrlReg2:
            if value & (LPS25HRegister.softwareReset | LPS25HRegister.boot) != 0 {
                powerOnReset()  // both bits clear themselves once the reset is done
                return
            }
            if value & LPS25HRegister.fifoEnable != registers[Int(register)] & LPS25HRegister.fifoEnable { meanWindow.removeAll() }
            registers[Int(register)] = oneShotRequested(value, now: now)
        default:
            break
        }
    }

    public override func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        if register == LPS25HRegister.ctrlReg2 || (0x27...0x2C).contains(register) { update(now: now) }
        let value = registers[Int(register)]
        if register == 0x2A { registers[0x27] &= ~0x02 }
        if register == 0x2C { registers[0x27] &= ~0x01 }
        return value
    }

    public override func latch(at instant: Instant) {
        let environment = source.environment(at: instant)
        record(environment, at: instant)
        var pressure = environment.pressure + pressureOffset + Self.noisePressure * random.nextGaussian()
        if let count = meanCount {
            meanWindow.append(pressure)
            if meanWindow.count > 32 { meanWindow.removeFirst(meanWindow.count - 32) }
            let averaged = meanWindow.suffix(count)
            pressure = averaged.reduce(0, +) / Double(averaged.count)
        }
        let temperature = environment.temperature + selfHeating + temperatureOffset + Self.noiseTemperature * thermometerRandom.nextGaussian()
        LPS25HConversion.writeOutputRegisters(hectopascals: pressure, celsius: temperature, into: &registers,
                                              at: Int(LPS25HRegister.pressOutXL))
        registers[0x27] |= 0x03
    }
}
