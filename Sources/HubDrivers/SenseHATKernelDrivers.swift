import HubCore

/// Where the hub's LED frames go: straight to the ATtiny88 over I²C, or through the
/// kernel's framebuffer when the rpi-sense overlay has bound it.
///
/// A port, so the display component never knows which path a Pi (or a simulated world)
/// presents; both paths end in the same 192 LED registers.
public protocol LEDMatrix: AnyObject {
    func write(_ frame: LEDFrame) throws(DriverError)
}

/// Where the hub reads the joystick's keys after an interrupt: KEYS over I²C, or the
/// state the kernel's event device reported.
public protocol JoystickReader: AnyObject {
    func readKeys() throws(DriverError) -> JoystickKeys
}

extension LEDMatrixDriver: LEDMatrix {}
extension JoystickDriver: JoystickReader {}

/// The kernel's "RPi-Sense FB" framebuffer as a device: its 128 bytes of memory and its
/// gamma table. Implemented over /dev/fbN on a Pi and by a simulated twin in the world.
public protocol SenseHATFramebufferDevice: AnyObject {
    /// Writes all 128 bytes of video memory.
    func writeMemory(_ bytes: [UInt8]) throws(DriverError)
    /// Replaces the gamma table (FBIOSET_GAMMA), 32 entries of 0...31.
    func setGamma(_ table: [UInt8]) throws(DriverError)
}

/// rpisense-fb's conversions, shared by the hub's framebuffer path, the rig's user-space
/// kernel driver and its simulated twin so the three can never disagree.
///
/// Memory: 8 × 8 pixels of RGB565, little-endian, rows of 16 bytes. The driver's deferred
/// I/O turns it into one 193-byte write to the ATtiny88: for each pixel red bits 15:11,
/// green bits 10:6 (the top five of six) and blue bits 4:0, each through the gamma table.
public enum RPiSenseFramebuffer {
    public static let memoryBytes = 128
    /// The driver's tables (`gamma_default`, `gamma_low`).
    public static let gammaDefault: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01,
                                               0x02, 0x02, 0x03, 0x03, 0x04, 0x05, 0x06, 0x07,
                                               0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E, 0x0F, 0x11,
                                               0x12, 0x14, 0x15, 0x17, 0x19, 0x1B, 0x1D, 0x1F]
    public static let gammaLow: [UInt8] = [0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
                                           0x01, 0x01, 0x01, 0x01, 0x01, 0x02, 0x02, 0x02,
                                           0x03, 0x03, 0x03, 0x04, 0x04, 0x05, 0x05, 0x06,
                                           0x06, 0x07, 0x07, 0x08, 0x08, 0x09, 0x0A, 0x0A]
    /// A table that passes 5-bit values through: what the hub sets, so its frame's
    /// values reach the LEDs unchanged whichever path they take.
    public static let gammaIdentity: [UInt8] = (0..<32).map { UInt8($0) }

    /// The 193-byte transfer (register 0, then the 192 LED registers) for `memory`.
    public static func frameTransfer(memory: [UInt8], gamma: [UInt8]) -> [UInt8] {
        precondition(memory.count == memoryBytes && gamma.count == 32, "128 bytes of RGB565 and a 32-entry gamma table")
        var out = [UInt8](repeating: 0, count: 193)
        for row in 0..<8 {
            for column in 0..<8 {
                let pixel = UInt16(memory[(row * 8 + column) * 2]) | UInt16(memory[(row * 8 + column) * 2 + 1]) << 8
                out[row * 24 + column + 1] = gamma[Int((pixel >> 11) & 0x1F)]
                out[row * 24 + column + 8 + 1] = gamma[Int((pixel >> 6) & 0x1F)]
                out[row * 24 + column + 16 + 1] = gamma[Int(pixel & 0x1F)]
            }
        }
        return out
    }

    /// The memory that shows `frame` through the identity gamma table.
    public static func memory(showing frame: LEDFrame) -> [UInt8] {
        let registers = frame.registerBytes
        var out = [UInt8](repeating: 0, count: memoryBytes)
        for row in 0..<8 {
            for column in 0..<8 {
                let red = UInt16(registers[row * 24 + column] & 0x1F)
                let green = UInt16(registers[row * 24 + 8 + column] & 0x1F)
                let blue = UInt16(registers[row * 24 + 16 + column] & 0x1F)
                let pixel = red << 11 | green << 6 | blue
                out[(row * 8 + column) * 2] = UInt8(truncatingIfNeeded: pixel)
                out[(row * 8 + column) * 2 + 1] = UInt8(truncatingIfNeeded: pixel >> 8)
            }
        }
        return out
    }
}

