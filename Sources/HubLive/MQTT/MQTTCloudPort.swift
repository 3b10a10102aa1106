import Glibc
import HubCore
import HubKernel
import Synchronization

/// The cloud port over MQTT: each cloud message is a QoS 1 publish, acknowledged to the
/// uplink when its PUBACK arrives.
///
/// libmosquitto's thread never touches hub state: PUBACKs and connection changes become
/// `PortCompletion`s posted to a thread-safe `CompletionSink` (the live shell's
/// `CompletionInbox`), which the hub's loop takes in on its own thread. A PUBACK can arrive
/// before `mosquitto_publish` has returned the message id it belongs to; such an early
/// acknowledgement is held until the id is known, so none is lost.
public final class MQTTCloudPort: CloudPort, Sendable {
    private struct Books {
        var messageIDs: [Int32: String] = [:]
        var earlyAcknowledgements: Set<Int32> = []
    }

    public let client: MosquittoClient
    private let books = Mutex(Books())
    private let completions: any CompletionSink & Sendable
    private let clock: LiveClock

    public init(settings: MQTTSettings, random: SeededRandom, clock: LiveClock,
                completions: any CompletionSink & Sendable) throws(MQTTError) {
        self.clock = clock
        self.completions = completions
        let relay = EventRelay()
        client = try MosquittoClient(settings: settings, random: random) { event in relay.port?.hear(event) }
        relay.port = self
    }

    /// Connects, and keeps reconnecting, on the client's thread.
    public func start() { client.start() }

    public func stop() { client.stop() }

    public func send(_ message: CloudMessage, at time: Instant) {
        do throws(MQTTError) {
            let mid = try client.publish(topic: message.topic.name, payload: message.payload)
            let early = books.withLock { books -> Bool in
                if books.earlyAcknowledgements.remove(mid) != nil { return true }
                books.messageIDs[mid] = message.messageID
                return false
            }
            if early { completions.complete(.cloud(.acknowledged(messageID: message.messageID)), at: clock.now) }
        } catch {
            completions.complete(.cloud(.failed(messageID: message.messageID, reason: error.description)), at: time)
        }
    }

    /// On the client's thread.
    private func hear(_ event: MQTTEvent) {
        switch event {
        case .published(let mid):
            let id = books.withLock { books -> String? in
                guard let id = books.messageIDs.removeValue(forKey: mid) else {
                    books.earlyAcknowledgements.insert(mid)
                    return nil
                }
                return id
            }
            if let id { completions.complete(.cloud(.acknowledged(messageID: id)), at: clock.now) }
        case .connected:
            completions.complete(.cloud(.connection(up: true, reason: "connected to \(client.settings.host):\(client.settings.port)")), at: clock.now)
        case .connectFailed(let reason), .disconnected(let reason):
            completions.complete(.cloud(.connection(up: false, reason: reason)), at: clock.now)
        case .message:
            break  // Deployments are the supervisor's (a later issue); nothing subscribes to them yet.
        }
    }
}

/// Lets the client's callback reach the port that owns the client, set once after both exist.
private final class EventRelay: @unchecked Sendable {
    // @unchecked Sendable: `port` is written once, in the port's init, before the client's
    // thread starts (only `start` starts it), and only read afterwards.
    weak var port: MQTTCloudPort?
}

/// A `CompletionSink` any thread may post to; the live loop takes what was posted on its
/// own thread (`take`), so port threads never touch the loop's queue. A post also writes a
/// byte to a pipe, so a loop waiting for its next timer (`wait`) wakes at once for a PUBACK.
public final class CompletionInbox: CompletionSink, Sendable {
    private let posted = Mutex<[(PortCompletion, Instant)]>([])
    private let readFD: Int32
    private let writeFD: Int32

    public init() {
        var fds: [Int32] = [-1, -1]
        let rc = pipe(&fds)
        precondition(rc == 0, "pipe: \(String(cString: strerror(errno)))")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    public func complete(_ completion: PortCompletion, at instant: Instant) {
        let wasEmpty = posted.withLock { posted in
            posted.append((completion, instant))
            return posted.count == 1
        }
        // One wake-up byte per batch: the reader takes everything posted when it wakes.
        guard wasEmpty else { return }
        var one: UInt8 = 1
        _ = write(writeFD, &one, 1)  // a full pipe already wakes the reader
    }

    /// Everything posted so far, in posting order.
    public func take() -> [(PortCompletion, Instant)] {
        // Drain the wake-up bytes before taking: a post after this point writes a new byte.
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(readFD, $0.baseAddress, $0.count) }) == 64 {}
        return posted.withLock { posted in
            defer { posted.removeAll(keepingCapacity: true) }
            return posted
        }
    }

    /// Waits up to `timeout` for a post (returns at once if one is waiting).
    public func wait(_ timeout: Duration) {
        var descriptor = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: max(0, (timeout.nanoseconds + 999_999) / 1_000_000))
        _ = poll(&descriptor, 1, milliseconds)
    }
}
