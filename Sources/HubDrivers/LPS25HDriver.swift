import HubCore

/// LPS25H register map (ST datasheet; Linux `st_pressure`), address 0x5C.
public enum LPS25HRegister {
    public static let address: UInt8 = 0x5C
    public static let whoAmI: UInt8 = 0x0F
    public static let whoAmIValue: UInt8 = 0xBD
    public static let resConf: UInt8 = 0x10
    public static let ctrlReg1: UInt8 = 0x20
    public static let ctrlReg2: UInt8 = 0x21
    public static let status: UInt8 = 0x27
    public static let pressOutXL: UInt8 = 0x28
    public static let tempOutL: UInt8 = 0x2B
    /// PRESS_OUT and TEMP_OUT, read in one burst after STATUS.
    public static let outputCount = 5
    public static let fifoCtrl: UInt8 = 0x2E
    /// PD | ODR 25 Hz | BDU (RTIMULib's init).
    public static let ctrlReg1Run: UInt8 = 0xC4
    /// RES_CONF at reset and as run: 16 internal averages for pressure and temperature
    /// (AVGP = AVGT = 01).
    public static let resConfDefault: UInt8 = 0x05
    public static let resConfRun: UInt8 = 0x05
    /// FIFO_CTRL: bypass. RTIMULib writes 0xC0 with FIFO_EN, which is FIFO mean mode with
    /// WTM_POINT 00000 — not one of the datasheet's moving-average sizes (00001 is 2
    /// samples) — and with FIFO_EN an auto-increment read of PRESS_OUT wraps at
    /// PRESS_OUT_H (AN4450), so pressure and temperature could not come in one burst. The
    /// chip's own 16 internal averages (RES_CONF) already smooth each conversion.
    public static let fifoCtrlRun: UInt8 = 0x00
    /// CTRL_REG2: FIFO off, no one-shot.
    public static let ctrlReg2Run: UInt8 = 0x00
    /// CTRL_REG2 bits: BOOT (7), FIFO_EN (6), SWRESET (2); BOOT and SWRESET clear themselves.
    public static let boot: UInt8 = 0x80
    public static let fifoEnable: UInt8 = 0x40
    public static let softwareReset: UInt8 = 0x04
}

/// Driver for the LPS25H barometer.
///
/// Initialises as RTIMULib does (25 Hz, BDU) but with the FIFO off (see `fifoCtrlRun`), and reads STATUS, pressure and
/// temperature in one 6-byte burst from 0x27, verified by one or two more bursts (see
/// `OutputReader`). Pressure becomes the reading's channel; the die temperature comes back
/// as `referenceTemperature`, which the hub keeps to itself: the reading's temperature
/// comes from the HTS221, the better thermometer of the two (±0.5 °C against ±2 °C), and
/// the LPS25H's is the second opinion that tells a drifting HTS221 from a changing
/// appliance. Pressures outside the chip's 260–1260 hPa range and temperatures outside
/// its −30…105 °C operating range are refused as implausible.
public final class LPS25HDriver: SensorDriver {
    public let chip = "LPS25H"
    public let bus: any I2CBus
    public let address: UInt8
    private var initialised = false
    private var reader: OutputReader

    /// `verifyReads` reads the outputs two or three times per sample; turn it off only on a bus you trust.
    public init(bus: any I2CBus, address: UInt8 = LPS25HRegister.address, verifyReads: Bool = true) {
        self.bus = bus
        self.address = address
        reader = OutputReader(chip: "LPS25H", address: address, statusRegister: LPS25HRegister.status, readyMask: 0x02,
                              outputCount: LPS25HRegister.outputCount, controlRegister: LPS25HRegister.ctrlReg1,
                              controlRunValue: LPS25HRegister.ctrlReg1Run, verify: verifyReads)
    }

    public func initialise() throws(DriverError) -> String {
        initialised = false
        try probeWhoAmI(chip: chip, bus: bus, address: address, register: LPS25HRegister.whoAmI, expected: LPS25HRegister.whoAmIValue)
        try onBus(chip) { () throws(I2CError) in
            try bus.writeRegister(address, LPS25HRegister.ctrlReg1, LPS25HRegister.ctrlReg1Run)
            try bus.writeRegister(address, LPS25HRegister.resConf, LPS25HRegister.resConfRun)
            try bus.writeRegister(address, LPS25HRegister.fifoCtrl, LPS25HRegister.fifoCtrlRun)
            try bus.writeRegister(address, LPS25HRegister.ctrlReg2, LPS25HRegister.ctrlReg2Run)
        }
        initialised = true
        return "25 Hz, BDU, FIFO off"
    }

    public func sample() throws(DriverError) -> ChannelValues? {
        guard initialised else { throw .notInitialised(chip: chip) }
        guard let b = try reader.read(bus) else { return nil }
        let (pressure, temperature) = LPS25HConversion.values(outputRegisters: b)
        guard (260.0...1260.0).contains(pressure) else {
            throw .implausible(chip: chip, channel: .pressure, value: pressure)
        }
        guard (-30.0...105.0).contains(temperature) else {
            throw .implausible(chip: chip, channel: .referenceTemperature, value: temperature)
        }
        var values = ChannelValues()
        values[.pressure] = pressure
        values[.referenceTemperature] = temperature
        return values
    }
}
