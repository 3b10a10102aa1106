import HubCore
import Testing

@Suite("Deployment documents")
struct DeploymentDocumentTests {
    static let digest = String(repeating: "ab", count: 32)

    static let good = """
        {"deployment_id": "rollout-7",
         "components": {"inference": "1.1.0"},
         "configuration": {"inference": {"debounce_k": 4, "extra": {"a": [1, 2]}}},
         "models": {"hvac": "furnace-ae@2.2.0"},
         "artifacts": [
           {"path": "components/inference/1.1.0/recipe.yaml", "sha256": "\(digest)", "bytes": 300},
           {"path": "models/furnace-ae/2.2.0/manifest.json", "sha256": "\(digest)", "bytes": 2000},
           {"path": "models/furnace-ae/2.2.0/model.onnx", "sha256": "\(digest)", "bytes": 1990},
           {"path": "models/furnace-ae/2.2.0/golden.json", "sha256": "\(digest)", "bytes": 49000}],
         "requires": {"disk_mb": 16, "memory_mb": 8},
         "health_window_s": 600,
         "defer": {"components": ["uplink"], "max_s": 1800}}
        """

    @Test("a complete document reads into every field and writes back to the same document")
    func roundTrip() throws {
        let document = try DeploymentDocument.parse(Array(Self.good.utf8))
        #expect(document.id == "rollout-7")
        #expect(document.components.map(\.name) == ["inference"] && document.components[0].version == SemanticVersion(1, 1, 0))
        #expect(document.models.map(\.device) == ["hvac"] && document.models[0].name == "furnace-ae")
        #expect(document.artifacts.count == 4)
        #expect(document.diskBytesRequired == 16 * 1_048_576 && document.memoryBytesRequired == 8 * 1_048_576)
        #expect(document.healthWindow == .seconds(600) && document.deferTo == ["uplink"] && document.deferMax == .seconds(1800))
        let again = try DeploymentDocument.parse(document.json)
        #expect(again == document)
        #expect(again.json == document.json)
    }

