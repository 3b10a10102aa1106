import Foundation
import HubCore
import HubDrivers
import HubKernel
import HubLive
import HubSim

/// `hubrig bench bus` rows for the I²C stand-in: requests and bytes per second that
/// `I2CSocketServer` serves through its socket, against what a 400 kHz bus carries.
///
/// A real-time test must never wait on the stand-in, so the server has to move at least
/// what the hardware's own bus could: the goal is the 400 kHz rate with four clients at
/// once. Two request patterns: a kit's whole steady-state poll as the production drivers
/// make it (recorded on the simulated bus, then replayed as the same I2C_RDWR frames),
/// and the SMBus byte-data read i2cget and smbus2 make (register write + 1-byte read).
/// Each client is one connection on its own thread, as each descriptor of the C shim is;
/// the frames are the shim's. Bus time per request uses the same model as the table
/// above: 9 SCL periods per byte and 3 per transaction.
public enum I2CStandInBenchmark {
    /// A request pattern: the I2C_RDWR frames one unit of work sends.
    public struct Pattern: Sendable {
        public let label: String
        public let requests: [[I2CWireMessage]]

        /// Bytes on the wire (address bytes and data) and transactions, as `SimI2CBus` counts them.
        public var busBytes: Int {
            requests.reduce(0) { sum, messages in
                sum + messages.reduce(0) { $0 + 1 + $1.length }
            }
        }

        public var busTransactions: Int { requests.count }

        /// How long the pattern holds a bus clocked at `hertz`.
        public func busSeconds(at hertz: Double) -> Double {
            Double(busBytes * 9 + busTransactions * 3) / hertz
        }
    }

    /// One measurement: `clients` connections replaying `pattern` for a while.
    public struct Row: Sendable {
        public let pattern: Pattern
        public let clients: Int
        /// Median over the runs of units (patterns) per second, all clients together.
        public let unitsPerSecond: Double
        public let failures: Int

        public var requestsPerSecond: Double { unitsPerSecond * Double(pattern.requests.count) }
        public var bytesPerSecond: Double { unitsPerSecond * Double(pattern.busBytes) }
        /// Units per second a 400 kHz bus carries.
        public var busUnitsPerSecond: Double { 1 / pattern.busSeconds(at: 400_000) }
        public var ratio: Double { unitsPerSecond / busUnitsPerSecond }
    }

    /// Records one steady-state poll of `kind`'s kit: the production drivers, initialised
    /// and polled once a second for a minute of virtual time on the simulated chips.
    public static func pollPattern(_ kind: ApplianceKind) -> Pattern {
        let clock = VirtualClock(start: Instant(secondsSinceEpoch: 1_700_000_000))
        let world = SimWorld(devices: [HubConfig.Device(id: "kit", kind: kind)], seed: 1, start: clock.now, clock: clock,
                             history: HistoryRecorder())
        let recorder = RecordingBus(world.kits[0].bus)
        let drivers = MonitoringKit.for(kind).drivers(on: recorder)
        for driver in drivers { _ = try? driver.initialise() }
        for _ in 0..<60 {
            clock.wait(until: clock.now + .seconds(1))
            recorder.requests.removeAll()
            for driver in drivers { _ = try? driver.sample() }
        }
        precondition(!recorder.requests.isEmpty, "a poll makes transfers")
        let chips = MonitoringKit.for(kind).chips.map { $0.rawValue.uppercased() }.joined(separator: "+")
        return Pattern(label: "\(kind.rawValue) poll (\(chips))", requests: recorder.requests)
    }

    /// The SMBus byte-data read of HTS221 WHO_AM_I, as i2cget sends it.
    public static let byteRead = Pattern(label: "SMBus byte-data read", requests: [[.write(0x5F, [0x0F]), .read(0x5F, count: 1)]])

    /// Runs `pattern` on `clients` connections for `seconds`, `runs` times; the median run.
    public static func measure(_ pattern: Pattern, clients: Int, seconds: Double, runs: Int, socketPath: String) -> Row {
        var rates: [Double] = []
        var failures = 0
        for _ in 0..<runs {
            let (units, failed, elapsed) = run(pattern, clients: clients, seconds: seconds, socketPath: socketPath)
            rates.append(Double(units) / elapsed)
            failures += failed
        }
        rates.sort()
        return Row(pattern: pattern, clients: clients, unitsPerSecond: rates[rates.count / 2], failures: failures)
    }

