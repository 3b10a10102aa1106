import HubCore
import HubDrivers

// Fault model of the LSM9DS1 chip models: none of their own yet; bus-level faults
// (absent, no-ACK) come from `SimI2CBus`. What the models do reproduce, because a driver
// that ignores it fails on hardware too (ST DocID025715, the LSM9DS1 datasheet, Rev 3;
// section numbers below are its):
//
// Accelerometer/gyroscope (0x6A)
// - Power-on (§7, table 21, "default"): accelerometer and gyroscope powered down (ODR 0),
//   CTRL_REG4 = 0x38 (X/Y/Z gyro outputs enabled), CTRL_REG5_XL = 0x38 (X/Y/Z accel
//   outputs enabled), CTRL_REG8 = 0x04 (IF_ADD_INC), FIFO in bypass. Nothing converts
//   until an ODR is written.
// - Register address (§6.1.1, §5.2: "address AD(6:0)"): the 7 low bits of the written
//   byte; bit 7 is not an auto-increment flag on this die and is ignored, so 0x8F reads
//   WHO_AM_I like 0x0F. With IF_ADD_INC the pointer advances after each byte (within 7
//   bits), without it stays put.
// - Pacing (§3, "operating modes"): with the gyroscope on, CTRL_REG1_G's ODR paces both
//   sensors ("both active" at the same ODR); otherwise CTRL_REG6_XL's (accelerometer
//   only). Conversions complete one period after the ODR write and every period after that.
// - FIFO (§3.3 and §7.35 CTRL_REG9 FIFO_EN, §7.36 FIFO_CTRL FMODE): one frame per
//   conversion: the gyroscope's X, Y, Z and the accelerometer's, or the accelerometer's
//   alone while the gyroscope is powered down. Continuous mode keeps the newest 32
//   frames and sets OVRN when an unread one is overwritten; FIFO mode keeps the first 32
//   and stops; other FMODE values behave as continuous; bypass (or FIFO_EN off) empties
//   it. FIFO_SRC (§7.37) reports FSS (unread frames), OVRN and FTH; FTH reads 0 while the
//   threshold field is 0. OUT_X_G...OUT_Z_G and OUT_X_XL...OUT_Z_XL show the oldest
//   unread frame; reading OUT_Z_H_XL (0x2D) pops it. While the FIFO is enabled an
//   auto-increment read goes 0x18...0x1D, 0x28...0x2D and wraps back to 0x18 (12-byte
//   gyroscope + accelerometer frames), or, with the gyroscope powered down, wraps from
//   0x2D back to 0x28, so one burst of 6·n bytes drains n accelerometer frames.
// - Temperature (§7.14 OUT_TEMP, table 5): 16 LSB/°C, 0 at 25 °C, a 12-bit two's
//   complement right-justified in OUT_TEMP_L/H (0x15/0x16), taken from the environment at
//   the latest conversion; STATUS TDA reports it.
// - Lazy conversion: nothing runs between reads. On a read the model computes the
//   conversions due since the last one at their own ODR instants, asking the environment
//   for each, but never more than the 32 the FIFO can hold, however long the gap.
// - Noise: accelerometer Gaussian 1 mg RMS per axis at 238 Hz ODR (ST's sibling
//   accelerometers quote 70–110 µg/√Hz; at the 105 Hz anti-alias bandwidth 238 Hz ODR gets
//   with BW_SCAL_ODR 0 that is about 1 mg), growing with the square root of the bandwidth:
//   CTRL_REG6_XL's BW_XL when BW_SCAL_ODR is set, else the ODR's (408 Hz at 952, 50 and
//   10 Hz, 211 at 476, 105 at 238, 50 at 119: 1.97, 1.42, 1 and 0.69 mg). The filter
//   itself is not modelled: motion above the Nyquist rate aliases in full. And a
//   per-unit zero-g offset within the datasheet's ±90 mg per axis, drawn from the seed.
//   Gyroscope Gaussian 0.1 °/s RMS per axis, an assumed figure of the order of ST's MEMS
//   gyros at this bandwidth (no zero-rate offset modelled), from a stream of its own, so
//   powering the gyroscope changes no acceleration sample.
// - Not modelled: interrupts, activity/inactivity, self-test, BOOT, the FIFO threshold
//   stop (STOP_ON_FTH), BDU, the gyroscope's own FIFO-only modes.
//
// Magnetometer (0x1C)
// - Power-on (§8, table 109): CTRL_REG1_M = 0x10 (10 Hz), CTRL_REG3_M = 0x03
//   (power-down), INT_CFG_M = 0x08 (IEA: interrupt active high).
// - ST pointer semantics (bit 7 of the address = auto-increment), via `STRegisterChip`.
// - Continuous mode (MD = 00) converts at the DO rate; single-conversion (MD = 01) is
//   treated as power-down. STATUS_REG_M: ZYXDA and X/Y/ZDA on a conversion, the overrun
//   bits when a conversion lands on unread data; reading OUT_Z_H_M clears them.
// - Noise: Gaussian 3 mgauss RMS per axis, an assumed figure of the order of ST's
//   magnetometers at ±4 gauss. Hard-iron offset registers, FAST_ODR, interrupts and
//   temperature compensation are not modelled.

