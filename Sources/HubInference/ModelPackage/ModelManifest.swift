import Foundation
import HubCore

/// manifest.json of a model package: what the model eats, how to score it, when to alert.
///
/// Parsed strictly: every field is required unless stated, unknown fields are refused
/// (a typo in a threshold's name must not silently fall back to a default), and each error
/// names the JSON path. The format is documented in docs/models.md.
public struct ModelManifest: Equatable, Sendable {
    public var name: String
    /// Semantic version `MAJOR.MINOR.PATCH`.
    public var version: String
    public var kind: ApplianceKind
    public var inputChannels: [Channel]
    /// Readings per window and readings between scored windows.
    public var windowLength: Int
    public var windowStride: Int
    /// The interval between the samples of a window (a hub polling faster is subsampled).
    public var pollInterval: Duration
    public var features: [FeatureSpec]
    public var normalisationMean: [Double]
    public var normalisationStd: [Double]
    public var modelFile: String
    public var threshold: Double
    public var debounceK: Int
    public var debounceN: Int
    /// Optional: the unit learns its own normal over its first scored windows (see `Commissioning`).
    public var commissioning: Commissioning? = nil

    /// A unit's own normal, learnt while it is commissioned (`"commissioning": {"windows",
    /// "factor", "floor"}` in manifest.json, optional).
    ///
    /// Units differ: a quiet washer's normal scores sit at a third of a loud one's, so one
    /// threshold for all either misses the quiet unit's failures or alarms on the loud one.
    /// Over its first `windows` scored windows (an installation on a working appliance) the
    /// detector records its quiet level — the highest score the k-of-n debounce would have
    /// fired at — and then alerts above `factor` × that level, never above the package's
    /// threshold and never below `floor` × it. Only ever lower than the package's threshold,
    /// so a unit commissioned on a failing appliance is no worse off than without it.
    public struct Commissioning: Equatable, Sendable {
        public var windows: Int
        public var factor: Double
        public var floor: Double
        public static let windowsMax = 100_000

        public init(windows: Int, factor: Double, floor: Double) {
            self.windows = windows
            self.factor = factor
            self.floor = floor
        }
    }

    /// Optional: a compressor resting longer than it ever does between defrosts (see `CompressorRest`).
    public var compressorRest: CompressorRest? = nil

    /// The longest a healthy compressor rests outside a defrost (`"compressor_rest":
    /// {"running_g", "rest_max_min", "defrost_interval_h"}` in manifest.json, optional; the
    /// package's input channels must include `vibration` and `temperature`).
    ///
    /// A dead compressor and a defrost do the same to a fridge's cabinet: the compressor
    /// stops and the air warms. No window of readings tells them apart until the rest
    /// outlasts the longest defrost, about 55 minutes. But a fridge defrosts on a timer,
    /// at most once every `defrost_interval_h`: a rest that begins sooner than that after
    /// the last defrost began cannot be one, and once it outlasts `rest_max_min` (the
    /// longest rest between a healthy compressor's runs, where a defrost is any longer rest
    /// that ended with the compressor running again) it is a stall. The compressor runs
    /// while vibration exceeds `running_g`. See `CompressorRestWatch`.
    public struct CompressorRest: Equatable, Sendable {
        public var runningG: Double
        public var restMax: Duration
        public var defrostInterval: Duration

        public init(runningG: Double, restMax: Duration, defrostInterval: Duration) {
            self.runningG = runningG
            self.restMax = restMax
            self.defrostInterval = defrostInterval
        }
    }

    /// Optional: a compressor that runs without cooling the air, no opening in sight (see `DoorAjar`).
    public var doorAjar: DoorAjar? = nil

    /// A fridge's door left ajar (`"door_ajar": {"running_g", "run_min", "air_fall_max_k",
    /// "opening_step_k", "humidity_min_pct"}` in manifest.json, optional; the package's input
    /// channels must include `vibration`, `temperature` and `humidity`).
    ///
    /// A door left ajar makes the compressor run without stop while the air stands still,
    /// which a healthy fridge also does after a dinner's openings, for up to two hours: no
    /// window statistic told them apart in the first 15 minutes. But a household's opening
    /// is a step in the air's temperature and dries the cabinet as the air warms, and a gap
    /// is neither: it feeds the kitchen's air in steadily and keeps the humidity near
    /// saturation. So: `run_min` of running (vibration above `running_g`) in which the air
    /// fell no more than `air_fall_max_k`, rose no more than `opening_step_k` between two
    /// samples, and read at least `humidity_min_pct`. See `DoorAjarWatch`.
    public struct DoorAjar: Equatable, Sendable {
        public var runningG: Double
        public var run: Duration
        public var airFallMax: Double
        public var openingStep: Double
        public var humidityMin: Double

