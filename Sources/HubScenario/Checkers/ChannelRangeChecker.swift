import HubCore

/// Proves every reading of the device that carries `channel` keeps it within range, and
/// that some did: a channel nobody published passes nothing.
final class ChannelRangeChecker: HistoryChecker {
    private let context: CheckContext
    private let device: DeviceID
    private let channel: Channel
    private let range: ClosedRange<Double>
    private var count = 0
    private var lowest = Double.infinity
    private var highest = -Double.infinity
    private var outside: (time: Instant, value: Double)?

    init(_ context: CheckContext, device: DeviceID, channel: Channel, range: ClosedRange<Double>) {
        self.context = context
        self.device = device
        self.channel = channel
        self.range = range
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard let reading = event.reading, reading.device == device, let value = reading.values[channel] else { return }
        count += 1
        lowest = min(lowest, value)
        highest = max(highest, value)
        if outside == nil, !range.contains(value) { outside = (time, value) }
    }

    var violationAt: Instant? { outside?.time }

    func verdict() -> (passed: Bool, evidence: String) {
        guard count > 0 else { return (false, "no \(device) reading carries \(channel)") }
        let span = "\(count) readings, \(channel) \(lowest)…\(highest) \(channel.unit)"
        if let outside { return (false, "\(span); first outside: \(outside.value) at \(context.offset(outside.time))") }
        return (true, span)
    }
}
