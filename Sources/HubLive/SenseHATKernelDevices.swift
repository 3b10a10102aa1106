import CGPIOD
import CLinuxDevices
import Foundation
import HubCore
import HubDrivers

/// The rpi-sense framebuffer as the kernel serves it at /dev/fbN: 128 bytes of memory
/// written whole with `pwrite`, the gamma table set with rpisense-fb's ioctl.
public final class LinuxFramebufferDevice: SenseHATFramebufferDevice {
    public let path: String
    private let fd: Int32

    public init(path: String) throws(DriverError) {
        self.path = path
        fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .bus(chip: "RPi-Sense FB", .other(address: ATtiny88Register.address, errno: errno, detail: "open \(path): \(errnoText(errno))")) }
    }

    deinit { close(fd) }

    public func writeMemory(_ bytes: [UInt8]) throws(DriverError) {
        precondition(bytes.count == RPiSenseFramebuffer.memoryBytes, "the framebuffer holds 128 bytes")
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw failure("write", written < 0 ? errno : EIO) }
    }

    public func setGamma(_ table: [UInt8]) throws(DriverError) {
        precondition(table.count == 32, "a gamma table has 32 entries")
        guard table.withUnsafeBufferPointer({ hubrig_fb_set_gamma(fd, $0.baseAddress) }) == 0 else { throw failure("FBIOSET_GAMMA", errno) }
    }

    private func failure(_ call: String, _ code: Int32) -> DriverError {
        .bus(chip: "RPi-Sense FB", .other(address: ATtiny88Register.address, errno: code, detail: "\(call) on \(path): \(errnoText(code))"))
    }
}

/// The Sense HAT joystick's kernel event device (/dev/input/eventN), read without
/// blocking: 24-byte `struct input_event`s (the 64-bit layout) fed to an
/// `EventDeviceJoystick`, which keeps the keys held.
public final class LinuxJoystickEventDevice {
    public let path: String
    public let joystick = EventDeviceJoystick()
    private let fd: Int32
    private var pending: [UInt8] = []

    public init(path: String) throws(DriverError) {
        self.path = path
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw .bus(chip: "Sense HAT joystick", .other(address: ATtiny88Register.address, errno: errno, detail: "open \(path): \(errnoText(errno))"))
        }
    }

    deinit { close(fd) }

    /// Waits up to `timeout` for events; true when they changed the keys held.
    public func waitForChange(timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(Double(Int32.max), (timeout.secondsValue * 1000).rounded(.up))))
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 24 * 64)
        var changed = false
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            pending += chunk[0..<count]
            while pending.count >= 24 {
                let type = UInt16(pending[16]) | UInt16(pending[17]) << 8
                let code = UInt16(pending[18]) | UInt16(pending[19]) << 8
                let value = Int32(bitPattern: UInt32(pending[20]) | UInt32(pending[21]) << 8 | UInt32(pending[22]) << 16 | UInt32(pending[23]) << 24)
                pending.removeFirst(24)
                if joystick.handle(type: type, code: code, value: value) { changed = true }
            }
        }
        return changed
    }
}

/// Reads what the kernel has bound around the Sense HAT (see `SenseHATKernelState`):
/// the drivers under /sys/bus/i2c/devices, the framebuffer and event device found by name
/// under /sys/class, and who holds GPIO23.
///
/// `root` prefixes every sysfs path, so tests build a tree of their own; the /dev paths
/// found are named from the entries (`fbN`, `input/eventN`) and never prefixed.
public enum SenseHATKernelProbe {
    public static let framebufferName = "RPi-Sense FB"
    public static let joystickName = "Raspberry Pi Sense HAT Joystick"
    public static let addresses: [UInt8] = [0x1C, 0x46, 0x5C, 0x5F, 0x6A]

    public static func observe(adapter: Int, root: String = "", gpioChip: String? = nil) -> SenseHATKernelState {
        let files = FileManager.default
        var bindings: [SenseHATKernelState.Binding] = []
        for address in addresses {
            let device = root + String(format: "/sys/bus/i2c/devices/%d-%04x", adapter, Int(address))
            guard let driver = try? files.destinationOfSymbolicLink(atPath: device + "/driver") else { continue }
            let module = try? files.destinationOfSymbolicLink(atPath: device + "/driver/module")
            bindings.append(.init(address: address, driver: lastComponent(driver), module: module.map(lastComponent)))
        }
        let framebuffer = entry(in: root + "/sys/class/graphics", prefix: "fb", nameFile: "name", named: framebufferName)
        let joystick = entry(in: root + "/sys/class/input", prefix: "event", nameFile: "device/name", named: joystickName)
        return SenseHATKernelState(bindings: bindings, framebuffer: framebuffer.map { "/dev/" + $0 },
                                   joystickEvents: joystick.map { "/dev/input/" + $0 },
                                   joystickLineConsumer: gpioChip.flatMap { lineConsumer(chip: $0, line: 23) })
    }

    private static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The first entry `prefixN` of `directory` whose `nameFile` reads `name`, in number order.
    private static func entry(in directory: String, prefix: String, nameFile: String, named name: String) -> String? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        let numbered = entries.compactMap { entry -> (Int, String)? in
            guard entry.hasPrefix(prefix), let number = Int(entry.dropFirst(prefix.count)) else { return nil }
            return (number, entry)
        }.sorted { $0.0 < $1.0 }
        return numbered.first { _, entry in
            let text = try? String(contentsOfFile: directory + "/" + entry + "/" + nameFile, encoding: .utf8)
            return text?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }?.1
    }

    /// Who holds `line` of the GPIO chip (libgpiod's consumer), or nil when nobody does
    /// or the chip cannot be opened.
    static func lineConsumer(chip path: String, line: Int) -> String? {
        guard let chip = gpiod_chip_open(path) else { return nil }
        defer { gpiod_chip_close(chip) }
        guard let handle = gpiod_chip_get_line(chip, UInt32(line)), gpiod_line_is_used(handle) else { return nil }
        return gpiod_line_consumer(handle).map { String(cString: $0) } ?? "(unnamed)"
    }
}
