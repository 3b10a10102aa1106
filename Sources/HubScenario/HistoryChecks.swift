import HubCore
import HubSim

/// The verdict on one expectation, with the evidence a reader needs to believe it.
public struct CheckResult: Sendable {
    public let expectation: Expectation
    public let passed: Bool
    public let evidence: String
}

/// Checks expectations against a finished simulation's whole history (Jepsen-style: after
/// the run, over everything recorded, not by peeking at the hub's internals).
public struct HistoryChecks {
    let simulation: Simulation
    let pollInterval: Duration

    public init(simulation: Simulation, pollInterval: Duration) {
        self.simulation = simulation
        self.pollInterval = pollInterval
    }

    var start: Instant { simulation.setup.start }
    var end: Instant { simulation.end }
    var devices: [DeviceID] { simulation.setup.hub.devices.map(\.id) }

    public func check(_ expectation: Expectation) -> CheckResult {
        let (passed, evidence): (Bool, String)
        switch expectation {
        case .readingsEveryPoll(let device):
            (passed, evidence) = readingsEveryPoll(device.map { [$0] } ?? devices)
        case .noAlert(let device):
            (passed, evidence) = noAlert(device)
        case .noReadingLost:
            (passed, evidence) = noReadingLost()
        case .alert(let device, let after, let within):
            (passed, evidence) = alert(device, from: start + after, to: start + after + within)
        case .health(let device, let state, let after, let within):
            (passed, evidence) = health(device, state, from: start + after, to: start + after + within)
        case .noCorruptedReading:
            (passed, evidence) = noCorruptedReading()
        case .channelRange(let device, let channel, let low, let high):
            (passed, evidence) = channelRange(device, channel, low...high)
        case .scroll(let prefix, let after, let within):
            (passed, evidence) = scroll(prefix, from: start + after, to: start + after + within)
        case .scrollCount(let count):
            let scrolls = self.scrolls
            (passed, evidence) = (scrolls.count == count,
                                  "\(scrolls.count) scroll(s)\(scrolls.isEmpty ? "" : ": " + scrolls.map { "\($0.1.debugDescription)@\(offset($0.0))" }.joined(separator: ", "))")
        case .led(let colour, let after, let within):
            if let after, let within {
                (passed, evidence) = led(colour, from: start + after, to: start + after + within)
            } else {
                let shown = simulation.display.currentFrame.uniformStatusName ?? "mixed"
                (passed, evidence) = (shown == colour, "LED shows \(shown) at the end")
            }
        }
        return CheckResult(expectation: expectation, passed: passed, evidence: evidence)
    }

    /// "+14h06m" style offsets from the run's start, for evidence lines.
    func offset(_ instant: Instant) -> String { "+" + DurationText.format(instant - start) }

    var anomalousAlerts: [(Instant, Alert)] {
        simulation.history.entries.compactMap { entry in
            if case .busPublish(_, _, .alert(let alert)) = entry.event, alert.state == .anomalous { return (entry.time, alert) }
            return nil
        }
    }

    private func readingsEveryPoll(_ targets: [DeviceID]) -> (Bool, String) {
        var times: [[Instant]] = targets.map { _ in [] }
        for entry in simulation.history.entries {
            if case .busPublish(_, _, .reading(let reading)) = entry.event, let index = targets.firstIndex(of: reading.device) {
                times[index].append(entry.time)
            }
        }
        // A reading may come a few retries late; half a poll interval of slack, no more.
        let slack = pollInterval / 2
        var failures: [String] = []
        var notes: [String] = []
        for (device, list) in zip(targets, times) {
            guard let first = list.first, let last = list.last else {
                failures.append("\(device): no readings")
                continue
            }
            var largestGap = first - start
            var worstAt = start
            for (previous, next) in zip(list, list.dropFirst()) where next - previous > largestGap {
                largestGap = next - previous
                worstAt = previous
            }
            if end - last > largestGap { largestGap = end - last; worstAt = last }
            let note = "\(device): \(list.count) readings, largest gap \(DurationText.format(largestGap))"
            if largestGap > pollInterval + slack {
                failures.append(note + " at \(offset(worstAt))")
            } else {
                notes.append(note)
            }
        }
        return failures.isEmpty ? (true, notes.joined(separator: "; ")) : (false, failures.joined(separator: "; "))
    }

