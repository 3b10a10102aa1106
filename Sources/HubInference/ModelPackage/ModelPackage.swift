import Foundation
import HubCore

/// The part of an ONNX model the hub needs: one float vector in, one out.
///
/// A seam rather than the runtime type itself, so the package logic (windows, features,
/// scores, swaps) is tested with hand-made models and the runtime with real graphs.
public protocol ReconstructionModel: Sendable {
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// Runs the model; `output` must hold `outputSize` values.
    func run(_ input: [Float], into output: inout [Float]) throws(ModelPackageError)
}

/// A loaded, self-tested model package: manifest, compiled model, golden vectors checked.
///
/// Loading is all-or-nothing: a package whose manifest, model or golden self-test fails is
/// never returned, so a hub asked to switch to it keeps the model it has.
public struct ModelPackage: Sendable {
    public let manifest: ModelManifest
    public let model: any ReconstructionModel
    /// Golden windows that passed the self-test.
    public let goldenCount: Int

    /// Compiles model.onnx bytes; the production loader uses the ONNX runtime.
    public typealias Compiler = @Sendable ([UInt8]) throws(ModelPackageError) -> any ReconstructionModel

    /// Loads `directory` (manifest.json, the model file, golden.json) and runs the self-test.
    public static func load(directory: String, compile: Compiler) throws(ModelPackageError) -> ModelPackage {
        let manifest = try ModelManifest.parse(try read(directory, "manifest.json", text: true))
        let model = try compile(try read(directory, manifest.modelFile, text: false))
        return try assemble(manifest: manifest, model: model, golden: try read(directory, "golden.json", text: true))
    }

    /// Checks the model against the manifest and the golden vectors.
    public static func assemble(manifest: ModelManifest, model: any ReconstructionModel, golden: [UInt8]) throws(ModelPackageError) -> ModelPackage {
        guard model.inputSize == manifest.features.count else {
            throw .model(reason: "takes \(model.inputSize) inputs, the manifest lists \(manifest.features.count) features")
        }
        guard model.outputSize == manifest.features.count else {
            throw .model(reason: "returns \(model.outputSize) values; an autoencoder must reconstruct its \(manifest.features.count) inputs")
        }
        let vectors = try GoldenSet.parse(golden, manifest: manifest)
        var scorer = WindowScorer(manifest: manifest, model: model)
        for (number, vector) in vectors.enumerated() {
            let features = scorer.features(from: vector.readings)
            try compare(features, vector.features, vector: number, what: "features", tolerance: 1e-6)
            let score = try scorer.score(features: features)
            try compare(scorer.normalised.map(Double.init), vector.normalised, vector: number, what: "normalised", tolerance: 1e-5)
            try compare(scorer.output.map(Double.init), vector.output, vector: number, what: "output", tolerance: 1e-5)
            try compare([score], [vector.score], vector: number, what: "score", tolerance: 1e-5)
        }
        return ModelPackage(manifest: manifest, model: model, goldenCount: vectors.count)
    }

    /// Relative tolerance, with an absolute floor of the same size near zero.
    static func compare(_ got: [Double], _ expected: [Double], vector: Int, what: String, tolerance: Double) throws(ModelPackageError) {
        guard got.count == expected.count else {
            throw .golden(field: "windows[\(vector)].\(what)", reason: "has \(expected.count) values, the hub computes \(got.count)")
        }
        for index in got.indices where abs(got[index] - expected[index]) > tolerance * max(1, abs(expected[index])) {
            throw .goldenMismatch(vector: vector, index: index, expected: expected[index], got: got[index], what: what)
        }
    }

    /// Where the repository keeps its committed packages, one directory per appliance kind.
    public static let committedDirectory = "fixtures/models"

    /// The package for `kind` in a directory of packages: `<directory>/<kind>`.
    ///
    /// The only place that layout is spelled out: the hub's and the rig's `--models`, a
    /// scenario's default package and the benchmarks all find packages through it, so
    /// they cannot disagree about where a kind's package lives.
    public static func directory(for kind: ApplianceKind, in directory: String) -> String {
        (directory as NSString).appendingPathComponent(kind.rawValue)
    }

