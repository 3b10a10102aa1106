import HubCore

/// Proves a property of what the cloud holds once it has de-duplicated on the message
/// id, judged from the readings inside the telemetry it received (`cloud.content`):
/// `noDuplicate` — no reading (device and timestamp) came again under another id, a
/// resend de-duplication cannot remove; `perDeviceOrder` — each device's readings first
/// arrived in their own time order. There must be readings to judge.
///
/// Memory stays bounded over a run of any length: message ids end in the hub's rising
/// sequence, so the ids seen are a watermark (every sequence up to it seen) plus the few
/// seen above it; and a device's timestamps rise, so a repeat can only be one of its
/// recent ones (the last `recentMax` are kept).
final class CloudContentChecker: HistoryChecker {
    enum Property { case noDuplicate, perDeviceOrder }

    static let recentMax = 4096

    private let context: CheckContext
    private let property: Property
    private var watermark: Int64 = 0
    private var above: Set<Int64> = []
    private var unique = 0
    private var duplicates = 0
    private var devices: [String: Track] = [:]
    private var first: (at: Instant, text: String)?
    private var violations = 0

    init(_ context: CheckContext, property: Property) {
        self.context = context
        self.property = property
    }

    /// Whether the message id is seen for the first time (its sequence not yet seen).
    private func isNew(_ id: String) -> Bool {
        guard let sequence = MessageID.sequence(of: id) else { return true }
        guard sequence > watermark, !above.contains(sequence) else { return false }
        above.insert(sequence)
        while above.remove(watermark + 1) != nil { watermark += 1 }
        return true
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard case .cloudContent(let topic, let readings) = event, topic.name.hasSuffix("/telemetry") else { return }
        var fresh: Set<String> = []
        for reading in readings {
            // A message carries several readings: its id is new for all of them or none.
            guard fresh.contains(reading.messageID) || isNew(reading.messageID) else {
                duplicates += 1
                continue
            }
            fresh.insert(reading.messageID)
            unique += 1
            // Mutated in place: a copy of the track would copy its set on every reading.
            let (repeated, latest) = devices[reading.device, default: Track()].record(reading.timestamp)
            switch property {
            case .noDuplicate:
                if repeated {
                    violate(time, "\(reading.device)'s reading of \(reading.timestamp) came again in \(reading.messageID)")
                }
            case .perDeviceOrder:
                if reading.timestamp <= latest {
                    violate(time, "\(reading.device)'s reading of \(reading.timestamp) (\(reading.messageID)) arrived after its reading of \(latest)")
                }
            }
        }
    }

    /// One device's latest timestamp and its last `recentMax` distinct ones (a ring).
    private struct Track {
        var latest = -Double.infinity
        var recent: [Double] = []
        var oldest = 0
        var recentSet: Set<Double> = []

        /// Records a timestamp: whether it is one of the recent ones, and the latest before it.
        mutating func record(_ timestamp: Double) -> (repeated: Bool, latest: Double) {
            let before = latest
            latest = max(latest, timestamp)
            guard recentSet.insert(timestamp).inserted else { return (true, before) }
            if recent.count < CloudContentChecker.recentMax {
                recent.append(timestamp)
            } else {
                recentSet.remove(recent[oldest])
                recent[oldest] = timestamp
                oldest = (oldest + 1) % CloudContentChecker.recentMax
            }
            return (false, before)
        }
    }

    private func violate(_ time: Instant, _ text: String) {
        violations += 1
        if first == nil { first = (time, text) }
    }

    var violationAt: Instant? { first?.at }

    func verdict() -> (passed: Bool, evidence: String) {
        guard unique > 0 else { return (false, "the cloud received no readings, so none could repeat or reorder: nothing to check") }
        let counts = "\(unique) readings of \(devices.count) device\(devices.count == 1 ? "" : "s") after de-duplication (\(duplicates) copies by id dropped)"
        if let first {
            return (false, "\(counts); \(violations) \(property == .noDuplicate ? "repeated under a new id" : "out of order"), first at \(context.offset(first.at)): \(first.text)")
        }
        return (true, property == .noDuplicate ? "\(counts); each reading once" : "\(counts); each device's readings in time order")
    }
}
