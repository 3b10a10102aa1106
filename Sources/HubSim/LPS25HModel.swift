import HubCore
import HubDrivers

// Fault model of the LPS25H chip model: chip-level faults come from `ConvertingSTChip`
// (`stuck` outputs, `reset` to power-on defaults, `whoami` override); wire faults from
// `SimI2CBus`; sensing-element faults from `FaultableEnvironment`. Behaviour: powered down at reset, conversions at the CTRL_REG1 ODR once PD
// is set, P_DA/T_DA set by a conversion and cleared by reading PRESS_OUT_H/TEMP_OUT_H,
// ONE_SHOT in ODR 0. Each unit carries a pressure offset within the ±0.2 hPa accuracy and
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

    /// `thermometerRandom` is a stream of its own, so adding the thermometer left every
    /// pressure the model produced as it was.
    public init(source: any SensorEnvironmentSource, random: SeededRandom, thermometerRandom: SeededRandom) {
        self.source = source
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
        registers[Int(LPS25HRegister.resConf)] = 0x05
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
        case LPS25HRegister.resConf, LPS25HRegister.fifoCtrl:
            registers[Int(register)] = value
        case LPS25HRegister.ctrlReg1:
            registers[Int(register)] = value
            controlChanged(now: now)
        case LPS25HRegister.ctrlReg2:
            registers[Int(register)] = oneShotRequested(value, now: now)
        default:
            break
        }
    }

    public override func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        if (0x27...0x2C).contains(register) { update(now: now) }
        let value = registers[Int(register)]
        if register == 0x2A { registers[0x27] &= ~0x02 }
        if register == 0x2C { registers[0x27] &= ~0x01 }
        return value
    }

    public override func latch(at instant: Instant) {
        let environment = source.environment(at: instant)
        record(environment, at: instant)
        let pressure = environment.pressure + pressureOffset + Self.noisePressure * random.nextGaussian()
        let temperature = environment.temperature + temperatureOffset + Self.noiseTemperature * thermometerRandom.nextGaussian()
        let first = Int(LPS25HRegister.pressOutXL)
        registers.replaceSubrange(first..<first + LPS25HRegister.outputCount,
                                  with: LPS25HConversion.outputRegisters(hectopascals: pressure, celsius: temperature))
        registers[0x27] |= 0x03
    }
}
