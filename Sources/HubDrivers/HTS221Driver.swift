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
    /// HUMIDITY_OUT and TEMP_OUT, read in one burst after STATUS.
    public static let outputCount = 4
    public static let calibrationStart: UInt8 = 0x30
    public static let calibrationCount = 16
    /// PD (power on) | BDU (outputs update together) | ODR 12.5 Hz.
    public static let ctrlReg1Run: UInt8 = 0x87
    public static let avConfDefault: UInt8 = 0x1B
}

/// Driver for the HTS221 humidity and temperature sensor.
///
/// Brings the chip up in continuous mode (PD, BDU, 12.5 Hz) and reads its calibration block
/// until three reads agree byte for byte (then checks it against the datasheet's bounds), at
/// every initialisation. Reads STATUS and both outputs in one auto-increment burst
/// (0x27...0x2B, 5 bytes), verified by one or two more bursts (see `OutputReader`). Physically
/// impossible values (outside the −40...120 °C operating range) are refused, so a
/// corrupted transfer never becomes a reading.
public final class HTS221Driver: SensorDriver {
    public let chip = "HTS221"
    public let bus: any I2CBus
    public let address: UInt8
    public private(set) var calibration: HTS221Calibration?
    private var reader: OutputReader

    /// `verifyReads` reads the outputs two or three times per sample; turn it off only on a bus you trust.
    public init(bus: any I2CBus, address: UInt8 = HTS221Register.address, verifyReads: Bool = true) {
        self.bus = bus
        self.address = address
        reader = OutputReader(chip: "HTS221", address: address, statusRegister: HTS221Register.status, readyMask: 0x03,
                              outputCount: HTS221Register.outputCount, controlRegister: HTS221Register.ctrlReg1,
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
        let (humidity, temperature) = calibration.values(outputRegisters: b)
        guard (-40.0...120.0).contains(temperature) else {
            throw .implausible(chip: chip, channel: .temperature, value: temperature)
        }
        var values = ChannelValues()
        values[.temperature] = temperature
        values[.humidity] = humidity
        return values
    }
}
