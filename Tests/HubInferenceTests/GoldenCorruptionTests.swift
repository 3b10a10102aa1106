import Foundation
import HubCore
@testable import HubInference
import SwiftProtobuf
import Testing

/// The golden self-test is the hub's only check that model.onnx is the model the training
/// side wrote. It holds normal windows, anomalous ones and windows past the range guard's
/// edges, chosen (training/train.py) so every weight, bias and guard bound shapes some
/// golden output: a package with any one of them corrupted must be refused at load.
@Suite("Golden self-test against corrupted packages")
struct GoldenCorruptionTests {
    struct Package {
        let manifest: ModelManifest
        let golden: [UInt8]
        let proto: Onnx_ModelProto
    }

    static func package(_ kind: ApplianceKind) throws -> Package {
        let directory = CommittedPackageTests.models.appendingPathComponent(kind.rawValue)
        let manifest = try ModelManifest.parse([UInt8](try Data(contentsOf: directory.appendingPathComponent("manifest.json"))))
        let golden = [UInt8](try Data(contentsOf: directory.appendingPathComponent("golden.json")))
        let proto = try Onnx_ModelProto(serializedBytes: [UInt8](try Data(contentsOf: directory.appendingPathComponent("model.onnx"))))
        return Package(manifest: manifest, golden: golden, proto: proto)
    }

    /// The initialiser's float values, whether stored as raw_data or float_data.
    static func floats(_ tensor: Onnx_TensorProto) -> [Float] {
        guard tensor.hasRawData else { return tensor.floatData }
        return tensor.rawData.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
        }
    }

    static func setting(_ tensor: Onnx_TensorProto, _ values: [Float]) -> Onnx_TensorProto {
        var tensor = tensor
        if tensor.hasRawData {
            var data = Data()
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            tensor.rawData = data
        } else {
            tensor.floatData = values
        }
        return tensor
    }

    /// Loads the package with `proto` as its model.onnx, as the hub does.
    static func load(_ package: Package, _ proto: Onnx_ModelProto) throws -> ModelPackage {
        let bytes: [UInt8] = try proto.serializedBytes()
        let model = try ONNXReconstruction(serialized: bytes)
        return try ModelPackage.assemble(manifest: package.manifest, model: model, golden: package.golden)
    }

    @Test("the committed package as written passes, so the refusals below are the corruption's",
          arguments: ApplianceKind.allCases)
    func intactPasses(kind: ApplianceKind) throws {
        let package = try Self.package(kind)
        let loaded = try Self.load(package, package.proto)
        #expect(loaded.goldenCount >= 8)
    }

    /// Whether `package` with `proto` is refused; records the corruption if it is not.
    static func expectRefused(_ package: Package, _ proto: Onnx_ModelProto, _ what: @autoclosure () -> String) throws {
        do {
            _ = try load(package, proto)
            Issue.record("\(what()) passed the self-test")
        } catch let error as ModelPackageError {
            #expect(error.description.contains("golden") || error.description.contains("vector"), "\(error)")
        }
    }

    /// Every weight and bias of every package takes about three minutes in a debug build,
    /// so each run checks a fixed quarter of them (every fourth element, offset per tensor);
    /// train.py's perturbation check covers them all when it writes the package.
    @Test("any one corrupted weight or bias is refused by the self-test", arguments: ApplianceKind.allCases)
    func corruptedWeightRefused(kind: ApplianceKind) throws {
        let package = try Self.package(kind)
        var checked = 0
        for (index, tensor) in package.proto.graph.initializer.enumerated() where !tensor.name.hasPrefix("range_") {
            let values = Self.floats(tensor)
            #expect(!values.isEmpty, "\(tensor.name) holds no floats")
            for element in values.indices where element % 4 == index % 4 || values.count < 4 {
                var corrupted = values
                // A scale and a shift: a flipped exponent bit, a wrong export, a bad edit.
                corrupted[element] = values[element] * 1.5 + (values[element] >= 0 ? 0.25 : -0.25)
                var proto = package.proto
                proto.graph.initializer[index] = Self.setting(tensor, corrupted)
                try Self.expectRefused(package, proto, "\(kind.rawValue): \(tensor.name)[\(element)] \(values[element]) → \(corrupted[element])")
                checked += 1
            }
        }
        #expect(checked > 40)
    }

    @Test("any one range-guard bound moved in or out by a quarter of the guard's span is refused",
          arguments: ApplianceKind.allCases)
    func corruptedGuardRefused(kind: ApplianceKind) throws {
        let package = try Self.package(kind)
        let initializers = package.proto.graph.initializer
        let lowIndex = try #require(initializers.firstIndex { $0.name == "range_low" })
        let highIndex = try #require(initializers.firstIndex { $0.name == "range_high" })
        let low = Self.floats(initializers[lowIndex])
        let high = Self.floats(initializers[highIndex])
        #expect(low.count == package.manifest.features.count && high.count == low.count)
        for feature in low.indices {
            let quarter = (high[feature] - low[feature]) / 4
            // A window's crossings, spread and steps cannot be negative: no input lies below
            // that floor, so a lower bound moved further below it changes nothing the model can see.
            let spec = package.manifest.features[feature]
            let floor = [.crossings, .std, .stepsP90].contains(spec.stat)
                ? Float((0 - package.manifest.normalisationMean[feature]) / package.manifest.normalisationStd[feature]) : -Float.infinity
            for (index, values, name) in [(lowIndex, low, "range_low"), (highIndex, high, "range_high")] {
                for direction in [Float(-1), 1] {
                    var corrupted = values
                    corrupted[feature] += direction * quarter
                    if name == "range_low" && corrupted[feature] < floor { continue }
                    var proto = package.proto
                    proto.graph.initializer[index] = Self.setting(initializers[index], corrupted)
                    try Self.expectRefused(package, proto, "\(kind.rawValue): \(name)[\(feature)] \(values[feature]) → \(corrupted[feature])")
                }
            }
        }
    }
}