        public init(runningG: Double, run: Duration, airFallMax: Double, openingStep: Double, humidityMin: Double) {
            self.runningG = runningG
            self.run = run
            self.airFallMax = airFallMax
            self.openingStep = openingStep
            self.humidityMin = humidityMin
        }
    }

    /// Optional: a washer whose tumbling is louder than a sound drum's ever is (see `DrumSway`).
    public var drumSway: DrumSway? = nil

    /// A washer's drum out of balance (`"drum_sway": {"tumbling_min_g", "tumbling_max_g",
    /// "readings", "level_max_g"}` in manifest.json, optional; the package's input channels
    /// must include `vibration`).
    ///
    /// While the drum tumbles the laundry is lifted and falls rather than turning with the
    /// drum, so a sound drum tumbles at the same level whatever the load; a drum out of
    /// balance sways the cabinet once a revolution and tumbles a tenth louder, which no
    /// window of mixed idle, tumbling and spin readings shows. So: over the last `readings`
    /// readings from `tumbling_min_g` to `tumbling_max_g` (tumbling), the interquartile mean
    /// above `level_max_g` is a drum out of balance. See `DrumSwayWatch`.
    public struct DrumSway: Equatable, Sendable {
        /// The lowest reading that counts as tumbling, g (idle reads below).
        public var tumblingMinG: Double
        /// The highest reading that counts as tumbling, g (distribute steps and spin read above).
        public var tumblingMaxG: Double
        /// How many of the latest tumbling readings the level is taken over.
        public var readings: Int
        /// The loudest a sound drum's tumbling level may read, g; above it the drum is out of balance.
        public var levelMaxG: Double

        public init(tumblingMinG: Double, tumblingMaxG: Double, readings: Int, levelMaxG: Double) {
            self.tumblingMinG = tumblingMinG
            self.tumblingMaxG = tumblingMaxG
            self.readings = readings
            self.levelMaxG = levelMaxG
        }
    }

    /// `name@version`, as inference results carry it.
    public var identifier: String { "\(name)@\(version)" }

    /// `manifest` (the bytes of a manifest.json) with its `version` replaced: the same package
    /// republished under another version (keys written sorted). Unchanged if it is not a JSON object.
    public static func republished(_ manifest: [UInt8], as version: SemanticVersion) -> [UInt8] {
        guard case .object(var root)? = try? JSONValue.parse(manifest) else { return manifest }
        root["version"] = .string(version.description)
        var json = JSONWriter()
        JSONValue.object(root).write(to: &json)
        return json.bytes
    }

