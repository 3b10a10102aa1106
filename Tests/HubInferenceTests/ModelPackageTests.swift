import Foundation
import HubCore
import HubInference
import Testing

/// A stand-in model: multiplies every input by `gain` (gain 1 reconstructs perfectly).
struct ScalingModel: ReconstructionModel {
    let inputSize: Int
    let gain: Float
    var outputSize: Int { inputSize }
    func run(_ input: [Float], into output: inout [Float]) throws(ModelPackageError) {
        for index in input.indices { output[index] = input[index] * gain }
    }
}

@Suite("Model packages")
struct ModelPackageTests {
    static let manifestJSON = """
        {"name": "furnace-ae", "version": "1.2.0", "kind": "furnace",
         "input_channels": ["temperature", "humidity"],
         "window": {"length": 4, "stride": 2}, "sample_interval_s": 10,
         "features": [{"channel": "temperature", "stat": "mean"}, {"channel": "temperature", "stat": "slope"},
                      {"channel": "humidity", "stat": "std"}],
         "normalisation": {"mean": [20, 0, 1], "std": [2, 10, 0.5]},
         "model_file": "model.onnx", "threshold": 0.5, "debounce": {"k": 2, "n": 3}}
        """

    static func manifest(_ text: String = manifestJSON) throws -> ModelManifest {
        try ModelManifest.parse(Array(text.utf8))
    }

