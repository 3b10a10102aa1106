import HubCore

/// HTS221 register map (ST datasheet; Linux `hts221` driver), address 0x5F.
public enum HTS221Register {
    public static let address: UInt8 = 0x5F
    public static let whoAmI: UInt8 = 0x0F
    public static let whoAmIValue: UInt8 = 0xBC
    public static let avConf: UInt8 = 0x10
    public static let ctrlReg1: UInt8 = 0x20
    public static let ctrlReg2: UInt8 = 0x21
    public static let status: UInt8 = 0x27
    public static let humidityOutL: UInt8 = 0x28
    public static let calibrationStart: UInt8 = 0x30
    public static let calibrationCount = 16
    /// PD (power on) | BDU (outputs update together) | ODR 12.5 Hz.
    public static let ctrlReg1Run: UInt8 = 0x87
    public static let avConfDefault: UInt8 = 0x1B
}

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
        let put = { (index: Int, value: Int16) in
            let bits = UInt16(bitPattern: value)
            r[index] = UInt8(bits & 0xFF)
            r[index + 1] = UInt8(bits >> 8)
        }
        put(0x06, h0T0Out)
        put(0x0A, h1T0Out)
        put(0x0C, t0Out)
        put(0x0E, t1Out)
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

func saturate(_ value: Double) -> Int16 {
    Int16(max(-32768, min(32767, value.rounded())))
}

/// Driver for the HTS221 humidity and temperature sensor.
///
/// Brings the chip up in continuous mode (PD, BDU, 12.5 Hz) and reads its calibration block
/// until three reads agree byte for byte (then checks it against the datasheet's bounds), at
/// every initialisation. Reads STATUS and both outputs in one auto-increment burst
/// (0x27...0x2B, 5 bytes), verified by two more bursts (see `OutputReader`). Physically
/// impossible values (outside the −40...120 °C operating range) are refused, so a
/// corrupted transfer never becomes a reading.
public final class HTS221Driver: SensorDriver {
    public let chip = "HTS221"
    public let bus: any I2CBus
    public let address: UInt8
    public private(set) var calibration: HTS221Calibration?
    private var reader: OutputReader

    /// `verifyReads` reads the outputs three times per sample; turn it off only on a bus you trust.
    public init(bus: any I2CBus, address: UInt8 = HTS221Register.address, verifyReads: Bool = true) {
        self.bus = bus
        self.address = address
        reader = OutputReader(chip: "HTS221", address: address, statusRegister: HTS221Register.status, readyMask: 0x03,
                              outputCount: 4, controlRegister: HTS221Register.ctrlReg1,
                              controlRunValue: HTS221Register.ctrlReg1Run, verify: verifyReads)
    }

    public func initialise() throws(DriverError) -> String {
        calibration = nil
        try probeWhoAmI(chip: chip, bus: bus, address: address, register: HTS221Register.whoAmI, expected: HTS221Register.whoAmIValue)
        try onBus(chip) { () throws(I2CError) in
            try bus.writeRegister(address, HTS221Register.avConf, HTS221Register.avConfDefault)
            try bus.writeRegister(address, HTS221Register.ctrlReg1, HTS221Register.ctrlReg1Run)
        }
        // Read until three reads agree: the calibration converts every later sample, so one bit
        // flipped here would offset every reading until the next initialisation.
        let block = try readAgreeing(chip: chip, bus: bus, address: address, register: HTS221Register.calibrationStart,
                                     count: HTS221Register.calibrationCount)
        let calibration = try HTS221Calibration(registers: block)
        self.calibration = calibration
        return "T0=\(calibration.t0DegC)°C T1=\(calibration.t1DegC)°C H0=\(calibration.h0RH)% H1=\(calibration.h1RH)%"
    }

    public func sample() throws(DriverError) -> ChannelValues? {
        guard let calibration else { throw .notInitialised(chip: chip) }
        guard let b = try reader.read(bus) else { return nil }
        let o = b.startIndex
        let humidity = calibration.humidity(raw: int16LE(b[o], b[o + 1]))
        let temperature = calibration.temperature(raw: int16LE(b[o + 2], b[o + 3]))
        guard (-40.0...120.0).contains(temperature) else {
            throw .implausible(chip: chip, channel: .temperature, value: temperature)
        }
        var values = ChannelValues()
        values[.temperature] = temperature
        values[.humidity] = humidity
        return values
    }
}