/// Register-level model of the LSM9DS1 accelerometer/gyroscope die at 0x6A.
///
/// The vibration channel depends on the FIFO behaving as the chip's does — continuous
/// sampling at the ODR, the last 32 frames kept, a pop per frame read, the read-out
/// wrapping as the datasheet says — so the model implements exactly that, lazily, at the
/// instants the chip would have converted.
public final class LSM9DS1AccelGyroModel: SimI2CDevice {
    public private(set) var registers = [UInt8](repeating: 0, count: 128)
    /// This unit's zero-g offset in g (within ±90 mg per axis), constant for its life.
    public let zeroGOffset: Vector3
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    private var gyroRandom: SeededRandom
    private var pointer: UInt8 = 0
    /// Unread frames, oldest first.
    private var fifo = SampleRing(capacity: LSM9DS1AccelGyroRegister.fifoDepth)
    private var overrun = false
    private var accelFresh = false
    private var gyroFresh = false
    private var nextConversion: Instant?
    private var conversionPeriod: Duration?
    /// The latest conversion, whose temperature OUT_TEMP shows.
    private var lastConversion: Instant?
    private var temperatureLatched: Instant?
    private var temperatureFresh = false

    /// At 238 Hz ODR's 105 Hz bandwidth; `accelNoise` scales it to the bandwidth in use.
    static let accelNoise = 0.001
    static let zeroGOffsetLimit = 0.09
    static let gyroNoise = 0.1

    private typealias R = LSM9DS1AccelGyroRegister

    public init(source: any SensorEnvironmentSource, random: SeededRandom) {
        self.source = source
        var random = random
        let x = random.nextDouble(in: -Self.zeroGOffsetLimit...Self.zeroGOffsetLimit)
        let y = random.nextDouble(in: -Self.zeroGOffsetLimit...Self.zeroGOffsetLimit)
        let z = random.nextDouble(in: -Self.zeroGOffsetLimit...Self.zeroGOffsetLimit)
        zeroGOffset = Vector3(x: x, y: y, z: z)
        gyroRandom = random.split("gyro")
        self.random = random
        powerOnReset()
    }

    /// Registers as after power-up (or SW_RESET), table 21's defaults.
    public func powerOnReset() {
        registers = [UInt8](repeating: 0, count: 128)
        registers[Int(R.whoAmI)] = R.whoAmIValue
        registers[Int(R.ctrlReg4)] = R.ctrlReg4Default
        registers[Int(R.ctrlReg5XL)] = R.ctrlReg5XLDefault
        registers[Int(R.ctrlReg8)] = R.ctrlReg8Default
        pointer = 0
        fifo.removeAll()
        overrun = false
        accelFresh = false
        gyroFresh = false
        nextConversion = nil
        conversionPeriod = nil
        lastConversion = nil
        temperatureLatched = nil
        temperatureFresh = false
    }

