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

    public init(rule: ModelManifest.CompressorRest) {
        self.rule = rule
    }

    /// Feeds one sample; `continuous` is false when samples were missing before it.
    /// Returns the current rest's length in units of `restMax` when no defrost can explain
    /// it, else 0.
    public mutating func observe(at instant: Instant, vibration: Double, continuous: Bool) -> Double {
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
        }
        running = isRunning
        guard let start = restStart, let defrost = lastDefrostStart, start - defrost < rule.defrostInterval else { return 0 }
        return (instant - start) / rule.restMax
    }
}
