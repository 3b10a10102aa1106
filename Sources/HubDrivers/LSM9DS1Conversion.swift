import HubCore

// LSM9DS1 conversions, both directions side by side. Each sensor (accelerometer,
// gyroscope, magnetometer) stores X, Y, Z as int16 little-endian counts; a count is worth
// the sensitivity of the full scale in use (datasheet table 3). The driver decodes with
// these and the chip models encode with them, so each pair is written once; the driver
// tests hold the sensitivities and the decoding to the datasheet's figures, so an error
// made the same way in both directions cannot pass.

/// The LSM9DS1's sensitivity for each full-scale setting (datasheet table 3), per LSB.
///
/// The chip models follow whatever full scale a driver writes, so they need the whole
/// table; the hub's driver runs at ±2 g, ±245 °/s and ±4 gauss and reads those rows.
public enum LSM9DS1Sensitivity {
    /// g per LSB for CTRL_REG6_XL's FS_XL (bits 4:3): 00 ±2 g, 01 ±16 g, 10 ±4 g, 11 ±8 g.
    @inlinable
    public static func acceleration(fsXL: UInt8) -> Double {
        switch fsXL & 0x03 {
        case 1: 0.000732
        case 2: 0.000122
        case 3: 0.000244
        default: 0.000061
        }
    }

    /// °/s per LSB for CTRL_REG1_G's FS_G (bits 4:3): 00 245, 01 500, 11 2000 °/s. 10 is
    /// not available on the part; the model reads it as 245.
    @inlinable
    public static func angularRate(fsG: UInt8) -> Double {
        switch fsG & 0x03 {
        case 1: 0.0175
        case 3: 0.07
        default: 0.00875
        }
    }

    /// Gauss per LSB for CTRL_REG2_M's FS (bits 6:5): 00 ±4, 01 ±8, 10 ±12, 11 ±16 gauss.
    @inlinable
    public static func magneticField(fsM: UInt8) -> Double {
        switch fsM & 0x03 {
        case 1: 0.00029
        case 2: 0.00043
        case 3: 0.00058
        default: 0.00014
        }
    }
}

/// One LSM9DS1 sensor's X, Y, Z as the chip stores them: int16 counts.
///
/// The raw form sits between the physical value and the six output bytes, because the
/// accelerometer's FIFO keeps samples in it until they are read.
public struct LSM9DS1Axes: Equatable, Sendable {
    public var x: Int16
    public var y: Int16
    public var z: Int16

    @inlinable
    public init(x: Int16, y: Int16, z: Int16) {
        self.x = x
        self.y = y
        self.z = z
    }

    /// The counts the chip converts `value` to at `sensitivity` (units per LSB),
    /// saturating at the int16 range like its ADC.
    @inlinable
    public init(_ value: Vector3, sensitivity: Double) {
        precondition(value.x.isFinite && value.y.isFinite && value.z.isFinite, "the environment produced a non-finite quantity")
        self.init(x: saturate(value.x / sensitivity), y: saturate(value.y / sensitivity), z: saturate(value.z / sensitivity))
    }

    /// The counts in six output bytes (X, Y, Z, each low byte first) from `offset`.
    public init(outputRegisters b: [UInt8], at offset: Int) {
        self.init(x: int16LE(b[offset], b[offset + 1]), y: int16LE(b[offset + 2], b[offset + 3]),
                  z: int16LE(b[offset + 4], b[offset + 5]))
    }

    /// Writes the six output bytes at `offset`, as the chip lays them out.
    @inlinable
    public func write(into registers: inout [UInt8], at offset: Int) {
        putInt16LE(x, into: &registers, at: offset)
        putInt16LE(y, into: &registers, at: offset + 2)
        putInt16LE(z, into: &registers, at: offset + 4)
    }

    /// Appends the six output bytes, as the chip lays them out (the simulated FIFO's burst).
    @inlinable
    public func append(to bytes: inout [UInt8]) {
        appendInt16LE(x, to: &bytes)
        appendInt16LE(y, to: &bytes)
        appendInt16LE(z, to: &bytes)
    }

    /// The physical value at `sensitivity` (units per LSB).
    public func value(sensitivity: Double) -> Vector3 {
        Vector3(x: Double(x) * sensitivity, y: Double(y) * sensitivity, z: Double(z) * sensitivity)
    }
}
