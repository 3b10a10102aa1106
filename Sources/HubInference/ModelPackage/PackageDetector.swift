import HubCore

/// The production detector: a model package scoring sliding windows of a device's readings.
///
/// Readings are sampled at the manifest's interval whatever the hub's poll (a reading is
/// taken when at least one interval has passed since the last one taken), so a model
/// trained at 10 s works on a hub polling every second. Readings missing an input channel
/// (a sensor failed) are skipped, not zero-filled. Once the window is full, every `stride`
/// samples the window's features are scored. The window survives a model swap: the new
/// package takes over the samples the old one held, and the rules' state where the new
/// package has the same rule.
///
/// A window is scored only if it is continuous: when more than `gapSamplesMax` samples in a
/// row are missing (a sensor outage, partial readings, a hub that was down) the window is
/// emptied and refills from the first complete reading after the gap. Otherwise the
/// window would splice the appliance before the outage onto the appliance after it — a
/// step no working appliance makes — and the model would call it a failure.
public struct PackageDetector: AnomalyDetector {
    public let package: ModelPackage
    private var scorer: WindowScorer
    /// One ring per input channel, oldest first after `ordered`.
    private var rings: [[Double]]
    private var head = 0
    private var filled = 0
    private var sinceScore = 0
    private var nextSample: Instant?
    /// When the newest sample in the window was taken.
    private var lastSample: Instant?

    /// Missing samples in a row the window bridges; one more and it starts afresh. Two
    /// bridge a lost poll or a retry that ran late without costing a window's refill.
    public static let gapSamplesMax = 2

    public var model: String { package.manifest.identifier }
    /// The package's threshold, or once commissioned (manifest `commissioning`) the unit's own.
    public var threshold: Double { unitThreshold ?? package.manifest.threshold }
    /// Set when commissioning ends: the threshold learnt from this unit's own normal.
    public private(set) var unitThreshold: Double?
    private var commissioningScores: [Double] = []
    private var commissioningScored = 0
    private var quietLevel = 0.0
    public var debounce: (k: Int, n: Int)? { (package.manifest.debounceK, package.manifest.debounceN) }
    /// The manifest's `compressor_rest` rule, fed every sample the window takes.
    public private(set) var restWatch: CompressorRestWatch?
    /// The rest watch's latest verdict, in units of its longest healthy rest.
    private var restScore = 0.0
    /// The manifest's `door_ajar` rule, fed every sample the window takes.
    public private(set) var ajarWatch: DoorAjarWatch?
    /// The door watch's latest verdict, in units of its running time.
    private var ajarScore = 0.0
    /// The manifest's `drum_sway` rule, fed every sample the window takes; its `score` is
    /// its latest verdict, in units of its `level_max_g`.
    public private(set) var swayWatch: DrumSwayWatch?

    /// How early a reading may come and still take its slot, and the longest gap the window
    /// bridges (see `observe`): fixed by the manifest, so worked out once rather than with
    /// 128-bit `Duration` arithmetic on every reading.
    private let slack: Duration
    private let gapMax: Duration

    public init(package: ModelPackage) {
        self.package = package
        let interval = package.manifest.pollInterval
        slack = min(interval / 10, .milliseconds(250))
        gapMax = interval * (Self.gapSamplesMax + 1) + slack
        scorer = WindowScorer(manifest: package.manifest, model: package.model)
        rings = package.manifest.inputChannels.map { _ in Array(repeating: 0, count: package.manifest.windowLength) }
        restWatch = package.manifest.compressorRest.map(CompressorRestWatch.init(rule:))
        ajarWatch = package.manifest.doorAjar.map { DoorAjarWatch(rule: $0, interval: interval) }
        swayWatch = package.manifest.drumSway.map(DrumSwayWatch.init(rule:))
    }

    /// A detector for `package` that starts with the samples `previous` holds (as many as fit).
    public init(package: ModelPackage, continuing previous: PackageDetector) {
        self.init(package: package)
        // A rule's state survives the swap when the new package has the same rule: a
        // deployment that only retrains the model must not leave a fridge to the
        // autoencoder's 55 minutes until its next defrost has been seen.
        if let watch = previous.restWatch, watch.rule == package.manifest.compressorRest {
            restWatch = watch
            restScore = previous.restScore
        }
        if let watch = previous.ajarWatch, watch.rule == package.manifest.doorAjar,
           previous.package.manifest.pollInterval == package.manifest.pollInterval {
            ajarWatch = watch
            ajarScore = previous.ajarScore
        }
        // The sway watch counts readings, not time: another sample interval does not stale it.
        if let watch = previous.swayWatch, watch.rule == package.manifest.drumSway {
            swayWatch = watch
        }
        let channels = package.manifest.inputChannels
        let old = previous.heldSamples()
        guard let first = old.first, !first.isEmpty else { return }
        let count = min(first.count, package.manifest.windowLength)
        for sample in (first.count - count)..<first.count {
            var values: [Double] = []
            for channel in channels {
                guard let index = previous.package.manifest.inputChannels.firstIndex(of: channel) else { return }
                values.append(old[index][sample])
            }
            push { values[$0] }
        }
        nextSample = previous.nextSample
        lastSample = previous.lastSample
    }

