import HubCore

/// Watches a fridge for a compressor that runs and runs without cooling the air: a door ajar.
///
/// Sans-I/O, fed the detector's samples in order. A healthy compressor's run pulls the
/// cabinet's air down from the cut-in to the cut-out point at 0.4–0.9 K a minute. The only
/// healthy thing that holds the air up while it runs is the load of the household's
/// openings, and each opening shows as a step (wide-open door: 2–5 K within its 5–30 s)
/// while the warm air that comes in dries the cabinet's humidity as it warms. A door left
/// ajar feeds the kitchen's air in steadily: the air rises without a step, then stands
/// near 6 °C with the compressor running continuously, and the kitchen's moisture meets air
/// colder than its dew point, so the humidity stays at 85–100 %RH.
///
/// The rule (manifest `door_ajar`): for the last `run` the compressor has run, the air
/// has not fallen by more than `airFallMax`, no rise between two samples exceeded
/// `openingStep`, and the humidity stayed at or above `humidityMin`. While it holds the
/// watch scores the time it has held in units of `run` (1 when it first holds), else 0.
/// A gap in the readings restarts it.
///
/// The figures (docs/models.md, "Door ajar"): with 8 min, 0.3 K, 0.4 K and 80 %RH no
/// healthy training or validation unit (1001–1100, 2051–2150, six days each) fires it
/// through the 3-of-5 debounce, and a door left ajar is caught 10.8 min after it opens
/// (median) on both.
public struct DoorAjarWatch: Sendable {
    public let rule: ModelManifest.DoorAjar
    /// Samples the rule looks back over (`run` at the package's sample interval).
    public let samples: Int
    private var lastSample: Instant?
    /// The air's temperature over the last `samples + 1` samples, a ring.
    private var air: RecentValues
    /// Samples in a row for which each condition has held.
    private var runningSamples = 0
    private var sinceStep = 0
    private var sinceDry = 0

    /// `interval`: the package's sample interval; `run` must span at least one sample.
    public init(rule: ModelManifest.DoorAjar, interval: Duration) {
        precondition(interval > .zero, "a positive sample interval")
        self.rule = rule
        samples = max(1, Int((rule.run / interval).rounded()))
        air = RecentValues(capacity: samples + 1)
    }

    /// Feeds one sample; `continuous` is false when samples were missing before it.
    /// Returns how long the rule has held, in units of `run` (0 while it does not).
    public mutating func observe(at instant: Instant, vibration: Double, temperature: Double, humidity: Double,
                                 continuous: Bool) -> Double {
        if let last = lastSample { precondition(instant >= last, "samples in time order") }
        lastSample = instant
        if !continuous {
            runningSamples = 0
            sinceStep = 0
            sinceDry = 0
            air.removeAll()
        }
        runningSamples = vibration > rule.runningG ? runningSamples + 1 : 0
        // The newest sample in the ring is the previous one; without one, a step cannot be ruled out.
        let previous = air.newest
        let stepped = previous.map { temperature - $0 > rule.openingStep } ?? true
        sinceStep = stepped ? 0 : sinceStep + 1
        sinceDry = humidity < rule.humidityMin ? 0 : sinceDry + 1
        air.append(temperature)
        let held = min(runningSamples, sinceStep, sinceDry)
        // Full, the ring's oldest is `samples` samples before this one.
        guard held >= samples, let before = air.oldest, before - temperature <= rule.airFallMax else { return 0 }
        return Double(held) / Double(samples)
    }
}
