import HubCore
import HubDrivers

// Fault model of the ATtiny88 model: none of its own yet; bus-level faults come from
// `SimI2CBus`. Behaviour (the rpi-sense firmware's TWI handler, as the Linux
// rpisense-core and sensehat drivers address it):
// - A write transaction's first byte sets the register pointer; reads continue from the
//   pointer, which survives a STOP.
// - Frame (0x00–0xBF): the pointer advances after each byte read or written; writes store
//   the 5-bit colour.
// - WAI (0xF0) reads 0x73 ('s'), VER (0xF1) the firmware version 0, KEYS (0xF2) the
//   joystick; EE_WP (0xF3) reads 1 while the HAT EEPROM's write protection is released
//   (a non-zero write releases it, zero restores it; protected at power-on). These
//   registers do not auto-increment: a burst read of WAI reads WAI again.
// - Every other register reads 0xFF and takes no writes, and does not advance either.
// - Every write transaction that touches the frame is recorded as a displayed frame with
//   its instant.
// Joystick: `press`/`release` set KEYS (bit0 DOWN, bit1 RIGHT, bit2 UP, bit3 ENTER, bit4
// LEFT); a change of KEYS raises the interrupt output (GPIO23 on the Pi) high, and reading
// KEYS over I²C clears it (line low). While the interrupt is pending a further change only
// updates KEYS: the line is already high, so no new edge. KEYS is read-only from the bus.
// Line faults (stuck, bounce) belong to `SimGPIOChip`.

/// Register-level model of the Sense HAT's ATtiny88 (LED matrix and joystick) at 0x46.
public final class ATtiny88Model: SimI2CDevice, FaultApplying {
    public private(set) var registers = [UInt8](repeating: 0, count: 256)
    private var pointer = 0
    /// Frames as the matrix showed them, oldest first.
    public private(set) var frames: [(time: Instant, frame: LEDFrame)] = []
    private let history: (any HistorySink)?
    private let gpio: SimGPIOChip?
    /// The GPIO line the interrupt output is wired to (GPIO23 on the Sense HAT).
    public let interruptLine: Int
    /// True from a KEYS change until the next read of KEYS.
    public private(set) var interruptPending = false

    public init(history: (any HistorySink)?, gpio: SimGPIOChip? = nil, interruptLine: Int = 23) {
        self.history = history
        self.gpio = gpio
        self.interruptLine = interruptLine
        registers[Int(ATtiny88Register.whoAmI)] = ATtiny88Register.whoAmIValue
        registers[Int(ATtiny88Register.firmwareVersion)] = ATtiny88Register.firmwareVersionValue
    }

    /// True after a non-zero write to EE_WP: the HAT EEPROM's write protection released.
    public private(set) var eepromWritable = false

    /// The joystick keys currently held, as the KEYS register holds them.
    public var keys: UInt8 { registers[Int(ATtiny88Register.keys)] }

    /// A person at the joystick (`joystick.<keys>`): holds the keys while the entry lasts.
    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .joystick(let keys, _) = fault else { preconditionFailure("\(fault.name) routed to the joystick") }
        if active { press(keys, now: now) } else { release(now: now) }
    }

    /// The user holds exactly `keys` (KEYS bits) from `now`: earlier keys not in it are let go.
    public func press(_ keys: UInt8, now: Instant) {
        precondition(keys & 0xE0 == 0, "KEYS has five bits")
        setKeys(keys, now: now)
    }

    /// The user lets go of every key at `now`.
    public func release(now: Instant) {
        setKeys(0, now: now)
    }

    private func setKeys(_ keys: UInt8, now: Instant) {
        guard keys != self.keys else { return }
        registers[Int(ATtiny88Register.keys)] = keys
        guard !interruptPending else { return }
        interruptPending = true
        gpio?.drive(line: interruptLine, high: true, now: now)
    }

    public var currentFrame: LEDFrame {
        LEDFrame(registerBytes: Array(registers[0..<ATtiny88Register.frameCount]))
    }

    public func write(_ bytes: [UInt8], now: Instant) {
        guard let first = bytes.first else { return }
        pointer = Int(first)
        var touchedFrame = false
        for value in bytes.dropFirst() {
            if pointer < ATtiny88Register.frameCount {
                registers[pointer] = value & 0x1F
                touchedFrame = true
                pointer += 1
            } else if pointer == Int(ATtiny88Register.eepromWriteProtect) {
                eepromWritable = value != 0
            }
        }
        if touchedFrame {
            let frame = currentFrame
            frames.append((now, frame))
            history?.record(.ledFrame(colour: frame.uniformStatusName ?? "mixed"), at: now)
        }
    }

    public func read(count: Int, now: Instant) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count {
            switch pointer {
            case 0..<ATtiny88Register.frameCount:
                out.append(registers[pointer])
                pointer += 1
            case Int(ATtiny88Register.whoAmI), Int(ATtiny88Register.firmwareVersion):
                out.append(registers[pointer])
            case Int(ATtiny88Register.keys):
                out.append(registers[pointer])
                clearInterrupt(now: now)
            case Int(ATtiny88Register.eepromWriteProtect):
                out.append(eepromWritable ? 1 : 0)
            default:
                out.append(0xFF)
            }
        }
        return out
    }

    private func clearInterrupt(now: Instant) {
        guard interruptPending else { return }
        interruptPending = false
        gpio?.drive(line: interruptLine, high: false, now: now)
    }
}
