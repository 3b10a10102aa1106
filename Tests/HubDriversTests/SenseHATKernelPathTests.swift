import HubCore
import HubDrivers
import HubSim
import Testing

/// The hub's two paths to the LED matrix and the joystick, and the choice between them.
@Suite("Sense HAT kernel paths")
struct SenseHATKernelPathTests {
    /// A framebuffer device that keeps what it was given, as /dev/fbN would.
    final class RecordingFramebuffer: SenseHATFramebufferDevice {
        var memory = [UInt8](repeating: 0, count: 128)
        var gamma = RPiSenseFramebuffer.gammaDefault
        var gammaWrites = 0
        var failNextWrite = false

        func writeMemory(_ bytes: [UInt8]) throws(DriverError) {
            if failNextWrite {
                failNextWrite = false
                throw .bus(chip: "RPi-Sense FB", .other(address: 0x46, errno: 5, detail: "EIO"))
            }
            memory = bytes
        }

        func setGamma(_ table: [UInt8]) throws(DriverError) {
            gamma = table
            gammaWrites += 1
        }

        /// What rpisense-fb would send to the ATtiny88 now, without the register byte.
        var ledRegisters: [UInt8] { Array(RPiSenseFramebuffer.frameTransfer(memory: memory, gamma: gamma).dropFirst()) }
    }

    static func sampleFrame() -> LEDFrame {
        var frame = LEDFrame(filledWith: .green)
        frame[0, 0] = RGB5(red: 31, green: 0, blue: 0)
        frame[7, 7] = RGB5(red: 1, green: 2, blue: 3)
        return frame
    }

    @Test("a frame through the framebuffer reaches the LED registers exactly as over I²C (identity gamma, set once)")
    func framebufferMatchesI2C() throws {
        let device = RecordingFramebuffer()
        let matrix = FramebufferLEDMatrix(device: device)
        let frame = Self.sampleFrame()
        try matrix.write(frame)
        try matrix.write(frame)
        #expect(device.ledRegisters == frame.registerBytes)
        #expect(device.gammaWrites == 1)
        // A failed write sets the gamma again with the next one (the device may have been reopened).
        device.failNextWrite = true
        #expect(throws: DriverError.self) { try matrix.write(frame) }
        try matrix.write(frame)
        #expect(device.gammaWrites == 2)
    }

    @Test("rpisense-fb's conversion: red 15:11, green 10:6, blue 4:0, each through the gamma table")
    func driverConversion() {
        var memory = [UInt8](repeating: 0, count: 128)
        memory[0] = 0x00; memory[1] = 0xF8  // red 31
        memory[2] = 0xE0; memory[3] = 0x07  // green 63: bits 10:6 are 31
        memory[4] = 0x1F; memory[5] = 0x00  // blue 31
        memory[6] = 0x20; memory[7] = 0x84  // red 16, green 0b100001 → 16, blue 0
        let sent = RPiSenseFramebuffer.frameTransfer(memory: memory, gamma: RPiSenseFramebuffer.gammaDefault)
        #expect(sent.count == 193 && sent[0] == 0)
        #expect([sent[1], sent[9], sent[17]] == [0x1F, 0, 0])
        #expect([sent[2], sent[10], sent[18]] == [0, 0x1F, 0])
        #expect([sent[3], sent[11], sent[19]] == [0, 0, 0x1F])
        #expect([sent[4], sent[12], sent[20]] == [0x08, 0x08, 0], "gamma_default[16] is 0x08")
    }

    @Test("the event device's keys: pressed on 1, held on 2, released on 0, reported at EV_SYN")
    func eventDeviceJoystick() throws {
        let joystick = EventDeviceJoystick()
        #expect(!joystick.handle(type: 1, code: 28, value: 1), "not before EV_SYN")
        #expect(try joystick.readKeys() == [])
        #expect(joystick.handle(type: 0, code: 0, value: 0))
        #expect(try joystick.readKeys() == .enter)
        #expect(!joystick.handle(type: 1, code: 103, value: 1))
        #expect(!joystick.handle(type: 1, code: 28, value: 2), "auto-repeat keeps ENTER held")
        #expect(joystick.handle(type: 0, code: 0, value: 0))
        #expect(try joystick.readKeys() == [.enter, .up])
        #expect(!joystick.handle(type: 1, code: 28, value: 0))
        #expect(!joystick.handle(type: 1, code: 30, value: 1), "a key the Sense HAT has not")
        #expect(joystick.handle(type: 0, code: 0, value: 0))
        #expect(try joystick.readKeys() == .up)
        #expect(!joystick.handle(type: 0, code: 0, value: 0), "no change, no edge")
    }

    @Test("mainline Linux's sensehat-joystick codes (BTN_DPAD_*, BTN_SELECT) are the same keys")
    func mainlineCodes() throws {
        let joystick = EventDeviceJoystick()
        #expect(!joystick.handle(type: 1, code: 0x13A, value: 1))
        #expect(!joystick.handle(type: 1, code: 0x222, value: 1))
        #expect(joystick.handle(type: 0, code: 0, value: 0))
        #expect(try joystick.readKeys() == [.enter, .left])
    }

    @Test("the plan: direct access with nothing bound, kernel devices when their drivers are, the joystick off when GPIO23 is taken")
    func plan() {
        let nothing = SenseHATAccessPlan.plan(for: SenseHATKernelState(), polled: [0x5F, 0x5C], adapter: 1)
        #expect(nothing == SenseHATAccessPlan(display: .i2c, joystick: .interruptLine, refusals: []))
        let overlay = SenseHATKernelState(bindings: [.init(address: 0x46, driver: "rpi-sense", module: "rpisense_core")],
                                          framebuffer: "/dev/fb1", joystickEvents: "/dev/input/event2", joystickLineConsumer: "rpi-sense-js")
        #expect(SenseHATAccessPlan.plan(for: overlay, polled: [0x5F, 0x5C], adapter: 1)
            == SenseHATAccessPlan(display: .framebuffer("/dev/fb1"), joystick: .eventDevice("/dev/input/event2"), refusals: []))
        let lineTaken = SenseHATKernelState(joystickLineConsumer: "some-daemon")
        guard case .unavailable(let reason) = SenseHATAccessPlan.plan(for: lineTaken, polled: [], adapter: 1).joystick else {
            Issue.record("GPIO23 held by another consumer must disable the joystick")
            return
        }
        #expect(reason.contains("some-daemon"))
    }

    @Test("a polled sensor bound to an IIO driver is refused with the exact unbind and blacklist lines; one not polled is not")
    func iioRefusal() {
        let state = SenseHATKernelState(bindings: [.init(address: 0x5F, driver: "hts221", module: "hts221_i2c"),
                                                   .init(address: 0x1C, driver: "st-magn-i2c", module: "st_magn_i2c"),
                                                   .init(address: 0x5C, driver: "lps25h", module: nil)])
        let furnace = SenseHATAccessPlan.plan(for: state, polled: [0x5C, 0x5F], adapter: 1)
        #expect(furnace.refusals.count == 2)
        #expect(furnace.refusals[1].contains("echo 1-005f | sudo tee /sys/bus/i2c/drivers/hts221/unbind"))
        #expect(furnace.refusals[1].contains("`blacklist hts221_i2c` in /etc/modprobe.d/hubrig.conf"))
        #expect(furnace.refusals[0].contains("0x5c (LPS25H)") && furnace.refusals[0].contains("built into the kernel"))
        #expect(!furnace.refusals.joined().contains("0x1c"), "the furnace does not poll the magnetometer")
    }
}