    /// Unread frames in the FIFO (FIFO_SRC's FSS), for tests and diagnostics.
    public var unreadSamples: Int { fifo.count }

    // MARK: bus side

    public func write(_ bytes: [UInt8], now: Instant) {
        guard let first = bytes.first else { return }
        pointer = first & 0x7F
        for value in bytes.dropFirst() {
            writeRegister(pointer, value, now: now)
            if autoIncrement { pointer = (pointer + 1) & 0x7F }
        }
    }

    public func read(count: Int, now: Instant) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        if autoIncrement, fifoActive, !gyroOn, pointer == R.outXLXL, count % 6 == 0 {
            // The driver's FIFO burst: whole accelerometer frames from OUT_X_XL, each popping
            // the FIFO. Same bytes as the register-by-register path below (which converts
            // what is due on its first byte), without its per-byte overhead.
            // The output registers are followed in `shown` (their six bytes as the three
            // int16 they encode, one to one) and written back once at the end, rather than
            // rewritten for every frame popped.
            update(now: now)
            var shown = LSM9DS1Axes(outputRegisters: registers, at: Int(R.outXLXL))
            var popped = false
            for _ in 0..<(count / 6) {
                shown.append(to: &out)
                accelFresh = false
                guard fifo.first != nil else { continue }
                fifo.removeFirst(1)
                if fifo.count < R.fifoDepth { overrun = false }
                if let oldest = fifo.first {
                    shown = oldest.accel
                    popped = true
                }
            }
            if popped { shown.write(into: &registers, at: Int(R.outXLXL)) }
            return out
        }
        for _ in 0..<count {
            out.append(readRegister(pointer, now: now))
            guard autoIncrement else { continue }
            pointer = next(after: pointer)
        }
        return out
    }

    /// The register an auto-increment read moves to: the FIFO read-out wraps (see the
    /// fault model above), everything else counts up within 7 bits.
    private func next(after register: UInt8) -> UInt8 {
        guard fifoActive else { return (register + 1) & 0x7F }
        switch register {
        case R.outXLG + 5 where gyroOn: return R.outXLXL
        case R.outXLXL + 5: return gyroOn ? R.outXLG : R.outXLXL
        default: return (register + 1) & 0x7F
        }
    }

    private var autoIncrement: Bool { registers[Int(R.ctrlReg8)] & R.ifAddInc != 0 }

    private var gyroOn: Bool { registers[Int(R.ctrlReg1G)] >> 5 != 0 }

    private var fifoMode: UInt8 { registers[Int(R.fifoCtrl)] & 0xE0 }

    private var fifoActive: Bool {
        registers[Int(R.ctrlReg9)] & R.fifoEnable != 0 && fifoMode != R.fifoModeBypass
    }

    /// The conversion period: the gyroscope's ODR when it is on, else the accelerometer's.
    private var period: Duration? {
        if gyroOn {
            switch registers[Int(R.ctrlReg1G)] >> 5 {
            case 1: return odrPeriod(hertz: 14.9)
            case 2: return odrPeriod(hertz: 59.5)
            case 3: return odrPeriod(hertz: 119)
            case 4: return odrPeriod(hertz: 238)
            case 5: return odrPeriod(hertz: 476)
            case 6: return odrPeriod(hertz: 952)
            default: return nil
            }
        }
        switch registers[Int(R.ctrlReg6XL)] >> 5 {
        case 1: return odrPeriod(hertz: 10)
        case 2: return odrPeriod(hertz: 50)
        case 3: return odrPeriod(hertz: 119)
        case 4: return odrPeriod(hertz: 238)
        case 5: return odrPeriod(hertz: 476)
        case 6: return odrPeriod(hertz: 952)
        default: return nil
        }
    }

    /// g per LSB at the full scale CTRL_REG6_XL selects.
    /// The accelerometer's noise RMS per axis, g, at the anti-alias bandwidth CTRL_REG6_XL
    /// selects (see the header).
    private var accelNoise: Double {
        let control = registers[Int(R.ctrlReg6XL)]
        let bandwidth: Double
        if control & 0x04 != 0 {
            bandwidth = [408, 211, 105, 50][Int(control & 0x03)]
        } else {
            switch control >> 5 {
            case 3: bandwidth = 50
            case 4: return Self.accelNoise  // 105 Hz, the figure the noise is quoted at
            case 5: bandwidth = 211
            default: bandwidth = 408
            }
        }
        return Self.accelNoise * (bandwidth / 105).squareRoot()
    }

    private var accelScale: Double { LSM9DS1Sensitivity.acceleration(fsXL: registers[Int(R.ctrlReg6XL)] >> 3) }

    /// °/s per LSB at the full scale CTRL_REG1_G selects.
    private var gyroScale: Double { LSM9DS1Sensitivity.angularRate(fsG: registers[Int(R.ctrlReg1G)] >> 3) }

    func writeRegister(_ register: UInt8, _ value: UInt8, now: Instant) {
        switch register {
        case R.ctrlReg1G, R.ctrlReg6XL:
            update(now: now)  // conversions due under the old rate happened at the old rate
            registers[Int(register)] = value
            conversionPeriod = period
            nextConversion = conversionPeriod.map { now + $0 }
        case R.ctrlReg8:
            if value & R.softwareReset != 0 {
                powerOnReset()
            } else {
                registers[Int(register)] = value & ~0x81  // BOOT and SW_RESET clear themselves
            }
        case R.ctrlReg9, R.fifoCtrl:
            update(now: now)
            registers[Int(register)] = value
            if !fifoActive {
                fifo.removeAll()
                overrun = false
            }
        case 0x11, 0x12, 0x13, R.ctrlReg4, R.ctrlReg5XL, 0x21, 0x24:
            registers[Int(register)] = value  // other control registers: stored, effects not modelled
        default:
            break  // WHO_AM_I, status and outputs are read-only; the rest is reserved
        }
    }

    func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        if (R.outTempL...R.fifoSrc).contains(register) { update(now: now) }
        switch register {
        case R.status, R.status + 0x10:  // STATUS_REG appears at 0x17 and 0x27
            let accel = fifoActive ? !fifo.isEmpty : accelFresh
            let gyro = fifoActive ? gyroOn && !fifo.isEmpty : gyroFresh
            return (accel ? R.accelReady : 0) | (gyro ? R.gyroReady : 0) | (temperatureFresh ? R.temperatureReady : 0)
        case R.outTempL, R.outTempL + 1:
            latchTemperature()
            if register == R.outTempL + 1 { temperatureFresh = false }
            return registers[Int(register)]
        case R.fifoSrc:
            let threshold = Int(registers[Int(R.fifoCtrl)] & 0x1F)
            return UInt8(fifo.count)
                | (overrun ? R.fifoOverrun : 0)
                | (threshold > 0 && fifo.count >= threshold ? R.fifoThresholdReached : 0)
        case R.outXLG + 5:
            gyroFresh = false
            return registers[Int(register)]
        case R.outXLXL + 5:
            let value = registers[Int(register)]
            accelFresh = false
            if fifoActive, !fifo.isEmpty {
                fifo.removeFirst(1)
                if fifo.count < R.fifoDepth { overrun = false }
                showOldestFrame()
            }
            return value
        default:
            return registers[Int(register)]
        }
    }

    // MARK: conversions

    /// Latches every conversion due by `now`, at its own instant, but at most the 32 the
    /// FIFO can keep: after a long gap the older ones would have been overwritten anyway.
    private func update(now: Instant) {
        guard let next = nextConversion, let period = conversionPeriod, next <= now else { return }
        let step = period.nanoseconds
        let start = next.nanosecondsSinceEpoch
        let due = Int((now.nanosecondsSinceEpoch - start) / step) + 1
        nextConversion = Instant(nanosecondsSinceEpoch: start + Int64(due) * step)
        let instant = { (k: Int) in Instant(nanosecondsSinceEpoch: start + Int64(k) * step) }
        let latest = instant(due - 1)
        lastConversion = latest
        temperatureFresh = true
        if !fifoActive {
            store(LSM9DS1Frame(gyro: gyroOn ? gyroSample(at: latest) : nil, accel: accelerationSample(at: latest)))
            accelFresh = true
            gyroFresh = gyroOn
        } else if fifoMode == R.fifoModeFIFO {
            let room = R.fifoDepth - fifo.count
            for k in 0..<min(due, room) { fifo.append(frame(at: instant(k))) }
        } else {
            let kept = min(due, R.fifoDepth)
            if fifo.count + due > R.fifoDepth { overrun = true }
            fifo.removeFirst(max(0, fifo.count + kept - R.fifoDepth))
            for k in (due - kept)..<due { fifo.append(frame(at: instant(k))) }
        }
        if fifoActive { showOldestFrame() }
    }

    private func frame(at instant: Instant) -> LSM9DS1Frame {
        LSM9DS1Frame(gyro: gyroOn ? gyroSample(at: instant) : nil, accel: accelerationSample(at: instant))
    }

    private func showOldestFrame() {
        if let oldest = fifo.first { store(oldest) }
    }

    private func store(_ frame: LSM9DS1Frame) {
        frame.accel.write(into: &registers, at: Int(R.outXLXL))
        frame.gyro?.write(into: &registers, at: Int(R.outXLG))
    }

    /// OUT_TEMP from the environment at the latest conversion, computed when first read.
    private func latchTemperature() {
        guard let instant = lastConversion, instant != temperatureLatched else { return }
        temperatureLatched = instant
        let counts = Int16(clamping: Int(((source.environment(at: instant).temperature - 25) * 16).rounded()))
        let twelveBits = max(-2048, min(2047, counts))  // 12-bit two's complement, sign-extended
        registers[Int(R.outTempL)] = UInt8(truncatingIfNeeded: twelveBits)
        registers[Int(R.outTempL) + 1] = UInt8(truncatingIfNeeded: twelveBits >> 8)
    }

    /// One conversion. The noise uses the cheap Irwin–Hall deviate: tens of thousands of
    /// samples per simulated hour make the Box–Muller transform the simulator's hot spot,
    /// and accelerometer noise bounded at ±3.5 σ is as good a model as an unbounded one.
    private func accelerationSample(at instant: Instant) -> LSM9DS1Axes {
        let a = source.acceleration(at: instant) + zeroGOffset
        let noise = accelNoise
        let x = a.x + noise * random.nextApproximateGaussian()
        let y = a.y + noise * random.nextApproximateGaussian()
        let z = a.z + noise * random.nextApproximateGaussian()
        return LSM9DS1Axes(Vector3(x: x, y: y, z: z), sensitivity: accelScale)
    }

    private func gyroSample(at instant: Instant) -> LSM9DS1Axes {
        let w = source.environment(at: instant).angularRate
        let x = w.x + Self.gyroNoise * gyroRandom.nextGaussian()
        let y = w.y + Self.gyroNoise * gyroRandom.nextGaussian()
        let z = w.z + Self.gyroNoise * gyroRandom.nextGaussian()
        return LSM9DS1Axes(Vector3(x: x, y: y, z: z), sensitivity: gyroScale)
    }
}

