import HubCore
import HubDrivers

// Fault model of the HTS221 chip model: chip-level faults come from `ConvertingSTChip`
// (`stuck`, `reset`, `whoami`); wire faults from
// `SimI2CBus`; sensing-element faults from `FaultableEnvironment`. The chip behaves as the
// datasheet says: powered down at reset (no conversions, outputs frozen), conversions at
// the ODR once PD is set, STATUS bits set by a conversion and cleared by reading the high
// output bytes, BOOT reloading calibration, ONE_SHOT in ODR 0 clearing itself when its
// conversion completes (ST DocID026333, the HTS221 datasheet, §7.3 CTRL_REG2). Bus-level faults (absent,
// no-ACK) come from `SimI2CBus`. Measurement noise: Gaussian, 0.03 °C and 0.15 %RH RMS
// (datasheet, default averaging).

/// Register-level model of the HTS221 humidity/temperature sensor at 0x5F.
public final class HTS221Model: ConvertingSTChip {
    public let calibration: HTS221Calibration
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    static let noiseTemperature = 0.03
    static let noiseHumidity = 0.15
    /// Kelvin the die reads above the air: the Pi's warmth under the HAT (`SelfHeating`).
    /// The humidity it converts is the air's: the shift of relative humidity at a warmer
    /// die is not modelled.
    public let selfHeating: Double

    public init(calibration: HTS221Calibration, source: any SensorEnvironmentSource, random: SeededRandom, selfHeating: Double = 0) {
        self.calibration = calibration
        self.source = source
        self.random = random
        self.selfHeating = selfHeating
        super.init(oneShotTime: .milliseconds(15))
        powerOnReset()
    }

    /// Registers as after power-up: WHO_AM_I, AV_CONF 0x1B, power-down, factory calibration.
    public override func powerOnReset() {
        super.powerOnReset()
        registers = [UInt8](repeating: 0, count: 128)
        registers[Int(HTS221Register.whoAmI)] = HTS221Register.whoAmIValue
        registers[Int(HTS221Register.avConf)] = HTS221Register.avConfDefault
        loadCalibration()
    }

    private func loadCalibration() {
        for (offset, byte) in calibration.registers.enumerated() {
            registers[Int(HTS221Register.calibrationStart) + offset] = byte
        }
    }

    public override var period: Duration? {
        switch registers[0x20] & 0x03 {
        case 1: odrPeriod(hertz: 1)
        case 2: odrPeriod(hertz: 7)
        case 3: odrPeriod(hertz: 12.5)
        default: nil
        }
    }

    public override func writeRegister(_ register: UInt8, _ value: UInt8, now: Instant) {
        switch register {
        case HTS221Register.avConf:
            registers[Int(register)] = value
        case HTS221Register.ctrlReg1:
            registers[Int(register)] = value
            controlChanged(now: now)
        case HTS221Register.ctrlReg2:
            if value & 0x80 != 0 { loadCalibration() }
            registers[Int(register)] = oneShotRequested(value & 0x7F, now: now)
        default:
            break  // WHO_AM_I, STATUS, outputs and calibration are read-only
        }
    }

    public override func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        // CTRL_REG2 too: ONE_SHOT clears itself when the conversion completes (§7.3), and a
        // driver polling it must see that.
        if register == HTS221Register.ctrlReg2 || (0x27...0x2B).contains(register) { update(now: now) }
        let value = registers[Int(register)]
        if register == 0x29 { registers[0x27] &= ~0x02 }
        if register == 0x2B { registers[0x27] &= ~0x01 }
        return value
    }

    public override func latch(at instant: Instant) {
        let environment = source.environment(at: instant)
        record(environment, at: instant)
        let temperature = environment.temperature + selfHeating + Self.noiseTemperature * random.nextGaussian()
        let humidity = environment.humidity + Self.noiseHumidity * random.nextGaussian()
        calibration.writeOutputRegisters(humidity: humidity, temperature: temperature, into: &registers,
                                         at: Int(HTS221Register.humidityOutL))
        registers[0x27] |= 0x03
    }

    /// A plausible factory calibration for one unit, drawn from `random`.
    ///
    /// Points on the chip's grids (T in 1/8 °C, RH in 1/2 %), temperature slope 30–80
    /// LSB/°C, humidity slope 150–300 LSB/%RH of either sign, offsets chosen so the full
    /// −40…120 °C and 0…100 %RH ranges fit in int16 as on real parts.
    public static func randomCalibration(using random: inout SeededRandom) -> HTS221Calibration {
        let t0x8 = random.nextInt(in: 80...160)
        let t1x8 = t0x8 + random.nextInt(in: 160...240)
        let t0 = Double(t0x8) / 8
        let t1 = Double(t1x8) / 8
        let tSlope = random.nextDouble(in: 30...80)
        let t0Out = Int16(random.nextInt(in: -3000...3000))
        let t1Out = Int16(Double(t0Out) + (t1 - t0) * tSlope)
        let h0x2 = random.nextInt(in: 40...70)
        let h1x2 = random.nextInt(in: 140...160)
        let h0 = Double(h0x2) / 2
        let h1 = Double(h1x2) / 2
        let hSlope = random.nextDouble(in: 150...300) * (random.chance(0.5) ? 1 : -1)
        let rawAtMid = Double(random.nextInt(in: -2000...2000))
        let h0Out = Int16(rawAtMid + (h0 - 50) * hSlope)
        let h1Out = Int16(rawAtMid + (h1 - 50) * hSlope)
        return HTS221Calibration(t0DegC: t0, t1DegC: t1, t0Out: t0Out, t1Out: t1Out,
                                 h0RH: h0, h1RH: h1, h0T0Out: h0Out, h1T0Out: h1Out)
    }
}
