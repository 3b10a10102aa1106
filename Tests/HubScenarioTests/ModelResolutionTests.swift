import Foundation
import HubCore
import HubScenario
import Testing

/// Which package scores an appliance depends on the scenario file (or `--models`), never on
/// the directory the rig runs in (README, "Scenarios"; `ModelSearch`).
@Suite("Model resolution")
struct ModelResolutionTests {
    /// The package root, from this file's path (Tests/HubScenarioTests/<file>).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A scratch repository: `<root>/fixtures/models/furnace` (the committed package with
    /// `threshold` replaced, so it is told apart from the working directory's) and `<root>/scenarios`.
    static func repository(threshold: String? = "1e-9") throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("model-resolution-\(UUID().uuidString)").path
        let package = root + "/fixtures/models/furnace"
        try FileManager.default.createDirectory(atPath: root + "/fixtures/models", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/scenarios", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: packageRoot + "/fixtures/models/furnace", toPath: package)
        if let threshold {
            let manifest = package + "/manifest.json"
            let text = try String(contentsOfFile: manifest, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.contains("\"threshold\":") ? "  \"threshold\": \(threshold)," : String(line)
            }
            try lines.joined(separator: "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        }
        return root
    }

    static func scenario(model: String?) -> String {
        """
        name: resolution
        seed: 4
        duration: 1h
        hub:
          appliances: [{ id: hvac, kind: furnace\(model.map { ", model: \($0)" } ?? "") }]
        """
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("a relative model: path resolves from the scenario's directory upwards, to an absolute path")
    func relativeToScenario() throws {
        let root = try Self.repository()
        let file = root + "/scenarios/s.yaml"
        try Self.write(Self.scenario(model: "fixtures/models/furnace"), to: file)
        let appliance = try ScenarioLoader.load(path: file).appliances[0]
        #expect(appliance.modelSource == root + "/fixtures/models/furnace")
        guard case .package(let package) = appliance.detector else { Issue.record("no package"); return }
        #expect(package.manifest.threshold == 1e-9, "the scenario's repository's package, not the working directory's")
    }

    @Test("the default package for a kind is the scenario's repository's, not the working directory's")
    func defaultFromScenarioRepository() throws {
        let root = try Self.repository()
        let file = root + "/scenarios/s.yaml"
        try Self.write(Self.scenario(model: nil), to: file)
        let appliance = try ScenarioLoader.load(path: file).appliances[0]
        #expect(appliance.modelSource == root + "/fixtures/models/furnace")
        guard case .package(let package) = appliance.detector else { Issue.record("no package"); return }
        #expect(package.manifest.threshold == 1e-9)
    }

    @Test("outside any repository a relative model: path is an error and the default is the interim detector")
    func noRepository() throws {
        // The working directory (the package root) holds fixtures/models/furnace; it must not be used.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-resolution-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/s.yaml"
        try Self.write(Self.scenario(model: "fixtures/models/furnace"), to: file)
        #expect(throws: ScenarioError.self) { try ScenarioLoader.load(path: file) }
        do { _ = try ScenarioLoader.load(path: file) } catch {
            #expect(error.field == "hub.appliances[0].model")
            #expect(error.message.contains("no model package at \"fixtures/models/furnace\""), "\(error)")
        }
        try Self.write(Self.scenario(model: nil), to: file)
        let appliance = try ScenarioLoader.load(path: file).appliances[0]
        guard case .interim = appliance.detector else { Issue.record("expected the interim detector"); return }
        #expect(appliance.modelSource.hasPrefix("default interim"))
    }

    @Test("--models DIR supplies the default packages")
    func modelsFlag() throws {
        let root = try Self.repository(threshold: "2.5")
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("model-resolution-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let file = elsewhere + "/s.yaml"
        try Self.write(Self.scenario(model: nil), to: file)
        let appliance = try ScenarioLoader.load(path: file, models: root + "/fixtures/models").appliances[0]
        #expect(appliance.modelSource == root + "/fixtures/models/furnace")
        guard case .package(let package) = appliance.detector else { Issue.record("no package"); return }
        #expect(package.manifest.threshold == 2.5)
    }

    @Test("--models naming no directory is an error, not a silent interim detector")
    func modelsFlagMissing() throws {
        let root = try Self.repository()
        let file = root + "/scenarios/s.yaml"
        try Self.write(Self.scenario(model: nil), to: file)
        #expect(throws: ScenarioError(file: file, line: nil, column: nil, field: nil,
                                      message: "--models /nonexistent: not a directory (it holds <kind>/ model packages)")) {
            try ScenarioLoader.load(path: file, models: "/nonexistent")
        }
    }

    /// The rig run from two working directories writes byte-identical event logs.
    @Test("hubrig scenario run gives the same run from any working directory")
    func sameFromAnyDirectory() throws {
        let testBinary = Bundle.main.executableURL
            ?? URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let hubrig = testBinary.deletingLastPathComponent().appendingPathComponent("hubrig").path
        try #require(FileManager.default.isExecutableFile(atPath: hubrig), "no hubrig at \(hubrig): run `swift build` first")
        let root = try Self.repository()
        let file = root + "/scenarios/s.yaml"
        try Self.write(Self.scenario(model: nil), to: file)
        var logs: [Data] = []
        // The package root has a fixtures/models/furnace of its own (the real threshold); "/" has none.
        for (index, directory) in [Self.packageRoot, "/", root + "/scenarios"].enumerated() {
            let log = root + "/run\(index).jsonl"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: hubrig)
            process.arguments = ["scenario", "run", file, "--event-log", log]
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect([0, 1].contains(process.terminationStatus), "ran from \(directory)")
            logs.append(try Data(contentsOf: URL(fileURLWithPath: log)))
        }
        #expect(!logs[0].isEmpty)
        #expect(logs[0] == logs[1] && logs[1] == logs[2], "the same package scored the run wherever hubrig ran")
    }
}