    /// The window's samples per input channel, oldest first.
    public func heldSamples() -> [[Double]] {
        let length = package.manifest.windowLength
        let start = (head - filled + length) % length
        let wrapped = max(0, start + filled - length)
        // Two contiguous runs, the older one first: no division per sample (every scored
        // window of every appliance comes through here).
        return rings.map { ring in
            var window: [Double] = []
            window.reserveCapacity(filled)
            window.append(contentsOf: ring[start..<(start + filled - wrapped)])
            window.append(contentsOf: ring[0..<wrapped])
            return window
        }
    }

    public mutating func observe(_ reading: Reading) -> Double? {
        let manifest = package.manifest
        // Samples sit on a grid one interval apart; a reading up to a tenth of an interval
        // early, at most 250 ms (retries shift timestamps by milliseconds), still takes its slot.
        if let next = nextSample, reading.timestamp < next - slack { return nil }
        for channel in manifest.inputChannels where reading.values[channel] == nil { return nil }
        var continuous = true
        if let last = lastSample, reading.timestamp - last > gapMax {
            filled = 0
            sinceScore = 0
            continuous = false
        }
        // Only a package with a rule pays for its channel lookups (this runs on every
        // reading), and the channels both fridge rules read are looked up once.
        if swayWatch != nil, let vibration = reading.values[.vibration] {
            swayWatch!.observe(at: reading.timestamp, vibration: vibration, continuous: continuous)
        }
        if restWatch != nil || ajarWatch != nil, let vibration = reading.values[.vibration],
           let temperature = reading.values[.temperature] {
            if restWatch != nil {
                restScore = restWatch!.observe(at: reading.timestamp, vibration: vibration, temperature: temperature,
                                               continuous: continuous)
            }
            if ajarWatch != nil, let humidity = reading.values[.humidity] {
                ajarScore = ajarWatch!.observe(at: reading.timestamp, vibration: vibration, temperature: temperature,
                                               humidity: humidity, continuous: continuous)
            }
        }
        lastSample = reading.timestamp
        var next = nextSample ?? reading.timestamp
        while next - slack <= reading.timestamp { next = next + manifest.pollInterval }
        nextSample = next
        let channels = manifest.inputChannels
        push { reading.values[channels[$0]]! }
        sinceScore += 1
        guard filled == manifest.windowLength, sinceScore >= manifest.windowStride else { return nil }
        sinceScore = 0
        let window = heldSamples()
        let features = scorer.features(from: window)
        let score: Double
        do {
            score = try scorer.score(features: features)
        } catch {
            return nil
        }
        if unitThreshold == nil, let commissioning = manifest.commissioning { commission(score, commissioning) }
        // The rules score in thresholds: a stalled compressor's rest is at the threshold at
        // the longest healthy rest, a door ajar once its running time has passed, a drum's
        // tumbling at the loudest healthy level; past that the window is anomalous whatever
        // the model says.
        return max(score, restScore * threshold, ajarScore * threshold, (swayWatch?.score ?? 0) * threshold)
    }

    /// Learns the unit's quiet level from its first scored windows, then fixes its threshold.
    private mutating func commission(_ score: Double, _ commissioning: ModelManifest.Commissioning) {
        let (k, n) = (package.manifest.debounceK, package.manifest.debounceN)
        commissioningScores.append(score)
        if commissioningScores.count > n { commissioningScores.removeFirst() }
        if commissioningScores.count >= k {
            // The k-th largest of the last n: the highest threshold at which k-of-n fires now.
            quietLevel = max(quietLevel, commissioningScores.sorted(by: >)[k - 1])
        }
        commissioningScored += 1
        guard commissioningScored >= commissioning.windows else { return }
        let packageThreshold = package.manifest.threshold
        unitThreshold = min(packageThreshold, max(commissioning.factor * quietLevel, commissioning.floor * packageThreshold))
        commissioningScores = []
    }

    /// Appends one sample; `value(i)` is input channel i's value.
    private mutating func push(_ value: (Int) -> Double) {
        let length = package.manifest.windowLength
        for index in rings.indices { rings[index][head] = value(index) }
        head = (head + 1) % length
        filled = min(filled + 1, length)
    }
}
