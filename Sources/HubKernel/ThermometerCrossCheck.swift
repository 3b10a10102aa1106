import HubCore

/// Compares a kit's two thermometers and says when they drift apart.
///
/// The HTS221 (±0.5 °C) gives the reading's temperature; the LPS25H's die thermometer
/// (±2 °C) sits on the same board in the same air. An appliance can heat or cool that air
/// but cannot move one thermometer without the other, so when their difference walks away
/// from its usual value a sensor is drifting, and any appliance alert drawn from that
/// temperature would be a false one. Every pair disagrees by an offset of its own (the two
/// calibrations, the die's self-heating), so the check learns the pair's usual difference
/// — the median over its first `learning` of paired samples — and from then on watches the
/// median difference over the last `window`: a departure beyond `limit` is a drift, cleared
/// again below half of it. A difference beyond `absoluteLimit` (more than both datasheet
/// accuracies allow) is a drift from the first full window on, so a kit installed with a
/// bad sensor is not learnt as normal. Medians, not means: a spike on either element
/// moves a mean, not a median.
///
/// Counted in samples at the poll interval; a poll without both values adds nothing, so
/// an outage pauses the check rather than feeding it.
public struct ThermometerCrossCheck: Sendable {
    /// The check's thresholds; `production` is what the hub runs with.
    public struct Settings: Sendable {
        public var learning: Duration
        public var window: Duration
        /// Departure from the usual difference that counts as a drift, in °C.
        public var limit: Double
        /// Difference that counts as a drift whatever was learnt, in °C.
        public var absoluteLimit: Double

        public init(learning: Duration, window: Duration, limit: Double, absoluteLimit: Double) {
            precondition(limit > 0 && absoluteLimit > limit, "0 < limit < absoluteLimit")
            self.learning = learning
            self.window = window
            self.limit = limit
            self.absoluteLimit = absoluteLimit
        }

        /// Two hours to learn a pair, half-hour medians, 1 °C of drift, 4 °C apart at most
        /// (±0.5 °C and ±2 °C accuracies with a margin).
        public static let production = Settings(learning: .seconds(7200), window: .seconds(1800), limit: 1.0, absoluteLimit: 4.0)
    }

    public let settings: Settings
    private let learningCount: Int
    private let windowCount: Int
    private var learnt: [Double] = []
    /// The pair's usual difference (primary − reference), once learnt.
    public private(set) var usualDifference: Double?
    /// The window's differences in arrival order (a ring) and the same values kept sorted,
    /// so each poll's median costs a binary search and a move, not a sort: at a 1 s poll
    /// the window holds 1800 values.
    private var recent: [Double] = []
    private var sortedRecent: [Double] = []
    private var next = 0
    /// The median difference over the last window, once the window is full.
    public private(set) var currentDifference: Double?
    public private(set) var isDrifting = false

    public init(pollInterval: Duration, settings: Settings = .production) {
        precondition(pollInterval > .zero, "a poll interval is positive")
        self.settings = settings
        learningCount = max(1, Int(settings.learning.nanoseconds / pollInterval.nanoseconds))
        windowCount = max(1, Int(settings.window.nanoseconds / pollInterval.nanoseconds))
        learnt.reserveCapacity(learningCount)
        recent.reserveCapacity(windowCount)
        sortedRecent.reserveCapacity(windowCount)
    }

    /// Adds one poll's pair; returns the new verdict (drifting or not) when it changed.
    public mutating func add(primary: Double, reference: Double) -> Bool? {
        let difference = primary - reference
        if usualDifference == nil {
            learnt.append(difference)
            if learnt.count == learningCount {
                usualDifference = Self.median(sorted: learnt.sorted())
                learnt = []
            }
        }
        if recent.count < windowCount {
            recent.append(difference)
            sortedRecent.insert(difference, at: Self.insertionIndex(of: difference, in: sortedRecent))
        } else {
            Self.replace(recent[next], with: difference, in: &sortedRecent)
            recent[next] = difference
        }
        next = (next + 1) % windowCount
        guard recent.count == windowCount else { return nil }
        let current = Self.median(sorted: sortedRecent)
        currentDifference = current
        let departure = usualDifference.map { abs(current - $0) } ?? 0
        let drifting: Bool
        if isDrifting {
            drifting = departure >= settings.limit / 2 || abs(current) >= settings.absoluteLimit - settings.limit / 2
        } else {
            drifting = departure > settings.limit || abs(current) > settings.absoluteLimit
        }
        guard drifting != isDrifting else { return nil }
        isDrifting = drifting
        return drifting
    }

    /// What a health report says while the pair disagrees.
    public var detail: String {
        let current = currentDifference.map { TextFormat.fixed($0, decimals: 2) } ?? "?"
        let usual = usualDifference.map { ", usually \(TextFormat.fixed($0, decimals: 2)) °C" } ?? ""
        return "HTS221 and LPS25H temperatures differ by \(current) °C\(usual): a thermometer is drifting"
    }

    private static func median(sorted: [Double]) -> Double {
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Replaces one `old` in `sorted` by `value`, keeping it sorted: the values between the
    /// two places move by one, where a removal and an insertion would each move half the
    /// array (at a 1 s poll that had cost 5 % of a simulated furnace day).
    private static func replace(_ old: Double, with value: Double, in sorted: inout [Double]) {
        let from = insertionIndex(of: old, in: sorted)
        precondition(from < sorted.count && sorted[from] == old, "the window holds the value it drops")
        let to = insertionIndex(of: value, in: sorted)
        sorted.withUnsafeMutableBufferPointer { values in
            let base = values.baseAddress!
            if to > from {
                // Values in from+1 ..< to lie between old and the new value: one place down.
                (base + from).update(from: base + from + 1, count: to - from - 1)
                values[to - 1] = value
            } else {
                // Values in to ..< from lie between the new value and old: one place up.
                (base + to + 1).update(from: base + to, count: from - to)
                values[to] = value
            }
        }
    }

    /// The first index whose value is not below `value` (where it sits, or goes).
    private static func insertionIndex(of value: Double, in sorted: [Double]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
