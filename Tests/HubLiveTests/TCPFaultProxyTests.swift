import Foundation
import HubCore
import HubKernel
import HubLive
import Synchronization
import Testing

@Suite("Link shaper: latency, jitter and bandwidth of one direction, on an injected clock")
struct LinkShaperTests {
    let t0 = Instant(secondsSinceEpoch: 100)

    @Test("latency delays every chunk; jitter stays within its bound and never reorders the stream")
    func latencyAndJitter() {
        var random = SeededRandom(seed: 3)
        var shaper = LinkShaper()
        #expect(shaper.due(count: 10, arrived: t0, random: &random) == t0, "no fault: at once")
        shaper.latency = .milliseconds(200)
        #expect(shaper.due(count: 10, arrived: t0 + .seconds(1), random: &random) == t0 + .milliseconds(1_200))
        shaper.jitter = .milliseconds(300)
        var last = Instant(secondsSinceEpoch: 0)
        for k in 0..<500 {
            let arrived = t0 + .seconds(2) + .milliseconds(Int64(k))
            let due = shaper.due(count: 1, arrived: arrived, random: &random)
            #expect(due >= arrived + .milliseconds(200))
            #expect(due >= last, "in order")
            #expect(due <= arrived + .milliseconds(500) || due == last, "within latency + jitter, or held behind the chunk ahead")
            last = due
        }
    }

    @Test("a bandwidth limit paces the bytes: 10 kB at 5 kB/s takes two seconds")
    func bandwidth() {
        var random = SeededRandom(seed: 1)
        var shaper = LinkShaper()
        shaper.bytesPerSecond = 5_000
        var due = t0
        for _ in 0..<10 { due = shaper.due(count: 1_000, arrived: t0, random: &random) }
        #expect(due == t0 + .seconds(2))
    }
}

/// The proxy between a real client and a real server on loopback.
@Suite("TCP fault proxy: real broken connections between a hub and its broker", .serialized)
struct TCPFaultProxyTests {
    /// An echo server on a free loopback port, one thread per connection.
    final class EchoServer: @unchecked Sendable {
        // @unchecked Sendable: `listener` is set once before the accept thread starts.
        let port: UInt16
        private let listener: Int32
        /// Close each connection after echoing this many bytes (nil: echo until the client closes).
        init(closeAfter: Int? = nil) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            _ = Glibc.listen(fd, 8)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            port = UInt16(bigEndian: address.sin_port)
            listener = fd
            let listener = fd
            Thread {
                while true {
                    let fd = accept(listener, nil, nil)
                    if fd < 0 { return }
                    Thread {
                        var chunk = [UInt8](repeating: 0, count: 4_096)
                        var echoed = 0
                        while closeAfter.map({ echoed < $0 }) ?? true {
                            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                            if count <= 0 { break }
                            _ = chunk.withUnsafeBytes { send(fd, $0.baseAddress, count, Int32(MSG_NOSIGNAL)) }
                            echoed += count
                        }
                        close(fd)
                    }.start()
                }
            }.start()
        }

