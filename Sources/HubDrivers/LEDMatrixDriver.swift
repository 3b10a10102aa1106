import HubCore

/// ATtiny88 (Sense HAT microcontroller) register map, address 0x46.
public enum ATtiny88Register {
    public static let address: UInt8 = 0x46
    public static let frameStart: UInt8 = 0x00
    public static let frameCount = 192
    public static let whoAmI: UInt8 = 0xF0
    public static let whoAmIValue: UInt8 = 0x73
    public static let firmwareVersion: UInt8 = 0xF1
    /// What the rpi-sense firmware's VER reads.
    public static let firmwareVersionValue: UInt8 = 0x00
    public static let keys: UInt8 = 0xF2
    /// EE_WP: the HAT EEPROM's write-protect line.
    public static let eepromWriteProtect: UInt8 = 0xF3
}

/// A colour of one LED, 5 bits per channel as the ATtiny88 takes it.
public struct RGB5: Equatable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        precondition(red < 32 && green < 32 && blue < 32, "Sense HAT colours are 5-bit")
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let off = RGB5(red: 0, green: 0, blue: 0)
    public static let green = RGB5(red: 0, green: 16, blue: 0)
    public static let red = RGB5(red: 24, green: 0, blue: 0)
    public static let amber = RGB5(red: 24, green: 10, blue: 0)

    /// The status colour's name, or nil for a colour the display does not use.
    public var statusName: String? {
        switch self {
        case .off: "off"
        case .green: "green"
        case .red: "red"
        case .amber: "amber"
        default: nil
        }
    }
}

/// An 8×8 picture for the LED matrix.
///
/// Frame bytes follow the ATtiny88 layout: byte = row·24 + colour·8 + column, colours in
/// the order red, green, blue — not the RGB565 of the Linux framebuffer.
public struct LEDFrame: Equatable, Sendable {
    public private(set) var pixels: [RGB5]

    public init(filledWith colour: RGB5) {
        pixels = Array(repeating: colour, count: 64)
    }

    public subscript(row: Int, column: Int) -> RGB5 {
        get { pixels[row * 8 + column] }
        set { pixels[row * 8 + column] = newValue }
    }

    public var registerBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ATtiny88Register.frameCount)
        for row in 0..<8 {
            for column in 0..<8 {
                let pixel = pixels[row * 8 + column]
                bytes[row * 24 + column] = pixel.red
                bytes[row * 24 + 8 + column] = pixel.green
                bytes[row * 24 + 16 + column] = pixel.blue
            }
        }
        return bytes
    }

    public init(registerBytes bytes: [UInt8]) {
        precondition(bytes.count == ATtiny88Register.frameCount, "a frame is 192 bytes")
        pixels = []
        pixels.reserveCapacity(64)
        for row in 0..<8 {
            for column in 0..<8 {
                pixels.append(RGB5(
                    red: bytes[row * 24 + column] & 0x1F,
                    green: bytes[row * 24 + 8 + column] & 0x1F,
                    blue: bytes[row * 24 + 16 + column] & 0x1F))
            }
        }
    }

    /// The name of the frame's colour when every pixel shows the same status colour.
    public var uniformStatusName: String? {
        guard let first = pixels.first, pixels.allSatisfy({ $0 == first }) else { return nil }
        return first.statusName
    }
}

/// Driver for the Sense HAT LED matrix behind the ATtiny88.
///
/// A frame goes out as one 193-byte write (register 0x00 then 192 bytes) so the matrix
/// never shows half of an old picture; the kernel's SMBus helpers cap blocks at 32 bytes,
/// which is why the Linux backend uses I2C_RDWR.
public final class LEDMatrixDriver {
    public let bus: any I2CBus
    public let address: UInt8

    public init(bus: any I2CBus, address: UInt8 = ATtiny88Register.address) {
        self.bus = bus
        self.address = address
    }

    public func probe() throws(DriverError) {
        try probeWhoAmI(chip: "ATtiny88", bus: bus, address: address,
                        register: ATtiny88Register.whoAmI, expected: ATtiny88Register.whoAmIValue)
    }

    public func write(_ frame: LEDFrame) throws(DriverError) {
        var message = [ATtiny88Register.frameStart]
        message.append(contentsOf: frame.registerBytes)
        do {
            _ = try bus.transfer(address: address, write: message, readCount: 0)
        } catch {
            throw .bus(chip: "ATtiny88", error)
        }
    }
}
