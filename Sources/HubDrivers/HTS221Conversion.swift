import HubCore

// HTS221 conversions, both directions side by side: the calibration block (0x30...0x3F)
// and the outputs (HUMIDITY_OUT 0x28/0x29, TEMP_OUT 0x2A/0x2B). The driver decodes with
// them and the chip model encodes with them, so each pair is written once; the driver
// tests hold the decoding to byte vectors worked from the datasheet formulas, so an error
// made the same way in both directions cannot pass.
//
//   T0 = (((r35 & 0x03) << 8) | r32) / 8        T1 = (((r35 & 0x0C) << 6) | r33) / 8
//   H0 = r30 / 2                                H1 = r31 / 2
//   T  = T0 + (TEMP_OUT − T0_OUT) · (T1 − T0) / (T1_OUT − T0_OUT)
//   RH = H0 + (HUMIDITY_OUT − H0_T0_OUT) · (H1 − H0) / (H1_T0_OUT − H0_T0_OUT)

/// One unit's calibration: two points per channel, stored in the chip at the factory.
///
/// Every HTS221 has its own; a driver that hard-codes one set reads wrong on every other
/// unit, which is why the simulated chips draw theirs from the seed.
public struct HTS221Calibration: Equatable, Sendable {
    public var t0DegC: Double
    public var t1DegC: Double
    public var t0Out: Int16
    public var t1Out: Int16
    public var h0RH: Double
    public var h1RH: Double
    public var h0T0Out: Int16
    public var h1T0Out: Int16

    public init(t0DegC: Double, t1DegC: Double, t0Out: Int16, t1Out: Int16,
                h0RH: Double, h1RH: Double, h0T0Out: Int16, h1T0Out: Int16) {
        self.t0DegC = t0DegC
        self.t1DegC = t1DegC
        self.t0Out = t0Out
        self.t1Out = t1Out
        self.h0RH = h0RH
        self.h1RH = h1RH
        self.h0T0Out = h0T0Out
        self.h1T0Out = h1T0Out
    }

    /// Decodes registers 0x30...0x3F (16 bytes, as read with one auto-increment burst).
    public init(registers r: [UInt8]) throws(DriverError) {
        precondition(r.count == HTS221Register.calibrationCount, "HTS221 calibration block is 16 bytes")
        h0RH = Double(r[0x00]) / 2
        h1RH = Double(r[0x01]) / 2
        let msb = r[0x05]
        t0DegC = Double(Int(msb & 0x03) << 8 | Int(r[0x02])) / 8
        t1DegC = Double(Int(msb & 0x0C) << 6 | Int(r[0x03])) / 8
        h0T0Out = int16LE(r[0x06], r[0x07])
        h1T0Out = int16LE(r[0x0A], r[0x0B])
        t0Out = int16LE(r[0x0C], r[0x0D])
        t1Out = int16LE(r[0x0E], r[0x0F])
        if t0Out == t1Out || t0DegC == t1DegC {
            throw .invalidCalibration(chip: "HTS221", reason: "temperature points coincide (T0_OUT=\(t0Out), T1_OUT=\(t1Out))")
        }
        if h0T0Out == h1T0Out || h0RH == h1RH {
            throw .invalidCalibration(chip: "HTS221", reason: "humidity points coincide (H0_T0_OUT=\(h0T0Out), H1_T0_OUT=\(h1T0Out))")
        }
        try checkPlausible()
    }

    /// Temperature sensitivity a real unit can have, in LSB/°C (datasheet typical 64, i.e.
    /// 0.016 °C/LSB); the band is wide on purpose: it refuses only what no part ships with.
    public static let temperatureSlopeRange: ClosedRange<Double> = 8...512
    /// Humidity sensitivity in |LSB/%RH| (datasheet typical 256, i.e. 0.004 %RH/LSB; the
    /// sign differs between units).
    public static let humiditySlopeRange: ClosedRange<Double> = 32...2048

    /// The datasheet's bounds on a factory calibration: calibration points inside the
    /// operating ranges (T0 < T1 ≤ 120 °C, H0 < H1 ≤ 100 %RH) and sensitivities a real part
    /// has. A block that passes two agreeing reads but fails this is a broken part.
    private func checkPlausible() throws(DriverError) {
        func refuse(_ reason: String) -> DriverError { .invalidCalibration(chip: "HTS221", reason: reason) }
        guard t0DegC < t1DegC, t1DegC <= 120 else { throw refuse("temperature points T0=\(t0DegC) °C, T1=\(t1DegC) °C outside T0 < T1 ≤ 120 °C") }
        guard h0RH < h1RH, h1RH <= 100 else { throw refuse("humidity points H0=\(h0RH) %RH, H1=\(h1RH) %RH outside H0 < H1 ≤ 100 %RH") }
        let tSlope = Double(Int(t1Out) - Int(t0Out)) / (t1DegC - t0DegC)
        guard Self.temperatureSlopeRange.contains(tSlope) else {
            throw refuse("temperature sensitivity \(tSlope) LSB/°C outside \(Self.temperatureSlopeRange)")
        }
        let hSlope = abs(Double(Int(h1T0Out) - Int(h0T0Out)) / (h1RH - h0RH))
        guard Self.humiditySlopeRange.contains(hSlope) else {
            throw refuse("humidity sensitivity \(hSlope) LSB/%RH outside \(Self.humiditySlopeRange)")
        }
    }

