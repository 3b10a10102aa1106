import HubCore

/// LSM9DS1 accelerometer/gyroscope register map (ST DocID025715; RTIMULib), address 0x6A.
///
/// This half of the chip does not use the ST convention of bit 7 in the register address
/// for multi-byte access: the address is 7 bits (bit 7 is ignored) and auto-increment is
/// IF_ADD_INC in CTRL_REG8 (on at reset). Burst reads pass `autoIncrementBit: 0`.
public enum LSM9DS1AccelGyroRegister {
    public static let address: UInt8 = 0x6A
    public static let whoAmI: UInt8 = 0x0F
    public static let whoAmIValue: UInt8 = 0x68
    public static let ctrlReg1G: UInt8 = 0x10
    /// OUT_TEMP_L; OUT_TEMP_H follows. 16 LSB/°C, 0 at 25 °C, 12 bits right-justified.
    public static let outTempL: UInt8 = 0x15
    public static let status: UInt8 = 0x17
    public static let outXLG: UInt8 = 0x18
    public static let ctrlReg4: UInt8 = 0x1E
    public static let ctrlReg5XL: UInt8 = 0x1F
    public static let ctrlReg6XL: UInt8 = 0x20
    public static let ctrlReg8: UInt8 = 0x22
    public static let ctrlReg9: UInt8 = 0x23
    public static let outXLXL: UInt8 = 0x28
    public static let fifoCtrl: UInt8 = 0x2E
    public static let fifoSrc: UInt8 = 0x2F
    /// CTRL_REG4 at reset: the gyroscope's X, Y, Z outputs enabled.
    public static let ctrlReg4Default: UInt8 = 0x38
    /// CTRL_REG5_XL at reset: the accelerometer's X, Y, Z outputs enabled.
    public static let ctrlReg5XLDefault: UInt8 = 0x38
    /// CTRL_REG8 at reset: IF_ADD_INC only.
    public static let ctrlReg8Default: UInt8 = 0x04
    /// CTRL_REG8 IF_ADD_INC: the register pointer advances after each byte.
    public static let ifAddInc: UInt8 = 0x04
    /// CTRL_REG8 SW_RESET (self-clearing).
    public static let softwareReset: UInt8 = 0x01
    /// CTRL_REG9 FIFO_EN.
    public static let fifoEnable: UInt8 = 0x02
    /// FIFO_CTRL FMODE values (bits 7:5).
    public static let fifoModeBypass: UInt8 = 0x00
    public static let fifoModeFIFO: UInt8 = 0x20
    public static let fifoModeContinuous: UInt8 = 0xC0
    /// FIFO_SRC: bit 6 OVRN, bit 7 FTH, bits 5:0 FSS (unread samples).
    public static let fifoOverrun: UInt8 = 0x40
    public static let fifoThresholdReached: UInt8 = 0x80
    public static let fifoUnreadMask: UInt8 = 0x3F
    /// STATUS bits: XLDA (accelerometer data ready), GDA (gyroscope data ready), TDA
    /// (temperature data ready).
    public static let accelReady: UInt8 = 0x01
    public static let gyroReady: UInt8 = 0x02
    public static let temperatureReady: UInt8 = 0x04
    /// The FIFO holds at most 32 frames.
    public static let fifoDepth = 32
    /// Bytes of one accelerometer sample (X, Y, Z as int16 LE); reading them pops the FIFO
    /// while the gyroscope is powered down.
    public static let sampleBytes = 6
    /// ODR_G 0: the gyroscope powered down. The hub needs no angular rate, and with the
    /// gyroscope on the FIFO holds 12-byte gyroscope + accelerometer frames, its read-out
    /// wrapping from 0x2D to 0x18: a 6-byte-per-sample burst would read gyroscope counts
    /// as acceleration.
    public static let ctrlReg1GOff: UInt8 = 0x00
    /// ODR_XL 238 Hz, ±2 g: with the gyroscope off, the accelerometer paces the FIFO.
    public static let ctrlReg6XLRun: UInt8 = 0x80
    /// Acceleration per LSB at ±2 g.
    public static let accelScale2g = LSM9DS1Sensitivity.acceleration(fsXL: 0b00)
    /// Angular rate per LSB at ±245 °/s.
    public static let gyroScale245dps = LSM9DS1Sensitivity.angularRate(fsG: 0b00)
}

