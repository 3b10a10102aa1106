import HubCore

/// Watches a washer's tumbling for a drum that sways the cabinet: an out-of-balance drum.
///
/// Sans-I/O, fed the detector's samples in order. While the drum tumbles (45–55 rpm) the
/// laundry is lifted and falls; it does not ride the wall, so it turns no imbalance with
/// the drum, and a sound drum's tumbling reads the same level on every unit and every load
/// (the rumble of bearings, motor and falling clothes). Mass fixed to the drum does turn
/// with it: a loose counterweight sways the cabinet once a revolution, and that sway lifts
/// the tumbling level by a tenth. A window statistic cannot see it, since a tenth more
/// than tumbling is still far below the spin and the distribute steps, but a level taken
/// over tumbling readings alone can.
///
/// The rule (manifest `drum_sway`): readings from `tumblingMinG` to `tumblingMaxG` g are
/// tumbling (idle reads below, distribute steps and spin above); over the last `readings`
/// of them, the interquartile mean (the middle half, so a reading caught in a spin's
/// ramp or a tumbling pause moves it little). It scores that level in units of `levelMaxG`
/// once `readings` have been seen, else 0. A gap in the readings starts it afresh.
///
/// The figures (docs/models.md, "Drum sway"): over 36 readings from 0.0023 to 0.0045 g,
/// with level_max 1.02 × the highest level any healthy training unit (1001–1100, three
/// days each) reached, a drum out of balance is caught a median 10.7 min after its first
/// programme starts; on the unseen test units drum imbalance is caught 6.8 min after it is
/// observable with no false alarm added. The level is held while the drum stands still, so
/// after a repair the rule stays raised until `readings` sound tumbling readings replace it.
public struct DrumSwayWatch: Sendable {
    /// The manifest's rule this watch applies.
    public let rule: ModelManifest.DrumSway
    private var lastSample: Instant?
    /// The last `readings` tumbling readings.
    private var tumbling: RecentValues
    /// The latest verdict: the tumbling level in units of `levelMaxG`, 0 until `readings`
    /// were seen (it changes only when a tumbling reading comes in).
    public private(set) var score = 0.0

    /// A watch that has seen no reading yet.
    public init(rule: ModelManifest.DrumSway) {
        precondition(rule.readings >= 4, "an interquartile mean needs four readings")
        self.rule = rule
        tumbling = RecentValues(capacity: rule.readings)
    }

    /// Feeds one sample; `continuous` is false when samples were missing before it.
    /// Returns the new `score`.
    @discardableResult
    public mutating func observe(at instant: Instant, vibration: Double, continuous: Bool) -> Double {
        if let last = lastSample { precondition(instant >= last, "samples in time order") }
        lastSample = instant
        if !continuous {
            tumbling.removeAll()
            score = 0
        }
        if vibration >= rule.tumblingMinG && vibration <= rule.tumblingMaxG {
            tumbling.append(vibration)
            // Sorting the ring only when it changes: hours of idle readings cost nothing.
            if tumbling.isFull { score = Self.interquartileMean(tumbling.held) / rule.levelMaxG }
        }
        return score
    }

    /// The mean of the middle half of `values` (a quarter dropped from each end, rounded down).
    public static func interquartileMean(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let quarter = sorted.count / 4
        let middle = sorted[quarter..<(sorted.count - quarter)]
        return middle.reduce(0, +) / Double(middle.count)
    }
}
