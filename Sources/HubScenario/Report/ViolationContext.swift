import HubCore

/// Keeps the event log lines around given instants: what a failed check prints so that a
/// reader sees what happened at the violation without opening the whole log.
///
/// Why a replay fills it rather than every run: a run does not know which instants matter
/// until its checkers give their verdicts at the end, and encoding every event of every
/// run of a sweep to keep a window would cost more than the simulation. Runs are
/// deterministic, so the sweep replays a failed seed with the instants its checkers
/// named. Per instant it keeps the `before` events at or before it and the `after`
/// events following it; `sim.truth` lines (the chips' own conversions) are left out.
final class ViolationContext {
    static let before = 8
    static let after = 4
    /// A line longer than this is cut (a batch's id list runs to kilobytes).
    static let lineLengthMax = 240

    private struct Window {
        let at: Instant
        var lines: [[UInt8]] = []
        var afterCount = 0
    }

    private var windows: [Window]
    private var json = JSONWriter(capacity: 512)

    init(around instants: [Instant]) {
        windows = Array(Set(instants)).sorted().map { Window(at: $0) }
    }

    var isDone: Bool { windows.allSatisfy { $0.afterCount >= Self.after } }

    func observe(_ event: HistoryEvent, at time: Instant) {
        if case .sensorTruth = event { return }
        var line: [UInt8]?
        for index in windows.indices where windows[index].afterCount < Self.after {
            if line == nil {
                json.removeAll()
                event.write(at: time, to: &json)
                line = json.bytes
            }
            if time <= windows[index].at {
                windows[index].lines.append(line!)
                if windows[index].lines.count > Self.before { windows[index].lines.removeFirst() }
            } else {
                windows[index].lines.append(line!)
                windows[index].afterCount += 1
            }
        }
    }

    /// The lines kept around `instant` (one of those given), in time order.
    func lines(around instant: Instant) -> [String] {
        windows.first { $0.at == instant }?.lines.map { line in
            let text = String(decoding: line, as: UTF8.self)
            return text.count <= Self.lineLengthMax ? text : String(text.prefix(Self.lineLengthMax - 1)) + "…"
        } ?? []
    }
}