    public static func parse(_ bytes: [UInt8]) throws(ModelPackageError) -> ModelManifest {
        var reader = try ObjectReader(json: bytes)
        let name = try reader.string("name")
        let version = try reader.string("version")
        guard Self.isSemanticVersion(version) else { throw .manifest(field: "version", reason: "\(version.debugDescription) is not MAJOR.MINOR.PATCH") }
        let kindText = try reader.string("kind")
        guard let kind = ApplianceKind(rawValue: kindText) else {
            throw .manifest(field: "kind", reason: "unknown appliance kind \(kindText.debugDescription)")
        }
        let channelNames = try reader.array("input_channels")
        var channels: [Channel] = []
        for (index, value) in channelNames.enumerated() {
            guard case .string(let key) = value, let channel = Channel(key: key) else {
                throw .manifest(field: "input_channels[\(index)]", reason: "not a known channel name")
            }
            channels.append(channel)
        }
        if channels.isEmpty { throw .manifest(field: "input_channels", reason: "must not be empty") }
        if let repeated = channels.indices.first(where: { channels[..<$0].contains(channels[$0]) }) {
            throw .manifest(field: "input_channels[\(repeated)]", reason: "\(channels[repeated].key) is listed twice")
        }
        var window = try reader.object("window")
        let length = try window.int("length", in: Limits.windowLength)
        let stride = try window.int("stride", in: 1...length)
        try window.finish()
        let pollSeconds = try reader.double("sample_interval_s", in: Limits.sampleIntervalSeconds)
        guard Double(length) * pollSeconds <= Limits.windowSpanSeconds else {
            throw .manifest(field: "window.length", reason: "\(length) samples every \(pollSeconds) s span more than \(Int(Limits.windowSpanSeconds / 86_400)) days")
        }
        var features: [FeatureSpec] = []
        let featureValues = try reader.array("features")
        guard featureValues.count <= Limits.features else {
            throw .manifest(field: "features", reason: "has \(featureValues.count) entries; at most \(Limits.features)")
        }
        for (index, value) in featureValues.enumerated() {
            guard case .object(let members) = value else { throw .manifest(field: "features[\(index)]", reason: "not an object") }
            var feature = ObjectReader(members: members, path: "features[\(index)]")
            let channelText = try feature.string("channel")
            guard let channel = Channel(key: channelText), channels.contains(channel) else {
                throw .manifest(field: "features[\(index)].channel", reason: "\(channelText.debugDescription) is not one of input_channels")
            }
            let statText = try feature.string("stat")
            guard let stat = FeatureStat(rawValue: statText) else {
                throw .manifest(field: "features[\(index)].stat",
                                reason: "unknown statistic \(statText.debugDescription) (known: \(FeatureStat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            try feature.finish()
            features.append(FeatureSpec(channel: channel, stat: stat))
        }
        if features.isEmpty { throw .manifest(field: "features", reason: "must not be empty") }
        var normalisation = try reader.object("normalisation")
        let mean = try normalisation.numbers("mean", in: Limits.normalisationMean)
        let std = try normalisation.numbers("std", in: Limits.normalisationStd)
        try normalisation.finish()
        guard mean.count == features.count else {
            throw .manifest(field: "normalisation.mean", reason: "has \(mean.count) values for \(features.count) features")
        }
        guard std.count == features.count else {
            throw .manifest(field: "normalisation.std", reason: "has \(std.count) values for \(features.count) features")
        }
        let modelFile = try reader.string("model_file")
        guard Self.isPlainFileName(modelFile) else {
            throw .manifest(field: "model_file", reason: "\(modelFile.debugDescription) must be a file name inside the package (no '/', not '.' or '..')")
        }
        let threshold = try reader.double("threshold", in: Limits.threshold)
        var debounce = try reader.object("debounce")
        let n = try debounce.int("n", in: Limits.debounceN)
        let k = try debounce.int("k", in: 1...n)
        try debounce.finish()
        var commissioning: Commissioning?
        if reader.members["commissioning"] != nil {
            var object = try reader.object("commissioning")
            let windows = try object.int("windows", in: 1...Commissioning.windowsMax)
            let factor = try object.double("factor", in: 1...100)
            let floor = try object.double("floor", in: Double.leastNonzeroMagnitude...1)
            try object.finish()
            commissioning = Commissioning(windows: windows, factor: factor, floor: floor)
        }
        var compressorRest: CompressorRest?
        if reader.members["compressor_rest"] != nil {
            guard channels.contains(.vibration), channels.contains(.temperature) else {
                throw .manifest(field: "compressor_rest", reason: "needs vibration and temperature among input_channels")
            }
            var object = try reader.object("compressor_rest")
            let running = try object.double("running_g", in: Limits.runningG)
            let restMinutes = try object.double("rest_max_min", in: Limits.restMaxMinutes)
            let intervalHours = try object.double("defrost_interval_h", in: Limits.defrostIntervalHours)
            try object.finish()
            guard intervalHours * 60 > restMinutes else {
                throw .manifest(field: "compressor_rest.defrost_interval_h",
                                reason: "\(intervalHours) h is not longer than rest_max_min \(restMinutes) min")
            }
            compressorRest = CompressorRest(runningG: running, restMax: .seconds(restMinutes * 60),
                                            defrostInterval: .seconds(intervalHours * 3600))
        }
        var doorAjar: DoorAjar?
        if reader.members["door_ajar"] != nil {
            guard channels.contains(.vibration), channels.contains(.temperature), channels.contains(.humidity) else {
                throw .manifest(field: "door_ajar", reason: "needs vibration, temperature and humidity among input_channels")
            }
            var object = try reader.object("door_ajar")
            let running = try object.double("running_g", in: Limits.runningG)
            let runMinutes = try object.double("run_min", in: Limits.runMinutes)
            let fall = try object.double("air_fall_max_k", in: Limits.temperatureChangeK)
            let step = try object.double("opening_step_k", in: Limits.temperatureChangeK)
            let humidity = try object.double("humidity_min_pct", in: Limits.humidityPercent)
            try object.finish()
            guard runMinutes * 60 / pollSeconds <= Double(Limits.windowLength.upperBound) else {
                throw .manifest(field: "door_ajar.run_min",
                                reason: "\(runMinutes) min is more than \(Limits.windowLength.upperBound) samples every \(pollSeconds) s")
            }
            doorAjar = DoorAjar(runningG: running, run: .seconds(runMinutes * 60), airFallMax: fall, openingStep: step,
                                humidityMin: humidity)
        }
        var drumSway: DrumSway?
        if reader.members["drum_sway"] != nil {
            guard channels.contains(.vibration) else {
                throw .manifest(field: "drum_sway", reason: "needs vibration among input_channels")
            }
            var object = try reader.object("drum_sway")
            let low = try object.double("tumbling_min_g", in: Limits.runningG)
            let high = try object.double("tumbling_max_g", in: Limits.runningG)
            let readings = try object.int("readings", in: Limits.swayReadings)
            let level = try object.double("level_max_g", in: Limits.runningG)
            try object.finish()
            guard high > low else {
                throw .manifest(field: "drum_sway.tumbling_max_g", reason: "\(high) g is not above tumbling_min_g \(low) g")
            }
            // A level at or below the band's floor alarms on every washer that tumbles; one above its top never fires.
            guard level > low, level <= high else {
                throw .manifest(field: "drum_sway.level_max_g", reason: "\(level) g is not inside the tumbling band (\(low), \(high)] g")
            }
            drumSway = DrumSway(tumblingMinG: low, tumblingMaxG: high, readings: readings, levelMaxG: level)
        }
        try reader.finish()
        return ModelManifest(
            name: name, version: version, kind: kind, inputChannels: channels, windowLength: length, windowStride: stride,
            pollInterval: .nanoseconds(Int64((pollSeconds * 1e9).rounded())), features: features,
            normalisationMean: mean, normalisationStd: std, modelFile: modelFile, threshold: threshold,
            debounceK: k, debounceN: n, commissioning: commissioning, compressorRest: compressorRest,
            doorAjar: doorAjar, drumSway: drumSway)
    }

    /// The ranges every numeric field must lie in (docs/models.md). They are far wider than
    /// any trained package needs and exist so that no manifest can make the hub trap, hang
    /// or allocate without bound: a sample interval of 1e10 s overflows `Duration`, one of
    /// 1e-12 s rounds to zero and stalls the sampler, a debounce over 999999999 windows
    /// never decides.
    public enum Limits {
        /// Samples per window.
        public static let windowLength: ClosedRange<Int> = 2...10_000
        /// Seconds between a window's samples: 100 ms to an hour, wider than the poll
        /// intervals a hub accepts (`HubConfig.pollIntervals`, 1 s to an hour).
        public static let sampleIntervalSeconds: ClosedRange<Double> = 0.1...3600
        /// What one window may span (length × interval): 30 days.
        public static let windowSpanSeconds: Double = 30 * 86_400
        /// Features per window.
        public static let features = 256
        /// Normalisation means, in the features' units.
        public static let normalisationMean: ClosedRange<Double> = -1e9...1e9
        /// Normalisation standard deviations: positive, and not so small a feature blows up to infinity.
        public static let normalisationStd: ClosedRange<Double> = 1e-9...1e9
        /// The anomaly threshold on the mean squared reconstruction error.
        public static let threshold: ClosedRange<Double> = 1e-12...1e12
        /// Debounce: alert when k of the last n windows are anomalous, 1 ≤ k ≤ n.
        public static let debounceN: ClosedRange<Int> = 1...1000
        /// Compressor rest: the vibration above which it runs, g (the chip reads ±2 g).
        public static let runningG: ClosedRange<Double> = 1e-6...2
        /// Compressor rest: the longest healthy rest, minutes (a day at most).
        public static let restMaxMinutes: ClosedRange<Double> = 1...1440
        /// Compressor rest: the shortest time between defrosts, hours (a week at most).
        public static let defrostIntervalHours: ClosedRange<Double> = 0.1...168
        /// Door ajar: the running time the rule looks back over, minutes (at most `windowLength`'s samples).
        public static let runMinutes: ClosedRange<Double> = 0.1...1440
        /// Door ajar: the air's fall and step, K.
        public static let temperatureChangeK: ClosedRange<Double> = 0...100
        /// Door ajar: the lowest humidity, %RH.
        public static let humidityPercent: ClosedRange<Double> = 0...100
        /// Drum sway: the tumbling readings the level is taken over (an interquartile mean needs four).
        public static let swayReadings: ClosedRange<Int> = 4...10_000
    }

    /// A name that stays inside the package directory.
    static func isPlainFileName(_ text: String) -> Bool {
        !text.isEmpty && text != "." && text != ".." && !text.contains("/") && !text.contains("\0") && text.utf8.count <= 255
    }

    static func isSemanticVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }
}

/// Reads one JSON object's members, remembering which were used, with path-naming errors.
struct ObjectReader {
    let members: [String: JSONValue]
    let path: String
    private var used: [String] = []
    let makeError: (String, String) -> ModelPackageError

