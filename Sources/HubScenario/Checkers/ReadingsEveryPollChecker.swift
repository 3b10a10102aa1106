import HubCore

/// Proves each device published a reading (complete or partial) at least every poll
/// interval, with half an interval of slack for retries — from the start to the end of the run.
final class ReadingsEveryPollChecker: HistoryChecker {
    private struct Track {
        var count = 0
        var last: Instant
        var largestGap: Duration = .zero
        var worstAt: Instant
    }

    private let context: CheckContext
    private let devices: [DeviceID]
    private var tracks: [Track]

    init(_ context: CheckContext, devices: [DeviceID]) {
        self.context = context
        self.devices = devices
        tracks = devices.map { _ in Track(last: context.start, worstAt: context.start) }
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard let reading = event.reading, let index = devices.firstIndex(of: reading.device) else { return }
        let gap = time - tracks[index].last
        if gap > tracks[index].largestGap {
            tracks[index].largestGap = gap
            tracks[index].worstAt = tracks[index].last
        }
        tracks[index].last = time
        tracks[index].count += 1
    }

    private(set) var violationAt: Instant?

    func verdict() -> (passed: Bool, evidence: String) {
        // A reading may come a few retries late; half a poll interval of slack, no more.
        let limit = context.pollInterval + context.pollInterval / 2
        var failures: [String] = []
        var notes: [String] = []
        for (device, var track) in zip(devices, tracks) {
            guard track.count > 0 else {
                failures.append("\(device): no readings")
                continue
            }
            if context.end - track.last > track.largestGap {
                track.largestGap = context.end - track.last
                track.worstAt = track.last
            }
            let note = "\(device): \(track.count) readings, largest gap \(DurationText.format(track.largestGap))"
            if track.largestGap > limit {
                if violationAt == nil { violationAt = track.worstAt }
                failures.append(note + " at \(context.offset(track.worstAt))")
            } else {
                notes.append(note)
            }
        }
        return failures.isEmpty ? (true, notes.joined(separator: "; ")) : (false, failures.joined(separator: "; "))
    }
}