/// The LED matrix through the kernel's framebuffer: the path a Pi with the rpi-sense
/// overlay loaded gives the hub, since the kernel driver owns 0x46 and would overwrite
/// direct writes with its own frames.
///
/// The gamma table is set to the identity once, so a frame's 5-bit values reach the LEDs
/// as they would over I²C; set again after a failed write, in case the device was reopened.
public final class FramebufferLEDMatrix: LEDMatrix {
    public let device: any SenseHATFramebufferDevice
    private var gammaSet = false

    public init(device: any SenseHATFramebufferDevice) {
        self.device = device
    }

    public func write(_ frame: LEDFrame) throws(DriverError) {
        do throws(DriverError) {
            if !gammaSet {
                try device.setGamma(RPiSenseFramebuffer.gammaIdentity)
                gammaSet = true
            }
            try device.writeMemory(RPiSenseFramebuffer.memory(showing: frame))
        } catch {
            gammaSet = false
            throw error
        }
    }
}

/// The joystick through the kernel's event device: the keys its EV_KEY events left held.
///
/// The shell feeds it the events it reads and raises a joystick edge for the node on each
/// EV_SYN that changed something, so the node's flow (edge, then read the keys) is the
/// same as with the interrupt line.
public final class EventDeviceJoystick: JoystickReader {
    /// EV_KEY codes (linux/input-event-codes.h) of the KEYS bits as the Raspberry Pi
    /// kernel's rpisense-js reports them (KEY_DOWN, KEY_RIGHT, KEY_UP, KEY_ENTER, KEY_LEFT):
    /// what the sense-hat library expects, and what the rig's stand-in sends.
    public static let keyCodes: [(code: UInt16, key: JoystickKeys)] = [(108, .down), (106, .right), (103, .up), (28, .enter), (105, .left)]
    /// The same keys as mainline Linux's sensehat-joystick reports them (BTN_DPAD_DOWN,
    /// BTN_DPAD_RIGHT, BTN_DPAD_UP, BTN_SELECT, BTN_DPAD_LEFT), which the hub reads too.
    public static let mainlineKeyCodes: [(code: UInt16, key: JoystickKeys)] = [(0x221, .down), (0x223, .right), (0x220, .up), (0x13A, .enter), (0x222, .left)]
    /// Both tables, looked up on every key event.
    private static let recognisedKeyCodes = keyCodes + mainlineKeyCodes
    public private(set) var keys: JoystickKeys = []
    private var pending: JoystickKeys = []

    public init() {}

    /// Takes one input event; true when it completed a change of the keys (an EV_SYN).
    public func handle(type: UInt16, code: UInt16, value: Int32) -> Bool {
        switch type {
        case 1:  // EV_KEY: 1 pressed, 0 released, 2 auto-repeat (still held)
            guard let key = Self.recognisedKeyCodes.first(where: { $0.code == code })?.key else { return false }
            if value == 0 { pending.remove(key) } else { pending.insert(key) }
            return false
        case 0 where code == 0:  // EV_SYN / SYN_REPORT
            guard pending != keys else { return false }
            keys = pending
            return true
        default:
            return false
        }
    }

    public func readKeys() throws(DriverError) -> JoystickKeys { keys }
}

/// What the kernel has bound around the Sense HAT, as the hub finds it at start-up.
///
/// Raspberry Pi OS loads the rpi-sense overlay from the HAT's EEPROM: it binds the
/// framebuffer and joystick drivers to 0x46 and takes GPIO23, and some kernels bind IIO
/// drivers to the sensors, which power the chips up and down under a user-space driver.
public struct SenseHATKernelState: Equatable, Sendable {
    /// A kernel driver bound to one address on the adapter.
    public struct Binding: Equatable, Sendable {
        public var address: UInt8
        /// The driver's name (/sys/bus/i2c/devices/N-00XX/driver).
        public var driver: String
        /// Its module (…/driver/module), when it is one: what a blacklist line names.
        public var module: String?

        public init(address: UInt8, driver: String, module: String?) {
            self.address = address
            self.driver = driver
            self.module = module
        }
    }

