import Foundation
import HubCore
import HubDrivers
import HubLive
import HubSim
import Testing

/// `SenseHATKernelServer` against clients that break its protocol: each is dropped or
/// answered with an errno, and the well-behaved ones beside it are served on.
@Suite("Sense HAT kernel stand-in server")
struct SenseHATKernelServerTests {
    /// The server over a sensor bench with an ATtiny88, on fresh sockets.
    func withServer(_ body: (SenseHATKernelServer, I2CSocketServer, ATtiny88Model, String) throws -> Void) throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let bench = SensorBench()
        let attiny = ATtiny88Model(history: nil)
        bench.bus.attach(attiny, at: ATtiny88Register.address)
        let i2c = I2CSocketServer(bus: bench.bus, socketPath: directory + "/i2c.sock")
        try i2c.start()
        defer { i2c.stop() }
        let kernel = SenseHATKernelServer(i2c: i2c, socketPath: directory + "/sh.sock")
        try kernel.start()
        defer { kernel.stop() }
        try body(kernel, i2c, attiny, kernel.socketPath)
    }

    /// Opens the framebuffer as the shim does: `F`, then status, length and path.
    func openFramebuffer(_ path: String) throws -> (RawI2CClient, String) {
        let client = try RawI2CClient(path: path)
        try client.send([UInt8(ascii: "F")])
        var reply: [UInt8] = []
        while reply.count < 6 || reply.count < 6 + Int(reply[4]) + Int(reply[5]) << 8 {
            let more = try client.receive(upTo: 4096)
            guard !more.isEmpty else { throw TestFailure("the server hung up") }
            reply += more
        }
        #expect(Array(reply[0..<4]) == [0, 0, 0, 0])
        return (client, String(decoding: reply[6...], as: UTF8.self))
    }

    @Test("a written framebuffer reaches the ATtiny88 through the gamma table; an unknown ioctl is EINVAL")
    func framebufferRoundTrip() throws {
        try withServer { kernel, i2c, attiny, path in
            let (client, memoryPath) = try openFramebuffer(path)
            let handle = try #require(FileHandle(forUpdatingAtPath: memoryPath))
            handle.write(Data([0x00, 0xF8]))  // pixel 0 red 31
            try handle.synchronize()
            try client.send([7])  // no such ioctl
            #expect(try client.receive(upTo: 16) == withUnsafeBytes(of: EINVAL.littleEndian) { Array($0) })
            let deadline = ContinuousClock.now + .seconds(5)
            // The model is read under the bus lock: the serving thread writes it.
            func firstRed() -> UInt8 { i2c.withBus { _ in attiny.currentFrame.registerBytes[0] } }
            while firstRed() != 0x1F && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.005) }
            #expect(firstRed() == 0x1F, "gamma_default[31]")
            #expect(kernel.statistics.frames >= 2, "the boot frame, then the change")
        }
    }

    @Test("garbage selectors, half ioctls and hang-ups drop those clients only; the joystick still reports presses")
    func hostileClients() throws {
        try withServer { kernel, i2c, attiny, path in
            let joystick = try RawI2CClient(path: path)
            try joystick.send([UInt8(ascii: "J")])
            var random = SeededRandom(seed: 0x5EB5)
            for round in 0..<200 {
                let rude = try RawI2CClient(path: path)
                var bytes = (0..<random.nextInt(in: 1...64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if round % 3 == 0 { bytes[0] = UInt8(ascii: "F") }  // a framebuffer client, then garbage ioctls
                if round % 5 == 0 { bytes = [UInt8(ascii: "F"), 1, 2, 3] }  // half a gamma write, then gone
                try? rude.send(bytes)
            }
            // A press: the interrupt handler reads KEYS over I²C and the reader hears it.
            i2c.withBus { bus in
                attiny.press(JoystickKeys.enter.rawValue, now: Instant(secondsSinceEpoch: 1))
                kernel.joystickInterrupt(bus: bus, at: Instant(secondsSinceEpoch: 1))
            }
            var events: [UInt8] = []
            while events.count < 48 {
                let more = try joystick.receive(upTo: 4096)
                guard !more.isEmpty else { break }
                events += more
            }
            try #require(events.count == 48, "an EV_KEY and an EV_SYN")
            #expect(Array(events[16..<24]) == [1, 0, 28, 0, 1, 0, 0, 0], "EV_KEY KEY_ENTER 1")
            #expect(Array(events[40..<48]) == [0, 0, 0, 0, 0, 0, 0, 0], "EV_SYN SYN_REPORT")
            let (_, memoryPath) = try openFramebuffer(path)
            #expect(FileManager.default.fileExists(atPath: memoryPath), "and a new framebuffer client is served")
        }
    }
}
