import HubCore

/// Reads an ST sensor's STATUS and output registers with the checks a hostile bus needs.
///
/// One auto-increment burst from STATUS gives data-ready and the outputs together. Then:
/// - verification: the outputs are read again and the bursts must match (two of them, three
///   while the bus has lately corrupted this chip's transfers), so a bit flipped on the
///   wire never becomes a reading (BDU holds the outputs between the bursts; a conversion
///   that lands in between is recognised by its data-ready bits);
/// - reset detection: when data is not ready, CTRL_REG1 is read back; if two reads in a row
///   show the chip lost its configuration (power-on defaults after a brown-out) the driver
///   says so and the sensor component re-initialises it;
/// - stuck detection: outputs that repeat bit for bit `stuckRepeatsMax` times are refused,
///   since real conversions always carry a few LSB of noise.
struct OutputReader {
    let chip: String
    let address: UInt8
    let statusRegister: UInt8
    let readyMask: UInt8
    let outputCount: Int
    let controlRegister: UInt8
    let controlRunValue: UInt8
    var verify: Bool
    let stuckRepeatsMax = 5
    private var lastOutputs: [UInt8] = []
    private(set) var repeats = 0
    /// Samples still to be confirmed by three bursts rather than two, since the bus last
    /// corrupted one of this chip's transfers.
    private var suspicious = 0
    /// How long a corrupted transfer keeps the chip under suspicion (about 3 h at a 10 s poll).
    static let suspiciousSamples = 1024

    init(chip: String, address: UInt8, statusRegister: UInt8, readyMask: UInt8, outputCount: Int,
         controlRegister: UInt8, controlRunValue: UInt8, verify: Bool) {
        self.chip = chip
        self.address = address
        self.statusRegister = statusRegister
        self.readyMask = readyMask
        self.outputCount = outputCount
        self.controlRegister = controlRegister
        self.controlRunValue = controlRunValue
        self.verify = verify
    }

    /// The output bytes (without STATUS), or nil when the chip has no new data.
    mutating func read(_ bus: any I2CBus) throws(DriverError) -> ArraySlice<UInt8>? {
        let count = outputCount + 1
        let first = try burst(bus, count: count)
        guard first[0] & readyMask == readyMask else {
            // A reset shows in two reads of CTRL_REG1 in a row; one odd read is a bit flipped
            // on the wire, and taking it for a reset would re-initialise a healthy chip.
            for _ in 0..<2 {
                let control = try onBus(chip) { () throws(I2CError) in try bus.readRegister(address, controlRegister) }
                if control == controlRunValue { return nil }
            }
            throw .chipReset(chip: chip)
        }
        var outputs = first[1...]
        if verify {
            do {
                outputs = try confirmed(outputs, bus, count: count, agreeing: suspicious > 0 ? 3 : 2)
                suspicious = max(0, suspicious - 1)
            } catch {
                suspicious = Self.suspiciousSamples
                throw error
            }
        }
        if outputs.elementsEqual(lastOutputs) {
            repeats += 1
            if repeats >= stuckRepeatsMax { throw .stuck(chip: chip, repeats: repeats + 1) }
        } else {
            repeats = 0
            // In place: the buffer is kept from sample to sample instead of made anew.
            lastOutputs.replaceSubrange(lastOutputs.indices, with: outputs)
        }
        return outputs
    }

    /// Reads the outputs again until `agreeing` bursts agree with no conversion between them.
    ///
    /// Reading the outputs cleared the data-ready bits, and BDU keeps the outputs still
    /// until the next conversion, which sets them again. So a burst that shows no new data
    /// must repeat the first exactly, or the bus corrupted one of them; one that shows new
    /// data legitimately differs (on real hardware time passes between the bursts) and
    /// starts the count again.
    ///
    /// Two bursts on a quiet bus; three once the bus has corrupted one of this chip's
    /// transfers (for `suspiciousSamples` samples after it): on a bus that flips a bit in
    /// 5 % of the transfers, two bursts carry the same flip in 1 of 8·n·400 samples (n
    /// bytes), about once a day per chip at a 10 s poll, and three make it once in
    /// millennia. A bus that flips shows plain mismatches long before it can repeat a flip
    /// (a repeat is 1 in 16·n of its first corruptions), so the two-burst start costs no
    /// safety and a healthy bus no bandwidth.
    private func confirmed(_ first: ArraySlice<UInt8>, _ bus: any I2CBus, count: Int,
                           agreeing needed: Int) throws(DriverError) -> ArraySlice<UInt8> {
        var candidate = first
        var agreeing = 1
        for _ in 0..<(needed + 1) {
            let next = try burst(bus, count: count)
            if next[0] & readyMask == 0 {
                guard next[1...] == candidate else { throw .verifyMismatch(chip: chip) }
                agreeing += 1
                if agreeing == needed { return candidate }
            } else {
                candidate = next[1...]
                agreeing = 1
            }
        }
        throw .verifyMismatch(chip: chip)
    }

    private func burst(_ bus: any I2CBus, count: Int) throws(DriverError) -> [UInt8] {
        let bytes = try onBus(chip) { () throws(I2CError) in try bus.readRegisters(address, statusRegister, count: count) }
        guard bytes.count == count else { throw .bus(chip: chip, .shortRead(address: address, expected: count, got: bytes.count)) }
        return bytes
    }
}

/// Runs a bus operation, turning an I²C error into the chip's driver error.
func onBus<T>(_ chip: String, _ body: () throws(I2CError) -> T) throws(DriverError) -> T {
    do { return try body() } catch { throw .bus(chip: chip, error) }
}
