import Foundation
import HubCore
import HubInference
import Testing

/// The packages committed under fixtures/models/: the trained ones load and pass their
/// golden self-test; each deliberately broken one is refused with the error it was made for.
@Suite("Committed model packages")
struct CommittedPackageTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/models")

    @Test("the trained packages load, reproduce their golden vectors and watch their kind",
          arguments: ApplianceKind.allCases)
    func trained(kind: ApplianceKind) throws {
        let package = try ModelPackage.load(directory: Self.models.appendingPathComponent(kind.rawValue).path)
        #expect(package.manifest.kind == kind)
        #expect(package.goldenCount >= 3)
        #expect(package.manifest.identifier == "\(kind.rawValue)-ae@\(package.manifest.version)")
    }

    @Test("each broken package is refused with a precise error", arguments: [
        ("unsupported-operator", "LeakyRelu"),
        ("dynamic-shape", "features"),
        ("mismatched-shape", "dense0"),
        ("nan-initializer", "B1"),
        ("truncated-file", "model.onnx"),
        ("missing-manifest-field", "threshold"),
        ("golden-mismatch", "vector 1, output[3]"),
    ])
    func broken(name: String, mentions: String) {
        let directory = Self.models.appendingPathComponent("bad").appendingPathComponent(name).path
        do {
            _ = try ModelPackage.load(directory: directory)
            Issue.record("\(name) loaded")
        } catch {
            #expect(error.description.contains(mentions), "\(name): \(error)")
        }
    }
}
