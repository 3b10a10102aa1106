import Glibc
import HubCore

/// The real clock: wall time for instants, monotonic time for waiting.
///
/// Instants are wall time because payload timestamps are seconds since the epoch; sleeps
/// use the monotonic clock so an NTP step cannot make the hub sleep for an hour. A
/// `timeScale` above 1 runs a simulated world faster than life (`hub run --backend sim`);
/// instants then advance `timeScale` times faster than the wall clock from `origin`.
public final class LiveClock: HubClock, Sendable {
    public let origin: Instant
    private let monotonicOrigin: Int64
    public let timeScale: Int64

    public init(timeScale: Int64 = 1) {
        precondition(timeScale >= 1, "time scale must be at least 1")
        self.timeScale = timeScale
        origin = Instant(nanosecondsSinceEpoch: Self.read(CLOCK_REALTIME))
        monotonicOrigin = Self.read(CLOCK_MONOTONIC)
    }

    public var now: Instant {
        Instant(nanosecondsSinceEpoch: origin.nanosecondsSinceEpoch + (Self.read(CLOCK_MONOTONIC) - monotonicOrigin) * timeScale)
    }

    /// Real time to wait until the clock reads `instant` (zero if it already has).
    public func realDelay(until instant: Instant) -> Duration {
        let ahead = instant.nanosecondsSinceEpoch - now.nanosecondsSinceEpoch
        return ahead <= 0 ? .zero : .nanoseconds(ahead / timeScale)
    }

    static func read(_ id: clockid_t) -> Int64 {
        var spec = timespec()
        clock_gettime(id, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
