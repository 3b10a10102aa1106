import HubCore
import HubDrivers

// Fault model of the LSM9DS1 chip models: none of their own yet; bus-level faults
// (absent, no-ACK) come from `SimI2CBus`. What the models do reproduce, because a driver
// that ignores it fails on hardware too:
//
// Accelerometer/gyroscope (0x6A)
// - Power-on: accelerometer and gyroscope powered down (ODR 0), CTRL_REG8 = 0x04
//   (IF_ADD_INC), FIFO in bypass. Nothing converts until an ODR is written.
// - Register pointer: the first written byte sets it; with IF_ADD_INC it advances after
//   each byte, without it stays put. Bit 7 is NOT an auto-increment flag on this die:
//   addresses 0x80 and up are reserved and read 0, so a driver using the ST 0x80
//   convention reads zeros.
// - Pacing: with the gyroscope on, CTRL_REG1_G's ODR paces both sensors (datasheet
//   "both active" mode); otherwise CTRL_REG6_XL's. Conversions complete one period after
//   the ODR write and every period after that.
// - FIFO (CTRL_REG9 FIFO_EN and FIFO_CTRL FMODE): accelerometer samples only (the real
//   FIFO stores gyroscope data beside them; the hub never reads those back). Continuous
//   mode keeps the newest 32 samples and sets OVRN when an unread one is overwritten;
//   FIFO mode keeps the first 32 and stops; other FMODE values behave as continuous;
//   bypass (or FIFO_EN off) empties it. FIFO_SRC reports FSS (unread count), OVRN and
//   FTH. OUT_X_XL...OUT_Z_XL show the oldest unread sample; reading OUT_Z_H_XL (0x2D)
//   pops it, and while the FIFO is enabled an auto-increment read wraps from 0x2D back
//   to 0x28, so one burst of 6·n bytes drains n samples.
// - Lazy conversion: nothing runs between reads. On a read the model computes the
//   conversions due since the last one at their own ODR instants, asking the environment
//   for each, but never more than the 32 the FIFO can hold, however long the gap.
// - Noise: accelerometer Gaussian 1 mg RMS per axis (ST's sibling accelerometers quote
//   70–110 µg/√Hz; at the ~119 Hz bandwidth of 238 Hz ODR that is about 1 mg) and a
//   per-unit zero-g offset within the datasheet's ±90 mg per axis, drawn from the seed.
//   Gyroscope Gaussian 0.1 °/s RMS per axis, an assumed figure of the order of ST's MEMS
//   gyros at this bandwidth (no zero-rate offset modelled).
// - Not modelled: temperature output, interrupts, activity/inactivity, self-test, BOOT,
//   the FIFO threshold stop (STOP_ON_FTH), BDU.
//
// Magnetometer (0x1C)
// - Power-on: CTRL_REG1_M = 0x10 (10 Hz), CTRL_REG3_M = 0x03 (power-down).
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
/// sampling at the ODR, the last 32 samples kept, a pop per sample read — so the model
/// implements exactly that, lazily, at the instants the chip would have converted.
public final class LSM9DS1AccelGyroModel: SimI2CDevice {
    public private(set) var registers = [UInt8](repeating: 0, count: 128)
    /// This unit's zero-g offset in g (within ±90 mg per axis), constant for its life.
    public let zeroGOffset: Vector3
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    private var pointer: UInt8 = 0
    /// Unread accelerometer samples as six output bytes each, oldest first.
    private var fifo = SampleRing(capacity: LSM9DS1AccelGyroRegister.fifoDepth)
    private var overrun = false
    private var accelFresh = false
    private var gyroFresh = false
    private var nextConversion: Instant?
    private var conversionPeriod: Duration?

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
        self.random = random
        powerOnReset()
    }

    /// Registers as after power-up (or SW_RESET): WHO_AM_I, IF_ADD_INC, everything off.
    public func powerOnReset() {
        registers = [UInt8](repeating: 0, count: 128)
        registers[Int(R.whoAmI)] = R.whoAmIValue
        registers[Int(R.ctrlReg8)] = R.ctrlReg8Default
        pointer = 0
        fifo.removeAll()
        overrun = false
        accelFresh = false
        gyroFresh = false
        nextConversion = nil
        conversionPeriod = nil
    }

    /// Unread samples in the FIFO (FIFO_SRC's FSS), for tests and diagnostics.
    public var unreadSamples: Int { fifo.count }

    // MARK: bus side

    public func write(_ bytes: [UInt8], now: Instant) {
        guard let first = bytes.first else { return }
        pointer = first
        for value in bytes.dropFirst() {
            writeRegister(pointer, value, now: now)
            if autoIncrement { pointer &+= 1 }
        }
    }

    public func read(count: Int, now: Instant) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        if autoIncrement, fifoActive, pointer == R.outXLXL, count % 6 == 0 {
            // The driver's FIFO burst: whole samples from OUT_X_XL, each popping the FIFO. Same
            // bytes as the register-by-register path below (which converts what is due on its
            // first byte), without its per-byte overhead.
            // The output registers are followed in `shown` and written back once at the end,
            // rather than rewritten for every sample popped.
            update(now: now)
            let outputs = Int(R.outXLXL)..<Int(R.outXLXL) + 6
            var shown = Array(registers[outputs])
            var popped = false
            for _ in 0..<(count / 6) {
                out.append(contentsOf: shown)
                accelFresh = false
                guard fifo.first != nil else { continue }
                fifo.removeFirst(1)
                if fifo.count < R.fifoDepth { overrun = false }
                if let oldest = fifo.first {
                    oldest.write(into: &shown, at: 0)
                    popped = true
                }
            }
            if popped { registers.replaceSubrange(outputs, with: shown) }
            return out
        }
        for _ in 0..<count {
            out.append(readRegister(pointer, now: now))
            guard autoIncrement else { continue }
            if fifoActive && pointer == R.outXLXL + 5 {
                pointer = R.outXLXL
            } else {
                pointer &+= 1
            }
        }
        return out
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
        case 0x11, 0x12, 0x13, 0x1E, 0x1F, 0x21, 0x24:
            registers[Int(register)] = value  // other control registers: stored, effects not modelled
        default:
            break  // WHO_AM_I, status and outputs are read-only; the rest is reserved
        }
    }

    func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        guard register < 0x80 else { return 0 }
        if (R.status...R.fifoSrc).contains(register) { update(now: now) }
        switch register {
        case R.status, R.status + 0x10:  // STATUS_REG appears at 0x17 and 0x27
            let accel = fifoActive ? !fifo.isEmpty : accelFresh
            return (accel ? R.accelReady : 0) | (gyroFresh ? R.gyroReady : 0)
        case R.fifoSrc:
            let threshold = Int(registers[Int(R.fifoCtrl)] & 0x1F)
            return UInt8(fifo.count)
                | (overrun ? R.fifoOverrun : 0)
                | (fifo.count >= threshold ? R.fifoThresholdReached : 0)
        case R.outXLG + 5:
            gyroFresh = false
            return registers[Int(register)]
        case R.outXLXL + 5:
            let value = registers[Int(register)]
            accelFresh = false
            if fifoActive, !fifo.isEmpty {
                fifo.removeFirst(1)
                if fifo.count < R.fifoDepth { overrun = false }
                showOldestSample()
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
        if !fifoActive {
            store(accelerationSample(at: latest))
            accelFresh = true
        } else if fifoMode == R.fifoModeFIFO {
            let room = R.fifoDepth - fifo.count
            for k in 0..<min(due, room) { fifo.append(accelerationSample(at: instant(k))) }
        } else {
            let kept = min(due, R.fifoDepth)
            if fifo.count + due > R.fifoDepth { overrun = true }
            fifo.removeFirst(max(0, fifo.count + kept - R.fifoDepth))
            for k in (due - kept)..<due { fifo.append(accelerationSample(at: instant(k))) }
        }
        if fifoActive { showOldestSample() }
        if gyroOn { latchGyro(at: latest) }
    }

    private func showOldestSample() {
        if let oldest = fifo.first { store(oldest) }
    }

    private func store(_ sample: LSM9DS1Axes) {
        sample.write(into: &registers, at: Int(R.outXLXL))
    }

    /// One conversion. The noise uses the cheap Irwin–Hall deviate: tens of thousands of
    /// samples per simulated hour make the Box–Muller transform the simulator's hot spot,
    /// and accelerometer noise bounded at ±3.5 σ is as good a model as an unbounded one.
    private func accelerationSample(at instant: Instant) -> LSM9DS1Axes {
        let a = source.acceleration(at: instant) + zeroGOffset
        let x = a.x + Self.accelNoise * random.nextApproximateGaussian()
        let y = a.y + Self.accelNoise * random.nextApproximateGaussian()
        let z = a.z + Self.accelNoise * random.nextApproximateGaussian()
        return LSM9DS1Axes(Vector3(x: x, y: y, z: z), sensitivity: accelScale)
    }

    private func latchGyro(at instant: Instant) {
        let w = source.environment(at: instant).angularRate
        let x = w.x + Self.gyroNoise * random.nextGaussian()
        let y = w.y + Self.gyroNoise * random.nextGaussian()
        let z = w.z + Self.gyroNoise * random.nextGaussian()
        LSM9DS1Axes(Vector3(x: x, y: y, z: z), sensitivity: gyroScale).write(into: &registers, at: Int(R.outXLG))
        gyroFresh = true
    }
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
        case R.ctrlReg4M, R.ctrlReg5M:
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
    private var slots: [LSM9DS1Axes]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        slots = Array(repeating: LSM9DS1Axes(x: 0, y: 0, z: 0), count: capacity)
    }

    var isEmpty: Bool { count == 0 }
    var first: LSM9DS1Axes? { count == 0 ? nil : slots[head] }

    mutating func append(_ sample: LSM9DS1Axes) {
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
