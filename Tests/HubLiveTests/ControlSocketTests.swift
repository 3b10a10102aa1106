import Foundation
import HubCore
import HubDrivers
import HubKernel
import HubLive
import HubSim
import Synchronization
import Testing

/// The control socket's server and client over real Unix sockets, with a desk answering on
/// a thread of its own as the hub's loop would.
@Suite("Control socket: owner-only, one line per request, every client on its own", .serialized)
struct ControlSocketTests {
    /// A server and a thread playing the hub's loop: it answers requests every millisecond.
    final class Rig: @unchecked Sendable {
        // @unchecked Sendable: `desk` is touched only by the loop thread; `running` is atomic.
        let server: ControlSocketServer
        let path: String
        private var desk = ControlDesk(thing: "rig", componentNames: ["sensor"], wireFaults: true)
        private let running = Atomic<Bool>(true)
        private let finished = DispatchSemaphore(value: 0)
        let status = HubStatus(thing: "rig", now: Instant(secondsSinceEpoch: 5), components: [], devices: [],
                               cloudConnected: false, outboxDepth: 0, unacknowledged: 0, deploymentID: nil, faults: [])

        init(directory: String) throws {
            path = directory + "/control.sock"
            server = ControlSocketServer(socketPath: path, wakeLoop: {})
            try server.start()
            let thread = Thread { [self] in
                while running.load(ordering: .relaxed) {
                    server.serviceRequests { line in
                        let (reply, request, _) = desk.handle(line: line, now: Instant(secondsSinceEpoch: 5)) { _ in status }
                        return (reply, request == .subscribe)
                    }
                    usleep(1_000)
                }
                finished.signal()
            }
            thread.start()
        }

        func stop() {
            running.store(false, ordering: .relaxed)
            finished.wait()
            server.stop()
        }
    }

    /// A raw client socket, for what `ControlClient` would never send.
    func rawConnect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw TestFailure("connect: errno \(errno)") }
        return fd
    }

    func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `lines` newlines arrived or the peer closed (within 5 s).
    func readLines(_ fd: Int32, _ lines: Int) -> [String] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.filter({ $0 == 0x0A }).count < lines {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 5_000) > 0 else { break }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("the socket is mode 0600, and a client's garbage, half line, oversized line or hang-up leaves another client's session intact")
    func isolation() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let rig = try Rig(directory: directory)
        defer { rig.stop() }
        var info = stat()
        #expect(stat(rig.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "owner-only: \(String(info.st_mode & 0o777, radix: 8))")

        let client = try ControlClient(path: rig.path)
        guard case .object(let hello) = try client.request("hello") else { throw TestFailure("hello") }
        #expect(hello["protocol"] == .number(1))

        let garbage = try rawConnect(rig.path)
        send(garbage, "\u{1}\u{2}{{{ not json\n{\"v\": 1, \"id\": 9, \"op\": \"sta")  // a bad line, then half a line
        let replies = readLines(garbage, 1)
        #expect(replies.count == 1 && replies[0].contains("\"code\": \"bad_request\""), "\(replies)")
        close(garbage)  // hangs up in the middle of its second line

        let huge = try rawConnect(rig.path)
        send(huge, String(repeating: "x", count: ControlProtocol.lineBytesMax + 10))
        let refused = readLines(huge, 2)
        #expect(refused.first?.contains("too_large") == true, "\(refused)")
        #expect(refused.count == 1, "and the connection closes")
        close(huge)

        let pair = try rawConnect(rig.path)
        send(pair, "{\"v\": 1, \"id\": 1, \"op\": \"hello\"}\r\n{\"v\": 1, \"id\": 2, \"op\": \"faults\"}\n")
        let two = readLines(pair, 2)
        #expect(two.count == 2 && two[0].contains("\"id\": 1") && two[1].contains("\"id\": 2"), "in order, one reply each: \(two)")
        close(pair)

        // A client that shuts its side after its requests (printf ... | socat) still gets the replies.
        let halfClosed = try rawConnect(rig.path)
        send(halfClosed, "{\"v\": 1, \"id\": 1, \"op\": \"hello\"}\n{\"v\": 1, \"id\": 2, \"op\": \"status\"}\n")
        #expect(shutdown(halfClosed, Int32(SHUT_WR)) == 0)
        let answered = readLines(halfClosed, 3)
        #expect(answered.count == 2 && answered[1].contains("\"id\": 2"), "both replies, then the server closes: \(answered)")
        close(halfClosed)

        // The first client's session went on through all of it.
        guard case .object(let status) = try client.request("status") else { throw TestFailure("status") }
        #expect(status["thing"] == .string("rig"))
        do {
            _ = try client.request("inject", [("fault", .string("i2c.0x5f.stuck"))])
            Issue.record("a simulation-only fault was accepted")
        } catch let error as ControlError {
            #expect(error.code == .unsupported)
        }
    }

    @Test("another user is refused: by the socket's mode, and by its uid even when the mode is loosened",
          .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
                       && FileManager.default.isExecutableFile(atPath: "/usr/bin/socat"), "needs root, setpriv and socat"))
    func otherUsers() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        #expect(chmod(directory, 0o755) == 0, "the directory lets anyone reach the socket: only its own mode guards it")
        let rig = try Rig(directory: directory)
        defer { rig.stop() }
        func asNobody() throws -> ProcessResult {
            try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
                                               "printf '%s\\n' '{\"v\": 1, \"id\": 1, \"op\": \"hello\"}' | socat -t 2 - UNIX-CONNECT:\(rig.path)"],
                           environment: ProcessInfo.processInfo.environment, timeout: .seconds(10))
        }
        let byMode = try asNobody()
        #expect(byMode.status != 0 && byMode.output.contains("Permission denied"), "\(byMode.output)")
        #expect(chmod(rig.path, 0o666) == 0)
        let byUID = try asNobody()
        #expect(!byUID.output.contains("\"ok\": true"), "a peer of another user gets no reply: \(byUID.output)")
        let owner = try ControlClient(path: rig.path)
        #expect(try owner.request("hello") != .null, "the hub's own user still gets in")
    }

    @Test("the client says plainly when no hub runs, when the socket is stale, and when the path is not a socket")
    func clientErrors() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        #expect(throws: ControlClientError.noHub(path: directory + "/none.sock")) { try ControlClient(path: directory + "/none.sock") }
        #expect(FileManager.default.createFile(atPath: directory + "/file", contents: Data("x".utf8)))
        #expect(throws: ControlClientError.notASocket(path: directory + "/file")) { try ControlClient(path: directory + "/file") }
        // A socket whose server is gone: bound and closed without unlinking.
        let stale = directory + "/stale.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(stale.utf8)) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(throws: ControlClientError.staleSocket(path: stale)) { try ControlClient(path: stale) }
        #expect(ControlClientError.noHub(path: "/x").description.contains("no hub is running"))
    }

    @Test("a subscriber gets the hub's events as they are recorded, each as one line")
    func events() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let rig = try Rig(directory: directory)
        defer { rig.stop() }
        final class Sink: HistorySink {
            var events: [HistoryEvent] = []
            func record(_ event: HistoryEvent, at time: Instant) { events.append(event) }
        }
        let base = Sink()
        let tee = ControlEventTee(base, server: rig.server)
        tee.record(.faultStart(name: "before"), at: Instant(secondsSinceEpoch: 1))
        let client = try ControlClient(path: rig.path)
        _ = try client.request("subscribe")
        let deadline = ContinuousClock.now + .seconds(5)
        while !rig.server.hasSubscribers && ContinuousClock.now < deadline { usleep(1_000) }
        #expect(rig.server.hasSubscribers)
        tee.record(.faultStart(name: "during"), at: Instant(secondsSinceEpoch: 2))
        guard case .object(let event)? = try client.nextEvent(timeout: .seconds(5)) else { throw TestFailure("no event") }
        #expect(event["ev"] == .string("fault.start"))
        #expect(event["fault"] == .string("during"), "\(event)")
        #expect(base.events.count == 2, "the history itself gets every event")
    }
}