    @Test("a complete manifest parses into typed values")
    func manifest() throws {
        let m = try Self.manifest()
        #expect(m.identifier == "furnace-ae@1.2.0")
        #expect(m.kind == .furnace)
        #expect(m.inputChannels == [.temperature, .humidity])
        #expect(m.windowLength == 4 && m.windowStride == 2)
        #expect(m.pollInterval == .seconds(10))
        #expect(m.features == [FeatureSpec(channel: .temperature, stat: .mean), FeatureSpec(channel: .temperature, stat: .slope),
                               FeatureSpec(channel: .humidity, stat: .std)])
        #expect(m.debounceK == 2 && m.debounceN == 3)
    }

    @Test("every manifest mistake names its field", arguments: [
        ("\"version\": \"1.2.0\"", "\"version\": \"1.2\"", "version"),
        ("\"kind\": \"furnace\"", "\"kind\": \"boiler\"", "kind"),
        ("\"threshold\": 0.5", "\"threshold\": -1", "threshold"),
        ("\"threshold\": 0.5", "\"threshhold\": 0.5", "threshold"),
        ("\"debounce\": {\"k\": 2, \"n\": 3}", "\"debounce\": {\"k\": 2, \"n\": 3}, \"colour\": 1", "colour"),
        ("\"std\": [2, 10, 0.5]", "\"std\": [2, 0, 0.5]", "normalisation.std[1]"),
        ("\"mean\": [20, 0, 1]", "\"mean\": [20, 0]", "normalisation.mean"),
        ("\"stat\": \"slope\"", "\"stat\": \"median\"", "features[1].stat"),
        ("{\"channel\": \"humidity\"", "{\"channel\": \"pressure\"", "features[2].channel"),
        ("\"stride\": 2", "\"stride\": 9", "window.stride"),
        ("\"k\": 2", "\"k\": 4", "debounce.k"),
        ("\"model_file\": \"model.onnx\", ", "", "model_file"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": {\"windows\": 0, \"factor\": 2, \"floor\": 0.5}",
         "commissioning.windows"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": {\"windows\": 999999999, \"factor\": 2, \"floor\": 0.5}",
         "commissioning.windows"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": {\"windows\": 10, \"factor\": 0.5, \"floor\": 0.5}",
         "commissioning.factor"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": {\"windows\": 10, \"factor\": 2, \"floor\": 0}",
         "commissioning.floor"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": {\"windows\": 10, \"factor\": 2}", "commissioning.floor"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": {\"windows\": 10, \"factor\": 2, \"floor\": 1, \"x\": 1}",
         "commissioning.x"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"commissioning\": 3", "commissioning"),
        ("\"threshold\": 0.5", "\"threshold\": 0.5, \"compressor_rest\": {\"running_g\": 0.004, \"rest_max_min\": 16, \"defrost_interval_h\": 8}",
         "compressor_rest"),
    ])
    func manifestErrors(original: String, replacement: String, field: String) throws {
        try expectManifestError(original, replacement, field: field, reason: nil)
    }

    /// Edits the sample manifest and expects it refused at `field`, the reason mentioning `reason` if given.
    func expectManifestError(_ original: String, _ replacement: String, field: String, reason: String?) throws {
        let text = Self.manifestJSON.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.manifestJSON, "the replacement applies")
        try expectManifestError(in: text, field: field, reason: reason)
    }

    /// Expects the manifest `text` refused at `field`, the reason mentioning `reason` if given.
    func expectManifestError(in text: String, field: String, reason: String?) throws {
        do {
            _ = try Self.manifest(text)
            Issue.record("expected an error for \(field)")
        } catch let error as ModelPackageError {
            guard case .manifest(let got, let why) = error else { Issue.record("\(error)"); return }
            #expect(got == field, "\(error)")
            if let reason { #expect(why.contains(reason), "\(error)") }
        }
    }

    @Test("every numeric manifest field outside its range is refused, naming the JSON path and the range", arguments: [
        // Once a trap (Duration overflow) and a hang (a zero sampling interval, a debounce that never decides).
        ("\"sample_interval_s\": 10", "\"sample_interval_s\": 1e10", "sample_interval_s", "0.1...3600"),
        ("\"sample_interval_s\": 10", "\"sample_interval_s\": 1e-12", "sample_interval_s", "0.1...3600"),
        ("\"sample_interval_s\": 10", "\"sample_interval_s\": -10", "sample_interval_s", "0.1...3600"),
        ("\"sample_interval_s\": 10", "\"sample_interval_s\": \"10\"", "sample_interval_s", "finite number"),
        ("\"n\": 3", "\"n\": 999999999", "debounce.n", "1...1000"),
        ("\"n\": 3", "\"n\": 1e300", "debounce.n", "1...1000"),
        ("\"n\": 3", "\"n\": 2.5", "debounce.n", "whole number"),
        ("\"k\": 2", "\"k\": 0", "debounce.k", "1...3"),
        ("\"length\": 4", "\"length\": 1000000", "window.length", "2...10000"),
        ("\"length\": 4", "\"length\": -4", "window.length", "2...10000"),
        ("\"stride\": 2", "\"stride\": 0", "window.stride", "1...4"),
        ("\"threshold\": 0.5", "\"threshold\": 1e300", "threshold", "1e-12...1000000000000"),
        ("\"threshold\": 0.5", "\"threshold\": 0", "threshold", "1e-12"),
        ("\"mean\": [20, 0, 1]", "\"mean\": [20, 1e300, 1]", "normalisation.mean[1]", "-1000000000.0...1000000000.0"),
        ("\"std\": [2, 10, 0.5]", "\"std\": [2, 1e-300, 0.5]", "normalisation.std[1]", "1e-09...1000000000.0"),
        ("\"std\": [2, 10, 0.5]", "\"std\": [2, null, 0.5]", "normalisation.std[1]", "finite number"),
        ("\"model_file\": \"model.onnx\"", "\"model_file\": \"../../etc/passwd\"", "model_file", "inside the package"),
        ("\"model_file\": \"model.onnx\"", "\"model_file\": \"..\"", "model_file", "inside the package"),
        ("[\"temperature\", \"humidity\"]", "[\"temperature\", \"humidity\", \"temperature\"]", "input_channels[2]", "listed twice"),
    ])
    func manifestLimits(original: String, replacement: String, field: String, reason: String) throws {
        try expectManifestError(original, replacement, field: field, reason: reason)
    }

    @Test("a window spanning more than 30 days is refused")
    func windowSpan() {
        let text = Self.manifestJSON.replacingOccurrences(of: "\"length\": 4", with: "\"length\": 10000")
            .replacingOccurrences(of: "\"sample_interval_s\": 10", with: "\"sample_interval_s\": 3600")
        #expect(throws: ModelPackageError.manifest(field: "window.length", reason: "10000 samples every 3600.0 s span more than 30 days")) {
            try Self.manifest(text)
        }
    }

    @Test("package files that cannot be read say why: encoding, symlink loop, not a regular file")
    func unreadableFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("package-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let manifest = directory + "/manifest.json"
        func reason() -> String? {
            do { _ = try ModelPackage.load(directory: directory) } catch let error {
                guard case .file(let name, let reason) = error, name == "manifest.json" else { return "\(error)" }
                return reason
            }
            return nil
        }
        var utf16: [UInt8] = [0xFE, 0xFF]
        for unit in Self.manifestJSON.utf16 { utf16 += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        try Data(utf16).write(to: URL(fileURLWithPath: manifest))
        #expect(reason()?.hasPrefix("not UTF-8 text: looks like UTF-16 (big-endian byte-order mark FE FF)") == true, "\(reason() ?? "")")
        try FileManager.default.removeItem(atPath: manifest)
        try FileManager.default.createSymbolicLink(atPath: manifest, withDestinationPath: manifest)
        #expect(reason() == "cannot open: Too many levels of symbolic links (in \(directory))")
        try FileManager.default.removeItem(atPath: manifest)
        try FileManager.default.createDirectory(atPath: manifest, withIntermediateDirectories: false)
        #expect(reason() == "not a regular file (a directory) (in \(directory))")
        try FileManager.default.removeItem(atPath: manifest)
        try FileManager.default.createSymbolicLink(atPath: manifest, withDestinationPath: "/dev/null")
        #expect(reason() == "not a regular file (a character device) (in \(directory))")
    }

    @Test("mutated manifests never crash the parser")
    func manifestFuzz() {
        var random = SeededRandom(seed: 41)
        let source = Array(Self.manifestJSON.utf8)
        var refused = 0
        for _ in 0..<2_000 {
            var bytes = source
            for _ in 0..<random.nextInt(in: 1...3) {
                let position = random.nextInt(in: 0...(bytes.count - 1))
                if random.chance(0.5) { bytes.remove(at: position) } else { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
            }
            do { _ = try ModelManifest.parse(bytes) } catch { refused += 1 }
        }
        #expect(refused > 1_000)
    }

    @Test("window statistics follow the documented definitions")
    func features() {
        let values: [Double] = [1, 2, 3, 4, 10]
        let step = 10.0 / 3600
        #expect(WindowFeatures.compute(.mean, values[...], stepHours: step) == 4)
        #expect(abs(WindowFeatures.compute(.std, values[...], stepHours: step) - 10.0.squareRoot()) < 1e-12)
        #expect(WindowFeatures.compute(.min, values[...], stepHours: step) == 1)
        #expect(WindowFeatures.compute(.max, values[...], stepHours: step) == 10)
        #expect(WindowFeatures.compute(.last, values[...], stepHours: step) == 10)
        // A ramp of 1 per 10 s is 360 per hour.
        let ramp: [Double] = [5, 6, 7, 8]
        #expect(abs(WindowFeatures.compute(.slope, ramp[...], stepHours: step) - 360) < 1e-9)
    }

    static func golden(features: [Double], normalised: [Double], output: [Double], score: Double, vibration: Bool = false) -> [UInt8] {
        let text = """
            {"windows": [{"readings": {"temperature": [20, 21, 22, 23], "humidity": [30, 31, 30, 31]\(vibration ? ", \"vibration\": [0, 0, 0, 0]" : "")},
              "features": \(features), "normalised": \(normalised), "output": \(output), "score": \(score)}]}
            """
        return Array(text.utf8)
    }

    @Test("the golden self-test accepts a package whose hub-side numbers agree")
    func goldenPasses() throws {
        let manifest = try Self.manifest()
        // mean 21.5, slope 360/h, humidity std 0.5 → normalised (0.75, 36, -1).
        let golden = Self.golden(features: [21.5, 360, 0.5], normalised: [0.75, 36, -1], output: [0.75, 36, -1], score: 0)
        let package = try ModelPackage.assemble(manifest: manifest, model: ScalingModel(inputSize: 3, gain: 1), golden: golden)
        #expect(package.goldenCount == 1)
    }

    @Test("a golden mismatch is refused, naming the vector and value")
    func goldenFails() throws {
        let manifest = try Self.manifest()
        let golden = Self.golden(features: [21.5, 360, 0.5], normalised: [0.75, 36, -1], output: [0.75, 36, -1], score: 0)
        #expect(throws: ModelPackageError.goldenMismatch(vector: 0, index: 0, expected: 0.75, got: 1.5, what: "output")) {
            try ModelPackage.assemble(manifest: manifest, model: ScalingModel(inputSize: 3, gain: 2), golden: golden)
        }
        let wrongFeatures = Self.golden(features: [21.4, 360, 0.5], normalised: [0.75, 36, -1], output: [0.75, 36, -1], score: 0)
        #expect(throws: ModelPackageError.goldenMismatch(vector: 0, index: 0, expected: 21.4, got: 21.5, what: "features")) {
            try ModelPackage.assemble(manifest: manifest, model: ScalingModel(inputSize: 3, gain: 1), golden: wrongFeatures)
        }
        #expect(throws: ModelPackageError.model(reason: "takes 4 inputs, the manifest lists 3 features")) {
            try ModelPackage.assemble(manifest: manifest, model: ScalingModel(inputSize: 4, gain: 1), golden: wrongFeatures)
        }
    }

    static func package(gain: Float = 1) throws -> ModelPackage {
        let golden = golden(features: [21.5, 360, 0.5], normalised: [0.75, 36, -1],
                            output: [0.75 * Double(gain), 36 * Double(gain), -1 * Double(gain)],
                            score: [0.75, 36, -1].map { pow($0 * Double(gain) - $0, 2) }.reduce(0, +) / 3)
        return try ModelPackage.assemble(manifest: try manifest(), model: ScalingModel(inputSize: 3, gain: gain), golden: golden)
    }

    func reading(_ second: Int64, temperature: Double?, humidity: Double = 30) -> Reading {
        var values = ChannelValues([(.humidity, humidity)])
        values[.temperature] = temperature
        return Reading(timestamp: Instant(secondsSinceEpoch: 1_000 + second), device: "hvac", values: values)
    }

    @Test("a hub polling every second feeds a 10 s model one sample per 10 s, scoring every stride")
    func subsampling() throws {
        var detector = PackageDetector(package: try Self.package(gain: 2))
        var scored: [Int64] = []
        for second in Int64(0)..<80 {
            if detector.observe(reading(second, temperature: 20 + Double(second) / 10)) != nil { scored.append(second) }
        }
        // Samples at 0, 10, 20, 30 fill the window; then every second sample: 30, 50, 70.
        #expect(scored == [30, 50, 70])
    }

    @Test("readings missing an input channel are skipped, not zero-filled")
    func partialReadings() throws {
        var detector = PackageDetector(package: try Self.package())
        for second in stride(from: Int64(0), to: 40, by: 10) { _ = detector.observe(reading(second, temperature: nil)) }
        #expect(detector.heldSamples()[0].isEmpty)
        for second in stride(from: Int64(40), to: 80, by: 10) { _ = detector.observe(reading(second, temperature: 21)) }
        #expect(detector.heldSamples()[0] == [21, 21, 21, 21])
    }

    @Test("a window never spans a sensor outage: more than two missing samples empty it")
    func outageEmptiesWindow() throws {
        var detector = PackageDetector(package: try Self.package())
        for second in stride(from: Int64(0), to: 40, by: 10) { _ = detector.observe(reading(second, temperature: 21)) }
        #expect(detector.heldSamples()[0].count == 4)
        // The sensor is gone for 3 samples (partial readings), then back.
        for second in stride(from: Int64(40), to: 70, by: 10) { #expect(detector.observe(reading(second, temperature: nil)) == nil) }
        var scores: [Double?] = []
        for second in stride(from: Int64(70), to: 110, by: 10) { scores.append(detector.observe(reading(second, temperature: 30))) }
        #expect(scores[0 ..< 3].allSatisfy { $0 == nil }, "nothing is scored until the window refills after the gap")
        #expect(detector.heldSamples()[0] == [30, 30, 30, 30])
    }

    @Test("two missing samples are bridged: a lost poll does not cost a window's refill")
    func shortGapBridged() throws {
        var detector = PackageDetector(package: try Self.package())
        for second in stride(from: Int64(0), to: 40, by: 10) { _ = detector.observe(reading(second, temperature: 21)) }
        _ = detector.observe(reading(60, temperature: 22))
        #expect(detector.heldSamples()[0] == [21, 21, 21, 22])
    }

    /// The sample manifest with vibration among its inputs and `rule` as its `compressor_rest` (or `key`).
    static func restManifestJSON(_ rule: String, key: String = "compressor_rest") -> String {
        manifestJSON.replacingOccurrences(of: "[\"temperature\", \"humidity\"]", with: "[\"temperature\", \"humidity\", \"vibration\"]")
            .replacingOccurrences(of: "\"threshold\": 0.5", with: "\"threshold\": 0.5, \"\(key)\": \(rule)")
    }

    static let ajarRule = "{\"running_g\": 0.004, \"run_min\": 1, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4, \"humidity_min_pct\": 80}"

    @Test("door_ajar parses into a rule in seconds")
    func doorAjarParses() throws {
        let m = try Self.manifest(Self.restManifestJSON(Self.ajarRule, key: "door_ajar"))
        #expect(m.doorAjar == ModelManifest.DoorAjar(runningG: 0.004, run: .seconds(60), airFallMax: 0.3, openingStep: 0.4, humidityMin: 80))
        #expect(try Self.manifest().doorAjar == nil)
    }

    @Test("every door_ajar mistake names its field", arguments: [
        ("{\"running_g\": -1, \"run_min\": 8, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4, \"humidity_min_pct\": 80}",
         "door_ajar.running_g", "found -1.0"),
        ("{\"running_g\": 0.004, \"run_min\": 1e9, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4, \"humidity_min_pct\": 80}",
         "door_ajar.run_min", "0.1...1440.0"),
        ("{\"running_g\": 0.004, \"run_min\": 8, \"air_fall_max_k\": \"0.3\", \"opening_step_k\": 0.4, \"humidity_min_pct\": 80}",
         "door_ajar.air_fall_max_k", nil),
        ("{\"running_g\": 0.004, \"run_min\": 8, \"air_fall_max_k\": 0.3, \"opening_step_k\": 1e300, \"humidity_min_pct\": 80}",
         "door_ajar.opening_step_k", "0.0...100.0"),
        ("{\"running_g\": 0.004, \"run_min\": 8, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4, \"humidity_min_pct\": 101}",
         "door_ajar.humidity_min_pct", "0.0...100.0"),
        ("{\"running_g\": 0.004, \"run_min\": 8, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4}", "door_ajar.humidity_min_pct", "missing"),
        ("{\"running_g\": 0.004, \"run_min\": 8, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4, \"humidity_min_pct\": 80, \"door\": 1}",
         "door_ajar.door", "unknown field"),
        ("true", "door_ajar", "must be an object"),
    ] as [(String, String, String?)])
    func doorAjarErrors(rule: String, field: String, reason: String?) throws {
        try expectManifestError(in: Self.restManifestJSON(rule, key: "door_ajar"), field: field, reason: reason)
    }

    @Test("door_ajar's look-back is bounded in samples: a day at 1 s is refused")
    func doorAjarSamplesBounded() throws {
        let rule = "{\"running_g\": 0.004, \"run_min\": 1440, \"air_fall_max_k\": 0.3, \"opening_step_k\": 0.4, \"humidity_min_pct\": 80}"
        let text = Self.restManifestJSON(rule, key: "door_ajar").replacingOccurrences(of: "\"sample_interval_s\": 10", with: "\"sample_interval_s\": 1")
        try expectManifestError(in: text, field: "door_ajar.run_min", reason: "more than 10000 samples")
        // At 10 s the same day is 8,640 samples: accepted.
        #expect(try Self.manifest(Self.restManifestJSON(rule, key: "door_ajar")).doorAjar?.run == .seconds(86_400))
    }

    @Test("door_ajar needs vibration, temperature and humidity among the inputs")
    func doorAjarNeedsChannels() throws {
        let text = Self.manifestJSON.replacingOccurrences(of: "\"threshold\": 0.5", with: "\"threshold\": 0.5, \"door_ajar\": \(Self.ajarRule)")
        try expectManifestError(in: text, field: "door_ajar", reason: "needs vibration, temperature and humidity")
    }

    @Test("a package with door_ajar scores a run that does not cool a humid cabinet in thresholds, whatever the model says")
    func doorAjarScores() throws {
        let package = try Self.rulePackage(Self.ajarRule, key: "door_ajar")
        // Running with the air still, but the cabinet dry: the perfect model's 0.
        let dry: [(Int64, Double, Double)] = [(120, 0.02, 60)]
        let dryScores = Self.scoresAcrossSwap(from: package, to: nil, before: [], after: dry)
        #expect(!dryScores.isEmpty && dryScores.allSatisfy { $0 == 0 }, "\(dryScores)")
        // Humid: a window every second sample; at the sixth humid sample (one minute) the rule
        // holds and the window is at the threshold, then above.
        let scores = Self.scoresAcrossSwap(from: package, to: nil, before: dry, after: [(100, 0.02, 95)])
        let expected = [0, 0, 6.0 / 6, 8.0 / 6, 10.0 / 6].map { 0.5 * $0 }
        #expect(scores == expected, "\(scores)")
    }

    @Test("compressor_rest parses into a rule in seconds")
    func compressorRestParses() throws {
        let m = try Self.manifest(Self.restManifestJSON("{\"running_g\": 0.004, \"rest_max_min\": 16, \"defrost_interval_h\": 8}"))
        #expect(m.compressorRest == ModelManifest.CompressorRest(runningG: 0.004, restMax: .seconds(960), defrostInterval: .seconds(28_800)))
        #expect(try Self.manifest().compressorRest == nil)
    }

    @Test("every compressor_rest mistake names its field", arguments: [
        ("{\"running_g\": 0, \"rest_max_min\": 16, \"defrost_interval_h\": 8}", "compressor_rest.running_g", "...2.0, found 0.0"),
        ("{\"running_g\": 0.004, \"rest_max_min\": 1e9, \"defrost_interval_h\": 8}", "compressor_rest.rest_max_min", "1.0...1440.0"),
        ("{\"running_g\": 0.004, \"rest_max_min\": 16, \"defrost_interval_h\": -8}", "compressor_rest.defrost_interval_h", "0.1...168.0"),
        ("{\"running_g\": 0.004, \"rest_max_min\": 600, \"defrost_interval_h\": 8}", "compressor_rest.defrost_interval_h", "not longer than"),
        ("{\"running_g\": 0.004, \"rest_max_min\": 16}", "compressor_rest.defrost_interval_h", "missing"),
        ("{\"running_g\": 0.004, \"rest_max_min\": 16, \"defrost_interval_h\": 8, \"x\": 1}", "compressor_rest.x", "unknown field"),
        ("[16, 8]", "compressor_rest", "must be an object"),
    ])
    func compressorRestErrors(rule: String, field: String, reason: String) throws {
        try expectManifestError(in: Self.restManifestJSON(rule), field: field, reason: reason)
    }

    @Test("a package with compressor_rest scores a stalled compressor's rest in thresholds, whatever the model says")
    func compressorRestScores() throws {
        // Healthy rests up to 1 min, defrosts at most every 0.1 h (6 min).
        let package = try Self.rulePackage("{\"running_g\": 0.004, \"rest_max_min\": 1, \"defrost_interval_h\": 0.1}")
        // Run, a two-minute defrost, run: the perfect model scores 0 throughout.
        let before: [(Int64, Double, Double)] = [(60, 0.02, 30), (120, 0.001, 30), (60, 0.02, 30)]
        let quiet = Self.scoresAcrossSwap(from: package, to: nil, before: [], after: before, temperature: 21)
        #expect(quiet.allSatisfy { $0 == 0 }, "\(quiet)")
        // A rest that begins 3 minutes after the defrost began: its score passes the threshold after 1 minute.
        let scores = Self.scoresAcrossSwap(from: package, to: nil, before: before, after: [(120, 0.001, 30)], temperature: 21)
        let expected = [10.0, 30, 50, 70, 90, 110].map { 0.5 * $0 / 60 }
        #expect(scores.count == expected.count && zip(scores, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(scores)")
    }

    /// A package whose perfect model scores 0, so what a detector scores is its rules'.
    static func rulePackage(_ rule: String, key: String = "compressor_rest") throws -> ModelPackage {
        let manifest = try Self.manifest(Self.restManifestJSON(rule, key: key))
        let golden = Self.golden(features: [21.5, 360, 0.5], normalised: [0.75, 36, -1], output: [0.75, 36, -1], score: 0, vibration: true)
        return try ModelPackage.assemble(manifest: manifest, model: ScalingModel(inputSize: 3, gain: 1), golden: golden)
    }

    /// The scores after a swap to `successor` (nil: no swap) between `before` and `after`,
    /// each a list of (seconds, vibration, humidity) stretches at 10 s, the air at `temperature`.
    static func scoresAcrossSwap(from package: ModelPackage, to successor: ModelPackage?,
                                 before: [(Int64, Double, Double)], after: [(Int64, Double, Double)],
                                 temperature: Double = 6) -> [Double] {
        var detector = PackageDetector(package: package)
        var second: Int64 = 0
        var scores: [Double] = []
        func feed(_ stretches: [(Int64, Double, Double)]) {
            for (seconds, vibration, humidity) in stretches {
                for _ in 0..<(seconds / 10) {
                    var values = ChannelValues([(.humidity, humidity), (.temperature, temperature)])
                    values[.vibration] = vibration
                    if let score = detector.observe(Reading(timestamp: Instant(secondsSinceEpoch: second), device: "fridge", values: values)) {
                        scores.append(score)
                    }
                    second += 10
                }
            }
        }
        feed(before)
        if let successor { detector = PackageDetector(package: successor, continuing: detector) }
        scores = []
        feed(after)
        return scores
    }

    @Test("a model swap keeps compressor_rest's defrost timer when the new package has the same rule, and only then")
    func swapKeepsRestWatch() throws {
        let rule = "{\"running_g\": 0.004, \"rest_max_min\": 1, \"defrost_interval_h\": 0.1}"
        let package = try Self.rulePackage(rule)
        // Run, a two-minute defrost, run; the deployment; a rest 3 minutes after the defrost began.
        let before: [(Int64, Double, Double)] = [(60, 0.02, 30), (120, 0.001, 30), (60, 0.02, 30)]
        let after: [(Int64, Double, Double)] = [(120, 0.001, 30)]
        let unswapped = Self.scoresAcrossSwap(from: package, to: nil, before: before, after: after)
        #expect(unswapped.contains { $0 > 0.5 }, "the stall passes the threshold without a swap: \(unswapped)")
        let same = try Self.rulePackage(rule)
        #expect(Self.scoresAcrossSwap(from: package, to: same, before: before, after: after) == unswapped)
        // Another rule starts afresh: not knowing the last defrost, it takes the rest for one.
        let other = try Self.rulePackage("{\"running_g\": 0.004, \"rest_max_min\": 1.5, \"defrost_interval_h\": 0.1}")
        let fresh = Self.scoresAcrossSwap(from: package, to: other, before: before, after: after)
        #expect(fresh.allSatisfy { $0 == 0 }, "\(fresh)")
    }

    @Test("a model swap keeps door_ajar's count when the new package has the same rule")
    func swapKeepsAjarWatch() throws {
        let package = try Self.rulePackage(Self.ajarRule, key: "door_ajar")
        // Humid running on both sides of the deployment: the rule's minute spans it.
        let before: [(Int64, Double, Double)] = [(120, 0.02, 60), (40, 0.02, 95)]
        let after: [(Int64, Double, Double)] = [(60, 0.02, 95)]
        let unswapped = Self.scoresAcrossSwap(from: package, to: nil, before: before, after: after)
        #expect(unswapped.contains { $0 >= 0.5 }, "the rule holds within the stretch after: \(unswapped)")
        #expect(Self.scoresAcrossSwap(from: package, to: try Self.rulePackage(Self.ajarRule, key: "door_ajar"),
                                      before: before, after: after) == unswapped)
        let longer = Self.ajarRule.replacingOccurrences(of: "\"run_min\": 1", with: "\"run_min\": 2")
        let fresh = Self.scoresAcrossSwap(from: package, to: try Self.rulePackage(longer, key: "door_ajar"), before: before, after: after)
        #expect(fresh.allSatisfy { $0 == 0 }, "another rule counts afresh: \(fresh)")
    }

    static let swayRule = "{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 4, \"level_max_g\": 0.0033}"

    @Test("drum_sway parses into a rule")
    func drumSwayParses() throws {
        let m = try Self.manifest(Self.restManifestJSON(Self.swayRule, key: "drum_sway"))
        #expect(m.drumSway == ModelManifest.DrumSway(tumblingMinG: 0.0023, tumblingMaxG: 0.0045, readings: 4, levelMaxG: 0.0033))
        #expect(try Self.manifest().drumSway == nil)
    }

    @Test("every drum_sway mistake names its field", arguments: [
        ("{\"tumbling_min_g\": -1, \"tumbling_max_g\": 0.0045, \"readings\": 36, \"level_max_g\": 0.0033}",
         "drum_sway.tumbling_min_g", "found -1.0"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 1e300, \"readings\": 36, \"level_max_g\": 0.0033}",
         "drum_sway.tumbling_max_g", "1e-06...2.0"),
        ("{\"tumbling_min_g\": 0.0045, \"tumbling_max_g\": 0.0023, \"readings\": 36, \"level_max_g\": 0.0033}",
         "drum_sway.tumbling_max_g", "is not above tumbling_min_g"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 3, \"level_max_g\": 0.0033}",
         "drum_sway.readings", "4...10000"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 999999999, \"level_max_g\": 0.0033}",
         "drum_sway.readings", "4...10000"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 36.5, \"level_max_g\": 0.0033}",
         "drum_sway.readings", nil),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 36}", "drum_sway.level_max_g", "missing"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 36, \"level_max_g\": 0.0033, \"x\": 1}",
         "drum_sway.x", "unknown field"),
        ("[]", "drum_sway", "must be an object"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 36, \"level_max_g\": 0.002}",
         "drum_sway.level_max_g", "not inside the tumbling band"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 36, \"level_max_g\": 0.0023}",
         "drum_sway.level_max_g", "not inside the tumbling band"),
        ("{\"tumbling_min_g\": 0.0023, \"tumbling_max_g\": 0.0045, \"readings\": 36, \"level_max_g\": 0.005}",
         "drum_sway.level_max_g", "not inside the tumbling band"),
    ] as [(String, String, String?)])
    func drumSwayErrors(rule: String, field: String, reason: String?) throws {
        try expectManifestError(in: Self.restManifestJSON(rule, key: "drum_sway"), field: field, reason: reason)
    }

    @Test("drum_sway needs vibration among the inputs")
    func drumSwayNeedsVibration() throws {
        let text = Self.manifestJSON.replacingOccurrences(of: "\"threshold\": 0.5", with: "\"threshold\": 0.5, \"drum_sway\": \(Self.swayRule)")
        try expectManifestError(in: text, field: "drum_sway", reason: "needs vibration among input_channels")
    }

    @Test("a package with drum_sway scores loud tumbling in thresholds, whatever the model says")
    func drumSwayScores() throws {
        let package = try Self.rulePackage(Self.swayRule, key: "drum_sway")
        // A sound drum tumbling, with idle and spin readings between: below the threshold of 0.5.
        let sound = Self.scoresAcrossSwap(from: package, to: nil, before: [],
                                          after: [(60, 0.0031, 40), (60, 0.0017, 40), (30, 0.04, 40), (60, 0.0031, 40)])
        #expect(!sound.isEmpty && sound.allSatisfy { $0 < 0.5 }, "\(sound)")
        let loud = Self.scoresAcrossSwap(from: package, to: nil, before: [], after: [(120, 0.0035, 40)])
        #expect(loud.last == 0.5 * 0.0035 / 0.0033, "\(loud)")
    }

    @Test("a model swap keeps drum_sway's readings when the new package has the same rule")
    func swapKeepsSwayWatch() throws {
        let package = try Self.rulePackage(Self.swayRule, key: "drum_sway")
        // Loud tumbling fills the rule before the deployment; after it the drum stands still.
        let before: [(Int64, Double, Double)] = [(60, 0.0035, 40)]
        let after: [(Int64, Double, Double)] = [(60, 0.0015, 40)]
        let unswapped = Self.scoresAcrossSwap(from: package, to: nil, before: before, after: after)
        #expect(unswapped.contains { $0 > 0.5 }, "\(unswapped)")
        #expect(Self.scoresAcrossSwap(from: package, to: try Self.rulePackage(Self.swayRule, key: "drum_sway"),
                                      before: before, after: after) == unswapped)
        let other = Self.swayRule.replacingOccurrences(of: "\"readings\": 4", with: "\"readings\": 5")
        let fresh = Self.scoresAcrossSwap(from: package, to: try Self.rulePackage(other, key: "drum_sway"), before: before, after: after)
        #expect(fresh.allSatisfy { $0 == 0 }, "another rule counts afresh: \(fresh)")
    }

    static func commissionedPackage(windows: Int, factor: Double, floor: Double) throws -> ModelPackage {
        var manifest = try manifest()
        manifest.commissioning = ModelManifest.Commissioning(windows: windows, factor: factor, floor: floor)
        let golden = golden(features: [21.5, 360, 0.5], normalised: [0.75, 36, -1],
                            output: [0.75 * 1.1, 36 * 1.1, -1 * 1.1],
                            score: [0.75, 36, -1].map { pow($0 * 1.1 - $0, 2) }.reduce(0, +) / 3)
        return try ModelPackage.assemble(manifest: manifest, model: ScalingModel(inputSize: 3, gain: 1.1), golden: golden)
    }

    @Test("commissioning learns the unit's quiet level and lowers the threshold to factor × it, within [floor, package]")
    func commissioning() throws {
        // Window 4, stride 2: a score every 20 s once full. Constant readings, constant score.
        var detector = PackageDetector(package: try Self.commissionedPackage(windows: 5, factor: 2, floor: 0.01))
        #expect(detector.threshold == 0.5)
        var scores: [Double] = []
        var second: Int64 = 0
        while scores.count < 5 {
            if let score = detector.observe(reading(second, temperature: 21)) { scores.append(score) }
            second += 10
        }
        let quiet = scores[0]
        #expect(scores.allSatisfy { $0 == quiet })
        #expect(detector.unitThreshold == min(0.5, 2 * quiet))
        #expect(detector.threshold == min(0.5, 2 * quiet))
    }

    @Test("a commissioned threshold is never above the package's nor below its floor")
    func commissioningClamps() throws {
        for (factor, floor, expected) in [(100.0, 0.5, 0.5), (1.0, 0.9, 0.45)] {
            var detector = PackageDetector(package: try Self.commissionedPackage(windows: 3, factor: factor, floor: floor))
            var scored = 0
            var second: Int64 = 0
            // Readings that score well above the package threshold (quiet level ≫ 0.5) or near zero.
            let temperature = factor == 100 ? 80.0 : 20.0
            while scored < 3 {
                if detector.observe(reading(second, temperature: temperature, humidity: 30)) != nil { scored += 1 }
                second += 10
            }
            #expect(abs(detector.threshold - expected) < 1e-12, "factor \(factor), floor \(floor): \(detector.threshold)")
        }
    }

    @Test("a model swap keeps the window: the successor scores at once")
    func swapKeepsWindow() throws {
        var old = PackageDetector(package: try Self.package(gain: 1))
        for second in stride(from: Int64(0), to: 40, by: 10) { _ = old.observe(reading(second, temperature: 22)) }
        var successor = PackageDetector(package: try Self.package(gain: 2), continuing: old)
        #expect(successor.heldSamples() == old.heldSamples())
        _ = successor.observe(reading(40, temperature: 22))
        #expect(successor.observe(reading(50, temperature: 22)) != nil, "full window from the predecessor, stride reached")
    }
}