    /// Counters the client threads add to; a lock because they finish concurrently.
    private final class Tally: @unchecked Sendable {
        // @unchecked Sendable: `units` and `failures` are only touched under `lock`.
        let lock = NSLock()
        var units = 0
        var failures = 0
    }

    private static func run(_ pattern: Pattern, clients: Int, seconds: Double, socketPath: String) -> (Int, Int, Double) {
        let tally = Tally()
        let group = DispatchGroup()
        let clock = ContinuousClock()
        let began = clock.now
        let deadline = began + .milliseconds(Int64(seconds * 1000))
        for _ in 0..<clients {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var units = 0
                var failures = 0
                guard let client = try? I2CSocketClient(socketPath: socketPath) else {
                    tally.lock.withLock { tally.failures += 1 }
                    return
                }
                while clock.now < deadline {
                    for request in pattern.requests {
                        if case .success = (try? client.call(request)) ?? .failure(errno: EIO) {} else { failures += 1 }
                    }
                    units += 1
                }
                tally.lock.withLock {
                    tally.units += units
                    tally.failures += failures
                }
            }
            thread.start()
        }
        group.wait()
        let elapsed = (clock.now - began).secondsValue
        return tally.lock.withLock { (tally.units, tally.failures, elapsed) }
    }

    /// Serves a simulated washer Sense HAT (every chip) on a fresh socket and measures
    /// every pattern with one and with four clients.
    public static func rows(seconds: Double = 1.5, runs: Int = 5) throws -> [Row] {
        var template = Array("/tmp/hubrig-bench-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } != nil }
        guard made else { throw I2CSocketServerError.system(path: "/tmp/hubrig-bench-XXXXXX", call: "mkdtemp", errno: errno) }
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = LiveClock()
        let world = SimWorld(devices: [HubConfig.Device(id: "kit", kind: .washer)], seed: 1, start: clock.now, clock: clock,
                             history: HistoryRecorder())
        let server = I2CSocketServer(bus: world.kits[0].bus, socketPath: directory + "/i2c.sock")
        try server.start()
        defer { server.stop() }
        let patterns = [pollPattern(.furnace), pollPattern(.washer), byteRead]
        return patterns.flatMap { pattern in
            [1, 4].map { measure(pattern, clients: $0, seconds: seconds, runs: runs, socketPath: server.socketPath) }
        }
    }

    public static func table(_ rows: [Row]) -> String {
        let pad = TextFormat.padded
        func fixed(_ value: Double, _ decimals: Int) -> String { TextFormat.fixed(value, decimals: decimals) }
        var lines = ["I²C stand-in (hubrig sim i2c-serve's server through its Unix socket, the shim's frames; median of runs)",
                     "",
                     pad("pattern", 30) + pad("clients", 9) + pad("requests/s", 12) + pad("bytes/s", 11) + pad("units/s", 10)
                        + pad("400kHz units/s", 16) + pad("× 400kHz", 10) + "failed"]
        for row in rows {
            lines.append(pad(row.pattern.label, 30) + pad("\(row.clients)", 9) + pad(fixed(row.requestsPerSecond, 0), 12)
                + pad(fixed(row.bytesPerSecond, 0), 11) + pad(fixed(row.unitsPerSecond, 0), 10)
                + pad(fixed(row.busUnitsPerSecond, 0), 16) + pad(fixed(row.ratio, 2), 10) + "\(row.failures)")
        }
        let four = rows.filter { $0.clients == 4 }
        let worst = four.map(\.ratio).min() ?? 0
        lines.append("")
        lines.append("goal: ≥ 1.00 × the 400 kHz bus with 4 clients at once; worst pattern \(fixed(worst, 2)) × — "
            + (worst >= 1 ? "met" : "MISSED"))
        return lines.joined(separator: "\n")
    }
}

/// Wraps a bus and keeps the I2C_RDWR frame each transfer would be (write part, read part).
private final class RecordingBus: I2CBus {
    let inner: any I2CBus
    var requests: [[I2CWireMessage]] = []

    init(_ inner: any I2CBus) { self.inner = inner }

    func transfer(address: UInt8, write: [UInt8], readCount: Int) throws(I2CError) -> [UInt8] {
        requests.append(I2CWireMessage.transfer(address, write: write, readCount: readCount))
        return try inner.transfer(address: address, write: write, readCount: readCount)
    }
}
