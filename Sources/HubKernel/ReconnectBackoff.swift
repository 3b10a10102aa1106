import HubCore

/// When to try the broker again after a failed or lost connection.
///
/// Exponential backoff with jitter: the n-th retry in a row waits a delay drawn uniformly
/// from [½, 1] × min(`maximum`, `initial` × 2ⁿ), so a fleet of hubs that lost one broker
/// does not come back in lock-step, and a broker that refuses the credentials is asked at
/// most about once a `maximum`, never in a tight loop. A connection that stays up resets
/// it. Randomness is injected, so tests pin the sequence.
public struct ReconnectBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var failures = 0
    private var random: SeededRandom

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60), random: SeededRandom) {
        precondition(initial > .zero && maximum >= initial, "0 < initial ≤ maximum")
        self.initial = initial
        self.maximum = maximum
        self.random = random
    }

    /// Retries in a row so far.
    public var attempts: Int { failures }

    /// The wait before the next attempt, after a failure.
    public mutating func nextDelay() -> Duration {
        var ceiling = initial
        for _ in 0..<min(failures, 62) where ceiling < maximum { ceiling = min(maximum, ceiling * 2) }
        failures += 1
        let nanoseconds = Double(ceiling.nanoseconds) * random.nextDouble(in: 0.5...1)
        return .nanoseconds(Int64(nanoseconds))
    }

    /// The connection is up: the next failure starts from `initial` again.
    public mutating func reset() { failures = 0 }
}