/// LSM9DS1 magnetometer register map (ST datasheet; RTIMULib), address 0x1C.
///
/// Unlike the accelerometer half, this die follows the ST sensors' convention: bit 7 of
/// the register address asks for auto-increment.
public enum LSM9DS1MagnetometerRegister {
    public static let address: UInt8 = 0x1C
    public static let whoAmI: UInt8 = 0x0F
    public static let whoAmIValue: UInt8 = 0x3D
    public static let ctrlReg1M: UInt8 = 0x20
    public static let ctrlReg2M: UInt8 = 0x21
    public static let ctrlReg3M: UInt8 = 0x22
    public static let ctrlReg4M: UInt8 = 0x23
    public static let ctrlReg5M: UInt8 = 0x24
    public static let intCfgM: UInt8 = 0x30
    /// INT_CFG_M at reset: IEA, interrupt active high.
    public static let intCfgMDefault: UInt8 = 0x08
    public static let statusM: UInt8 = 0x27
    public static let outXLM: UInt8 = 0x28
    /// CTRL_REG1_M at reset: low-power X/Y, 10 Hz.
    public static let ctrlReg1MDefault: UInt8 = 0x10
    /// CTRL_REG3_M at reset: power-down (MD = 11).
    public static let ctrlReg3MDefault: UInt8 = 0x03
    /// High-performance X/Y (OM = 10), 10 Hz (DO = 100).
    public static let ctrlReg1MRun: UInt8 = 0x50
    /// ±4 gauss.
    public static let ctrlReg2MRun: UInt8 = 0x00
    /// Continuous conversion (MD = 00).
    public static let ctrlReg3MRun: UInt8 = 0x00
    /// High-performance Z (OMZ = 10).
    public static let ctrlReg4MRun: UInt8 = 0x08
    /// CTRL_REG2_M SOFT_RST (self-clearing).
    public static let softReset: UInt8 = 0x04
    /// STATUS_REG_M ZYXDA: a new X, Y, Z set is ready.
    public static let dataReady: UInt8 = 0x08
    /// Field per LSB at ±4 gauss.
    public static let scale4Gauss = LSM9DS1Sensitivity.magneticField(fsM: 0b00)
}

/// Driver for the Sense HAT's LSM9DS1 inertial unit, yielding the `vibration` channel.
///
/// Vibration of a washing machine or a compressor is an RMS over a window of
/// acceleration, and a hub that polls every few seconds cannot sample at hundreds of
/// hertz itself. So the chip does it: the accelerometer runs at 238 Hz into its FIFO in
/// continuous mode, which always holds the latest 32 samples (134 ms, two cycles of a
/// 17 Hz drum), and one sample drains them in a single burst. Vibration is the RMS of
/// the acceleration vector's deviation from its mean over the burst, so gravity and the
/// unit's zero-g offset cancel whatever way the kit is mounted, and motion along every
/// axis counts in full: a figure made of the magnitude |a| sees horizontal motion only to
/// second order (|g + h| ≈ 1 + h²/2 for a small h across gravity), and a washer's largest
/// motion is horizontal. Every burst is checked for the jump a flipped
/// bit makes (`spikedSample`) and FIFO_SRC is read twice, since a popped FIFO cannot be
/// read again to compare. The gyroscope and magnetometer are brought up
/// too and read on demand for diagnostics; they are not channels.
public final class LSM9DS1Driver: SensorDriver {
    public let chip = "LSM9DS1"
    public let bus: any I2CBus
    public let accelGyroAddress: UInt8
    public let magnetometerAddress: UInt8
    private var initialised = false
    /// Fewer unread samples than this is "not ready": too short a window for an RMS.
    public static let minimumSamples = 16
    /// Above this the figure cannot come from the chip at ±2 g: a corrupted transfer.
    public static let maximumVibration = 2.0

    public init(bus: any I2CBus,
                accelGyroAddress: UInt8 = LSM9DS1AccelGyroRegister.address,
                magnetometerAddress: UInt8 = LSM9DS1MagnetometerRegister.address) {
        self.bus = bus
        self.accelGyroAddress = accelGyroAddress
        self.magnetometerAddress = magnetometerAddress
    }

