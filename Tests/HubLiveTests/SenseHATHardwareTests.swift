import Foundation
import HubCore
import HubDrivers
import HubLive
import Testing

/// Checks that need a real Raspberry Pi with a Sense HAT (see docs/bench.md). Anywhere
/// without /dev/i2c-1 they are skipped, and Swift Testing prints why.
@Suite("Sense HAT on real hardware",
       .enabled(if: FileManager.default.fileExists(atPath: "/dev/i2c-1"),
                "no /dev/i2c-1: not a Pi with a Sense HAT (run these on the bench, see docs/bench.md)"))
struct SenseHATHardwareTests {
    @Test("all five Sense HAT chips answer WHO_AM_I over I2C_RDWR")
    func whoAmI() throws {
        let bus = try LinuxI2CBus(path: "/dev/i2c-1")
        #expect(try bus.readRegister(0x5F, 0x0F) == 0xBC, "HTS221")
        #expect(try bus.readRegister(0x5C, 0x0F) == 0xBD, "LPS25H")
        #expect(try bus.readRegister(0x6A, 0x0F) == 0x68, "LSM9DS1 accel/gyro")
        #expect(try bus.readRegister(0x1C, 0x0F) == 0x3D, "LSM9DS1 magnetometer")
        #expect(try bus.readRegister(0x46, 0xF0) == 0x73, "ATtiny88")
    }

    @Test("the drivers read room-plausible values from the real chips")
    func samples() throws {
        let bus = try LinuxI2CBus(path: "/dev/i2c-1")
        let hts221 = HTS221Driver(bus: bus)
        let lps25h = LPS25HDriver(bus: bus)
        let imu = LSM9DS1Driver(bus: bus)
        _ = try hts221.initialise()
        _ = try lps25h.initialise()
        _ = try imu.initialise()
        var temperature: Double?
        var pressure: Double?
        var vibration: Double?
        for _ in 0..<50 where temperature == nil || pressure == nil || vibration == nil {
            Thread.sleep(forTimeInterval: 0.05)
            if temperature == nil { temperature = try hts221.sample()?[.temperature] }
            if pressure == nil { pressure = try lps25h.sample()?[.pressure] }
            if vibration == nil { vibration = try imu.sample()?[.vibration] }
        }
        #expect((0...50).contains(try #require(temperature)), "a room, not an oven")
        #expect((850...1100).contains(try #require(pressure)))
        #expect(try #require(vibration) < 0.05, "a bench is still")
    }

    @Test("a 193-byte frame goes to the LED matrix in one transfer")
    func ledFrame() throws {
        let bus = try LinuxI2CBus(path: "/dev/i2c-1")
        let display = LEDMatrixDriver(bus: bus)
        try display.probe()
        try display.write(LEDFrame(filledWith: .green))
        let back = try bus.readRegisters(0x46, 0x00, count: 24, autoIncrementBit: 0)
        #expect(back[8..<16].allSatisfy { $0 == RGB5.green.green }, "row 0's green bytes read back")
        try display.write(LEDFrame(filledWith: .off))
    }

    @Test("the joystick interrupt line can be requested on /dev/gpiochip0")
    func gpio() throws {
        let gpio = try LinuxGPIO(chipPath: "/dev/gpiochip0", edgeLine: 23)
        _ = try gpio.waitForEdge(timeout: .milliseconds(10))
    }
}
