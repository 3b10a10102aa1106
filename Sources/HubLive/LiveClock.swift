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

    /// A clock that reads what another process's clock reads: the same origin, the same
    /// monotonic reference (CLOCK_MONOTONIC is one clock for every process of the machine)
    /// and the same scale. A live scenario run gives its hub child this one.
    public init(timeScale: Int64, origin: Instant, monotonicOrigin: Int64) {
        precondition(timeScale >= 1, "time scale must be at least 1")
        self.timeScale = timeScale
        self.origin = origin
        self.monotonicOrigin = monotonicOrigin
    }

    /// A clock that reads `origin` now and runs `timeScale` times faster than real time
    /// (a live scenario run's: the scenario's start, from the moment the rig begins).
    public convenience init(timeScale: Int64, origin: Instant) {
        self.init(timeScale: timeScale, origin: origin, monotonicOrigin: Self.read(CLOCK_MONOTONIC))
    }

    /// The environment variable through which a rig hands its clock to the hub it starts
    /// (and the hub to the component processes it starts, which inherit its environment).
    public static let environmentName = "HUBRIG_CLOCK"

    /// This clock as `HUBRIG_CLOCK` spells it: `SCALE@WALL_NS/MONOTONIC_NS`.
    public var environmentValue: String { "\(timeScale)@\(origin.nanosecondsSinceEpoch)/\(monotonicOrigin)" }

    /// The real clock, or the rig's if `HUBRIG_CLOCK` is set; a malformed value is an error
    /// naming the variable, never a silently real clock.
    public static func fromEnvironment(_ environment: [String: String]) throws(LiveClockError) -> LiveClock {
        guard let text = environment[environmentName] else { return LiveClock() }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        let origins = parts.count == 2 ? parts[1].split(separator: "/", omittingEmptySubsequences: false) : []
        guard parts.count == 2, origins.count == 2, let scale = Int64(parts[0]), let wall = Int64(origins[0]), let monotonic = Int64(origins[1]) else {
            throw LiveClockError("\(environmentName)=\(text.debugDescription): expected SCALE@WALL_NS/MONOTONIC_NS (integers)")
        }
        // The poll interval bounds the scale further (`HubRunLimits`, checked with the config).
        guard scale >= 1 else { throw LiveClockError("\(environmentName): scale \(scale) must be at least 1") }
        let now = read(CLOCK_MONOTONIC)
        guard wall > 0, monotonic > 0, monotonic <= now else {
            throw LiveClockError("\(environmentName): origins must be positive and the monotonic one not in the future (now \(now))")
        }
        return LiveClock(timeScale: scale, origin: Instant(nanosecondsSinceEpoch: wall), monotonicOrigin: monotonic)
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

/// `HUBRIG_CLOCK` could not be read.
public struct LiveClockError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
