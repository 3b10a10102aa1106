import Foundation
import HubDrivers
import HubLive
import Testing

/// `SenseHATKernelProbe` against a sysfs tree of its own, laid out as a Pi's with the
/// rpi-sense overlay and an IIO driver on the HTS221.
@Suite("Sense HAT kernel probe")
struct SenseHATKernelProbeTests {
    @Test("finds the bound drivers and their modules, the framebuffer and the joystick by name")
    func observesOverlay() throws {
        let root = try makeScratchDirectory()
        defer { removeScratchDirectory(root) }
        let files = FileManager.default
        func directory(_ path: String) throws { try files.createDirectory(atPath: root + path, withIntermediateDirectories: true) }
        func file(_ path: String, _ text: String) throws { try text.write(toFile: root + path, atomically: true, encoding: .utf8) }
        func link(_ path: String, to target: String) throws { try files.createSymbolicLink(atPath: root + path, withDestinationPath: target) }
        try directory("/sys/bus/i2c/drivers/hts221")
        try directory("/sys/bus/i2c/drivers/rpi-sense")
        try directory("/sys/module/hts221_i2c")
        try link("/sys/bus/i2c/drivers/hts221/module", to: "../../../../module/hts221_i2c")
        try directory("/sys/bus/i2c/devices/1-005f")
        try link("/sys/bus/i2c/devices/1-005f/driver", to: "../../../../bus/i2c/drivers/hts221")
        try directory("/sys/bus/i2c/devices/1-0046")
        try link("/sys/bus/i2c/devices/1-0046/driver", to: "../../../../bus/i2c/drivers/rpi-sense")
        try directory("/sys/bus/i2c/devices/1-005c")  // present, no driver
        try directory("/sys/class/graphics/fb0")
        try file("/sys/class/graphics/fb0/name", "vc4drmfb\n")
        try directory("/sys/class/graphics/fb1")
        try file("/sys/class/graphics/fb1/name", "RPi-Sense FB\n")
        try directory("/sys/class/input/event0/device")
        try file("/sys/class/input/event0/device/name", "Logitech USB Keyboard\n")
        try directory("/sys/class/input/event12/device")
        try file("/sys/class/input/event12/device/name", "Raspberry Pi Sense HAT Joystick\n")
        try directory("/sys/class/input/event3/device")
        try file("/sys/class/input/event3/device/name", "Raspberry Pi Sense HAT Joystick\n")

        let state = SenseHATKernelProbe.observe(adapter: 1, root: root)
        #expect(state.bindings == [.init(address: 0x46, driver: "rpi-sense", module: nil),
                                   .init(address: 0x5F, driver: "hts221", module: "hts221_i2c")])
        #expect(state.framebuffer == "/dev/fb1")
        #expect(state.joystickEvents == "/dev/input/event3", "the lowest number, not the first listed")
        #expect(state.joystickLineConsumer == nil)
        #expect(SenseHATKernelProbe.observe(adapter: 1, root: root + "/nowhere") == SenseHATKernelState())
    }
}
