import Foundation
import HubCore
import HubDrivers

// Fault model of the kernel-interface stand-in: none of its own. The framebuffer and the
// joystick behave as the Raspberry Pi kernel's rpisense-fb and sensehat-joystick drivers
// do over a healthy bus; faults on the I²C bus below them (an absent 0x46, bit flips)
// come from the bus they drive, as on hardware, and are logged, not retried:
// - Framebuffer ("RPi-Sense FB"): 128 bytes of RGB565 (8 × 8, line length 16). Every
//   `frameInterval` (the driver's deferred-I/O delay, HZ/100) the memory is compared with
//   what was last sent; a change (or a gamma change) is converted as the driver converts it
//   — red bits 15:11, green bits 10:6, blue bits 4:0, each through the 32-entry gamma
//   table — and written to the ATtiny88 as one 193-byte I²C write from register 0. The
//   gamma ioctls: FBIOGET_GAMMA, FBIOSET_GAMMA, FBIORESET_GAMMA (0 default, 1 low light,
//   2 the user's table; anything else EINVAL).
// - Joystick ("Raspberry Pi Sense HAT Joystick"): on the ATtiny88's interrupt (a rising
//   edge of GPIO23) KEYS is read over I²C, which clears the interrupt, and every key whose
//   bit changed is reported as an EV_KEY event (1 pressed, 0 released) followed by
//   EV_SYN, in bit order DOWN, RIGHT, UP, ENTER, LEFT, with the Raspberry Pi kernel's
//   KEY_* codes (mainline Linux's driver reports BTN_DPAD_*/BTN_SELECT instead). The
//   driver sets EV_REP, so the input core's auto-repeat runs too: the last key pressed,
//   while held, is reported again with value 2 after 250 ms and every 33 ms after that
//   (REP_DELAY, REP_PERIOD), until any key is released.
//   Events go to every open event device as 24-byte `struct input_event`s (64-bit
//   layout); a reader whose socket buffer is full loses the newest, as a reader behind
//   evdev's client buffer does.

/// The Sense HAT's kernel drivers in user space: the framebuffer and the joystick the
/// `rpi-sense` overlay binds, served to the LD_PRELOAD shim (shim/hubrig_i2c_shim.c).
///
/// Programs written for a Pi with the overlay loaded (the Python `sense-hat` library)
/// find "RPi-Sense FB" under /sys/class/graphics and the joystick under /sys/class/input;
/// the shim fakes those entries and connects here. Like the kernel drivers, this server
/// talks to the simulated ATtiny88 only over I²C, through the `I2CSocketServer`'s bus and
/// lock, so the rig's world sees the same transfers a Pi would make.
///
/// Protocol, after connecting: one byte names the device.
/// - `F` (framebuffer): the reply is `i32 status` (0), `u16 length` and the path of the
///   128-byte memory file to open read-write and map. Then, per ioctl: `u8 op` (0 get
///   gamma, 1 set gamma with 32 bytes, 2 reset gamma with `u32` table), answered with
///   `i32 status` (0 or a positive errno), and 32 bytes for op 0.
/// - `J` (joystick): 24-byte input events follow as they happen; bytes the client sends
///   are read and ignored.
/// Anything else closes the connection.
public final class SenseHATKernelServer: @unchecked Sendable {
    // @unchecked Sendable: mutable state (clients, gamma, keys, the memory's copy) is only
    // touched under `lock`; the mapped memory is read only on the serving thread.

    /// The deferred-I/O delay of rpisense-fb (HZ/100).
    public static let frameInterval: Duration = .milliseconds(10)
    /// The framebuffer's size: 8 × 8 pixels of 16 bits.
    public static let memoryBytes = RPiSenseFramebuffer.memoryBytes

    public let socketPath: String
    public let memoryPath: String
    private let i2c: I2CSocketServer
    private let lock = NSLock()
    private var listener: OwnerOnlyListener?
    private var memoryFD: Int32 = -1
    private var memory: UnsafeMutableRawPointer?
    private var running = false
    private let finished = DispatchSemaphore(value: 0)
    private var gamma = RPiSenseFramebuffer.gammaDefault
    private var gammaUser = [UInt8](repeating: 0, count: 32)
    private var gammaChanged = true
    private var lastMemory = [UInt8](repeating: 0, count: SenseHATKernelServer.memoryBytes)
    private var joystickClients: [Int32] = []
    private var keys: UInt8 = 0
    /// The input core's auto-repeat: the KEYS bit repeated and when it is next due.
    private var repeating: (bit: Int, due: Instant)?
    /// The input core's REP_DELAY and REP_PERIOD defaults.
    public static let repeatDelay: Duration = .milliseconds(250)
    public static let repeatPeriod: Duration = .milliseconds(33)
    private let clock: any HubClock
    /// Frames written to the ATtiny88 and events sent, for tests and diagnostics.
    public private(set) var framesWritten = 0
    public private(set) var eventsSent = 0

