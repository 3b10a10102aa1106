import HubCore

/// When bytes that crossed a link may go out the other side: the fault proxy's latency,
/// jitter and bandwidth limit, one direction of one connection.
///
/// Why apart from the proxy's sockets: the timing rules are the whole of these faults, and
/// here they are tested with an injected clock and random stream, no socket and no sleep.
/// Rules: a chunk that arrived at `t` is due at `t + latency + U(0, jitter)`, but never
/// before the chunk ahead of it (a TCP stream keeps its order); with a bandwidth limit the
/// link sends one chunk at a time at `bytesPerSecond`, so a chunk is also due no earlier
/// than the previous one's due time plus its own transmission time.
public struct LinkShaper: Sendable {
    public var latency: Duration = .zero
    public var jitter: Duration = .zero
    /// nil: unlimited.
    public var bytesPerSecond: Int?
    private var lastDue: Instant?

    public init() {}

    /// The instant `count` bytes that arrived at `arrived` may be sent on.
    public mutating func due(count: Int, arrived: Instant, random: inout some RandomSource) -> Instant {
        precondition(count >= 0 && latency >= .zero && jitter >= .zero)
        var due = arrived + latency
        if jitter > .zero { due = due + .nanoseconds(Int64(random.nextDouble() * Double(jitter.nanoseconds))) }
        if let lastDue, lastDue > due { due = lastDue }
        if let rate = bytesPerSecond {
            precondition(rate > 0, "a bandwidth limit is positive")
            due = due + .nanoseconds(Int64(count) * 1_000_000_000 / Int64(rate))
        }
        lastDue = due
        return due
    }
}
