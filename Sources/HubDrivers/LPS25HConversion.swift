import HubCore

// LPS25H conversions, both directions side by side: PRESS_OUT (0x28...0x2A, 24-bit
// two's complement, little-endian) and TEMP_OUT (0x2B/0x2C, int16 little-endian). The
// driver decodes with them and the chip model encodes with them, so each pair is written
// once; the driver tests hold the decoding to byte vectors worked from the datasheet's
// formulas (hPa = raw / 4096, °C = 42.5 + raw / 480), so an error made the same way in
// both directions cannot pass.

/// Pure conversions of the LPS25H outputs.
///
/// Fixed by the datasheet: unlike the HTS221, the part carries no per-unit calibration,
/// so there is nothing to read before converting.
public enum LPS25HConversion {
    public static func hectopascals(raw24: Int32) -> Double { Double(raw24) / 4096 }
    public static func celsius(raw16: Int16) -> Double { 42.5 + Double(raw16) / 480 }

    public static func raw24(hectopascals: Double) -> Int32 {
        Int32(max(-8_388_608, min(8_388_607, (hectopascals * 4096).rounded())))
    }

    public static func raw16(celsius: Double) -> Int16 { saturate((celsius - 42.5) * 480) }

    /// Sign-extends the three output bytes (XL, L, H).
    public static func raw24(_ xl: UInt8, _ l: UInt8, _ h: UInt8) -> Int32 {
        let unsigned = UInt32(xl) | UInt32(l) << 8 | UInt32(h) << 16
        return Int32(bitPattern: unsigned << 8) >> 8
    }

    /// PRESS_OUT_XL...TEMP_OUT_H (0x28...0x2C) as the chip stores them for these conditions.
    public static func outputRegisters(hectopascals: Double, celsius: Double) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: LPS25HRegister.outputCount)
        writeOutputRegisters(hectopascals: hectopascals, celsius: celsius, into: &bytes, at: 0)
        return bytes
    }

    /// The same five bytes written into `bytes` from `offset` (a chip model's register
    /// file), without an array made per conversion.
    public static func writeOutputRegisters(hectopascals: Double, celsius: Double, into bytes: inout [UInt8], at offset: Int) {
        let pressure = UInt32(bitPattern: raw24(hectopascals: hectopascals))
        bytes[offset] = UInt8(truncatingIfNeeded: pressure)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: pressure >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: pressure >> 16)
        putInt16LE(raw16(celsius: celsius), into: &bytes, at: offset + 3)
    }

    /// The conditions PRESS_OUT_XL...TEMP_OUT_H (0x28...0x2C, five bytes from the slice's
    /// start) stand for.
    public static func values(outputRegisters b: ArraySlice<UInt8>) -> (hectopascals: Double, celsius: Double) {
        precondition(b.count >= LPS25HRegister.outputCount, "PRESS_OUT and TEMP_OUT are five bytes")
        let o = b.startIndex
        return (hectopascals(raw24: raw24(b[o], b[o + 1], b[o + 2])), celsius(raw16: int16LE(b[o + 3], b[o + 4])))
    }
}
