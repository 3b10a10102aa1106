import HubCore

/// Proves that nothing `device` measured after `after` reached the cloud: a kit the hub
/// shut out (revoked, expired) stays out, whatever slips through its open connection.
/// Judged from the readings inside the telemetry the cloud received (`cloud.content`), by
/// each reading's own timestamp. It cannot pass on silence: other readings taken after
/// `after` must have reached the cloud, so the link was carrying telemetry.
final class NoReadingsFromChecker: HistoryChecker {
    private let context: CheckContext
    private let device: String
    private let from: Double
    private var others = 0
    private var before = 0
    private var first: (at: Instant, text: String)?
    private var violations = 0

    init(_ context: CheckContext, device: DeviceID, after: Duration) {
        self.context = context
        self.device = device.rawValue
        from = (context.start + after).secondsSinceEpoch
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard case .cloudContent(let topic, let readings) = event, topic.name.hasSuffix("/telemetry") else { return }
        for reading in readings {
            if reading.device != device {
                if reading.timestamp > from { others += 1 }
            } else if reading.timestamp > from {
                violations += 1
                if first == nil {
                    first = (time, "its reading of \(context.offset(Instant(nanosecondsSinceEpoch: Int64(reading.timestamp * 1e9)))) in \(reading.messageID)")
                }
            } else {
                before += 1
            }
        }
    }

    var violationAt: Instant? { first?.at }

    func verdict() -> (passed: Bool, evidence: String) {
        let cut = context.offset(Instant(nanosecondsSinceEpoch: Int64(from * 1e9)))
        if let first {
            return (false, "\(violations) of \(device)'s readings taken after \(cut) reached the cloud, the first at \(context.offset(first.at)): \(first.text)")
        }
        guard others > 0 else {
            return (false, "the cloud received no other device's readings taken after \(cut): a silent link proves nothing about \(device)")
        }
        return (true, "none of \(device)'s readings taken after \(cut) reached the cloud (\(before) before it did; \(others) of other devices after it)")
    }
}
