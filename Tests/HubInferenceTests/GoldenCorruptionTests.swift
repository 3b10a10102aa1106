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

    @Test("any one corrupted weight, bias or range-guard bound is refused by the self-test",
          arguments: ApplianceKind.allCases)
    func corruptedParameterRefused(kind: ApplianceKind) throws {
        let package = try Self.package(kind)
        var checked = 0
        for (index, tensor) in package.proto.graph.initializer.enumerated() {
            let values = Self.floats(tensor)
            #expect(!values.isEmpty, "\(tensor.name) holds no floats")
            for element in values.indices {
                var corrupted = values
                // A scale and a shift: a flipped exponent bit, a wrong export, a bad edit.
                corrupted[element] = values[element] * 1.5 + (values[element] >= 0 ? 0.25 : -0.25)
                var proto = package.proto
                proto.graph.initializer[index] = Self.setting(tensor, corrupted)
                do {
                    _ = try Self.load(package, proto)
                    Issue.record("\(kind.rawValue): \(tensor.name)[\(element)] \(values[element]) → \(corrupted[element]) passed the self-test")
                } catch let error as ModelPackageError {
                    #expect(error.description.contains("golden") || error.description.contains("vector"), "\(error)")
                }
                checked += 1
            }
        }
        #expect(package.proto.graph.initializer.contains { $0.name == "range_low" })
        #expect(package.proto.graph.initializer.contains { $0.name == "range_high" })
        #expect(checked > 100)
    }
}
