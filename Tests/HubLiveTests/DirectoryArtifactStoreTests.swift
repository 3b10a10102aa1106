import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive
import Testing

@Suite("The artifact directory")
struct DirectoryArtifactStoreTests {
    final class Sink: CompletionSink {
        var completions: [PortCompletion] = []
        func complete(_ completion: PortCompletion, at: Instant) { completions.append(completion) }
    }

    func fetch(_ store: DirectoryArtifactStore, _ sink: Sink, _ path: String, bytes: Int) -> Result<[UInt8], DeploymentFailure> {
        let artifact = DeploymentDocument.Artifact(path: path, sha256: String(repeating: "0", count: 64), bytes: bytes)
        store.fetch(artifact, at: Instant(secondsSinceEpoch: 0))
        guard case .artifactFetched(let fetched, let result)? = sink.completions.last, fetched == artifact else { preconditionFailure("no answer") }
        return result
    }

    @Test("serves files inside its root; refuses a link out of it, a directory, a missing file and one larger than the document says")
    func confined() throws {
        let root = try makeScratchDirectory()
        defer { removeScratchDirectory(root) }
        let outside = try makeScratchDirectory()
        defer { removeScratchDirectory(outside) }
        try FileManager.default.createDirectory(atPath: root + "/models/x/1.0.0", withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: root + "/models/x/1.0.0/model.onnx"))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: outside + "/secret"))
        #expect(symlink(outside + "/secret", root + "/models/escape") == 0)
        #expect(symlink(root + "/models/x/1.0.0/model.onnx", root + "/models/inside") == 0)
        let sink = Sink()
        let store = try DirectoryArtifactStore(root: root, completions: sink)
        #expect(try fetch(store, sink, "models/x/1.0.0/model.onnx", bytes: 5).get() == Array("hello".utf8))
        #expect(try fetch(store, sink, "models/inside", bytes: 5).get() == Array("hello".utf8), "a link that stays inside is fine")
        func refusal(_ path: String, bytes: Int = 10) -> String {
            if case .failure(let failure) = fetch(store, sink, path, bytes: bytes) { return failure.reason }
            return "served"
        }
        #expect(refusal("models/escape").contains("leads outside"))
        #expect(refusal("models/x").contains("not a regular file"))
        #expect(refusal("models/none").contains("not found"))
        #expect(refusal("models/x/1.0.0/model.onnx", bytes: 4).contains("more than the 4 the document says"))
        #expect(refusal("../etc/passwd").contains("not a path inside the store"))
        #expect(throws: DeploymentFailure.self) { try DirectoryArtifactStore(root: root + "/models/x/1.0.0/model.onnx", completions: sink) }
    }
}