    init(members: [String: JSONValue], path: String,
         makeError: @escaping (String, String) -> ModelPackageError = { .manifest(field: $0, reason: $1) }) {
        self.members = members
        self.path = path
        self.makeError = makeError
    }

    /// The root object of a JSON document; anything else is an error at `(root)`.
    init(json bytes: [UInt8],
         makeError: @escaping (String, String) -> ModelPackageError = { .manifest(field: $0, reason: $1) }) throws(ModelPackageError) {
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(bytes) } catch {
            throw makeError("(root)", "not valid JSON (\(error))")
        }
        guard case .object(let members) = parsed else { throw makeError("(root)", "not a JSON object") }
        self.init(members: members, path: "", makeError: makeError)
    }

    private func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func value(_ key: String) throws(ModelPackageError) -> JSONValue {
        used.append(key)
        guard let value = members[key] else { throw makeError(field(key), "missing") }
        return value
    }

    mutating func string(_ key: String) throws(ModelPackageError) -> String {
        guard case .string(let text) = try value(key) else { throw makeError(field(key), "must be a string") }
        return text
    }

    mutating func double(_ key: String) throws(ModelPackageError) -> Double {
        guard case .number(let number) = try value(key), number.isFinite else { throw makeError(field(key), "must be a finite number") }
        return number
    }

