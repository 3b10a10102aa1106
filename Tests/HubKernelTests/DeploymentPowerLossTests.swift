import Foundation
import HubCore
import HubInference
import HubKernel
import HubStore
import HubYAML
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
private let t0 = Instant(secondsSinceEpoch: 1_768_435_200)

extension HubNodeHostTests.History {
    var statuses: [DeploymentStatus] {
        events.compactMap { if case .busPublish(_, _, .deployment(let status)) = $0 { status } else { nil } }
    }
}

/// A deployment applied by the real node over a real (in-memory) SQLite store, with the
/// power cut after each durable write: whatever the store held at that instant, the hub
/// that boots from it runs the old configuration or the new one, whole.
@Suite("Deployments across a power loss")
struct DeploymentPowerLossTests {
    typealias Timers = HubNodeHostTests.Timers
    typealias Cloud = HubNodeHostTests.Cloud
    typealias History = HubNodeHostTests.History

    /// The bucket: fetches wait in `pending` until the test delivers them.
    final class Bucket: ArtifactPort, HostResources {
        var files: [String: [UInt8]] = [:]
        var pending: [DeploymentDocument.Artifact] = []
        func fetch(_ artifact: DeploymentDocument.Artifact, at: Instant) { pending.append(artifact) }
        func freeBytes() -> (disk: Int64, memory: Int64) { (1 << 31, 1 << 28) }
    }

    /// The SQLite store, remembering every record it was asked to save (each a possible last write before a power cut).
    final class RecordingStore: DeploymentStore {
        let store: SQLiteDeploymentStore
        var saved: [DeploymentRecord] = []
        var artifacts: [(String, [UInt8])] = []
        init() throws { store = try SQLiteDeploymentStore(path: nil) }
        func load() throws(DeploymentStoreError) -> DeploymentRecord? { try store.load() }
        func save(_ record: DeploymentRecord, keeping: [String]) throws(DeploymentStoreError) {
            saved.append(record)
            try store.save(record, keeping: keeping)
        }
        func artifact(_ sha256: String) throws(DeploymentStoreError) -> [UInt8]? { try store.artifact(sha256) }
        func keep(artifact bytes: [UInt8], sha256: String) throws(DeploymentStoreError) {
            artifacts.append((sha256, bytes))
            try store.keep(artifact: bytes, sha256: sha256)
        }
    }

    struct Hub {
        let node: HubNode
        let timers = Timers()
        let history = History()
        let bucket: Bucket

        init(store: any DeploymentStore, bucket: Bucket) throws {
            self.bucket = bucket
            let package = try ModelPackage.load(directory: root + "/fixtures/models/furnace")
            let config = HubConfig(thing: "hub", devices: [.init(id: "hvac", kind: .furnace, detector: .package(package))])
            var ports = HubPorts(sensorKits: [[]], display: nil, cloud: Cloud(), outbox: try SQLiteOutboxStore(path: nil), timers: timers, history: history)
            ports.deployments = DeploymentPorts(store: store, artifacts: bucket, host: bucket,
                                                readRecipe: { bytes, file in try RecipeFile.parse(bytes: bytes, file: file) })
            node = HubNode(config: config, ports: ports)
        }

        /// Delivers fetches and fires the deployment agent's timers until nothing is left.
        func settle(from start: Instant) -> Instant {
            var now = start
            for _ in 0..<100 {
                if !bucket.pending.isEmpty {
                    let artifact = bucket.pending.removeFirst()
                    now = now + .seconds(1)
                    let result: Result<[UInt8], DeploymentFailure> = bucket.files[artifact.path].map { .success($0) } ?? .failure(DeploymentFailure("404"))
                    node.complete(.artifactFetched(artifact, result), now: now)
                    continue
                }
                timers.scheduled.sort { $0.1 < $1.1 }
                guard let index = timers.scheduled.firstIndex(where: { $0.0.component == HubTimer.deployments }) else { break }
                let (timer, at) = timers.scheduled.remove(at: index)
                now = max(now, at)
                node.fire(timer, now: now)
            }
            return now
        }

