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
/// The rule (manifest `drum_sway`): readings from `tumblingMin` to `tumblingMax` g are
/// tumbling (idle reads below, distribute steps and spin above); over the last `readings`
/// of them, the interquartile mean (the middle half, so a reading caught in a spin's
/// ramp or a tumbling pause moves it little). It scores that level in units of `levelMax`
/// once `readings` have been seen, else 0. A gap in the readings starts it afresh.
///
/// The figures (docs/models.md, "drum-imbalance"): over 36 readings from 0.0023 to
/// 0.0045 g, level_max 1.02 × the highest level of every healthy training unit (1001–1100,
/// three days each) raises no alarm there through the 3-of-5 debounce and catches a drum
/// out of balance a median 10.7 min after its first programme starts.
public struct DrumSwayWatch: Sendable {
    public let rule: ModelManifest.DrumSway
    private var lastSample: Instant?
    /// The last `readings` tumbling readings.
    private var tumbling: RecentValues

    public init(rule: ModelManifest.DrumSway) {
        precondition(rule.readings >= 4, "an interquartile mean needs four readings")
        self.rule = rule
        tumbling = RecentValues(capacity: rule.readings)
    }

    /// Feeds one sample; `continuous` is false when samples were missing before it.
    /// Returns the tumbling level in units of `levelMax` (0 until `readings` were seen).
    public mutating func observe(at instant: Instant, vibration: Double, continuous: Bool) -> Double {
        if let last = lastSample { precondition(instant >= last, "samples in time order") }
        lastSample = instant
        if !continuous { tumbling.removeAll() }
        if vibration >= rule.tumblingMin && vibration <= rule.tumblingMax { tumbling.append(vibration) }
        guard tumbling.isFull else { return 0 }
        return Self.interquartileMean(tumbling.held) / rule.levelMax
    }

    /// The mean of the middle half of `values` (a quarter dropped from each end, rounded down).
    public static func interquartileMean(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let quarter = sorted.count / 4
        let middle = sorted[quarter..<(sorted.count - quarter)]
        return middle.reduce(0, +) / Double(middle.count)
    }
}
