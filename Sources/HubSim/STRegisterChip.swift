import HubCore

/// Register behaviour shared by the ST sensors (HTS221, LPS25H, LSM9DS1 magnetometer):
/// the first written byte sets the pointer, bit 7 of it asks for auto-increment, further
/// written bytes go to successive registers (or the same one without bit 7).
open class STRegisterChip: SimI2CDevice {
    public var registers = [UInt8](repeating: 0, count: 128)
    private var pointer: UInt8 = 0
    private var autoIncrement = false
    /// What WHO_AM_I (0x0F) reads while a `whoami` fault is active.
    var whoAmIOverride: UInt8?

    public init() {}

    public func write(_ bytes: [UInt8], now: Instant) {
        guard let first = bytes.first else { return }
        pointer = first & 0x7F
        autoIncrement = first & 0x80 != 0
        for value in bytes.dropFirst() {
            writeRegister(pointer, value, now: now)
            if autoIncrement { pointer = nextRegister(after: pointer) }
        }
    }

    public func read(count: Int, now: Instant) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count {
            if pointer == 0x0F, let whoAmIOverride {
                out.append(whoAmIOverride)
                if autoIncrement { pointer = nextRegister(after: pointer) }
                continue
            }
            out.append(readRegister(pointer, now: now))
            if autoIncrement { pointer = nextRegister(after: pointer) }
        }
        return out
    }

    /// Where an auto-incrementing access goes after `register`; override where the
    /// datasheet makes a read-out wrap.
    open func nextRegister(after register: UInt8) -> UInt8 {
        (register + 1) & 0x7F
    }

    /// Override for side effects; the default stores writable registers.
    open func writeRegister(_ register: UInt8, _ value: UInt8, now: Instant) {
        registers[Int(register)] = value
    }

    /// Override for side effects (latching, clearing status bits).
    open func readRegister(_ register: UInt8, now: Instant) -> UInt8 {
        registers[Int(register)]
    }
}

/// An ST sensor that converts continuously at its ODR or once on ONE_SHOT: both the HTS221
/// and the LPS25H keep PD in bit 7 of CTRL_REG1 (0x20) and ONE_SHOT in bit 0 of
/// CTRL_REG2 (0x21). Subclasses say what the ODR field means and what a conversion latches.
open class ConvertingSTChip: STRegisterChip, SimFaultableChip {
    private var schedule = ConversionSchedule()
    private var oneShotDue: Instant?
    private let oneShotTime: Duration
    private var outputsFrozen = false
    /// Sees the true conditions of every conversion, when the run checks readings against
    /// them (nil otherwise: the truth costs nothing unless asked for).
    public var truthSink: ((SensorEnvironment, Instant) -> Void)?

    public init(oneShotTime: Duration) {
        self.oneShotTime = oneShotTime
        super.init()
    }

    var poweredOn: Bool { registers[0x20] & 0x80 != 0 }

    /// The conversion period the ODR bits select; nil in one-shot mode.
    open var period: Duration? { nil }

    /// Latches one conversion taken at `instant` into the output registers and STATUS.
    open func latch(at instant: Instant) {}

    /// Back to power-on defaults; subclasses restore their registers and call super.
    open func powerOnReset() {
        stopConversions()
    }

    public func setOutputsFrozen(_ frozen: Bool) { outputsFrozen = frozen }

    public func setWhoAmIOverride(_ value: UInt8?) { whoAmIOverride = value }

    /// Subclasses call this from `latch` with the conditions they converted.
    func record(_ environment: SensorEnvironment, at instant: Instant) {
        truthSink?(environment, instant)
    }

    /// A conversion: latch it, or with frozen outputs only raise the data-ready bits (both
    /// chips keep them in bits 1:0 of 0x27), which is what a stuck output register looks like.
    private func convert(at instant: Instant) {
        if outputsFrozen {
            registers[0x27] |= 0x03
        } else {
            latch(at: instant)
        }
    }

    func stopConversions() {
        schedule.stop()
        oneShotDue = nil
    }

    /// Call after CTRL_REG1 changes: power and ODR decide whether conversions run.
    func controlChanged(now: Instant) {
        if poweredOn, let period { schedule.start(period: period, now: now) } else { schedule.stop() }
    }

    /// Handles a CTRL_REG2 write's ONE_SHOT bit; returns the register value to store.
    func oneShotRequested(_ value: UInt8, now: Instant) -> UInt8 {
        if value & 0x01 != 0, poweredOn, period == nil { oneShotDue = now + oneShotTime }
        return value & 0xFE | (oneShotDue != nil ? 0x01 : 0)
    }

    /// Latches whatever conversions have completed by `now` (lazily, at their own instants).
    func update(now: Instant) {
        if let due = oneShotDue, due <= now {
            oneShotDue = nil
            registers[0x21] &= ~0x01
            convert(at: due)
        }
        if poweredOn, let conversion = schedule.due(now: now) { convert(at: conversion) }
    }
}

extension ConvertingSTChip {
    /// The chip-level faults the ST chip models show (`i2c.<addr>.stuck|reset|whoami`).
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "i2c", name: "stuck", summary: "output registers stop updating, STATUS still says new data",
                  port: "ConvertingSTChip") { target, _ in .i2cStuck(address: target.address) },
        FaultKind(layer: "i2c", name: "reset", summary: "the chip is back at power-on defaults (an instant; takes no `for`)",
                  port: "ConvertingSTChip") { target, _ in .i2cReset(address: target.address) },
        FaultKind(layer: "i2c", name: "whoami",
                  parameters: [FaultParameter("value", .byte, summary: "what WHO_AM_I reads instead (e.g. 0xbd)")],
                  summary: "WHO_AM_I reads another part's ID", port: "ConvertingSTChip") { target, values in
            .i2cWhoAmI(address: target.address, value: UInt8(values.count("value")))
        },
    ]
}