        /// What runs: the inference component's version and the furnace's model.
        var configuration: String {
            let version = node.recipes.first { $0.name == "inference" }!.version
            return "inference@\(version) \(node.model(of: "hvac") ?? "none")"
        }
    }

    /// The furnace package republished as 2.3.0, and inference 1.1.0.
    static func publish(into bucket: Bucket) throws -> DeploymentDocument {
        let folder = root + "/fixtures/models/furnace"
        func read(_ file: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file)"))) }
        let manifest = ModelManifest.republished(try read("manifest.json"), as: SemanticVersion(2, 3, 0))
        var recipe = BuiltinRecipes.inference
        recipe.version = SemanticVersion(1, 1, 0)
        let files: [(String, [UInt8])] = [
            ("components/inference/1.1.0/recipe.yaml", Array(RecipeText.yaml(recipe).utf8)),
            ("models/furnace-ae/2.3.0/manifest.json", manifest),
            ("models/furnace-ae/2.3.0/model.onnx", try read("model.onnx")),
            ("models/furnace-ae/2.3.0/golden.json", try read("golden.json")),
        ]
        for (path, bytes) in files { bucket.files[path] = bytes }
        return DeploymentDocument(id: "d1", components: [("inference", SemanticVersion(1, 1, 0))],
                                  models: [("hvac", "furnace-ae", SemanticVersion(2, 3, 0))],
                                  artifacts: files.map { .init(path: $0.0, sha256: SHA256.hex($0.1), bytes: $0.1.count) },
                                  healthWindow: .seconds(600))
    }

    static let old = "inference@1.0.0 furnace-ae@2.2.1"
    static let new = "inference@1.1.0 furnace-ae@2.3.0"

    /// A hub that booted in the old configuration and took the deployment to its end.
    static func deployed() throws -> (store: RecordingStore, bucket: Bucket, hub: Hub) {
        let store = try RecordingStore()
        let bucket = Bucket()
        let document = try publish(into: bucket)
        let hub = try Hub(store: store, bucket: bucket)
        hub.node.boot(now: t0)
        #expect(hub.configuration == old)
        hub.node.complete(.cloud(.inbound(topic: "hbs/hub/deployments", payload: document.json)), now: t0)
        _ = hub.settle(from: t0)
        return (store, bucket, hub)
    }

    @Test("without a power cut the deployment commits and a restarted hub runs it from its own disk")
    func commitsAndSurvivesRestart() throws {
        let (store, _, hub) = try Self.deployed()
        #expect(hub.history.statuses.last?.state == .committed)
        #expect(hub.configuration == Self.new)
        let restarted = try Hub(store: store, bucket: Bucket())
        restarted.node.boot(now: t0 + .seconds(3_600))
        #expect(restarted.configuration == Self.new, "the bucket is empty now: the hub built the configuration from its store")
    }

    @Test("a power cut after any durable write boots into the old configuration or the new one, never a mix")
    func powerLossAtEachWrite() throws {
        let (store, bucket, _) = try Self.deployed()
        #expect(store.saved.count >= 3, "accepted, applying, committed")
        for (cut, record) in store.saved.enumerated() {
            let disk = try SQLiteDeploymentStore(path: nil)
            for (digest, bytes) in store.artifacts { try disk.keep(artifact: bytes, sha256: digest) }
            try disk.save(record, keeping: store.artifacts.map(\.0))
            let rebooted = try Hub(store: disk, bucket: bucket)
            rebooted.node.boot(now: t0 + .seconds(3_600))
            let atBoot = rebooted.configuration
            #expect(atBoot == Self.old || atBoot == Self.new, "power cut after write \(cut): boots \(atBoot)")
            if record.attempt?.target != nil {
                #expect(atBoot == Self.old && rebooted.history.statuses.last?.state == .rolledBack, "cut after write \(cut)")
            }
            _ = rebooted.settle(from: t0 + .seconds(3_600))
            let settled = rebooted.configuration
            #expect(settled == Self.old || settled == Self.new, "power cut after write \(cut): settles in \(settled)")
            #expect(rebooted.history.statuses.last.map { $0.state.isTerminal } ?? (record.attempt == nil), "cut after write \(cut) ends the deployment")
        }
    }
}
