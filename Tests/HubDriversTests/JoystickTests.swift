import HubCore
import HubDrivers
import HubSim
import Testing

@Suite("Joystick and simulated GPIO")
struct JoystickTests {
    @Test("a press raises GPIO23, the handler gets the rising edge, reading KEYS lowers the line")
    func pressEdgeRead() throws {
        let bench = JoystickBench()
        bench.clock.advance(.seconds(2))
        let pressedAt = bench.clock.now
        bench.attiny.press(JoystickKeys.enter.rawValue, now: pressedAt)
        #expect(bench.edges.count == 1)
        #expect(bench.edges.first?.edge == GPIOEdge(line: 23, rising: true))
        #expect(bench.edges.first?.time == pressedAt)
        #expect(try bench.gpio.read(line: 23))
        #expect(bench.attiny.interruptPending)

        bench.clock.advance(.milliseconds(3))
        #expect(try bench.driver.readKeys() == .enter)
        #expect(try bench.gpio.read(line: 23) == false, "reading KEYS cleared the interrupt")
        #expect(bench.attiny.interruptPending == false)
        #expect(bench.edges.count == 2)
        #expect(bench.edges.last?.edge == GPIOEdge(line: 23, rising: false))
        #expect(bench.edges.last?.time == bench.clock.now)

        // Reading again changes nothing: no change of KEYS, no edge.
        #expect(try bench.driver.readKeys() == .enter)
        #expect(bench.edges.count == 2)
        #expect(bench.attiny.frames.isEmpty, "reading KEYS is not a frame write")
    }

    @Test("the release is a change too, and raises its own edge")
    func release() throws {
        let bench = JoystickBench()
        bench.attiny.press(JoystickKeys.left.rawValue, now: bench.clock.now)
        #expect(try bench.driver.readKeys() == .left)
        bench.clock.advance(.milliseconds(200))
        bench.attiny.release(now: bench.clock.now)
        #expect(bench.risingEdges.count == 2)
        #expect(bench.risingEdges.last == bench.clock.now)
        #expect(try bench.driver.readKeys() == [])
    }

    @Test("changes while the interrupt is pending update KEYS without a second edge")
    func pendingInterrupt() throws {
        let bench = JoystickBench()
        bench.attiny.press(JoystickKeys.up.rawValue, now: bench.clock.now)
        bench.clock.advance(.milliseconds(50))
        bench.attiny.press(JoystickKeys([.up, .left]).rawValue, now: bench.clock.now)
        #expect(bench.risingEdges.count == 1, "the line was already high")
        #expect(try bench.driver.readKeys() == [.up, .left])
        bench.attiny.press(JoystickKeys([.up, .left]).rawValue, now: bench.clock.now)
        #expect(bench.risingEdges.count == 1, "the same keys again are no change")
    }

    @Test("each KEYS bit decodes to its direction", arguments: [
        (UInt8(0x01), JoystickKeys.down), (0x02, .right), (0x04, .up), (0x08, .enter), (0x10, .left),
    ])
    func bits(raw: UInt8, key: JoystickKeys) throws {
        let bench = JoystickBench()
        bench.attiny.press(raw, now: bench.clock.now)
        #expect(try bench.driver.readKeys() == key)
    }

    @Test("bounce: each edge arrives count times in a burst at one instant")
    func bounce() throws {
        let bench = JoystickBench()
        bench.gpio.inject(.bounce(line: 23, count: 4), now: bench.clock.now)
        #expect(bench.edges.isEmpty, "a bounce fault alone changes no level")
        bench.clock.advance(.seconds(1))
        bench.attiny.press(JoystickKeys.enter.rawValue, now: bench.clock.now)
        #expect(bench.risingEdges == Array(repeating: bench.clock.now, count: 4))
        #expect(try bench.gpio.read(line: 23), "the level itself settles high")
        bench.gpio.clearFault(line: 23, now: bench.clock.now)
        _ = try bench.driver.readKeys()
        bench.attiny.release(now: bench.clock.now)
        #expect(bench.risingEdges.count == 5, "a clean line again: one edge")
    }

    @Test("stuck low: the press is swallowed, KEYS still reads over I²C, release of the fault shows the edge")
    func stuckLow() throws {
        let bench = JoystickBench()
        bench.gpio.inject(.stuck(line: 23, level: false), now: bench.clock.now)
        bench.attiny.press(JoystickKeys.enter.rawValue, now: bench.clock.now)
        #expect(bench.edges.isEmpty)
        #expect(try bench.gpio.read(line: 23) == false)
        #expect(bench.attiny.interruptPending, "the ATtiny88 did raise its output")
        bench.clock.advance(.seconds(1))
        bench.gpio.clearFault(line: 23, now: bench.clock.now)
        #expect(bench.risingEdges == [bench.clock.now], "the line returns to the level its driver holds")
        #expect(try bench.driver.readKeys() == .enter)
    }

    @Test("stuck high: becoming stuck is itself an edge, later presses are swallowed")
    func stuckHigh() throws {
        let bench = JoystickBench()
        bench.gpio.inject(.stuck(line: 23, level: true), now: bench.clock.now)
        #expect(bench.risingEdges.count == 1)
        bench.attiny.press(JoystickKeys.down.rawValue, now: bench.clock.now)
        _ = try bench.driver.readKeys()
        bench.attiny.release(now: bench.clock.now)
        #expect(bench.edges.count == 1)
        #expect(try bench.gpio.read(line: 23))
    }

    @Test("a handler that reads KEYS inside the callback sees the edges in order")
    func reentrantHandler() throws {
        let bench = JoystickBench()
        var seen: [(JoystickKeys, Bool)] = []
        let driver = bench.driver
        bench.gpio.onEdge { edge, _ in
            if edge.rising, let keys = try? driver.readKeys() { seen.append((keys, edge.rising)) }
            if !edge.rising { seen.append(([], false)) }
        }
        bench.attiny.press(JoystickKeys.right.rawValue, now: bench.clock.now)
        #expect(seen.count == 2)
        #expect(seen.first?.0 == .right && seen.first?.1 == true)
        #expect(seen.last?.1 == false)
        #expect(try bench.gpio.read(line: 23) == false)
    }

    @Test("an absent ATtiny88 is a bus error; a line the chip lacks is a GPIO error")
    func errors() throws {
        let bench = JoystickBench()
        bench.bus.setAbsent(true, at: 0x46)
        #expect(throws: DriverError.bus(chip: "ATtiny88", .noAck(address: 0x46))) { try bench.driver.readKeys() }
        #expect(throws: GPIOError.self) { try bench.gpio.read(line: 54) }
        #expect(throws: GPIOError.self) { try bench.gpio.write(line: -1, value: true) }
        try bench.gpio.write(line: 17, value: true)
        #expect(try bench.gpio.read(line: 17))
        #expect(bench.edges.isEmpty, "the hub's own output writes are not input edges")
    }
}
