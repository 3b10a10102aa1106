import Foundation
import Glibc
import HubCore
import HubKernel
import Synchronization

/// The hub's IPC bus server on a Unix-domain stream socket (docs/ipc.md): components in
/// processes of their own connect here.
///
/// The socket file is the owner's only (mode 0600, made under a 0177 umask so it never
/// exists with wider rights). One thread accepts; each connection has a reader thread
/// that cuts frames (`IPCFrameReader`) and posts them, with the connection's end, to the
/// hub's loop through the completion inbox — the node decides everything on its own
/// thread. Writes come from the loop and never block it: a peer that stops reading
/// until the kernel's buffer is full is closed rather than allowed to stall the hub.
public final class UnixSocketIPCServer: IPCPort, NetworkClient, Sendable {
    public let path: String
    private let listener: Int32
    private let completions: CompletionInbox
    private let clock: LiveClock
    /// Open connections by session number, and the next number.
    private let connections = Mutex<(open: [Int: Int32], next: Int)>(([:], 1))
    private let stopped = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    /// `ipc.down` from the control socket: connections are closed as soon as they are made.
    private let refusing = Atomic<Bool>(false)
    /// `ipc.slow` and `ipc.drop` from the control socket: the delay before each frame read
    /// is posted (hub time), and the chance a frame is lost, with the stream it draws from.
    private let frameFaults = Mutex<(slow: Duration?, drop: Double?, random: SeededRandom)>((nil, nil, SeededRandom(seed: 1)))

    /// `faultSeed` seeds `ipc.drop`'s draws, so a bench session repeats.
    public init(path: String, completions: CompletionInbox, clock: LiveClock, faultSeed: UInt64 = 1) throws(IPCServerError) {
        var root = SeededRandom(seed: faultSeed)
        let draws = root.split("ipc.drop")
        frameFaults.withLock { $0.random = draws }
        self.path = path
        self.completions = completions
        self.clock = clock
        guard let address = UnixSocketAddress.make(path) else {
            throw IPCServerError(path: path, reason: "a socket path is 1...\(UnixSocketAddress.pathBytesMax) bytes")
        }
        // A stale socket from an earlier run is replaced; anything else at the path is not ours to remove.
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK else { throw IPCServerError(path: path, reason: "exists and is not a socket") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IPCServerError(path: path, reason: "socket: \(String(cString: strerror(errno)))") }
        let previous = umask(0o177)
        let bound = UnixSocketAddress.bind(fd, to: address)
        let bindError = errno
        umask(previous)
        guard bound == 0, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw IPCServerError(path: path, reason: "bind: \(String(cString: strerror(bound == 0 ? errno : bindError)))")
        }
        listener = fd
    }

    public func start() {
        started.store(true, ordering: .sequentiallyConsistent)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "hub-ipc-accept"
        thread.start()
    }

    /// Stops accepting, closes every connection and removes the socket file.
    public func stop() {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        // The accept thread closes the listener when it leaves `accept`: closing it here
        // could let that thread accept on a descriptor number the process has reused.
        if !started.load(ordering: .sequentiallyConsistent) { Glibc.close(listener) }
        connections.withLock { state in
            for fd in state.open.values { shutdown(fd, Int32(SHUT_RDWR)) }
            state.open.removeAll()
        }
        unlink(path)
    }

    public func send(_ frame: IPCFrame, session: Int) {
        if frameLost() {
            close(session: session, reason: "a frame to it was lost (ipc.drop)")
            return
        }
        let bytes = frame.encoded()
        // Written under the lock: the reader thread closes a descriptor under the same lock,
        // so a write can never land on a descriptor number the process has since reused.
        connections.withLock { state in
            guard let fd = state.open[session] else { return }
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
            if written != bytes.count {
                // Partly written, or the peer's buffer is full: the stream can no longer be
                // trusted. The reader thread sees the end, posts `ipcClosed` and closes it.
                state.open[session] = nil
                shutdown(fd, Int32(SHUT_RDWR))
            }
        }
    }

    public func close(session: Int, reason: String) {
        // The reader thread sees the end, posts `ipcClosed` and closes the descriptor.
        connections.withLock { state in
            guard let fd = state.open.removeValue(forKey: session) else { return }
            shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    /// The bus server's live faults (docs/control.md): `ipc.restart` ends every session at
    /// once (components reconnect); `ipc.down` also closes every connection made while it
    /// lasts, as a server that is gone.
    public func closeAllSessions() {
        connections.withLock { state in
            for fd in state.open.values { shutdown(fd, Int32(SHUT_RDWR)) }
            state.open.removeAll()
        }
    }

    public func setRefusing(_ down: Bool) {
        refusing.store(down, ordering: .sequentiallyConsistent)
        if down { closeAllSessions() }
    }

    /// `ipc.slow`: every frame read waits `latency` of hub time before the hub sees it
    /// (order on a connection holds: one reader thread per connection); nil ends it.
    public func setSlow(_ latency: Duration?) {
        frameFaults.withLock { $0.slow = latency }
    }

    /// `ipc.drop`: each frame read or written is lost with chance `p`, and since a stream
    /// cannot lose one frame and go on, its connection is reset; nil ends it.
    public func setDropping(_ p: Double?) {
        frameFaults.withLock { $0.drop = p }
    }

    private func frameLost() -> Bool {
        frameFaults.withLock { faults in
            guard let p = faults.drop else { return false }
            return faults.random.chance(p)
        }
    }

    private func acceptLoop() {
        defer { Glibc.close(listener) }
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if refusing.load(ordering: .sequentiallyConsistent) {
                Glibc.close(fd)
                continue
            }
            let session = connections.withLock { state in
                defer { state.next += 1 }
                state.open[state.next] = fd
                return state.next
            }
            let thread = Thread { [self] in readLoop(fd: fd, session: session) }
            thread.name = "hub-ipc-\(session)"
            thread.start()
        }
    }

    private func readLoop(fd: Int32, session: Int) {
        var reader = IPCFrameReader()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        reading: while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            reader.append(buffer[0..<count])
            var frames: [PortCompletion] = []
            do {
                while let frame = try reader.next() {
                    if frameLost() {
                        completions.complete(contentsOf: frames, at: clock.now)
                        break reading  // the stream is reset: what followed the lost frame is gone with it
                    }
                    frames.append(.ipcFrame(session: session, frame))
                }
            } catch {
                completions.complete(contentsOf: frames, at: clock.now)
                FileHandle.standardError.write(Data("hub: IPC session \(session): \(error); closing it\n".utf8))
                break reading
            }
            if !frames.isEmpty, let latency = frameFaults.withLock({ $0.slow }) {
                // Hub time, so the stall scales with a rig's clock like everything else.
                usleep(UInt32(min(Int64(UInt32.max), latency.nanoseconds / 1_000 / clock.timeScale)))
            }
            completions.complete(contentsOf: frames, at: clock.now)
        }
        connections.withLock { state in
            if state.open[session] == fd { state.open[session] = nil }
            Glibc.close(fd)
        }
        completions.complete(.ipcClosed(session: session), at: clock.now)
    }
}

/// The IPC socket cannot be set up, with the path and why.
public struct IPCServerError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "IPC socket \(path): \(reason)" }
}