    private func noAlert(_ device: DeviceID?) -> (Bool, String) {
        let alerts = anomalousAlerts.filter { device == nil || $0.1.device == device }
        guard let (time, first) = alerts.first else { return (true, "no anomaly alerts") }
        return (false, "\(alerts.count) anomaly alert(s); first: \(first.device) at \(offset(time)), score \(first.score)")
    }

    private func noReadingLost() -> (Bool, String) {
        var readings = 0
        var sent: [String] = []
        for entry in simulation.history.entries {
            switch entry.event {
            case .busPublish(_, _, .reading): readings += 1
            case .cloudSend(let topic, let id) where topic.name.hasSuffix("/telemetry"): sent.append(id)
            default: break
            }
        }
        let received = simulation.cloud.received.filter { $0.message.topic.name.hasSuffix("/telemetry") }.map(\.message.messageID)
        if sent.count != readings {
            return (false, "\(readings) readings published, \(sent.count) handed to the uplink")
        }
        if received != sent {
            let missing = sent.count - received.count
            let firstDiff = zip(sent, received).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(sent.count, received.count)
            return (false, "\(received.count) of \(sent.count) telemetry messages received (\(missing) missing); first difference at message #\(firstDiff + 1)")
        }
        return (true, "\(received.count) of \(readings) readings reached the cloud, in order, once each")
    }

    private func alert(_ device: DeviceID, from: Instant, to: Instant) -> (Bool, String) {
        let alerts = anomalousAlerts.filter { $0.1.device == device }
        if let hit = alerts.first(where: { $0.0 >= from && $0.0 <= to }) {
            return (true, "\(device) anomalous at \(offset(hit.0)), \(DurationText.format(hit.0 - from)) into the window")
        }
        if let first = alerts.first { return (false, "\(device) first anomalous at \(offset(first.0)), outside \(offset(from))…\(offset(to))") }
        return (false, "\(device) never declared anomalous")
    }

    private func channelRange(_ device: DeviceID, _ channel: Channel, _ range: ClosedRange<Double>) -> (Bool, String) {
        var count = 0
        var lowest = Double.infinity
        var highest = -Double.infinity
        var outside: (Instant, Double)?
        for entry in simulation.history.entries {
            guard case .busPublish(_, _, .reading(let reading)) = entry.event, reading.device == device,
                  let value = reading.values[channel] else { continue }
            count += 1
            lowest = min(lowest, value)
            highest = max(highest, value)
            if outside == nil, !range.contains(value) { outside = (entry.time, value) }
        }
        guard count > 0 else { return (false, "no \(device) reading carries \(channel)") }
        let span = "\(count) readings, \(channel) \(lowest)…\(highest) \(channel.unit)"
        if let (time, value) = outside { return (false, "\(span); first outside: \(value) at \(offset(time))") }
        return (true, span)
    }

    var scrolls: [(Instant, String)] {
        simulation.history.entries.compactMap { entry in
            if case .displayScroll(let text) = entry.event { return (entry.time, text) }
            return nil
        }
    }

    /// A scroll announced in the history whose frames the LED matrix model really received.
    private func scroll(_ prefix: String, from: Instant, to: Instant) -> (Bool, String) {
        guard let hit = scrolls.first(where: { $0.0 >= from && $0.0 <= to && $0.1.hasPrefix(prefix) }) else {
            return (false, "no scroll starting \(prefix.debugDescription) within \(offset(from))…\(offset(to))")
        }
        let frames = simulation.display.frames.filter { $0.time >= hit.0 && $0.time <= hit.0 + .seconds(60) && $0.frame.uniformStatusName == nil }
        guard !frames.isEmpty else { return (false, "scroll \(hit.1.debugDescription) announced but no text frame reached the LED matrix") }
        return (true, "\(hit.1.debugDescription) at \(offset(hit.0)), \(frames.count) text frames on the matrix")
    }