    public func initialise() throws(DriverError) -> String {
        initialised = false
        typealias AG = LSM9DS1AccelGyroRegister
        typealias M = LSM9DS1MagnetometerRegister
        try probeWhoAmI(chip: chip, bus: bus, address: accelGyroAddress, register: AG.whoAmI, expected: AG.whoAmIValue)
        try probeWhoAmI(chip: chip, bus: bus, address: magnetometerAddress, register: M.whoAmI, expected: M.whoAmIValue)
        try onBus(chip) { () throws(I2CError) in
            // IF_ADD_INC is on at reset, but a previous owner of the bus may have cleared it,
            // and every burst below depends on it.
            try bus.writeRegister(accelGyroAddress, AG.ctrlReg8, AG.ctrlReg8Default)
            try bus.writeRegister(accelGyroAddress, AG.ctrlReg1G, AG.ctrlReg1GOff)
            try bus.writeRegister(accelGyroAddress, AG.ctrlReg6XL, AG.ctrlReg6XLRun)
            try bus.writeRegister(accelGyroAddress, AG.ctrlReg9, AG.fifoEnable)
            // Passing through bypass empties the FIFO, so a re-initialisation after an error
            // never reports samples from before it.
            try bus.writeRegister(accelGyroAddress, AG.fifoCtrl, AG.fifoModeBypass)
            try bus.writeRegister(accelGyroAddress, AG.fifoCtrl, AG.fifoModeContinuous)
            try bus.writeRegister(magnetometerAddress, M.ctrlReg1M, M.ctrlReg1MRun)
            try bus.writeRegister(magnetometerAddress, M.ctrlReg2M, M.ctrlReg2MRun)
            try bus.writeRegister(magnetometerAddress, M.ctrlReg4M, M.ctrlReg4MRun)
            try bus.writeRegister(magnetometerAddress, M.ctrlReg3M, M.ctrlReg3MRun)
        }
        initialised = true
        return "accel 238 Hz ±2 g into FIFO (continuous), gyro off, mag 10 Hz ±4 G"
    }

    public func sample() throws(DriverError) -> ChannelValues? {
        guard initialised else { throw .notInitialised(chip: chip) }
        typealias AG = LSM9DS1AccelGyroRegister
        let unread = try unreadSamples()
        guard unread >= Self.minimumSamples else { return nil }
        let count = unread * AG.sampleBytes
        let b = try onBus(chip) { () throws(I2CError) in
            try bus.readRegisters(accelGyroAddress, AG.outXLXL, count: count, autoIncrementBit: 0)
        }
        guard b.count == count else {
            throw .bus(chip: chip, .shortRead(address: accelGyroAddress, expected: count, got: b.count))
        }
        // Reading the FIFO pops it, so the burst cannot be read a second time to verify it.
        // A bit flipped on the wire shows instead as a jump no vibration makes (see
        // `spikedSample`); the window is refused and the component reads a fresh one.
        if Self.spikedSample(b) != nil { throw .verifyMismatch(chip: chip) }
        let vibration = Self.vibration(fifoBurst: b)
        guard vibration.isFinite, vibration <= Self.maximumVibration else {
            throw .implausible(chip: chip, channel: .vibration, value: vibration)
        }
        var values = ChannelValues()
        values[.vibration] = vibration
        return values
    }

    /// FIFO_SRC's unread count, read twice: the two reads may differ by the one sample that
    /// can land between them (4.2 ms at 238 Hz), never more, and the smaller is used, so a
    /// flipped FSS bit can neither make the driver read past the FIFO's end nor go unnoticed.
    private func unreadSamples() throws(DriverError) -> Int {
        typealias AG = LSM9DS1AccelGyroRegister
        func read() throws(DriverError) -> Int {
            let source = try onBus(chip) { () throws(I2CError) in try bus.readRegister(accelGyroAddress, AG.fifoSrc) }
            return min(Int(source & AG.fifoUnreadMask), AG.fifoDepth)
        }
        let first = try read()
        let second = try read()
        guard (0...1).contains(second - first) else { throw .verifyMismatch(chip: chip) }
        return first
    }

