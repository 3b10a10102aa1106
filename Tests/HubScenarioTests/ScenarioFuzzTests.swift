import Foundation
import HubCore
import HubScenario
import HubSim
import Testing

/// Fuzz harness for scenario files (docs/fuzzing.md): mutations of every committed
/// scenario through the loader's byte path. The property: never crash, never hang; a
/// scenario that loads respects every limit, and one that does not gets a `ScenarioError`
/// naming the file and, except for an empty document, the line.
@Suite("Scenario YAML fuzzing")
struct ScenarioFuzzTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The committed scenarios, sorted by name.
    static func catalogue() throws -> [(name: String, bytes: [UInt8])] {
        let directory = packageRoot + "/scenarios"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted().map { name in
            (name, try FileContents.bytes(atPath: directory + "/" + name))
        }
    }

    /// An empty directory: as `--models` it leaves every appliance without a package, so the
    /// harness measures the parser, not ONNX compilation (explicit packages become `interim`).
    static let noModels: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-no-models-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func withoutPackages(_ bytes: [UInt8]) -> [UInt8] {
        Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "model: fixtures/models/", with: "model: interim #").utf8)
    }

    @Test("every committed scenario loads, its packages included")
    func catalogueLoads() throws {
        let scenarios = try Self.catalogue()
        #expect(scenarios.count >= 10)
        for (name, _) in scenarios {
            let scenario = try ScenarioLoader.load(path: Self.packageRoot + "/scenarios/" + name)
            #expect(!scenario.appliances.isEmpty)
        }
    }

    @Test("mutated scenarios load within the limits or fail with a located error (Fuzz)")
    func mutations() throws {
        let seeds = try Self.catalogue().map { Self.withoutPackages($0.bytes) }
        let file = Self.noModels + "/fuzz.yaml"
        let tally = Fuzzing.run(seeds: seeds, base: 0x5CE7A210, ci: 1_000) { number, bytes in
            do throws(ScenarioError) {
                Self.checkLimits(try ScenarioLoader.parse(bytes: bytes, file: file, models: Self.noModels), case: number)
                return true
            } catch {
                #expect(error.file == file)
                #expect(!error.message.isEmpty)
                #expect(error.line != nil || error.message == "empty scenario file", "case \(number): \(error)")
                return false
            }
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
    }

    /// What a loaded scenario promises the runner.
    static func checkLimits(_ scenario: Scenario, case number: Int) {
        #expect(ScenarioLoader.Limits.duration.contains(scenario.duration), "case \(number)")
        #expect(ScenarioLoader.Limits.pollInterval.contains(scenario.pollInterval), "case \(number)")
        #expect(scenario.start <= DurationText.latestStart, "case \(number)")
        for entry in scenario.timeline {
            #expect(entry.at < scenario.duration, "case \(number): \(entry)")
            #expect(entry.duration.map { $0 > .zero && $0 <= DurationText.maximum } ?? true, "case \(number): \(entry)")
        }
        _ = scenario.simulationSetup()
    }

    @Test("deeply nested YAML is refused, not a stack overflow")
    func deepNesting() {
        for (open, close) in [("[", "]"), ("{a: ", "}"), ("- ", "")] {
            for depth in [100, 10_000, 100_000] {
                let text = "name: x\nseed: 1\nduration: 1h\nhub: " + String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth) + "\n"
                do {
                    _ = try ScenarioLoader.parse(bytes: Array(text.utf8), file: "deep.yaml")
                    Issue.record("nesting \(depth) of \(open) loaded")
                } catch {
                    #expect(error.line != nil, "\(error)")
                }
            }
        }
    }
}
