import HubCore

/// Tells a stuck accelerometer from a resting compressor in a fridge kit.
///
/// The accelerometer is the only element that hears the compressor, so a stuck one (the
/// element frozen, the chip's noise still on top) reads like a compressor at rest, and
/// an hour of "rest" while the cabinet stays cold is what a dead compressor never shows:
/// without the check the package alerts an appliance failure about an hour in. The air
/// says otherwise. Only a running compressor cools the cabinet fast: 0.4–0.9 K a minute,
/// where the air settling back toward the food after a door opening falls at most
/// 0.36 K a minute (the simulated fridge's figures, docs/models.md). So a fall of
/// `coolingK` within `coolingSpan` while the vibration read rest throughout, with no
/// opening's step (a rise above `openingStepK` between two samples) in the last
/// `openingQuiet`, and still so `confirm` later (a one-sample dip, a spike on the
/// thermometer, is not cooling), is a compressor running unheard; so is a fall of `fastCoolingK` within
/// `coolingSpan` with no step inside it, however soon after an opening (no settling is
/// that fast: the compressor pulling a warm cabinet down after a defrost and a meal's
/// opening cools it 1.4 K a minute). One such episode makes the verdict;
/// it holds for `hold` after the latest episode, and clears at once when the vibration
/// shows the compressor running again. The verdict
/// only makes readings `suspect` (not scored) and the kit's health `degraded`: a false
/// one costs at most `hold` without scoring, never an alert.
///
/// Counted in samples at the poll interval; a poll without both values adds nothing, so
/// an outage pauses the check rather than feeding it.
public struct CompressorVibrationCrossCheck: Sendable {
    /// The check's figures; `production` is what the hub runs with.
    public struct Settings: Sendable {
        /// A vibration above this (g RMS) is the compressor running.
        public var runningG: Double
        public var coolingSpan: Duration
        public var coolingK: Double
        public var fastCoolingK: Double
        public var openingStepK: Double
        public var openingQuiet: Duration
        public var confirm: Duration
        public var hold: Duration

        public init(runningG: Double, coolingSpan: Duration, coolingK: Double, fastCoolingK: Double, openingStepK: Double,
                    openingQuiet: Duration, confirm: Duration, hold: Duration) {
            precondition(runningG > 0 && coolingK > 0 && fastCoolingK >= coolingK && openingStepK > 0,
                         "positive levels, the fast fall at least the fall")
            precondition(coolingSpan > .zero && openingQuiet >= coolingSpan && confirm > .zero && hold > .zero,
                         "positive spans, the opening's quiet at least the cooling span")
            self.runningG = runningG
            self.coolingSpan = coolingSpan
            self.coolingK = coolingK
            self.fastCoolingK = fastCoolingK
            self.openingStepK = openingStepK
            self.openingQuiet = openingQuiet
            self.confirm = confirm
            self.hold = hold
        }

        /// 1.2 K in 3 min (0.4 K/min) 15 min after any opening, or 2 K in 3 min with no
        /// step inside them, for 30 s on end; held 3 h. On training units 1001–1100 (600 healthy days, and
        /// 200 compressor failures of 6 h) it never fired; on those days with the
        /// accelerometer stuck from every third hour (4,000 episodes) it fired a median
        /// 6.8 min in, 97 % within 30 min. (0.8 K in 2 min fired on two of the compressor
        /// failures.) The largest 3-minute fall at rest with no step inside it was 1.04 K
        /// on the healthy days and 1.17 K in the compressor failures. On validation units
        /// 2051–2150, the same: never on 600 healthy days or 200 failures, stuck caught a
        /// median 7.2 min in (training/stuck_accelerometer.py).
        public static let production = Settings(runningG: 0.004, coolingSpan: .seconds(180), coolingK: 1.2, fastCoolingK: 2.0,
                                                openingStepK: 0.4, openingQuiet: .seconds(900), confirm: .seconds(30),
                                                hold: .seconds(10_800))
    }

    public let settings: Settings
    private let spanSamples: Int
    private let quietSamples: Int
    private let holdSamples: Int
    private let confirmSamples: Int
    /// The air over the last `spanSamples + 1` samples, a ring.
    private var air: RecentValues
    private var sinceRunning = 0
    private var sinceStep = 0
    private var coolingSamples = 0
    /// Samples since the latest confirmed cooling sample (nil: none since the compressor was heard).
    private var sinceCooling: Int?
    public private(set) var isSuspect = false

    public init(pollInterval: Duration, settings: Settings = .production) {
        precondition(pollInterval > .zero, "a poll interval is positive")
        self.settings = settings
        func samples(_ span: Duration) -> Int { max(1, Int((span / pollInterval).rounded(.up))) }
        spanSamples = samples(settings.coolingSpan)
        quietSamples = samples(settings.openingQuiet)
        holdSamples = samples(settings.hold)
        // At least two, so one sample alone can never make the verdict.
        confirmSamples = max(2, samples(settings.confirm))
        air = RecentValues(capacity: spanSamples + 1)
    }

    /// What the kit's health says while the verdict holds.
    public var detail: String {
        "LSM9DS1 hears no compressor while the air cools as only a running one cools it (accelerometer stuck?)"
    }

    /// Feeds one poll's air temperature (°C) and vibration (g RMS). Returns the new verdict
    /// when it changed, nil otherwise.
    public mutating func add(temperature: Double, vibration: Double) -> Bool? {
        let before = isSuspect
        let previous = air.newest
        // Without a previous sample a step cannot be ruled out.
        sinceStep = previous.map { temperature - $0 > settings.openingStepK } == false ? sinceStep + 1 : 0
        air.append(temperature)
        if vibration > settings.runningG {
            sinceRunning = 0
            coolingSamples = 0
            sinceCooling = nil
            isSuspect = false
            return isSuspect == before ? nil : isSuspect
        }
        sinceRunning += 1
        sinceCooling = sinceCooling.map { $0 + 1 }
        // The oldest in a full ring is `spanSamples` samples before this one.
        let fall = air.oldest.map { $0 - temperature } ?? 0
        let cooling = sinceRunning > spanSamples
            && (sinceStep > quietSamples && fall >= settings.coolingK || sinceStep >= spanSamples && fall >= settings.fastCoolingK)
        coolingSamples = cooling ? coolingSamples + 1 : 0
        if coolingSamples >= confirmSamples {
            sinceCooling = 0
            isSuspect = true
        }
        if isSuspect, let since = sinceCooling, since > holdSamples { isSuspect = false }
        return isSuspect == before ? nil : isSuspect
    }
}
