import Glibc
import HubCore
import HubKernel
import Synchronization

/// A `CompletionSink` any thread may post to; the live loop takes what was posted on its
/// own thread (`take`), so port threads never touch the loop's queue. A post also writes a
/// byte to a pipe, so a loop waiting for its next timer (`wait`) wakes at once for a PUBACK.
public final class CompletionInbox: CompletionSink, Sendable {
    private let posted = Mutex<[(PortCompletion, Instant)]>([])
    private let pipe: WakePipe

    public init() {
        guard let pipe = WakePipe.make() else { preconditionFailure("pipe: \(String(cString: strerror(errno)))") }
        self.pipe = pipe
    }

    deinit { pipe.close() }

    public func complete(_ completion: PortCompletion, at instant: Instant) {
        let wasEmpty = posted.withLock { posted in
            posted.append((completion, instant))
            return posted.count == 1
        }
        // One wake-up byte per batch: the reader takes everything posted when it wakes.
        guard wasEmpty else { return }
        pipe.wake()
    }

    /// Posts a batch under one lock and at most one wake-up byte (a port thread's PUBACKs of one turn).
    public func complete(contentsOf completions: [PortCompletion], at instant: Instant) {
        guard !completions.isEmpty else { return }
        let wasEmpty = posted.withLock { posted in
            let wasEmpty = posted.isEmpty
            for completion in completions { posted.append((completion, instant)) }
            return wasEmpty
        }
        guard wasEmpty else { return }
        pipe.wake()
    }

    /// Wakes a waiting loop without a completion (another thread has work for its turn).
    public func wake() { pipe.wake() }

    /// Everything posted so far, in posting order.
    public func take() -> [(PortCompletion, Instant)] {
        // Drain the wake-up bytes before taking: a post after this point writes a new byte.
        pipe.drain()
        return posted.withLock { posted in
            defer { posted.removeAll(keepingCapacity: true) }
            return posted
        }
    }

    /// Waits up to `timeout` for a post (returns at once if one is waiting).
    public func wait(_ timeout: Duration) {
        var descriptor = pollfd(fd: pipe.readFD, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: max(0, (timeout.nanoseconds + 999_999) / 1_000_000))
        _ = poll(&descriptor, 1, milliseconds)
    }
}