    @Test("mistakes name the field", arguments: [
        (#"[1]"#, "not a JSON object"),
        (#"{"deployment_id": "a b"}"#, "deployment_id: must be 1…64"),
        (#"{"deployment_id": 7}"#, "deployment_id: missing, or not a string"),
        (#"{"deployment_id": "d", "colour": 1}"#, "colour: unknown field"),
        (#"{"deployment_id": "d", "components": {"Inference": "1.0.0"}}"#, "components.Inference: "),
        (#"{"deployment_id": "d", "components": {"inference": "one"}}"#, "components.inference: "),
        (#"{"deployment_id": "d", "components": {"inference": "1.1.0"}}"#, "components.inference: its recipe components/inference/1.1.0/recipe.yaml is not among the artifacts"),
        (#"{"deployment_id": "d", "models": {"hvac": "furnace"}}"#, "models.hvac: must be \"name@version\""),
        (#"{"deployment_id": "d", "configuration": {"inference": 3}}"#, "configuration.inference: must be an object"),
        (#"{"deployment_id": "d", "requires": {"disk_mb": -1}}"#, "requires.disk_mb: must be a number within 0…1048576"),
        (#"{"deployment_id": "d", "requires": {"disk_mb": 1e300}}"#, "requires.disk_mb: must be a number"),
        (#"{"deployment_id": "d", "requires": {"cpu": 1}}"#, "requires.cpu: unknown"),
        (#"{"deployment_id": "d", "health_window_s": "10m"}"#, "health_window_s: must be a number"),
        (#"{"deployment_id": "d", "defer": {"components": "uplink"}}"#, "defer.components: must be an array"),
        (#"{"deployment_id": "d", "artifacts": [{"path": "../etc/passwd", "sha256": "x", "bytes": 1}]}"#, "artifacts[0].path: "),
        (#"{"deployment_id": "d", "artifacts": [{"path": "/etc/passwd", "sha256": "x", "bytes": 1}]}"#, "artifacts[0].path: "),
        (#"{"deployment_id": "d", "artifacts": [{"path": "a//b", "sha256": "x", "bytes": 1}]}"#, "artifacts[0].path: "),
        (#"{"deployment_id": "d", "artifacts": [{"path": "a", "sha256": "ABC", "bytes": 1}]}"#, "artifacts[0].sha256: must be 64 lowercase hex digits"),
        (#"{"deployment_id": "d", "artifacts": [{"path": "a", "sha256": "\#(digest)", "bytes": 1.5}]}"#, "artifacts[0].bytes: must be a whole number"),
        (#"{"deployment_id": "d", "artifacts": [{"path": "a", "sha256": "\#(digest)", "bytes": 1e12}]}"#, "artifacts[0].bytes: must be a number"),
        (#"{"deployment_id": "d", "artifacts": [{"path": "a", "sha256": "\#(digest)", "bytes": 1}, {"path": "a", "sha256": "\#(digest)", "bytes": 1}]}"#, "artifacts[1].path: a is listed twice"),
    ])
    func mistakes(text: String, message: String) {
        #expect(throws: DeploymentDocumentError.self) { try DeploymentDocument.parse(Array(text.utf8)) }
        do {
            _ = try DeploymentDocument.parse(Array(text.utf8))
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test("a document over 64 KiB, or configuration nested past 16 levels, is refused")
    func bounds() {
        let big = #"{"deployment_id": "d", "configuration": {"inference": {"x": ""# + String(repeating: "a", count: 70_000) + #""}}}"#
        #expect(throws: DeploymentDocumentError.self) { try DeploymentDocument.parse(Array(big.utf8)) }
        let deep = #"{"deployment_id": "d", "configuration": {"inference": "# + String(repeating: #"{"a": "#, count: 20) + "1" + String(repeating: "}", count: 20) + "}}"
        do {
            _ = try DeploymentDocument.parse(Array(deep.utf8))
            Issue.record("a configuration 20 levels deep was accepted")
        } catch {
            #expect(error.description.contains("nested deeper than 16 levels"))
        }
    }

    @Test("paths stay inside the artifact store")
    func paths() {
        #expect(DeploymentDocument.isSafePath("models/furnace-ae/2.2.0/model.onnx"))
        for path in ["", ".", "..", "a/../b", "/a", "a/", "a//b", "a/./b", "a b", "a\\b", String(repeating: "a/", count: 9) + "a"] {
            #expect(!DeploymentDocument.isSafePath(path), "\(path)")
        }
    }

    @Test("JSON merge patch: members replace, null removes, objects merge")
    func mergePatch() {
        let base = JSONValue.object(["a": .number(1), "b": .object(["c": .number(2), "d": .number(3)]), "e": .string("x")])
        let patch = JSONValue.object(["a": .null, "b": .object(["c": .number(5)]), "f": .array([.bool(true)])])
        #expect(base.merged(with: patch) == .object(["b": .object(["c": .number(5), "d": .number(3)]), "e": .string("x"), "f": .array([.bool(true)])]))
        #expect(base.merged(with: .number(3)) == .number(3))
    }

    @Test("mutated documents are accepted whole or refused with a reason, never a trap or a hang")
    func fuzz() {
        let tally = Fuzzing.run(seeds: [Array(Self.good.utf8)], base: 0xDE_9107, ci: 2_000) { number, bytes in
            do throws(DeploymentDocumentError) {
                let document = try DeploymentDocument.parse(bytes)
                #expect(document.artifacts.allSatisfy { DeploymentDocument.isSafePath($0.path) && SHA256.isHexDigest($0.sha256) }, "case \(number)")
                #expect(document.diskBytesRequired >= 0 && document.healthWindow >= .zero, "case \(number)")
                return true
            } catch {
                #expect(!error.reason.isEmpty, "case \(number)")
                return false
            }
        }
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
        #expect(tally.slow.isEmpty)
    }
}