/// One conversion as the FIFO keeps it: the gyroscope's axes (nil while it is powered
/// down) and the accelerometer's.
struct LSM9DS1Frame {
    var gyro: LSM9DS1Axes?
    var accel: LSM9DS1Axes
}

/// Register-level model of the LSM9DS1 magnetometer die at 0x1C.
///
/// A separate I²C device on the real chip with its own register conventions (ST's bit-7
/// auto-increment), so it is a separate model; it shares the kit's environment.
public final class LSM9DS1MagnetometerModel: STRegisterChip {
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    private var schedule = ConversionSchedule()
    static let noise = 0.003

    private typealias R = LSM9DS1MagnetometerRegister

    public init(source: any SensorEnvironmentSource, random: SeededRandom) {
        self.source = source
        self.random = random
        super.init()
        powerOnReset()
    }

    /// Registers as after power-up (or SOFT_RST): WHO_AM_I, 10 Hz, power-down.
    public func powerOnReset() {
        registers = [UInt8](repeating: 0, count: 128)
        registers[Int(R.whoAmI)] = R.whoAmIValue
        registers[Int(R.ctrlReg1M)] = R.ctrlReg1MDefault
        registers[Int(R.ctrlReg3M)] = R.ctrlReg3MDefault
        registers[Int(R.intCfgM)] = R.intCfgMDefault
        schedule.stop()
    }

