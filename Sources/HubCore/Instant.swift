/// A point in hub time: nanoseconds since the Unix epoch.
///
/// The hub never reads a clock itself; shells hand it an `Instant` with every event. In
/// simulation that instant is virtual, on a Pi it comes from the system clock. Integer
/// nanoseconds keep arithmetic exact, so the same scenario always yields the same times.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    public init(secondsSinceEpoch seconds: Int64) {
        self.nanosecondsSinceEpoch = seconds * 1_000_000_000
    }

    /// Seconds since the epoch as a floating-point number (for physics and display only).
    public var secondsSinceEpoch: Double { Double(nanosecondsSinceEpoch) / 1e9 }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanosecondsSinceEpoch: lhs.nanosecondsSinceEpoch + rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanosecondsSinceEpoch: lhs.nanosecondsSinceEpoch - rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanosecondsSinceEpoch - rhs.nanosecondsSinceEpoch)
    }

    public var description: String { JSONText.timestamp(self, decimals: 6) }
}

extension Duration {
    /// The duration in whole nanoseconds (sub-nanosecond parts are dropped).
    ///
    /// From the 128-bit attosecond count, not `components`: both truncate towards zero, so
    /// they agree, and `components` divides twice in software (190 instructions against 37).
    /// Every `Instant ± Duration` comes here — a simulated day does it hundreds of thousands of times.
    public var nanoseconds: Int64 {
        Int64(attoseconds / 1_000_000_000)
    }

    /// The duration in seconds as a floating-point number (for physics only).
    public var secondsValue: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// A source of the current instant, for shells; state machines get `now` passed in.
public protocol HubClock: AnyObject {
    var now: Instant { get }
}