    /// Below this (11.7 mg) a jump is within what the accelerometer's noise does: 1 mg RMS
    /// is 16.4 LSB, its 4th difference ÷4 spreads 2.1 times that (34 LSB), and 192 LSB is
    /// 5.6 of those spreads.
    public static let spikeFloorLSB = 192.0
    /// An axis's 4th difference more than this many times the window's mean one (the
    /// largest left out) is not vibration: 5.4 σ for Gaussian vibration.
    public static let spikeSpreadFactor = 6.75
    /// A magnitude further from the window's centre than this many standard deviations
    /// (both taken without the furthest sample) is not vibration either.
    public static let outlierDeviations = 4.5
    /// A magnitude deviating more than this many times the next largest deviation stands
    /// alone: tonal vibration (the compressor's 50 Hz, a bearing's lines) reaches its peak
    /// every cycle, so its largest deviations come in crowds.
    public static let runnerUpFactor = 2.0

    /// Where a FIFO burst shows the jump a flipped bit makes (a sample index), or nil.
    ///
    /// A flipped bit adds ±2^k to one axis of one sample. Two tests, either of which refuses:
    /// - smoothness, per axis: the residual of each sample from its neighbours' mean, taken
    ///   again from its neighbours' residuals (a 4th difference, ÷4), is small for the
    ///   drum's and the compressor's vibration and −1.5·2^k at a flipped sample. Above
    ///   `spikeSpreadFactor` times the window's mean and above `spikeFloorLSB`, it is a flip.
    ///   Samples at full scale are clipped, which bends the signal as sharply, so residuals
    ///   touching one are not judged (a flip lands exactly on full scale once in 65,536).
    /// - outliers, on the vectors the figure is made of: a sample further from the
    ///   window's centre than `outlierDeviations` RMS distances or `runnerUpFactor`
    ///   times the next largest distance (and than the floor).
    ///   This one holds where smoothness cannot, in broadband or near-Nyquist vibration (a
    ///   worn bearing's lines at 60–140 Hz sampled at 238 Hz).
    /// A flip that passes both is smaller than the window's own roughness: on a still kit it
    /// moves the figure by under 2 mg; in broadband vibration by at most about a quarter of
    /// the figure (a sample 4.5 σ out among 30), the most a single sample can ever be told
    /// apart from vibration itself.
    public static func spikedSample(_ bytes: [UInt8]) -> Int? {
        let size = LSM9DS1AccelGyroRegister.sampleBytes
        let n = bytes.count / size
        guard n >= 5 else { return nil }
        // Runs on every vibration sample of every kit: one stack buffer, no heap allocation,
        // no sorting (the spreads are means that leave out the largest value, which is where
        // a flip would sit). Layout: values [0, n), residuals [n, 2n), 4th differences [2n, 3n).
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * n) { buffer -> Int? in
            let values = 0, residuals = n, second = 2 * n
            func raw(_ i: Int, _ axis: Int) -> Double { Double(int16LE(bytes[i * size + axis * 2], bytes[i * size + axis * 2 + 1])) }
            for axis in 0..<3 {
                for i in 0..<n { buffer[values + i] = raw(i, axis) }
                for i in 1..<(n - 1) {
                    buffer[residuals + i] = buffer[values + i] - (buffer[values + i - 1] + buffer[values + i + 1]) / 2
                }
                var sum = 0.0
                var largest = 0.0
                for j in 2..<(n - 2) {
                    let e = buffer[residuals + j] - (buffer[residuals + j - 1] + buffer[residuals + j + 1]) / 2
                    buffer[second + j] = e
                    sum += abs(e)
                    largest = max(largest, abs(e))
                }
                let spread = (sum - largest) / Double(n - 5)
                let limit = max(spikeFloorLSB, spikeSpreadFactor * spread)
                guard largest > limit else { continue }
                for j in 2..<(n - 2) where abs(buffer[second + j]) > limit {
                    let clipped = ((j - 2)...(j + 2)).contains { abs(buffer[values + $0]) >= 32767 }
                    if !clipped { return j }
                }
            }
            // The centre and spread of the vectors (in LSB) without the sample furthest from
            // their mean. The smoothness test is done with the buffer: it now holds each
            // sample's x, y and z in its three thirds, decoded once.
            func sample(_ i: Int) -> Vector3 { Vector3(x: buffer[i], y: buffer[n + i], z: buffer[2 * n + i]) }
            var sum = Vector3.zero
            for i in 0..<n {
                for axis in 0..<3 { buffer[axis * n + i] = raw(i, axis) }
                sum = sum + sample(i)
            }
            let mean = sum * (1 / Double(n))
            var furthest = 0
            var furthestDistance = -1.0
            for i in 0..<n {
                let d = (sample(i) - mean).magnitude
                if d > furthestDistance { furthest = i; furthestDistance = d }
            }
            let centre = (sum - sample(furthest)) * (1 / Double(n - 1))
            var squares = 0.0
            var deviation = 0.0
            var runnerUp = 0.0
            for i in 0..<n {
                let d = (sample(i) - centre).magnitude
                if i == furthest { deviation = d; continue }
                squares += d * d
                runnerUp = max(runnerUp, d)
            }
            let sigma = (squares / Double(n - 2)).squareRoot()
            let limit = max(spikeFloorLSB, min(outlierDeviations * sigma, runnerUpFactor * runnerUp))
            return deviation > limit ? furthest : nil
        }
    }

    /// The latest magnetic field in gauss (±4 gauss range), for diagnostics.
    ///
    /// Zero until the first conversion, 100 ms after `initialise()` at 10 Hz: the output
    /// registers hold the last conversion whether or not it has been read before.
    public func readMagneticField() throws(DriverError) -> Vector3 {
        guard initialised else { throw .notInitialised(chip: chip) }
        let b = try onBus(chip) { () throws(I2CError) in
            try bus.readRegisters(magnetometerAddress, LSM9DS1MagnetometerRegister.outXLM, count: 6)
        }
        guard b.count == 6 else { throw .bus(chip: chip, .shortRead(address: magnetometerAddress, expected: 6, got: b.count)) }
        return LSM9DS1Axes(outputRegisters: b, at: 0).value(sensitivity: LSM9DS1MagnetometerRegister.scale4Gauss)
    }

    /// The vibration figure of one FIFO burst (6 bytes per sample, at least 3 samples): the
    /// RMS distance of every sample's acceleration vector from the burst's mean vector, in g
    /// (the square root of the three axes' variances summed). It does not depend on how the
    /// kit is mounted: a rotation moves the mean with the samples. The edge samples, which
    /// the smoothness test sees from one side only, are covered by the outlier test.
    public static func vibration(fifoBurst b: [UInt8]) -> Double {
        let size = LSM9DS1AccelGyroRegister.sampleBytes
        precondition(b.count % size == 0 && b.count >= 3 * size, "a FIFO burst of at least three whole samples")
        // The vectors in a stack buffer: this runs on every vibration sample of every kit.
        let count = b.count / size
        return withUnsafeTemporaryAllocation(of: Vector3.self, capacity: count) { samples -> Double in
            for index in 0..<count { samples.initializeElement(at: index, to: acceleration(b, at: index * size)) }
            defer { samples.deinitialize() }
            return acRMS(UnsafeBufferPointer(samples))
        }
    }

    /// One accelerometer sample in g from six output bytes at ±2 g.
    static func acceleration(_ bytes: [UInt8], at offset: Int) -> Vector3 {
        LSM9DS1Axes(outputRegisters: bytes, at: offset).value(sensitivity: LSM9DS1AccelGyroRegister.accelScale2g)
    }

    /// RMS distance of the vectors from their own mean: the AC part of every axis at once.
    public static func acRMS(_ vectors: [Vector3]) -> Double {
        vectors.withUnsafeBufferPointer { acRMS($0) }
    }

    static func acRMS(_ vectors: UnsafeBufferPointer<Vector3>) -> Double {
        precondition(!vectors.isEmpty, "an RMS needs at least one vector")
        let mean = vectors.reduce(Vector3.zero, +) * (1 / Double(vectors.count))
        let sumOfSquares = vectors.reduce(0) { total, v in
            let d = v - mean
            return total + d.x * d.x + d.y * d.y + d.z * d.z
        }
        return (sumOfSquares / Double(vectors.count)).squareRoot()
    }
}