        func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
    }

    /// An echo server and a proxy in front of it, both running.
    func start(echoClosingAfter: Int? = nil) throws -> (EchoServer, TCPFaultProxy) {
        let echo = try EchoServer(closeAfter: echoClosingAfter)
        let proxy = TCPFaultProxy(listenPort: 0, upstreamHost: "127.0.0.1", upstreamPort: echo.port, seed: 1)
        do { try proxy.start() } catch {
            echo.stop()
            throw error
        }
        return (echo, proxy)
    }

    /// Sets a fault and gives the proxy's thread a turn to take it up.
    func set(_ proxy: TCPFaultProxy, _ fault: CloudLinkFault, active: Bool = true) {
        proxy.set(fault, active: active)
        Thread.sleep(forTimeInterval: 0.3)
    }

    func connectTo(_ port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(fd); return nil }
        return fd
    }

    /// Sends `bytes`, reads `count` back (or until EOF, error or `timeout`); the bytes and the time it took.
    func roundTrip(_ fd: Int32, _ bytes: [UInt8], expect count: Int, timeout: Duration = .seconds(5)) -> (bytes: [UInt8], took: Duration, error: Int32?) {
        let clock = ContinuousClock()
        let start = clock.now
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while received.count < count {
            let left = timeout - (clock.now - start)
            guard left > .zero else { break }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(left.nanoseconds / 1_000_000)) > 0 else { break }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return (received, clock.now - start, errno) }
            if n == 0 { break }
            received += chunk[0..<n]
        }
        return (received, clock.now - start, nil)
    }

    @Test("with no fault the proxy carries the stream both ways, byte for byte")
    func transparent() throws {
        let (echo, proxy) = try start()
        defer { proxy.stop(); echo.stop() }
        let fd = try #require(connectTo(proxy.port))
        defer { close(fd) }
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let back = roundTrip(fd, payload, expect: payload.count)
        #expect(back.bytes == payload)
        let counted = ContinuousClock.now + .seconds(2)
        while proxy.statistics.bytesForwarded < 2 * payload.count && ContinuousClock.now < counted { usleep(1_000) }
        #expect(proxy.statistics.bytesForwarded == 2 * payload.count)
    }

    @Test("offline refuses new connections and resets open ones; cleared, the proxy is back on its port")
    func offline() throws {
        let (echo, proxy) = try start()
        defer { proxy.stop(); echo.stop() }
        let open = try #require(connectTo(proxy.port))
        defer { close(open) }
        #expect(roundTrip(open, [1, 2, 3], expect: 3).bytes == [1, 2, 3])
        proxy.set(.offline, active: true)
        let cut = roundTrip(open, [4], expect: 1, timeout: .seconds(2))
        #expect(cut.bytes.isEmpty && (cut.error == ECONNRESET || cut.error == nil), "reset: \(String(describing: cut.error))")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(connectTo(proxy.port) == nil, "refused while offline")
        set(proxy, .offline, active: false)
        let again = try #require(connectTo(proxy.port), "accepting again")
        defer { close(again) }
        #expect(roundTrip(again, [5], expect: 1).bytes == [5])
        #expect(proxy.statistics.reset >= 1)
    }

    @Test("blackhole swallows what is sent and answers nothing, leaving the connection open")
    func blackhole() throws {
        let (echo, proxy) = try start()
        defer { proxy.stop(); echo.stop() }
        let fd = try #require(connectTo(proxy.port))
        defer { close(fd) }
        set(proxy, .blackhole)
        let nothing = roundTrip(fd, Array(repeating: 7, count: 100), expect: 1, timeout: .milliseconds(700))
        #expect(nothing.bytes.isEmpty && nothing.error == nil)
        #expect(proxy.statistics.bytesDropped == 100)
        set(proxy, .blackhole, active: false)
        #expect(roundTrip(fd, [9], expect: 1).bytes == [9], "the same connection carries again")
    }

    @Test("latency delays each way; a bandwidth limit paces; reset-after cuts a connection after its bytes")
    func shaping() throws {
        let (echo, proxy) = try start()
        defer { proxy.stop(); echo.stop() }
        set(proxy, .latency(extra: .milliseconds(150), jitter: .zero))
        let fd = try #require(connectTo(proxy.port))
        let slow = roundTrip(fd, [1], expect: 1)
        #expect(slow.bytes == [1])
        #expect(slow.took >= .milliseconds(300) && slow.took < .seconds(2), "150 ms each way: \(slow.took)")
        close(fd)
        proxy.set(.latency(extra: .zero, jitter: .zero), active: false)
        set(proxy, .bandwidth(bytesPerSecond: 20_000))
        let paced = try #require(connectTo(proxy.port))
        let tenK = roundTrip(paced, Array(repeating: 3, count: 10_000), expect: 10_000)
        #expect(tenK.bytes.count == 10_000)
        #expect(tenK.took >= .milliseconds(900), "10 kB each way at 20 kB/s: \(tenK.took)")
        close(paced)
        proxy.set(.bandwidth(bytesPerSecond: 20_000), active: false)
        set(proxy, .resetAfter(bytes: 1_000))
        let doomed = try #require(connectTo(proxy.port))
        defer { close(doomed) }
        let cut = roundTrip(doomed, Array(repeating: 4, count: 4_000), expect: 4_000, timeout: .seconds(2))
        #expect(cut.bytes.count < 4_000, "cut before the whole echo came back: \(cut.bytes.count), \(String(describing: cut.error))")
        #expect(proxy.statistics.reset >= 1, "\(proxy.statistics)")
    }

    @Test("slow-close holds the client's side open after the broker closed")
    func slowClose() throws {
        let (echo, proxy) = try start(echoClosingAfter: 1)
        defer { proxy.stop(); echo.stop() }
        set(proxy, .slowClose(delay: .milliseconds(800)))
        let fd = try #require(connectTo(proxy.port))
        defer { close(fd) }
        let first = roundTrip(fd, [1], expect: 1)
        #expect(first.bytes == [1])
        // The server closed after its echo; the client's end of file comes `delay` later
        // (the proxy shuts the client's side at once only without the fault).
        let clock = ContinuousClock()
        let start = clock.now
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        var closedAfter: Duration?
        while clock.now - start < .seconds(3) {
            if poll(&descriptor, 1, 50) > 0, read(fd, &byte, 1) <= 0 { closedAfter = clock.now - start; break }
        }
        let took = try #require(closedAfter)
        #expect(took >= .milliseconds(500), "held open: \(took)")
    }
}