@Suite("Faultable I²C bus: the simulator's wire faults over a real bus")
struct FaultableI2CBusTests {
    @Test("absent, nack, timeout, slow and bitflip act on transfers as on the simulated bus, and clearing restores them")
    func wireFaults() throws {
        let bench = SensorBench()
        let stretches = Mutex<[Duration]>([])
        let bus = FaultableI2CBus(bench.bus, seed: 7, sleep: { duration in stretches.withLock { $0.append(duration) } })
        let address = HTS221Register.address
        let clean = try bus.transfer(address: address, write: [0x0F], readCount: 1)
        #expect(clean == [0xBC])
        bus.set(.absent, active: true, at: address)
        #expect(throws: I2CError.noAck(address: address)) { try bus.transfer(address: address, write: [0x0F], readCount: 1) }
        bus.set(.absent, active: false, at: address)
        bus.set(.timeout(probability: 1), active: true, at: address)
        #expect(throws: I2CError.timeout(address: address)) { try bus.transfer(address: address, write: [0x0F], readCount: 1) }
        #expect(try bus.transfer(address: LPS25HRegister.address, write: [0x0F], readCount: 1) == [0xBD], "other addresses untouched")
        bus.set(.timeout(probability: 1), active: false, at: address)
        bus.set(.slow(stretch: .milliseconds(20)), active: true, at: address)
        #expect(try bus.transfer(address: address, write: [0x0F], readCount: 1) == [0xBC])
        #expect(stretches.withLock { $0 } == [.milliseconds(20)])
        bus.set(.slow(stretch: .seconds(2)), active: true, at: address)
        #expect(throws: I2CError.timeout(address: address)) { try bus.transfer(address: address, write: [0x0F], readCount: 1) }
        bus.set(.slow(stretch: .seconds(2)), active: false, at: address)
        bus.set(.bitflip(probability: 1), active: true, at: address)
        for _ in 0..<20 {
            let flipped = try bus.transfer(address: address, write: [0x0F], readCount: 1)
            #expect((flipped[0] ^ 0xBC).nonzeroBitCount == 1, "exactly one bit flipped: \(flipped)")
        }
        bus.set(.bitflip(probability: 1), active: false, at: address)
        #expect(!bus.faults.anyActive)
        #expect(try bus.transfer(address: address, write: [0x0F], readCount: 1) == [0xBC])
    }

    @Test("the same seed flips the same bits: a bench session repeats")
    func repeatable() throws {
        func run() throws -> [UInt8] {
            let bus = FaultableI2CBus(SensorBench().bus, seed: 42, sleep: { _ in })
            bus.set(.bitflip(probability: 0.5), active: true, at: HTS221Register.address)
            return try (0..<50).map { _ in try bus.transfer(address: HTS221Register.address, write: [0x0F], readCount: 1)[0] }
        }
        #expect(try run() == run())
    }
}
