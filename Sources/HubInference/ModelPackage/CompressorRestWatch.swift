import HubCore

/// Watches a fridge compressor's rests for one that no defrost explains: a stall.
///
/// Sans-I/O, fed the detector's samples in order. A rest begins at the first sample the
/// compressor is seen stopped after it was seen running, so a watch that starts (or
/// resumes after a gap in the readings) with the compressor stopped waits for a run: it
/// never guesses when a rest began. A rest longer than `restMax` that ends with the
/// compressor running again was a defrost, and starts the interval in which no defrost
/// can begin. A rest that began inside that interval is scored by how long it has lasted,
/// in units of `restMax`: above 1, no healthy compressor rests that long there. Until the
/// watch has seen one defrost end it scores nothing, so a hub that has just started, or a
/// fridge that has just been switched on, never alarms on this rule.
///
/// A resting compressor cannot cool the air fast. If the air falls more than `coolingMax`
/// within `coolingSamples` samples (0.6 K in two minutes) during a rest, the evaporator is working: the vibration
/// sensor, not the compressor, has stopped (a stuck element), and the rest is forgotten
/// until the compressor is seen running again. A sensor fault must never read as an
/// appliance failure. Slow falls are allowed: after a door opening the air settles back
/// toward the food's temperature, a few tenths of a kelvin a minute, compressor or not.
///
/// The figures (manifest `compressor_rest`, docs/models.md): on the training units a
/// healthy compressor's rests outside a defrost last 8.3 min (median) and never more than
/// 11.7; defrosts rest 15.2 min and longer and come 8.3–15.5 h apart.
public struct CompressorRestWatch: Sendable {
    public let rule: ModelManifest.CompressorRest
    private var running: Bool?
    /// When the current rest began (nil while running, or while not known).
    private var restStart: Instant?
    /// When the last defrost seen began.
    public private(set) var lastDefrostStart: Instant?
    private var lastSample: Instant?
    /// The air's temperature over the last `coolingSamples` samples of the current rest.
    private var recentAir: [Double] = []
    private var recentNext = 0

    /// How far the air may fall within `coolingSamples` during a rest, K. A running
    /// compressor cools the simulated cabinet's air 0.4–0.9 K a minute (slowest just after
    /// a door opening); after an opening (2–5 K) the air settles back toward the food with
    /// τ ≈ 14 min, at most 0.36 K a minute, compressor or not; the HTS221's noise is
    /// hundredths of a kelvin. A large opening during a true stall can still trip it: the
    /// watch then waits, and the autoencoder's 55 minutes are the fallback.
    public static let coolingMax = 0.6
    /// Two minutes of 10 s samples.
    public static let coolingSamples = 12

    public init(rule: ModelManifest.CompressorRest) {
        self.rule = rule
    }

    /// Feeds one sample; `continuous` is false when samples were missing before it.
    /// Returns the current rest's length in units of `restMax` when no defrost can explain
    /// it, else 0.
    public mutating func observe(at instant: Instant, vibration: Double, temperature: Double, continuous: Bool) -> Double {
        if let last = lastSample { precondition(instant >= last, "samples in time order") }
        lastSample = instant
        if !continuous {
            running = nil
            restStart = nil
        }
        let isRunning = vibration > rule.runningG
        if isRunning {
            if let start = restStart, instant - start > rule.restMax { lastDefrostStart = start }
            restStart = nil
        } else if running == true {
            restStart = instant
            recentAir.removeAll(keepingCapacity: true)
            recentNext = 0
        }
        running = isRunning
        if restStart != nil {
            if let warmest = recentAir.max(), temperature < warmest - Self.coolingMax {
                restStart = nil
                running = nil
            } else if recentAir.count < Self.coolingSamples {
                recentAir.append(temperature)
            } else {
                recentAir[recentNext] = temperature
                recentNext = (recentNext + 1) % Self.coolingSamples
            }
        }
        guard let start = restStart, let defrost = lastDefrostStart, start - defrost < rule.defrostInterval else { return 0 }
        return (instant - start) / rule.restMax
    }
}
