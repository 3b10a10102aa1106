import Foundation
import HubCore
import HubDrivers
import HubLive
import HubSim
import Testing

/// A clock that follows the wall clock, so simulated chips convert while a real process
/// (the `hub` child) waits for data-ready with real sleeps.
final class WallClock: HubClock {
    var now: Instant { Instant(nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9)) }
}

/// Constant conditions chosen by the test.
final class FixedEnvironment: SensorEnvironmentSource {
    let environment: SensorEnvironment
    init(temperature: Double, humidity: Double, pressure: Double) {
        environment = SensorEnvironment(temperature: temperature, humidity: humidity, pressure: pressure)
    }
    func environment(at instant: Instant) -> SensorEnvironment { environment }
}

/// A simulated bus with an HTS221 and an LPS25H model on it (no IMU, no ATtiny88).
struct SensorBench {
    static let temperature = 21.0
    static let humidity = 40.0
    static let pressure = 1013.0

    let clock = WallClock()
    let bus: SimI2CBus

    init(seed: UInt64 = 1) {
        var random = SeededRandom(seed: seed)
        let environment = FixedEnvironment(temperature: Self.temperature, humidity: Self.humidity, pressure: Self.pressure)
        bus = SimI2CBus(clock: clock, random: random.split("bus"))
        bus.attach(HTS221Model(calibration: .reference, source: environment, random: random.split("hts221")),
                   at: HTS221Register.address)
        bus.attach(LPS25HModel(source: environment, random: random.split("lps25h"), thermometerRandom: random.split("lps25h.thermometer")), at: LPS25HRegister.address)
    }
}

/// A fresh private directory under /tmp (short, so socket paths fit `sun_path`).
func makeScratchDirectory() throws -> String {
    var template = Array("/tmp/hubrig-test-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } != nil }
    guard made else { throw TestFailure("mkdtemp failed: errno \(errno)") }
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// This process's environment with the I²C stand-in preloaded: `device` is faked by the
/// shim `shim` and served by the socket `socket` (docs/bench.md).
func shimEnvironment(shim: String, device: String, socket: String) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["LD_PRELOAD"] = shim
    environment["HUBRIG_I2C_DEVICE"] = device
    environment["HUBRIG_I2C_SOCKET"] = socket
    return environment
}

/// Compiles the C program `source` into `directory` as `name` with the system's cc;
/// returns the program's path.
func compileC(_ source: String, named name: String, in directory: String, flags: [String] = []) throws -> String {
    let sourcePath = directory + "/" + name + ".c"
    let program = directory + "/" + name
    try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
    let compiled = try runProcess("/usr/bin/env", ["cc", "-Wall"] + flags + ["-o", program, sourcePath],
                                  environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
    try #require(compiled.status == 0, "\(compiled.output)")
    return program
}

func removeScratchDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A failure inside test plumbing, with the reason as its text.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A client speaking the I²C socket protocol by hand, as the C shim does, so the server
/// can be tested without preloading anything.
final class RawI2CClient {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("connect \(path): errno \(code)")
        }
        // A server that never answers must fail the test, not hang it.
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += sent
        }
    }

    /// Bytes until the peer closes or `limit` bytes arrived; [] at end of stream.
    func receive(upTo limit: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw TestFailure("recv: errno \(errno)") }
        return Array(buffer[0..<count])
    }

    /// Sends one request and reads exactly one reply.
    func call(_ messages: [I2CWireMessage]) throws -> I2CWireReply {
        try send(I2CWire.encodeRequest(messages))
        let readLengths = messages.filter(\.isRead).map(\.replyLength)
        var buffer = [UInt8]()
        while true {
            if case .complete(let reply, _) = try I2CWire.parseReply(buffer[...], readLengths: readLengths) {
                return reply
            }
            let more = try receive(upTo: 65_536)
            guard !more.isEmpty else { throw TestFailure("server closed the connection mid-reply") }
            buffer += more
        }
    }
}

/// `hubrig sim i2c-serve --socket SOCKET ARGUMENTS` as a child, once its socket exists;
/// the caller terminates it (`stopChild`).
func startI2CServe(socket: String, _ arguments: [String]) throws -> Process {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: try LiveHubEndToEndTests.executable("hubrig"))
    server.arguments = ["sim", "i2c-serve", "--socket", socket] + arguments
    server.standardError = FileHandle.nullDevice
    try server.run()
    let ready = ContinuousClock.now + .seconds(10)
    while !FileManager.default.fileExists(atPath: socket) && ContinuousClock.now < ready { Thread.sleep(forTimeInterval: 0.02) }
    guard FileManager.default.fileExists(atPath: socket) else {
        stopChild(server)
        throw TestFailure("i2c-serve did not create \(socket) within 10 s")
    }
    return server
}

/// Ends a child process if it still runs, and reaps it.
func stopChild(_ process: Process) {
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
}

/// Asks `condition` every 20 ms until it holds, for at most `limit`: how long it took, or
/// nil when it never held.
func eventually(within limit: Duration, _ condition: () throws -> Bool) rethrows -> Duration? {
    let clock = ContinuousClock()
    let start = clock.now
    while clock.now - start < limit {
        if try condition() { return clock.now - start }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return nil
}

/// The real `hub run --backend sensehat` on the faked /dev/i2c-7 (`shim`, served at
/// `i2cSocket`), polling every second, state in `<directory>/state`, with `extra` options;
/// the caller stops it (`stopChild`).
func startShimmedHub(directory: String, shim: String, i2cSocket: String, _ extra: [String]) throws -> Process {
    let hub = Process()
    hub.executableURL = URL(fileURLWithPath: try I2CShimEndToEndTests.hubExecutable())
    hub.arguments = ["run", "--backend", "sensehat", "--i2c", "/dev/i2c-7", "--gpiochip", directory + "/no-gpiochip",
                     "--poll", "1s", "--event-log", directory + "/hub.jsonl", "--state-dir", directory + "/state"] + extra
    hub.environment = shimEnvironment(shim: shim, device: "/dev/i2c-7", socket: i2cSocket)
    hub.standardOutput = FileHandle.nullDevice
    hub.standardError = FileHandle.nullDevice
    try hub.run()
    return hub
}
