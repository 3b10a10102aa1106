import HubCore
import HubDrivers
import HubSim
import Testing

@Suite("LED matrix driver")
struct LEDMatrixDriverTests {
    @Test("frame bytes follow row·24 + colour·8 + column")
    func layout() {
        var frame = LEDFrame(filledWith: .off)
        frame[2, 5] = RGB5(red: 1, green: 2, blue: 3)
        let bytes = frame.registerBytes
        #expect(bytes.count == 192)
        #expect(bytes[2 * 24 + 0 * 8 + 5] == 1)
        #expect(bytes[2 * 24 + 1 * 8 + 5] == 2)
        #expect(bytes[2 * 24 + 2 * 8 + 5] == 3)
        #expect(bytes.enumerated().filter { $0.element != 0 }.count == 3)
        #expect(LEDFrame(registerBytes: bytes) == frame)
    }

    @Test("a frame goes out as one 193-byte write and the ATtiny88 shows it")
    func writeThroughChip() throws {
        let clock = ManualClock()
        let bus = SimI2CBus(clock: clock, random: SeededRandom(seed: 1))
        let chip = ATtiny88Model(history: nil)
        bus.attach(chip, at: ATtiny88Register.address)
        let driver = LEDMatrixDriver(bus: bus)
        try driver.probe()
        let before = bus.transferCount
        try driver.write(LEDFrame(filledWith: .amber))
        #expect(bus.transferCount == before + 1)
        #expect(chip.frames.count == 1)
        #expect(chip.currentFrame.uniformStatusName == "amber")
        #expect(try bus.readRegister(ATtiny88Register.address, ATtiny88Register.whoAmI) == 0x73)
    }
}