    /// Bindings in address order.
    public var bindings: [Binding]
    /// The /dev path of the framebuffer named "RPi-Sense FB", if there is one.
    public var framebuffer: String?
    /// The /dev path of the event device named "Raspberry Pi Sense HAT Joystick".
    public var joystickEvents: String?
    /// Who holds GPIO23 (the joystick's interrupt), if anyone.
    public var joystickLineConsumer: String?

    public init(bindings: [Binding] = [], framebuffer: String? = nil, joystickEvents: String? = nil,
                joystickLineConsumer: String? = nil) {
        self.bindings = bindings.sorted { $0.address < $1.address }
        self.framebuffer = framebuffer
        self.joystickEvents = joystickEvents
        self.joystickLineConsumer = joystickLineConsumer
    }
}

/// How the hub reaches the LED matrix and the joystick on this Pi, and what it refuses.
public struct SenseHATAccessPlan: Equatable, Sendable {
    public enum Display: Equatable, Sendable {
        /// 193-byte writes to 0x46 (no kernel driver owns it).
        case i2c
        /// The kernel's framebuffer at this path.
        case framebuffer(String)
    }

    public enum Joystick: Equatable, Sendable {
        /// GPIO23's edge, then KEYS over I²C.
        case interruptLine
        /// The kernel's event device at this path.
        case eventDevice(String)
        /// Neither: why (the hub runs without the joystick).
        case unavailable(String)
    }

    public var display: Display
    public var joystick: Joystick
    /// One line per polled sensor a kernel driver owns, with the exact fix; the hub
    /// refuses to start while there is any.
    public var refusals: [String]

    public init(display: Display, joystick: Joystick, refusals: [String]) {
        self.display = display
        self.joystick = joystick
        self.refusals = refusals
    }

    /// The plan for `state`: kernel devices when their drivers are bound, direct access
    /// when they are not; a polled sensor bound to a kernel driver is refused.
    public static func plan(for state: SenseHATKernelState, polled: [UInt8], adapter: Int) -> SenseHATAccessPlan {
        let display: Display = state.framebuffer.map { .framebuffer($0) } ?? .i2c
        let joystick: Joystick
        if let events = state.joystickEvents {
            joystick = .eventDevice(events)
        } else if let consumer = state.joystickLineConsumer {
            joystick = .unavailable("GPIO23 is held by \"\(consumer)\" and no Sense HAT joystick event device exists")
        } else {
            joystick = .interruptLine
        }
        let refusals = state.bindings.filter { polled.contains($0.address) }.map { binding in
            let device = String(format: "%d-%04x", adapter, Int(binding.address))
            let keep = binding.module.map { " and keep it so with the line `blacklist \($0)` in /etc/modprobe.d/hubrig.conf" }
                ?? " (built into the kernel: disable it in the device tree overlay)"
            return "\(hexAddress(binding.address)) (\(SenseHATAccessPlan.chipName(binding.address))) is bound to the kernel's "
                + "\(binding.driver) driver, which powers the chip up and down under the hub: unbind it with "
                + "`echo \(device) | sudo tee /sys/bus/i2c/drivers/\(binding.driver)/unbind`\(keep)"
        }
        return SenseHATAccessPlan(display: display, joystick: joystick, refusals: refusals)
    }

    static func chipName(_ address: UInt8) -> String {
        switch address {
        case HTS221Register.address: "HTS221"
        case LPS25HRegister.address: "LPS25H"
        case LSM9DS1AccelGyroRegister.address: "LSM9DS1 accelerometer/gyroscope"
        case LSM9DS1MagnetometerRegister.address: "LSM9DS1 magnetometer"
        case ATtiny88Register.address: "ATtiny88"
        default: "unknown"
        }
    }

    /// One line for the log: which path each part takes.
    public var summary: String {
        let displayText = switch display {
        case .i2c: "LED matrix over I²C at 0x46"
        case .framebuffer(let path): "LED matrix through the kernel framebuffer \(path)"
        }
        let joystickText = switch joystick {
        case .interruptLine: "joystick on GPIO23 + KEYS over I²C"
        case .eventDevice(let path): "joystick through the kernel event device \(path)"
        case .unavailable(let reason): "joystick disabled: \(reason)"
        }
        return displayText + "; " + joystickText
    }
}
