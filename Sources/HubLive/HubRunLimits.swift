import HubCore
import HubKernel

/// What `hub run` refuses before it starts, with the reason and the allowed range.
///
/// Kept out of the executable so the rules can be tested as functions and so the rig can
/// state the same limits. Every case is an input error (exit 2), never a trap further in.
public enum HubRunLimits {
    /// The shortest real time one poll may take at a `--time-scale`: the live shell is one
    /// thread that sleeps and wakes for every timer of a poll (data-ready retries every
    /// 20 ms of hub time, backoffs from 5 ms), and each wake-up costs real time the scaled
    /// clock multiplies. Measured on the development machine (debug build, 2 shared cores):
    /// full readings at every poll down to about 10 ms of real time per poll, half lost at
    /// 1 ms, none at 0.1 ms; the limit keeps a margin of 5.
    public static let realPollMin: Duration = .milliseconds(50)

    /// The largest time scale at which `pollInterval` lasts at least `realPollMin` of real time.
    public static func timeScaleMax(pollInterval: Duration) -> Int64 {
        max(1, pollInterval.nanoseconds / realPollMin.nanoseconds)
    }

    /// Checks a run's settings; the error names the option, the value and the allowed range.
    public static func validate(pollInterval: Duration, timeScale: Int64, deviceIDs: [DeviceID]) throws(HubRunLimitError) {
        try validate(pollInterval: pollInterval)
        let scaleMax = timeScaleMax(pollInterval: pollInterval)
        guard (1...scaleMax).contains(timeScale) else {
            throw .timeScaleOutOfRange(timeScale, max: scaleMax, pollInterval: pollInterval)
        }
        for (index, id) in deviceIDs.enumerated() where deviceIDs[..<index].contains(id) {
            throw .duplicateDevice(id)
        }
    }

    /// Checks a `--poll` on its own (`hubrig sim export` has no time scale or devices).
    public static func validate(pollInterval: Duration) throws(HubRunLimitError) {
        guard HubConfig.pollIntervals.contains(pollInterval) else { throw .pollOutOfRange(pollInterval) }
    }
}

/// A `hub run` setting outside what the hub can honour.
public enum HubRunLimitError: Error, Equatable, Sendable, CustomStringConvertible {
    case pollOutOfRange(Duration)
    case timeScaleOutOfRange(Int64, max: Int64, pollInterval: Duration)
    case duplicateDevice(DeviceID)

    public var description: String {
        switch self {
        case .pollOutOfRange(let poll):
            "--poll \(DurationText.format(poll)): the poll interval must be within \(DurationText.format(HubConfig.pollIntervals))"
        case .timeScaleOutOfRange(let scale, let max, let poll):
            "--time-scale \(scale): must be within 1...\(max) at --poll \(DurationText.format(poll)) "
                + "(a poll must last at least \(DurationText.format(HubRunLimits.realPollMin)) of real time, "
                + "or the hub cannot finish a sensor round before the next poll and publishes nothing)"
        case .duplicateDevice(let id):
            "--device: id '\(id)' is given twice (each device publishes on its own topic dt/local/sensor/<id>)"
        }
    }
}
