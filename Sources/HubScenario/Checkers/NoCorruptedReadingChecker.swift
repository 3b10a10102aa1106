import HubCore

/// Proves every accepted reading lies within the sensor's noise of what its chip really
/// converted (`sim.truth` in the history): a flipped bit, a misread calibration or a torn
/// burst that got past the drivers fails it. A run with nothing to compare fails too.
final class NoCorruptedReadingChecker: HistoryChecker {
    /// Truth kept per device and channel: the latest few conversions, enough to find the
    /// one at or before a reading's sampling instant while memory stays flat.
    static let truthDepth = 64

    private struct TruthRing {
        var entries: [(time: Instant, value: Double)] = []
        var next = 0

        mutating func append(_ time: Instant, _ value: Double) {
            if entries.count < NoCorruptedReadingChecker.truthDepth {
                entries.append((time, value))
            } else {
                entries[next] = (time, value)
                next = (next + 1) % entries.count
            }
        }

        /// The latest conversion at or before `instant`.
        func latest(atOrBefore instant: Instant) -> Double? {
            var best: (time: Instant, value: Double)?
            for entry in entries where entry.time <= instant && entry.time >= (best?.time ?? entry.time) { best = entry }
            return best?.value
        }
    }

    private let context: CheckContext
    private let channels: [Channel] = [.temperature, .humidity, .pressure]
    /// Indexed by device (context order), then by `channels`.
    private var truth: [[TruthRing]]
    private var checked = 0
    private var worst: (excess: Double, text: String)?

    init(_ context: CheckContext) {
        self.context = context
        truth = context.devices.map { _ in [TruthRing](repeating: TruthRing(), count: 3) }
    }

    /// Per channel: how far a reading may sit from the truth its chip converted — 6σ of the
    /// chip's noise, a count of its resolution, the unit's offset and the reading's rounding.
    static func tolerance(_ channel: Channel) -> Double {
        switch channel {
        case .temperature: 0.25
        case .humidity: 1.0
        case .pressure: 0.3
        case .vibration, .dutyCycles, .referenceTemperature: .infinity
        }
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .sensorTruth(let device, _, let values):
            guard let d = context.devices.firstIndex(of: device) else { return }
            for (channel, value) in values {
                if let c = channels.firstIndex(of: channel) { truth[d][c].append(time, value) }
            }
        case .busPublish(_, _, .reading(let reading)):
            guard let d = context.devices.firstIndex(of: reading.device) else { return }
            for (channel, value) in reading.values {
                guard let c = channels.firstIndex(of: channel), let expected = truth[d][c].latest(atOrBefore: reading.timestamp) else { continue }
                checked += 1
                let excess = abs(value - expected) - Self.tolerance(channel)
                if excess > 0, excess > (worst?.excess ?? 0) {
                    worst = (excess, "\(reading.device) \(channel) \(value) at \(context.offset(time)), truth \(TextFormat.fixed(expected, decimals: 2))")
                }
            }
        default:
            break
        }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        if let worst { return (false, "corrupted reading accepted: \(worst.text)") }
        if checked == 0 { return (false, "no reading could be compared with what its chip converted: nothing to check") }
        return (true, "\(checked) channel values within tolerance of what the chips converted")
    }
}
