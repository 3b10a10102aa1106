import HubCore

/// The Sense HAT joystick's keys, as bits of the ATtiny88's KEYS register (0xF2).
///
/// An option set because the stick can report two directions at once (a diagonal) or a
/// direction with ENTER; bit positions are the firmware's, so the raw byte decodes as is.
public struct JoystickKeys: OptionSet, Equatable, Sendable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let down = JoystickKeys(rawValue: 0x01)
    public static let right = JoystickKeys(rawValue: 0x02)
    public static let up = JoystickKeys(rawValue: 0x04)
    public static let enter = JoystickKeys(rawValue: 0x08)
    public static let left = JoystickKeys(rawValue: 0x10)
    /// The bits the firmware uses; the upper three read as zero.
    public static let all: JoystickKeys = [.down, .right, .up, .enter, .left]

    /// `enter,up` style names for logs, in bit order; `none` when no key is held.
    public var names: String {
        let named: [(JoystickKeys, String)] = [(.down, "down"), (.right, "right"), (.up, "up"), (.enter, "enter"), (.left, "left")]
        let held = named.filter { contains($0.0) }.map(\.1)
        return held.isEmpty ? "none" : held.joined(separator: ",")
    }
}

/// Driver for the Sense HAT joystick behind the ATtiny88.
///
/// The hub does not poll the stick: the ATtiny88 raises GPIO23 when KEYS changes, the
/// shell turns that edge into an event, and only then is KEYS read — which also clears
/// the interrupt so the next change can raise a new edge.
public final class JoystickDriver {
    public let bus: any I2CBus
    public let address: UInt8

    public init(bus: any I2CBus, address: UInt8 = ATtiny88Register.address) {
        self.bus = bus
        self.address = address
    }

    /// The keys held now; reading acknowledges the interrupt.
    public func readKeys() throws(DriverError) -> JoystickKeys {
        let value: UInt8
        do {
            value = try bus.readRegister(address, ATtiny88Register.keys)
        } catch {
            throw .bus(chip: "ATtiny88", error)
        }
        return JoystickKeys(rawValue: value).intersection(.all)
    }
}
