import Foundation
import HubCore
import HubInference
import Testing

/// The packages committed under fixtures/models/: the trained ones load and pass their
/// golden self-test; each deliberately broken one is refused with the error it was made for.
@Suite("Committed model packages")
struct CommittedPackageTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(ModelPackage.committedDirectory)

    @Test("the trained packages, where the hub and the rig look for a kind's package, load, reproduce their golden vectors and watch their kind",
          arguments: ApplianceKind.allCases)
    func trained(kind: ApplianceKind) throws {
        let directory = ModelPackage.directory(for: kind, in: Self.models.path)
        #expect(ModelPackage.exists(at: directory))
        let package = try ModelPackage.load(directory: directory)
        #expect(package.manifest.kind == kind)
        #expect(package.goldenCount >= 3)
        #expect(package.manifest.identifier == "\(kind.rawValue)-ae@\(package.manifest.version)")
        // The rules a kind's detection goals rest on (README, "Detection quality"): a retrain
        // that dropped one would still load, and miss the goal.
        let m = package.manifest
        switch kind {
        case .fridge: #expect(m.compressorRest != nil && m.doorAjar != nil && m.drumSway == nil)
        case .washer:
            #expect(m.drumSway != nil && m.compressorRest == nil && m.doorAjar == nil)
            if let sway = m.drumSway { #expect(sway.readings == 36 && sway.tumblingMinG < sway.levelMaxG) }
        case .furnace: #expect(m.commissioning != nil && m.drumSway == nil && m.doorAjar == nil)
        }
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

/// Where a kind's package sits in a directory of packages (`--models`, fixtures/models).
@Suite("Model package layout")
struct ModelPackageLayoutTests {
    @Test("a kind's package is <dir>/<kind>, however the directory is spelled")
    func kindDirectory() {
        #expect(ModelPackage.directory(for: .washer, in: "fixtures/models") == "fixtures/models/washer")
        #expect(ModelPackage.directory(for: .washer, in: "fixtures/models/") == "fixtures/models/washer")
        #expect(ModelPackage.directory(for: .fridge, in: "/opt/hub/models") == "/opt/hub/models/fridge")
    }

    @Test("a package is a directory whose manifest.json is a file")
    func existence() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let good = root.appendingPathComponent("furnace")
        let odd = root.appendingPathComponent("washer")
        try FileManager.default.createDirectory(at: good, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: odd.appendingPathComponent("manifest.json"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: good.appendingPathComponent("manifest.json"))
        #expect(ModelPackage.exists(at: ModelPackage.directory(for: .furnace, in: root.path)))
        #expect(!ModelPackage.exists(at: ModelPackage.directory(for: .washer, in: root.path)), "manifest.json is a directory")
        #expect(!ModelPackage.exists(at: ModelPackage.directory(for: .fridge, in: root.path)), "no such directory")
        #expect(!ModelPackage.exists(at: root.path), "a directory of packages is not a package")
    }
}