    private func health(_ device: DeviceID, _ state: HealthState, from: Instant, to: Instant) -> (Bool, String) {
        var reports: [(Instant, HealthReport)] = []
        for entry in simulation.history.entries {
            if case .busPublish(_, _, .health(let report)) = entry.event, report.device == device { reports.append((entry.time, report)) }
        }
        if let hit = reports.first(where: { $0.0 >= from && $0.0 <= to && $0.1.state == state }) {
            return (true, "\(device) \(state.rawValue) at \(offset(hit.0)): \(hit.1.detail)")
        }
        let seen = reports.map { "\($0.1.state.rawValue)@\(offset($0.0))" }.prefix(6).joined(separator: ", ")
        return (false, "\(device) not \(state.rawValue) within \(offset(from))…\(offset(to)); reports: \(seen.isEmpty ? "none" : seen)")
    }

    /// Per channel: how far a reading may sit from the truth its chip converted — 6σ of the
    /// chip's noise, a count of its resolution, the unit's offset and the reading's rounding.
    static func tolerance(_ channel: Channel) -> Double {
        switch channel {
        case .temperature: 0.25
        case .humidity: 1.0
        case .pressure: 0.3
        case .vibration, .dutyCycles: .infinity
        }
    }

    private func noCorruptedReading() -> (Bool, String) {
        var checked = 0
        var worst: (excess: Double, text: String)?
        for entry in simulation.history.entries {
            guard case .busPublish(_, _, .reading(let reading)) = entry.event,
                  let kit = simulation.world.kits.first(where: { $0.device.id == reading.device }) else { continue }
            for (channel, value) in reading.values {
                let truthLog = channel == .pressure ? kit.lps25h.truth : kit.hts221.truth
                guard let truth = Self.latest(truthLog, atOrBefore: reading.timestamp) else { continue }
                let expected: Double
                switch channel {
                case .temperature: expected = truth.temperature
                case .humidity: expected = truth.humidity
                case .pressure: expected = truth.pressure
                case .vibration, .dutyCycles: continue
                }
                checked += 1
                let excess = abs(value - expected) - Self.tolerance(channel)
                if excess > 0, excess > (worst?.excess ?? 0) {
                    worst = (excess, "\(reading.device) \(channel) \(value) at \(offset(entry.time)), truth \(Double(Int(expected * 100)) / 100)")
                }
            }
        }
        if let worst { return (false, "corrupted reading accepted: \(worst.text)") }
        return (true, "\(checked) channel values within tolerance of what the chips converted")
    }

    /// The last truth entry at or before `instant` (binary search; entries are in time order).
    static func latest(_ log: [(time: Instant, environment: SensorEnvironment)], atOrBefore instant: Instant) -> SensorEnvironment? {
        var low = 0
        var high = log.count
        while low < high {
            let mid = (low + high) / 2
            if log[mid].time <= instant { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : log[low - 1].environment
    }

    private func led(_ colour: String, from: Instant, to: Instant) -> (Bool, String) {
        var shownAtStart = "off"
        for (time, frame) in simulation.display.frames {
            if time <= from { shownAtStart = frame.uniformStatusName ?? "mixed"; continue }
            if time > to { break }
            if frame.uniformStatusName == colour { return (true, "LED \(colour) from \(offset(time))") }
        }
        if shownAtStart == colour { return (true, "LED already \(colour) at \(offset(from))") }
        return (false, "LED never \(colour) within \(offset(from))…\(offset(to))")
    }
}