    /// `clock` stamps the events and times the auto-repeat (the world's, in
    /// `hubrig sim i2c-serve`).
    public init(i2c: I2CSocketServer, socketPath: String, clock: any HubClock = LiveClock()) {
        self.i2c = i2c
        self.clock = clock
        self.socketPath = socketPath
        memoryPath = socketPath + ".fb"
    }

    public var statistics: (frames: Int, events: Int) { lock.withLock { (framesWritten, eventsSent) } }

    /// Creates the memory file and the socket (both owner-only) and starts serving.
    public func start() throws(I2CSocketServerError) {
        lock.lock()
        defer { lock.unlock() }
        precondition(!running, "SenseHATKernelServer started twice")
        // The socket first: it refuses a path a live server answers on, whose memory file
        // must not be replaced either.
        let listening = try OwnerOnlyListener(path: socketPath, backlog: 8)
        unlink(memoryPath)
        let fd = open(memoryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            listening.close()
            throw .system(path: memoryPath, call: "open", errno: code)
        }
        guard ftruncate(fd, off_t(Self.memoryBytes)) == 0,
              let mapped = mmap(nil, Self.memoryBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            let code = errno
            close(fd)
            unlink(memoryPath)
            listening.close()
            throw .system(path: memoryPath, call: "mmap", errno: code)
        }
        memoryFD = fd
        memory = mapped
        listener = listening
        running = true
        let thread = Thread { [self] in serve() }
        thread.name = "sensehat-kernel"
        thread.start()
    }

    /// Stops serving and removes the socket and the memory file.
    public func stop() {
        guard lock.withLock({ running }) else { return }
        listener?.wake()
        finished.wait()
        lock.withLock {
            for client in joystickClients { close(client) }
            joystickClients.removeAll()
            listener?.close()
            listener = nil
            if let memory { munmap(memory, Self.memoryBytes) }
            memory = nil
            close(memoryFD)
            unlink(memoryPath)
            running = false
        }
    }

    // MARK: joystick

    /// The ATtiny88's interrupt line rose: read KEYS as sensehat-joystick does and report
    /// what changed. Call with the bus in hand (the caller holds the I²C server's lock,
    /// as `world.apply` runs inside `withBus`).
    public func joystickInterrupt(bus: any I2CBus, at instant: Instant) {
        guard let now = try? bus.readRegister(ATtiny88Register.address, ATtiny88Register.keys) else { return }
        lock.withLock {
            let changed = (now ^ keys) & 0x1F
            keys = now
            guard changed != 0 else { return }
            var events: [UInt8] = []
            for bit in 0..<5 where changed & (1 << bit) != 0 {
                let pressed = now & (1 << bit) != 0
                events += Self.inputEvent(at: instant, type: 1, code: EventDeviceJoystick.keyCodes[bit].code, value: pressed ? 1 : 0)
                // The repeat timer runs on the server's clock; any release stops it.
                repeating = pressed ? (bit, clock.now + Self.repeatDelay) : nil
            }
            events += Self.inputEvent(at: instant, type: 0, code: 0, value: 0)
            broadcast(events)
        }
    }

    /// The input core's auto-repeat timer: the held key again, with value 2.
    private func repeatHeldKey() {
        lock.withLock {
            let instant = clock.now
            guard let (bit, due) = repeating, instant >= due else { return }
            repeating = (bit, max(due + Self.repeatPeriod, instant))  // re-armed from now after a stall, never a burst
            broadcast(Self.inputEvent(at: instant, type: 1, code: EventDeviceJoystick.keyCodes[bit].code, value: 2)
                + Self.inputEvent(at: instant, type: 0, code: 0, value: 0))
        }
    }

    /// One `struct input_event` in the 64-bit layout: timeval (two 64-bit fields), type,
    /// code, value; little-endian, as on x86-64 and a 64-bit Pi.
    static func inputEvent(at instant: Instant, type: UInt16, code: UInt16, value: Int32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        let nanoseconds = instant.nanosecondsSinceEpoch
        let seconds = UInt64(bitPattern: nanoseconds / 1_000_000_000)
        let microseconds = UInt64(bitPattern: (nanoseconds % 1_000_000_000) / 1000)
        for value in [seconds, microseconds] { for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
        for value in [type, code] { out.append(UInt8(truncatingIfNeeded: value)); out.append(UInt8(truncatingIfNeeded: value >> 8)) }
        let bits = UInt32(bitPattern: value)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        return out
    }

    /// Sends `events` to every joystick reader without blocking (caller holds `lock`); a
    /// reader whose buffer is full misses them, one that hung up is dropped.
    private func broadcast(_ events: [UInt8]) {
        var keep: [Int32] = []
        for client in joystickClients {
            let sent = events.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                close(client)
                continue
            }
            if sent == events.count { eventsSent += events.count / 24 }
            keep.append(client)
        }
        joystickClients = keep
    }

    // MARK: framebuffer