    /// The DO rate while in continuous mode; nil otherwise.
    private var period: Duration? {
        guard registers[Int(R.ctrlReg3M)] & 0x03 == 0 else { return nil }
        let rates = [0.625, 1.25, 2.5, 5, 10, 20, 40, 80]
        return odrPeriod(hertz: rates[Int((registers[Int(R.ctrlReg1M)] >> 2) & 0x07)])
    }

    /// Gauss per LSB at the full scale CTRL_REG2_M selects.
    private var scale: Double { LSM9DS1Sensitivity.magneticField(fsM: registers[Int(R.ctrlReg2M)] >> 5) }

    public override func writeRegister(_ register: UInt8, _ value: UInt8, now: Instant) {
        switch register {
        case R.ctrlReg1M, R.ctrlReg3M:
            update(now: now)
            registers[Int(register)] = value
            schedule.start(period: period, now: now)
        case R.ctrlReg2M:
            if value & R.softReset != 0 {
                powerOnReset()
            } else {
                update(now: now)
                registers[Int(register)] = value & ~0x0C  // REBOOT and SOFT_RST clear themselves
            }
        case R.ctrlReg4M, R.ctrlReg5M, R.intCfgM:
            registers[Int(register)] = value
        default:
            break  // WHO_AM_I, status and outputs are read-only; offsets and interrupts not modelled
        }
    }