    /// The 16 register bytes that encode this calibration (for chip models and tests).
    public var registers: [UInt8] {
        var r = [UInt8](repeating: 0, count: HTS221Register.calibrationCount)
        let t0x8 = Int((t0DegC * 8).rounded())
        let t1x8 = Int((t1DegC * 8).rounded())
        precondition((0..<1024).contains(t0x8) && (0..<1024).contains(t1x8), "T0/T1 must fit 10 bits ×8")
        r[0x00] = UInt8((h0RH * 2).rounded())
        r[0x01] = UInt8((h1RH * 2).rounded())
        r[0x02] = UInt8(t0x8 & 0xFF)
        r[0x03] = UInt8(t1x8 & 0xFF)
        r[0x04] = 0
        r[0x05] = UInt8((t0x8 >> 8) & 0x03) | UInt8(((t1x8 >> 8) & 0x03) << 2)
        putInt16LE(h0T0Out, into: &r, at: 0x06)
        putInt16LE(h1T0Out, into: &r, at: 0x0A)
        putInt16LE(t0Out, into: &r, at: 0x0C)
        putInt16LE(t1Out, into: &r, at: 0x0E)
        return r
    }

    public func temperature(raw: Int16) -> Double {
        t0DegC + Double(Int(raw) - Int(t0Out)) * (t1DegC - t0DegC) / Double(Int(t1Out) - Int(t0Out))
    }

    /// Relative humidity, clamped to 0...100 %RH as ST's application note prescribes.
    public func humidity(raw: Int16) -> Double {
        let rh = h0RH + Double(Int(raw) - Int(h0T0Out)) * (h1RH - h0RH) / Double(Int(h1T0Out) - Int(h0T0Out))
        return min(100, max(0, rh))
    }

    /// The raw output a unit with this calibration produces for a physical value
    /// (inverse of the conversion, saturating at the int16 range like the ADC).
    public func rawTemperature(_ celsius: Double) -> Int16 {
        saturate(Double(t0Out) + (celsius - t0DegC) * Double(Int(t1Out) - Int(t0Out)) / (t1DegC - t0DegC))
    }

    public func rawHumidity(_ rh: Double) -> Int16 {
        saturate(Double(h0T0Out) + (rh - h0RH) * Double(Int(h1T0Out) - Int(h0T0Out)) / (h1RH - h0RH))
    }

    /// The datasheet's reference set (sensehat.md): 64 LSB/°C, 256 LSB/%RH.
    public static let reference = HTS221Calibration(
        t0DegC: 0, t1DegC: 0x320 / 8, t0Out: 0, t1Out: 0x1900,
        h0RH: 0, h1RH: 100, h0T0Out: 0, h1T0Out: 0x6400)
}

extension HTS221Calibration {
    /// HUMIDITY_OUT and TEMP_OUT (0x28...0x2B) as a unit with this calibration stores them
    /// for these conditions.
    public func outputRegisters(humidity: Double, temperature: Double) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: HTS221Register.outputCount)
        writeOutputRegisters(humidity: humidity, temperature: temperature, into: &bytes, at: 0)
        return bytes
    }

    /// The same four bytes written into `bytes` from `offset` (a chip model's register
    /// file), without an array made per conversion.
    public func writeOutputRegisters(humidity: Double, temperature: Double, into bytes: inout [UInt8], at offset: Int) {
        putInt16LE(rawHumidity(humidity), into: &bytes, at: offset)
        putInt16LE(rawTemperature(temperature), into: &bytes, at: offset + 2)
    }

    /// The conditions HUMIDITY_OUT and TEMP_OUT (0x28...0x2B, four bytes from the slice's
    /// start) stand for.
    public func values(outputRegisters b: ArraySlice<UInt8>) -> (humidity: Double, temperature: Double) {
        precondition(b.count >= HTS221Register.outputCount, "HUMIDITY_OUT and TEMP_OUT are four bytes")
        let o = b.startIndex
        return (humidity(raw: int16LE(b[o], b[o + 1])), temperature(raw: int16LE(b[o + 2], b[o + 3])))
    }
}