    /// The deferred I/O: sends the frame when the memory or the gamma changed.
    private func refreshFrame() {
        guard let memory else { return }
        let current = [UInt8](UnsafeRawBufferPointer(start: memory, count: Self.memoryBytes))
        let transfer: [UInt8]? = lock.withLock {
            guard current != lastMemory || gammaChanged else { return nil }
            lastMemory = current
            gammaChanged = false
            return RPiSenseFramebuffer.frameTransfer(memory: current, gamma: gamma)
        }
        guard let transfer else { return }
        let sent = i2c.withBus { bus in (try? bus.transfer(address: ATtiny88Register.address, write: transfer, readCount: 0)) != nil }
        if sent { lock.withLock { framesWritten += 1 } }
    }

    /// One framebuffer ioctl; the reply bytes.
    private func ioctlReply(op: UInt8, argument: [UInt8]) -> [UInt8] {
        func status(_ code: Int32) -> [UInt8] { withUnsafeBytes(of: code.littleEndian) { Array($0) } }
        return lock.withLock {
            switch op {
            case 0: return status(0) + gamma
            case 1:
                gammaUser = argument
                gamma = gammaUser
                gammaChanged = true
                return status(0)
            case 2:
                let table = UInt32(argument[0]) | UInt32(argument[1]) << 8 | UInt32(argument[2]) << 16 | UInt32(argument[3]) << 24
                switch table {
                case 0: gamma = RPiSenseFramebuffer.gammaDefault
                case 1: gamma = RPiSenseFramebuffer.gammaLow
                case 2: gamma = gammaUser
                default: return status(EINVAL)
                }
                gammaChanged = true
                return status(0)
            default:
                return status(EINVAL)
            }
        }
    }

    // MARK: serving thread

    private enum ClientKind { case unknown, framebuffer, joystick }

    private struct Client {
        let fd: Int32
        var kind: ClientKind = .unknown
        var buffer: [UInt8] = []
    }

    private func serve() {
        defer { finished.signal() }
        var clients: [Client] = []
        defer { for client in clients where client.kind != .joystick { close(client.fd) } }
        guard let listener = lock.withLock({ listener }) else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        // The frame tick paces poll(2), whose timeout is real time whatever `clock` is.
        let pacing = ContinuousClock()
        var nextFrame = pacing.now
        while true {
            refreshFrame()
            repeatHeldKey()
            nextFrame = nextFrame + Self.frameInterval
            var fds = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: listener.wakeFD, events: Int16(POLLIN), revents: 0)]
            fds += clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let waitMilliseconds = max(0, Int32((nextFrame - pacing.now).secondsValue * 1000))
            let ready = poll(&fds, nfds_t(fds.count), waitMilliseconds)
            if ready < 0 && errno != EINTR { return }
            if ready <= 0 { continue }
            if fds[1].revents != 0 { return }
            var keep: [Client] = []
            for (offset, var client) in clients.enumerated() {
                guard fds[offset + 2].revents != 0 else { keep.append(client); continue }
                let count = chunk.withUnsafeMutableBytes { read(client.fd, $0.baseAddress, $0.count) }
                if count <= 0 && !(count < 0 && errno == EINTR) {
                    drop(client)
                    continue
                }
                if count > 0 { client.buffer += chunk[0..<count] }
                if handle(&client) { keep.append(client) } else { drop(client) }
            }
            clients = keep
            if fds[0].revents != 0 {
                let fd = accept(listener.fd, nil, nil)
                if fd >= 0 {
                    _ = OwnerOnlyListener.setCloseOnExec(fd)
                    clients.append(Client(fd: fd))
                }
            }
        }
    }

    private func drop(_ client: Client) {
        if client.kind == .joystick {
            lock.withLock { joystickClients.removeAll { $0 == client.fd } }
        }
        close(client.fd)
    }

    /// Acts on what a client sent; false when it is to be dropped.
    private func handle(_ client: inout Client) -> Bool {
        while !client.buffer.isEmpty {
            switch client.kind {
            case .unknown:
                let selector = client.buffer.removeFirst()
                switch selector {
                case UInt8(ascii: "F"):
                    client.kind = .framebuffer
                    let path = Array(memoryPath.utf8)
                    var reply = withUnsafeBytes(of: Int32(0).littleEndian) { Array($0) }
                    reply += [UInt8(truncatingIfNeeded: path.count), UInt8(truncatingIfNeeded: path.count >> 8)] + path
                    guard socketSendAll(client.fd, reply) else { return false }
                case UInt8(ascii: "J"):
                    client.kind = .joystick
                    let fd = client.fd
                    lock.withLock { joystickClients.append(fd) }
                default:
                    return false
                }
            case .joystick:
                client.buffer.removeAll()  // injected events are not taken
            case .framebuffer:
                let op = client.buffer[0]
                let needed = op == 1 ? 33 : op == 2 ? 5 : 1
                guard client.buffer.count >= needed else { return true }
                let argument = Array(client.buffer[1..<needed])
                client.buffer.removeFirst(needed)
                guard socketSendAll(client.fd, ioctlReply(op: op, argument: argument)) else { return false }
            }
        }
        return true
    }
}
