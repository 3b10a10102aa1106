import HubCore

// Fault model of the simulated I²C bus (faults the bus itself injects, per address):
//
// - `absent`: the address is not acknowledged at all, as if the chip were unplugged;
//   every transfer throws `I2CError.noAck`. The chip keeps its register state (it is the
//   wire that is gone), like a loose HAT connector.
// - `nack`: every transfer to the address is refused with `noAck` while the fault is
//   active; with `nackProbability` < 1 each transfer is refused with that probability,
//   drawn from the bus's own random stream (so a flaky bus is reproducible from the seed).
//
// An address with no device is always a no-ACK, exactly like an empty socket on a real bus.

/// A device on the simulated bus, answering at the register level.
public protocol SimI2CDevice: AnyObject {
    /// The write part of a transaction (first byte is usually a register pointer).
    func write(_ bytes: [UInt8], now: Instant)
    /// The read part: `count` bytes from the current register pointer.
    func read(count: Int, now: Instant) -> [UInt8]
}

/// An I²C bus inside the simulator: routes each transfer to the device at its address.
///
/// It implements the same `I2CBus` port as the Linux backend, so the production drivers
/// run unchanged above it. Devices sit in a 128-slot array indexed by address; iteration
/// order never matters and lookups are O(1).
public final class SimI2CBus: I2CBus {
    private var devices: [(any SimI2CDevice)?] = Array(repeating: nil, count: 128)
    private var faults: [AddressFault] = Array(repeating: AddressFault(), count: 128)
    private let clock: any HubClock
    private var random: SeededRandom
    /// Transfers attempted and bytes moved (address + data bytes, both directions), for bus-load figures.
    public private(set) var transferCount = 0
    public private(set) var byteCount = 0

    struct AddressFault {
        var absent = false
        var nackProbability = 0.0
    }

    public init(clock: any HubClock, random: SeededRandom) {
        self.clock = clock
        self.random = random
    }

    public func attach(_ device: any SimI2CDevice, at address: UInt8) {
        precondition(address < 128, "7-bit address")
        precondition(devices[Int(address)] == nil, "two devices at \(hexAddress(address))")
        devices[Int(address)] = device
    }

    public func device(at address: UInt8) -> (any SimI2CDevice)? { devices[Int(address)] }

    public func setAbsent(_ absent: Bool, at address: UInt8) { faults[Int(address)].absent = absent }

    public func setNackProbability(_ probability: Double, at address: UInt8) {
        precondition((0...1).contains(probability), "probability in 0...1")
        faults[Int(address)].nackProbability = probability
    }

    public func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        precondition(address < 128 && readCount >= 0, "invalid transfer")
        transferCount += 1
        byteCount += 1 + (readCount > 0 && !write.isEmpty ? 1 : 0)
        let fault = faults[Int(address)]
        guard let device = devices[Int(address)], !fault.absent else { throw .noAck(address: address) }
        if fault.nackProbability > 0, fault.nackProbability >= 1 || random.chance(fault.nackProbability) {
            throw .noAck(address: address)
        }
        byteCount += write.count + readCount
        let now = clock.now
        if !write.isEmpty { device.write(write, now: now) }
        return readCount > 0 ? device.read(count: readCount, now: now) : []
    }
}

/// Register behaviour shared by the ST sensors (HTS221, LPS25H, LSM9DS1 magnetometer):
/// the first written byte sets the pointer, bit 7 of it asks for auto-increment, further
/// written bytes go to successive registers (or the same one without bit 7).
open class STRegisterChip: SimI2CDevice {
    public var registers = [UInt8](repeating: 0, count: 128)
    private var pointer: UInt8 = 0
    private var autoIncrement = false

    public init() {}

    public func write(_ bytes: [UInt8], now: Instant) {
        guard let first = bytes.first else { return }
        pointer = first & 0x7F
        autoIncrement = first & 0x80 != 0
        for value in bytes.dropFirst() {
            writeRegister(pointer, value, now: now)
            if autoIncrement { pointer = (pointer + 1) & 0x7F }
        }
    }

    public func read(count: Int, now: Instant) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count {
            out.append(readRegister(pointer, now: now))
            if autoIncrement { pointer = (pointer + 1) & 0x7F }
        }
        return out
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
open class ConvertingSTChip: STRegisterChip {
    private var schedule = ConversionSchedule()
    private var oneShotDue: Instant?
    private let oneShotTime: Duration

    public init(oneShotTime: Duration) {
        self.oneShotTime = oneShotTime
        super.init()
    }

    var poweredOn: Bool { registers[0x20] & 0x80 != 0 }

    /// The conversion period the ODR bits select; nil in one-shot mode.
    open var period: Duration? { nil }

    /// Latches one conversion taken at `instant` into the output registers and STATUS.
    open func latch(at instant: Instant) {}

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
            latch(at: due)
        }
        if poweredOn, let conversion = schedule.due(now: now) { latch(at: conversion) }
    }
}