    /// A finite number within `range`; the error names the range and what was found.
    mutating func double(_ key: String, in range: ClosedRange<Double>) throws(ModelPackageError) -> Double {
        let number = try double(key)
        guard range.contains(number) else { throw makeError(field(key), "must be within \(range.lowerBound)...\(range.upperBound), found \(number)") }
        return number
    }

    /// A whole number within `range`; the error names the range and what was found.
    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(ModelPackageError) -> Int {
        let number = try double(key)
        guard number == number.rounded(), number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw makeError(field(key), "must be a whole number within \(range.lowerBound)...\(range.upperBound), found \(number)")
        }
        return Int(number)
    }

    mutating func array(_ key: String) throws(ModelPackageError) -> [JSONValue] {
        guard case .array(let items) = try value(key) else { throw makeError(field(key), "must be an array") }
        return items
    }

    mutating func numbers(_ key: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws(ModelPackageError) -> [Double] {
        var result: [Double] = []
        for (index, item) in try array(key).enumerated() {
            guard case .number(let number) = item, number.isFinite else {
                throw makeError("\(field(key))[\(index)]", "must be a finite number")
            }
            guard range.contains(number) else {
                throw makeError("\(field(key))[\(index)]", "must be within \(range.lowerBound)...\(range.upperBound), found \(number)")
            }
            result.append(number)
        }
        return result
    }

    mutating func object(_ key: String) throws(ModelPackageError) -> ObjectReader {
        guard case .object(let members) = try value(key) else { throw makeError(field(key), "must be an object") }
        return ObjectReader(members: members, path: field(key), makeError: makeError)
    }

    /// Refuses members nobody asked for, in sorted order so the error is deterministic.
    func finish() throws(ModelPackageError) {
        if let extra = members.keys.sorted().first(where: { !used.contains($0) }) {
            throw makeError(field(extra), "unknown field")
        }
    }
}
