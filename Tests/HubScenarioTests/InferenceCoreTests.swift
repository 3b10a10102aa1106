import Foundation
import HubCore
import HubInference
import HubKernel
import HubLive
import HubScenario
import HubSim
import Testing

/// The inference core inside the hub and the tools around it: model installation,
/// labelled export, evaluation plans.
@Suite("Inference core in the hub", .serialized)
struct InferenceCoreTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let models = root.appendingPathComponent("fixtures/models").path

    static func simulation(hours: Int64, faults: [ScheduledFault] = []) throws -> Simulation {
        let package = try ModelPackage.load(directory: models + "/furnace")
        let hub = HubConfig(thing: "t", devices: [HubConfig.Device(id: "hvac", kind: .furnace, detector: .package(package))])
        return Simulation(setup: SimulationSetup(seed: 5, duration: .seconds(hours * 3600), hub: hub, faults: faults))
    }

    @Test("a broken package never replaces the running model; a good one takes over its window")
    func install() throws {
        let simulation = try Self.simulation(hours: 2)
        simulation.run()
        let hub = simulation.hub
        let now = simulation.end
        #expect(hub.model(of: "hvac") == "furnace-ae@2.2.1")
        for bad in ["golden-mismatch", "unsupported-operator", "truncated-file"] {
            #expect(!hub.installModel(directory: Self.models + "/bad/" + bad, for: "hvac", now: now))
            #expect(hub.model(of: "hvac") == "furnace-ae@2.2.1")
        }
        #expect(!hub.installModel(directory: Self.models + "/fridge", for: "hvac", now: now), "a fridge model cannot watch a furnace")
        #expect(hub.installModel(directory: Self.models + "/furnace", for: "hvac", now: now))
        let errors = simulation.history.entries.filter { if case .componentError(let c, _) = $0.event { c == "inference" } else { false } }
        #expect(errors.count == 4)
        #expect(simulation.history.entries.contains { if case .modelChange(_, let from, let to) = $0.event { from == to } else { false } })
    }

    @Test("the furnace package scores windows once a minute and stays quiet on a normal morning")
    func scoring() throws {
        let simulation = try Self.simulation(hours: 3)
        simulation.run()
        var results: [InferenceResult] = []
        for entry in simulation.history.entries {
            if case .busPublish(_, _, .inference(let result)) = entry.event { results.append(result) }
        }
        // 3 h at 10 s polls, a 30-minute window, one score a minute.
        #expect((145...152).contains(results.count), "\(results.count) scored windows")
        #expect(results.allSatisfy { $0.model == "furnace-ae@2.2.1" })
        #expect(results.filter(\.anomalous).count <= 2)
    }

    @Test("export labels the rows of a failure episode and only those")
    func export() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fault = try SimFailureSpec.parse("igniter-failure@6h,for=2h", kind: .furnace, device: "hvac")
        let summary = try TelemetryExport.run(kind: .furnace, duration: .seconds(12 * 3600), seed: 2, pollInterval: .seconds(10),
                                              timeline: [fault], to: path)
        #expect(summary.columns == ["timestamp", "device_id", "temperature", "humidity", "pressure", "quality", "label"])
        #expect(summary.rows == 12 * 360 + 1)
        #expect(summary.labelledRows == 2 * 360)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == summary.rows + 1)
        #expect(lines[1].hasSuffix(",good,normal"))
        #expect(lines[6 * 360 + 2].hasSuffix(",igniter-failure"))
    }

    @Test("failure specs are parsed strictly", arguments: [
        ("blocked-filter", "expected NAME@START"),
        ("door-open@1h", "fridge failure"),
        ("melted@1h", "unknown failure"),
        ("blocked-filter@1h,ramp", "key=value"),
        ("blocked-filter@1h,speed=2", "unknown option"),
        ("blocked-filter@soon", "START"),
    ])
    func specErrors(text: String, message: String) {
        #expect {
            _ = try SimFailureSpec.parse(text, kind: .furnace, device: "hvac")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("evaluation months place their episodes apart, alternating the kind's failures, the same for the same seed")
    func plans() {
        for kind in ApplianceKind.allCases {
            let timeline = Evaluation.timeline(kind: kind, seed: 7, device: "x")
            #expect(timeline.count == Evaluation.episodesPerMonth)
            #expect(timeline == Evaluation.timeline(kind: kind, seed: 7, device: "x"))
            for (earlier, later) in zip(timeline, timeline.dropFirst()) {
                #expect(earlier.at + (earlier.duration ?? .zero) + Evaluation.recoveryGrace <= later.at)
            }
            let failures = timeline.compactMap { entry -> ApplianceFailure? in
                if case .appliance(_, let failure, _) = entry.fault { return failure }
                return nil
            }
            #expect(Set(failures).count == 2)
            #expect(failures.allSatisfy { $0.kind == kind })
        }
    }
}
