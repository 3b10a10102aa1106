import HubCore
import HubDrivers
import HubKernel
import HubSim

/// What a simulated hub has for faults to hit: the I²C parts each kit's hub talks to, and
/// the GPIO line it watches.
///
/// The loader refuses a fault that can hit nothing (`i2c.0x10.nack`, an LPS25H fault on a
/// washer's kit, `gpio.4.stuck`): such a scenario would pass while testing nothing. Every
/// kit is a whole Sense HAT, but the hub polls only the chips `MonitoringKit` lists for the
/// appliance kind, and only the first kit carries the LED matrix and joystick controller.
public enum FaultTargets {
    /// One I²C part a hub talks to.
    public struct I2CPart: Equatable, Sendable {
        public let address: UInt8
        public let name: String
        /// Whether the chip model shows chip-level faults (`stuck`, `reset`, `whoami`); wire
        /// faults (absent, nack, timeout, slow, bitflip) hit any part.
        public let chipFaults: Bool
    }

    /// The LED matrix and joystick controller, on the first kit's bus.
    public static let display = I2CPart(address: ATtiny88Register.address, name: "ATtiny88 (LED matrix, joystick)", chipFaults: false)

    /// The parts of one chip of the Sense HAT.
    public static func parts(of chip: SenseHATChip) -> [I2CPart] {
        switch chip {
        case .hts221: [I2CPart(address: HTS221Register.address, name: "HTS221", chipFaults: true)]
        case .lps25h: [I2CPart(address: LPS25HRegister.address, name: "LPS25H", chipFaults: true)]
        case .lsm9ds1: [I2CPart(address: LSM9DS1AccelGyroRegister.address, name: "LSM9DS1 accelerometer/gyroscope", chipFaults: false),
                        I2CPart(address: LSM9DS1MagnetometerRegister.address, name: "LSM9DS1 magnetometer", chipFaults: false)]
        }
    }

    /// The parts the hub talks to on the kit of an appliance of `kind` (`first`: the kit that carries the display).
    public static func parts(kind: ApplianceKind, first: Bool) -> [I2CPart] {
        MonitoringKit.for(kind).chips.flatMap(parts(of:)) + (first ? [display] : [])
    }

    /// The only GPIO line the hub watches: the joystick interrupt.
    public static let gpioLines = [SimWorld.joystickLine]

    static func hex(_ address: UInt8) -> String {
        "0x" + (address < 16 ? "0" : "") + String(address, radix: 16)
    }
}
