import Foundation
import HubCore
import HubKernel
import HubLive
import Testing

/// The live IPC bus server's faults, as the control socket applies them.
@Suite("IPC bus server: ipc.restart, ipc.down, ipc.slow and ipc.drop on a live hub's socket", .serialized)
struct IPCServerFaultTests {
    func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw TestFailure("connect: errno \(errno)") }
        return fd
    }

    /// Whether the server ended the connection (end of file) within `milliseconds`.
    func ended(_ fd: Int32, within milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) <= 0
    }

    @Test("ipc.restart ends every session at once; ipc.down also closes what connects until it ends")
    func restartAndDown() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let inbox = CompletionInbox()
        let server = try UnixSocketIPCServer(path: directory + "/ipc.sock", completions: inbox, clock: LiveClock())
        server.start()
        defer { server.stop() }
        let first = try connect(server.path)
        defer { close(first) }
        Thread.sleep(forTimeInterval: 0.1)  // accepted
        #expect(!ended(first, within: 100), "a session stays open")
        server.closeAllSessions()
        #expect(ended(first, within: 2_000), "ipc.restart ended it")
        server.setRefusing(true)
        let refused = try connect(server.path)
        defer { close(refused) }
        #expect(ended(refused, within: 2_000), "while down, a connection is closed at once")
        server.setRefusing(false)
        let back = try connect(server.path)
        defer { close(back) }
        #expect(!ended(back, within: 300), "the bus is back")
        let closings = inbox.take().filter { if case .ipcClosed = $0.0 { true } else { false } }
        #expect(closings.count == 1, "the hub heard the session end: \(closings.count)")
    }

    /// A `hello` frame as a component writes it.
    func sendHello(_ fd: Int32) {
        let bytes = IPCFrame.hello(component: "sensor", versions: [1]).encoded()
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test("ipc.drop at p 1 loses the first frame and resets its connection; ipc.slow holds frames back by its latency; both end when cleared")
    func dropAndSlow() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let inbox = CompletionInbox()
        let server = try UnixSocketIPCServer(path: directory + "/ipc.sock", completions: inbox, clock: LiveClock(), faultSeed: 7)
        server.start()
        defer { server.stop() }
        server.setDropping(1)
        let lossy = try connect(server.path)
        defer { close(lossy) }
        sendHello(lossy)
        #expect(ended(lossy, within: 2_000), "a lost frame resets the connection")
        let seen = inbox.take().map(\.0)
        #expect(!seen.contains { if case .ipcFrame = $0 { true } else { false } }, "the lost frame never reached the hub")
        server.setDropping(nil)
        server.setSlow(.milliseconds(400))
        let slow = try connect(server.path)
        defer { close(slow) }
        let sent = ContinuousClock.now
        sendHello(slow)
        var frameAt: ContinuousClock.Instant?
        while frameAt == nil, ContinuousClock.now < sent + .seconds(3) {
            if inbox.take().contains(where: { if case .ipcFrame = $0.0 { true } else { false } }) { frameAt = ContinuousClock.now }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let took = try #require(frameAt) - sent
        #expect(took >= .milliseconds(380) && took < .seconds(2), "held back by the latency: \(took)")
        server.setSlow(nil)
        sendHello(slow)
        let quick = ContinuousClock.now
        var quickAt: ContinuousClock.Instant?
        while quickAt == nil, ContinuousClock.now < quick + .seconds(2) {
            if inbox.take().contains(where: { if case .ipcFrame = $0.0 { true } else { false } }) { quickAt = ContinuousClock.now }
            Thread.sleep(forTimeInterval: 0.005)
        }
        #expect(try #require(quickAt) - quick < .milliseconds(300), "cleared: no more delay")
        #expect(!ended(slow, within: 100), "a slow server keeps its connections")
    }
}
