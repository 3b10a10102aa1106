import Foundation
import HubCore
import HubInference
import Testing

/// Fuzz harness for model package JSON (docs/fuzzing.md): the committed manifests and
/// golden files through the shared mutator. The property: never crash, never hang; a
/// manifest that parses respects every `ModelManifest.Limits`, and one that does not gets a
/// `ModelPackageError` naming the JSON path.
@Suite("Manifest JSON fuzzing")
struct ManifestFuzzTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let kinds = ["furnace", "fridge", "washer"]

    static func committed(_ name: String) throws -> [[UInt8]] {
        try kinds.map { try FileContents.bytes(atPath: "\(packageRoot)/fixtures/models/\($0)/\(name)") }
    }

    @Test("mutated manifests parse within the limits or are refused naming a JSON path (Fuzz)")
    func manifests() throws {
        let tally = Fuzzing.run(seeds: try Self.committed("manifest.json"), base: 0x3A41_F357, ci: 1_000) { number, bytes in
            do throws(ModelPackageError) {
                Self.checkLimits(try ModelManifest.parse(bytes), case: number)
                return true
            } catch {
                guard case .manifest(let field, let reason) = error else {
                    Issue.record("case \(number): not a manifest error: \(error)")
                    return false
                }
                #expect(!field.isEmpty && !reason.isEmpty, "case \(number): \(error)")
                return false
            }
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
    }

    static func checkLimits(_ m: ModelManifest, case number: Int) {
        typealias L = ModelManifest.Limits
        #expect(L.windowLength.contains(m.windowLength) && (1...m.windowLength).contains(m.windowStride), "case \(number)")
        #expect(m.pollInterval >= .milliseconds(100) && m.pollInterval <= .seconds(3600), "case \(number)")
        #expect(L.debounceN.contains(m.debounceN) && (1...m.debounceN).contains(m.debounceK), "case \(number)")
        #expect(L.threshold.contains(m.threshold), "case \(number)")
        #expect(m.normalisationMean.allSatisfy(L.normalisationMean.contains), "case \(number)")
        #expect(m.normalisationStd.allSatisfy(L.normalisationStd.contains), "case \(number)")
        #expect(!m.modelFile.contains("/") && m.modelFile != ".." && !m.modelFile.isEmpty, "case \(number)")
    }

    /// A stand-in for the compiled model, so the harness measures the JSON, not ONNX.
    struct Identity: ReconstructionModel {
        let inputSize: Int
        var outputSize: Int { inputSize }
        func run(_ input: [Float], into output: inout [Float]) throws(ModelPackageError) {
            for index in input.indices { output[index] = input[index] }
        }
    }

    @Test("mutated golden files are checked or refused naming a JSON path or vector (Fuzz)")
    func goldens() throws {
        let manifests = try Self.committed("manifest.json").map { try ModelManifest.parse($0) }
        // Golden files run to megabytes; their first windows keep each case quick.
        let seeds = try Self.committed("golden.json").map { Self.firstWindows($0, count: 2) }
        var random = SeededRandom(seed: Fuzzing.seed(0x601D))
        var refused = 0
        for number in 0..<Fuzzing.cases(ci: 200) {
            let index = number % seeds.count
            let model = Identity(inputSize: manifests[index].features.count)
            do {
                _ = try ModelPackage.assemble(manifest: manifests[index], model: model, golden: Fuzzing.mutate(seeds[index], &random))
            } catch {
                refused += 1
                switch error {
                case .golden(let field, let reason): #expect(!field.isEmpty && !reason.isEmpty, "case \(number): \(error)")
                case .goldenMismatch: break
                default: Issue.record("case \(number): unexpected \(error)")
                }
            }
        }
        #expect(refused > 0)
    }

    /// `{"windows": [first `count` windows]}` of a golden file.
    static func firstWindows(_ bytes: [UInt8], count: Int) -> [UInt8] {
        guard case .object(let root) = try? JSONValue.parse(bytes),
              case .array(let windows) = root["windows"] else { return bytes }
        var json = "{\"windows\": ["
        json += windows.prefix(count).map(Self.text).joined(separator: ", ")
        return Array((json + "]}").utf8)
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): "\(n)"
        case .string(let s): "\"\(s)\""
        case .array(let items): "[" + items.map(text).joined(separator: ", ") + "]"
        case .object(let members): "{" + members.keys.sorted().map { "\"\($0)\": \(text(members[$0]!))" }.joined(separator: ", ") + "}"
        }
    }
}
