import Foundation
import HubCore
import HubDrivers
import HubLive
import HubSim
import Testing

@Suite("I²C socket server")
struct I2CSocketServerTests {
    /// Runs `body` against a server on a fresh socket, serving the sensor bench.
    func withServer(_ body: (I2CSocketServer, SensorBench, String) throws -> Void) throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let bench = SensorBench()
        let path = directory + "/i2c.sock"
        let server = I2CSocketServer(bus: bench.bus, socketPath: path)
        try server.start()
        defer { server.stop() }
        try body(server, bench, path)
    }

    @Test("WHO_AM_I reads come back as one combined transfer")
    func whoAmI() throws {
        try withServer { server, _, path in
            let client = try RawI2CClient(path: path)
            #expect(try client.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
            #expect(try client.call([.write(0x5C, [0x0F]), .read(0x5C, count: 1)]) == .success(reads: [[0xBD]]))
            let stats = server.statistics
            #expect(stats.connections == 1)
            #expect(stats.requests == 2)
            #expect(stats.transfers == 2)
            #expect(stats.bytesWritten == 2)
            #expect(stats.bytesRead == 2)
        }
    }

    @Test("an absent address answers EREMOTEIO, like a Linux adapter on a NACK")
    func absentAddress() throws {
        try withServer { server, _, path in
            let client = try RawI2CClient(path: path)
            #expect(try client.call([.write(0x6A, [0x0F]), .read(0x6A, count: 1)]) == .failure(errno: EREMOTEIO))
            server.withBus { _ in }  // the lock is free again after a failed request
            #expect(server.statistics.failedRequests == 1)
        }
    }

    @Test("faults injected through withBus reach the next request")
    func injectedFault() throws {
        try withServer { server, bench, path in
            let client = try RawI2CClient(path: path)
            server.withBus { _ in bench.bus.setAbsent(true, at: 0x5F) }
            #expect(try client.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .failure(errno: EREMOTEIO))
            server.withBus { _ in bench.bus.setAbsent(false, at: 0x5F) }
            #expect(try client.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
        }
    }

    @Test("writes change chip registers; several messages run in order in one request")
    func writeThenReadBack() throws {
        try withServer { _, _, path in
            let client = try RawI2CClient(path: path)
            // Power the HTS221 up (CTRL_REG1 = 0x87), then read it back in the same request.
            let reply = try client.call([.write(0x5F, [0x20, 0x87]), .write(0x5F, [0x20]), .read(0x5F, count: 1)])
            #expect(reply == .success(reads: [[0x87]]))
        }
    }

    @Test("a request the adapter cannot honour is refused with the kernel's errno")
    func unsupported() throws {
        try withServer { _, _, path in
            let client = try RawI2CClient(path: path)
            let tenBit = I2CWireMessage(address: 0x5F, flags: 0x0010, bytes: [0x0F], readLength: 0)
            #expect(try client.call([tenBit]) == .failure(errno: EOPNOTSUPP))
            #expect(try client.call([.read(0x7F, count: 1), .write(0x5F, [0x0F])]) == .failure(errno: EREMOTEIO))
            let wide = I2CWireMessage(address: 0x100, flags: 0, bytes: [0], readLength: 0)
            #expect(try client.call([wide]) == .failure(errno: EINVAL))
        }
    }

    @Test("a malformed frame or a vanished client drops that client, and the next one is served")
    func survivesBadClients() throws {
        try withServer { server, _, path in
            do {
                let rude = try RawI2CClient(path: path)
                try rude.send([0x00, 0x00])  // zero messages: malformed
                #expect(try rude.receive(upTo: 16) == [])  // the server hangs up
            }
            do {
                let leaver = try RawI2CClient(path: path)
                try leaver.send([0x02, 0x00, 0x5F, 0x00])  // half a request, then gone
            }
            let client = try RawI2CClient(path: path)
            #expect(try client.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
            let stats = server.statistics
            #expect(stats.malformedFrames == 1)
            #expect(stats.connections == 3)
        }
    }

    @Test("clients are served at once: an idle client holding its connection blocks nobody")
    func concurrentClients() throws {
        try withServer { server, _, path in
            let first = try RawI2CClient(path: path)
            let second = try RawI2CClient(path: path)
            #expect(try second.call([.write(0x5C, [0x0F]), .read(0x5C, count: 1)]) == .success(reads: [[0xBD]]))
            #expect(try first.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
            #expect(try second.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
            #expect(server.statistics.connections == 2)
        }
    }

    @Test("a garbage-sending client is dropped while the clients beside it are served on")
    func garbageBesideGoodClients() throws {
        try withServer { server, _, path in
            let good = try RawI2CClient(path: path)
            #expect(try good.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
            let rude = try RawI2CClient(path: path)
            try rude.send([0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF])  // 65,535 messages: never valid
            #expect(try rude.receive(upTo: 16) == [])
            let leaver = try RawI2CClient(path: path)
            try leaver.send(try I2CWire.encodeRequest([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]).dropLast(3).map { $0 })
            #expect(try good.call([.write(0x5C, [0x0F]), .read(0x5C, count: 1)]) == .success(reads: [[0xBD]]))
            #expect(server.statistics.malformedFrames == 1)
        }
    }

    @Test("a client that never reads its replies is dropped, and the others are served on")
    func nonReadingClient() throws {
        try withServer { server, _, path in
            let stalled = try RawI2CClient(path: path)
            // Each request asks for 8 KiB: the replies fill the socket buffers in a few
            // dozen, and the server gives up on the reply after `replyTimeout`.
            let request = try I2CWire.encodeRequest([.write(0x5F, [0x80]), .read(0x5F, count: I2CWire.maxMessageLength)])
            for _ in 0..<200 {
                guard (try? stalled.send(request)) != nil else { break }
            }
            let good = try RawI2CClient(path: path)
            #expect(try good.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
            #expect(server.statistics.connections == 2)
        }
    }

    @Test("an SMBus block read (I2C_M_RECV_LEN) carries the device's length byte and the block, padded to 32")
    func blockRead() throws {
        try withServer { server, bench, path in
            let client = try RawI2CClient(path: path)
            // AV_CONF (0x10) = 5: a block read from there says "5 bytes follow".
            #expect(try client.call([.write(0x5F, [0x10, 0x05])]) == .success(reads: []))
            let block = I2CWireMessage(address: 0x5F, flags: I2CWire.readFlag | I2CWire.receiveLengthFlag, bytes: [], readLength: 1)
            let reply = try client.call([.write(0x5F, [0x90]), block])
            let expected = try server.withBus { _ throws(I2CError) in try bench.bus.readRegisters(0x5F, 0x10, count: 6) }
            #expect(reply == .success(reads: [expected + [UInt8](repeating: 0, count: 27)]))
            // A length byte of 0 is a protocol error, as the kernel's adapters say.
            #expect(try client.call([.write(0x5F, [0x10, 0x00])]) == .success(reads: []))
            #expect(try client.call([.write(0x5F, [0x90]), block]) == .failure(errno: EPROTO))
        }
    }

    @Test("the socket is owner-only while serving and gone after stop")
    func socketFile() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let path = directory + "/i2c.sock"
        let server = I2CSocketServer(bus: SensorBench().bus, socketPath: path)
        try server.start()
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(throws: I2CSocketServerError.pathInUse(path: path)) {
            try I2CSocketServer(bus: SensorBench().bus, socketPath: path).start()
        }
        server.stop()
        #expect(!server.isRunning)
        #expect(lstat(path, &info) != 0)
        server.stop()  // a second stop does nothing
    }

    @Test("a stale socket is replaced, a regular file is refused, a long path is refused")
    func socketPathChecks() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let path = directory + "/i2c.sock"
        let first = I2CSocketServer(bus: SensorBench().bus, socketPath: path)
        try first.start()
        // Simulate a crashed server: its file stays behind but nobody listens.
        let stale = directory + "/stale.sock"
        #expect(link(path, stale) == 0)
        first.stop()
        let second = I2CSocketServer(bus: SensorBench().bus, socketPath: stale)
        try second.start()
        second.stop()

        let plain = directory + "/plain"
        #expect(FileManager.default.createFile(atPath: plain, contents: Data([1])))
        #expect(throws: I2CSocketServerError.pathInUse(path: plain)) {
            try I2CSocketServer(bus: SensorBench().bus, socketPath: plain).start()
        }
        let long = directory + "/" + String(repeating: "x", count: 120)
        #expect(throws: I2CSocketServerError.pathTooLong(path: long, limit: 107)) {
            try I2CSocketServer(bus: SensorBench().bus, socketPath: long).start()
        }
    }

    @Test("port errors map to the errno a Linux adapter gives, and back")
    func errnoMapping() throws {
        // errno → I2CError as LinuxI2CBus maps it; then I2CError → errno through the
        // server, with a bus that fails on demand (the chip models never time out).
        let pairs: [(Int32, I2CError)] = [
            (EREMOTEIO, .noAck(address: 0x5F)),
            (ENXIO, .noAck(address: 0x5F)),
            (ETIMEDOUT, .timeout(address: 0x5F)),
            (EAGAIN, .busy(address: 0x5F)),
            (EBUSY, .busy(address: 0x5F)),
        ]
        for (code, error) in pairs {
            #expect(LinuxI2CBus.error(errno: code, address: 0x5F) == error)
        }
        #expect(LinuxI2CBus.error(errno: EIO, address: 0x5F) == .other(address: 0x5F, errno: EIO, detail: "Input/output error"))
        let failing = FailingBus()
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let server = I2CSocketServer(bus: failing, socketPath: directory + "/f.sock")
        try server.start()
        defer { server.stop() }
        let client = try RawI2CClient(path: directory + "/f.sock")
        let cases: [(I2CError, Int32)] = [
            (.noAck(address: 1), EREMOTEIO), (.timeout(address: 1), ETIMEDOUT), (.busy(address: 1), EAGAIN),
            (.shortRead(address: 1, expected: 2, got: 1), EIO), (.other(address: 1, errno: EPROTO, detail: "x"), EPROTO),
        ]
        for (error, code) in cases {
            server.withBus { _ in failing.error = error }
            #expect(try client.call([.read(1, count: 1)]) == .failure(errno: code))
        }
        server.withBus { _ in failing.error = nil; failing.reply = [1] }
        #expect(try client.call([.read(1, count: 2)]) == .failure(errno: EIO))  // bus returned too few bytes
    }
}

/// A bus that fails every transfer with a chosen error, or returns chosen bytes.
final class FailingBus: I2CBus {
    var error: I2CError?
    var reply: [UInt8] = []
    func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        if let error { throw error }
        return reply
    }
}