    /// Whether `directory` holds a package (its `manifest.json` is a file), without loading it.
    public static func exists(at directory: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("manifest.json"), isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }

    /// A file of the package; manifest.json and golden.json must be UTF-8 text.
    static func read(_ directory: String, _ name: String, text: Bool) throws(ModelPackageError) -> [UInt8] {
        let path = (directory as NSString).appendingPathComponent(name)
        do {
            return text ? try FileContents.utf8(atPath: path) : try FileContents.bytes(atPath: path)
        } catch {
            throw .file(name: name, reason: "\(error.message) (in \(directory))")
        }
    }
}

/// golden.json: windows of raw readings with the features, normalised input, model output
/// and score the training side computed for them.
struct GoldenSet {
    struct Vector {
        var readings: [[Double]]
        var features: [Double]
        var normalised: [Double]
        var output: [Double]
        var score: Double
    }

    static func parse(_ bytes: [UInt8], manifest: ModelManifest) throws(ModelPackageError) -> [Vector] {
        let golden = { (field: String, reason: String) in ModelPackageError.golden(field: field, reason: reason) }
        var reader = try ObjectReader(json: bytes, makeError: golden)
        let windows = try reader.array("windows")
        try reader.finish()
        if windows.isEmpty { throw .golden(field: "windows", reason: "a package needs at least one golden window") }
        var vectors: [Vector] = []
        for (index, window) in windows.enumerated() {
            guard case .object(let members) = window else { throw .golden(field: "windows[\(index)]", reason: "not an object") }
            var item = ObjectReader(members: members, path: "windows[\(index)]", makeError: golden)
            var readingsObject = try item.object("readings")
            var readings: [[Double]] = []
            for channel in manifest.inputChannels {
                let values = try readingsObject.numbers(channel.key)
                guard values.count == manifest.windowLength else {
                    throw .golden(field: "windows[\(index)].readings.\(channel.key)",
                                  reason: "has \(values.count) values; the window holds \(manifest.windowLength)")
                }
                readings.append(values)
            }
            try readingsObject.finish()
            let vector = Vector(readings: readings, features: try item.numbers("features"), normalised: try item.numbers("normalised"),
                                output: try item.numbers("output"), score: try item.double("score"))
            try item.finish()
            vectors.append(vector)
        }
        return vectors
    }
}

/// Features → normalised input → model → reconstruction error, with reused buffers.
struct WindowScorer {
    let manifest: ModelManifest
    let model: any ReconstructionModel
    private(set) var normalised: [Float]
    private(set) var output: [Float]
    private let stepHours: Double

    init(manifest: ModelManifest, model: any ReconstructionModel) {
        self.manifest = manifest
        self.model = model
        normalised = Array(repeating: 0, count: manifest.features.count)
        output = Array(repeating: 0, count: model.outputSize)
        stepHours = manifest.pollInterval.secondsValue / 3600
    }

    /// Features of a window given as one array per input channel (manifest order).
    func features(from channels: [[Double]]) -> [Double] {
        manifest.features.map { spec in
            let index = manifest.inputChannels.firstIndex(of: spec.channel)!
            return WindowFeatures.compute(spec.stat, channels[index][...], stepHours: stepHours)
        }
    }

    /// The mean squared reconstruction error of the normalised features.
    mutating func score(features: [Double]) throws(ModelPackageError) -> Double {
        for index in features.indices {
            normalised[index] = Float((features[index] - manifest.normalisationMean[index]) / manifest.normalisationStd[index])
        }
        try model.run(normalised, into: &output)
        var sum = 0.0
        for index in normalised.indices {
            let difference = Double(output[index]) - Double(normalised[index])
            sum += difference * difference
        }
        return sum / Double(normalised.count)
    }
}