    public override func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        if (R.statusM...R.outXLM + 5).contains(register) { update(now: now) }
        let value = registers[Int(register)]
        if register == R.outXLM + 5 { registers[Int(R.statusM)] = 0 }
        return value
    }

    private func update(now: Instant) {
        if let instant = schedule.due(now: now) { latch(at: instant) }
    }

    private func latch(at instant: Instant) {
        let field = source.environment(at: instant).magneticField
        let x = field.x + Self.noise * random.nextGaussian()
        let y = field.y + Self.noise * random.nextGaussian()
        let z = field.z + Self.noise * random.nextGaussian()
        LSM9DS1Axes(Vector3(x: x, y: y, z: z), sensitivity: scale).write(into: &registers, at: Int(R.outXLM))
        let unread = registers[Int(R.statusM)] & R.dataReady != 0
        registers[Int(R.statusM)] = (unread ? 0xF0 : 0) | 0x0F
    }
}

/// The FIFO's 32 slots as a ring: pushing and popping never allocate, which matters at
/// 32 conversions per poll per kit.
struct SampleRing {
    private var slots: [LSM9DS1Frame]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        slots = Array(repeating: LSM9DS1Frame(gyro: nil, accel: LSM9DS1Axes(x: 0, y: 0, z: 0)), count: capacity)
    }

    var isEmpty: Bool { count == 0 }
    var first: LSM9DS1Frame? { count == 0 ? nil : slots[head] }

    mutating func append(_ sample: LSM9DS1Frame) {
        precondition(count < slots.count, "FIFO overflow: callers drop the oldest first")
        slots[(head + count) % slots.count] = sample
        count += 1
    }

    mutating func removeFirst(_ n: Int) {
        precondition(n <= count, "cannot pop more samples than the FIFO holds")
        head = (head + n) % slots.count
        count -= n
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }
}
