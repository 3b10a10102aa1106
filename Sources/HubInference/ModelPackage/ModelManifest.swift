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

    /// `name@version`, as inference results carry it.
    public var identifier: String { "\(name)@\(version)" }

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
        var window = try reader.object("window")
        let length = try window.int("length")
        let stride = try window.int("stride")
        try window.finish()
        guard length >= 2 else { throw .manifest(field: "window.length", reason: "must be at least 2") }
        guard (1...length).contains(stride) else { throw .manifest(field: "window.stride", reason: "must be within 1...window.length") }
        let pollSeconds = try reader.double("sample_interval_s")
        guard pollSeconds > 0 else { throw .manifest(field: "sample_interval_s", reason: "must be positive") }
        var features: [FeatureSpec] = []
        for (index, value) in try reader.array("features").enumerated() {
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
        let mean = try normalisation.numbers("mean")
        let std = try normalisation.numbers("std")
        try normalisation.finish()
        guard mean.count == features.count else {
            throw .manifest(field: "normalisation.mean", reason: "has \(mean.count) values for \(features.count) features")
        }
        guard std.count == features.count else {
            throw .manifest(field: "normalisation.std", reason: "has \(std.count) values for \(features.count) features")
        }
        if let index = std.firstIndex(where: { !($0 > 0) }) {
            throw .manifest(field: "normalisation.std[\(index)]", reason: "must be positive")
        }
        let modelFile = try reader.string("model_file")
        let threshold = try reader.double("threshold")
        guard threshold > 0 else { throw .manifest(field: "threshold", reason: "must be positive") }
        var debounce = try reader.object("debounce")
        let k = try debounce.int("k")
        let n = try debounce.int("n")
        try debounce.finish()
        guard n >= 1, (1...n).contains(k) else { throw .manifest(field: "debounce", reason: "needs 1 ≤ k ≤ n") }
        var commissioning: Commissioning?
        if reader.members["commissioning"] != nil {
            var object = try reader.object("commissioning")
            let windows = try object.int("windows")
            let factor = try object.double("factor")
            let floor = try object.double("floor")
            try object.finish()
            guard (1...Commissioning.windowsMax).contains(windows) else {
                throw .manifest(field: "commissioning.windows", reason: "must be within 1...\(Commissioning.windowsMax), not \(windows)")
            }
            guard factor >= 1, factor <= 100 else { throw .manifest(field: "commissioning.factor", reason: "must be within 1...100") }
            guard floor > 0, floor <= 1 else { throw .manifest(field: "commissioning.floor", reason: "must be within (0, 1]") }
            commissioning = Commissioning(windows: windows, factor: factor, floor: floor)
        }
        try reader.finish()
        return ModelManifest(
            name: name, version: version, kind: kind, inputChannels: channels, windowLength: length, windowStride: stride,
            pollInterval: .nanoseconds(Int64((pollSeconds * 1e9).rounded())), features: features,
            normalisationMean: mean, normalisationStd: std, modelFile: modelFile, threshold: threshold,
            debounceK: k, debounceN: n, commissioning: commissioning)
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
        do { parsed = try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) } catch {
            throw makeError("(root)", "not valid JSON")
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

    mutating func int(_ key: String) throws(ModelPackageError) -> Int {
        let number = try double(key)
        guard number == number.rounded(), abs(number) < 1e9 else { throw makeError(field(key), "must be a whole number") }
        return Int(number)
    }

    mutating func array(_ key: String) throws(ModelPackageError) -> [JSONValue] {
        guard case .array(let items) = try value(key) else { throw makeError(field(key), "must be an array") }
        return items
    }

    mutating func numbers(_ key: String) throws(ModelPackageError) -> [Double] {
        var result: [Double] = []
        for (index, item) in try array(key).enumerated() {
            guard case .number(let number) = item, number.isFinite else {
                throw makeError("\(field(key))[\(index)]", "must be a finite number")
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
