import Foundation
import HubCore
import HubInference
import HubKernel
import HubStore

// Fault model of deployments and the host they land on (`deploy.<kind>`, `host.<kind>`,
// declared in `SimDeployments.faultKinds`). The simulated cloud publishes a deployment
// (a timeline `deploy:` entry) by putting its artifacts in its bucket — this file's
// `ArtifactPort` — and sending the document to the hub through the simulated broker.
// The bucket answers each fetch after 1 s plus the artifact's size at 1 MB/s.
// - `deploy.bad-model`: packages published while active carry a golden.json whose scores
//   another model computed (every expected score doubled). The digests match what was
//   published, so only the hub's golden self-test can catch it.
// - `deploy.corrupt-artifact`: while active, the bucket serves every artifact with one byte
//   flipped (damaged in storage or transfer): the digest check must catch it.
// - `deploy.crashloop-component`: while active, every component version a deployment brought
//   crashes at each start (a bad build); the hub's own versions are fine.
// - `host.disk-full`: while active, the state disk has 1 MB free (otherwise 2 GB; memory
//   256 MB free throughout).
// - `host.power-loss`: the hub loses power for the fault's `for` (default 30 s): its
//   process, timers and everything in flight to it are gone, the Sense HAT's chips lose
//   their registers; then it boots again from what its stores hold (the outbox and the
//   deployment record are on disk and survive).

/// A deployment as a scenario's timeline describes it; the simulated cloud makes the
/// document and the artifacts from it.
public struct DeploymentSpec: Equatable, Sendable {
    public var id: String
    public var components: [(name: String, version: SemanticVersion)]
    /// Device → the version its appliance's package is republished under.
    public var models: [(device: DeviceID, version: SemanticVersion, package: ModelPackageFiles)]
    public var configuration: [(name: String, merge: JSONValue)]
    public var diskMB: Double
    public var memoryMB: Double
    public var healthWindow: Duration
    public var deferTo: [String]
    public var deferMax: Duration

    public init(id: String, components: [(name: String, version: SemanticVersion)] = [],
                models: [(device: DeviceID, version: SemanticVersion, package: ModelPackageFiles)] = [],
                configuration: [(name: String, merge: JSONValue)] = [], diskMB: Double = 0, memoryMB: Double = 0,
                healthWindow: Duration = .seconds(300), deferTo: [String] = [], deferMax: Duration = .seconds(600)) {
        self.id = id
        self.components = components
        self.models = models
        self.configuration = configuration
        self.diskMB = diskMB
        self.memoryMB = memoryMB
        self.healthWindow = healthWindow
        self.deferTo = deferTo
        self.deferMax = deferMax
    }

    public static func == (a: Self, b: Self) -> Bool { a.id == b.id }
}

/// A model package's three files as read from its folder.
public struct ModelPackageFiles: Equatable, Sendable {
    public var manifest: [UInt8]
    public var model: [UInt8]
    public var golden: [UInt8]

    public init(manifest: [UInt8], model: [UInt8], golden: [UInt8]) {
        self.manifest = manifest
        self.model = model
        self.golden = golden
    }

    /// Reads `directory`'s manifest.json, model.onnx and golden.json.
    public static func read(directory: String) throws -> ModelPackageFiles {
        func read(_ file: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(file)"))) }
        return ModelPackageFiles(manifest: try read("manifest.json"), model: try read("model.onnx"), golden: try read("golden.json"))
    }
}

/// The cloud's bucket, the host's free space and the deployment faults, in simulation.
public final class SimDeployments: ArtifactPort, HostResources, FaultApplying {
    /// Published artifacts by path, in the order published (later ones replace earlier).
    private var bucket: [(path: String, bytes: [UInt8])] = []
    weak var completions: (any CompletionSink)?
    /// The hub, for `deploy.crashloop-component` (set by the simulation at each boot).
    weak var node: HubNode?
    private var badModel = false
    private var corrupt = false
    private var crashloop = false
    private var diskFull = false

    public init() {}

    /// What the bucket holds, by path, in the order published (a live test copies it into a directory).
    public var published: [(path: String, bytes: [UInt8])] { bucket }

    /// Publishes `spec`: its artifacts go into the bucket, and the document is returned for the broker to deliver.
    public func publish(_ spec: DeploymentSpec) -> [UInt8] {
        var artifacts: [DeploymentDocument.Artifact] = []
        func put(_ path: String, _ bytes: [UInt8]) {
            bucket.removeAll { $0.path == path }
            bucket.append((path, bytes))
            artifacts.append(DeploymentDocument.Artifact(path: path, sha256: SHA256.hex(bytes), bytes: bytes.count))
        }
        for (name, version) in spec.components {
            // The grammar admits only the hub's own components to a simulated deployment.
            guard var recipe = BuiltinRecipes.recipe(named: name) else { preconditionFailure("no built-in component \(name) to publish") }
            recipe.version = version
            put(DeploymentDocument.recipePath(name, version), Array(RecipeText.yaml(recipe).utf8))
        }
        for (_, version, files) in spec.models {
            let manifest = ModelManifest.republished(files.manifest, as: version)
            let name = Self.packageName(files.manifest) ?? "model"
            let folder = DeploymentDocument.modelFolder(name, version)
            put("\(folder)/manifest.json", manifest)
            put("\(folder)/model.onnx", files.model)
            put("\(folder)/golden.json", badModel ? Self.doublingScores(files.golden) : files.golden)
        }
        let document = DeploymentDocument(
            id: spec.id, components: spec.components, configuration: spec.configuration,
            models: spec.models.map { ($0.device, Self.packageName($0.package.manifest) ?? "model", $0.version) },
            artifacts: artifacts, diskBytesRequired: Int64(spec.diskMB * 1_048_576), memoryBytesRequired: Int64(spec.memoryMB * 1_048_576),
            healthWindow: spec.healthWindow, deferTo: spec.deferTo, deferMax: spec.deferMax)
        return document.json
    }

    public func fetch(_ artifact: DeploymentDocument.Artifact, at now: Instant) {
        guard let completions else { preconditionFailure("the bucket has no completion sink") }
        let took = Duration.seconds(1) + .nanoseconds(Int64(artifact.bytes) * 1_000)
        guard let bytes = served(path: artifact.path) else {
            completions.complete(.artifactFetched(artifact, .failure(DeploymentFailure("not found in the bucket (HTTP 404)"))), at: now + took)
            return
        }
        completions.complete(.artifactFetched(artifact, .success(bytes)), at: now + took)
    }

    /// What a fetch of `path` is served now: the published bytes, with one flipped while
    /// `deploy.corrupt-artifact` lasts. A live run writes these into the directory its hub
    /// fetches from.
    public func served(path: String) -> [UInt8]? {
        guard var bytes = bucket.last(where: { $0.path == path })?.bytes else { return nil }
        if corrupt, !bytes.isEmpty { bytes[bytes.count / 2] ^= 0x20 }
        return bytes
    }

    public func freeBytes() -> (disk: Int64, memory: Int64) {
        (diskFull ? 1_048_576 : 2_147_483_648, 268_435_456)
    }

    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .deployment(let kind) = fault else { preconditionFailure("\(fault.name) is not a deployment or host fault") }
        switch kind {
        case .badModel: badModel = active
        case .corruptArtifact: corrupt = active
        case .crashloopComponent:
            crashloop = active
            node?.crashDeployedVersions(active, now: now)
        case .diskFull: diskFull = active
        }
    }

    /// Applied again to a hub that booted while the fault is active.
    func reapply(to node: HubNode, now: Instant) {
        if crashloop { node.crashDeployedVersions(true, now: now) }
    }

    static func packageName(_ manifest: [UInt8]) -> String? {
        guard case .object(let root)? = try? JSONValue.parse(manifest),
              case .string(let name)? = root["name"] else { return nil }
        return name
    }

    static func doublingScores(_ golden: [UInt8]) -> [UInt8] {
        guard case .object(var root)? = try? JSONValue.parse(golden),
              case .array(let windows)? = root["windows"] else { return golden }
        root["windows"] = .array(windows.map { window in
            guard case .object(var members) = window, case .number(let score)? = members["score"] else { return window }
            members["score"] = .number(score * 2 + 1)
            return .object(members)
        })
        var json = JSONWriter()
        JSONValue.object(root).write(to: &json)
        return json.bytes
    }

    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "deploy", name: "bad-model", summary: "packages published carry golden scores of another model: the self-test must refuse them",
                  port: "SimDeployments") { _, _ in .deployment(.badModel) },
        FaultKind(layer: "deploy", name: "corrupt-artifact", summary: "the bucket serves every artifact with a byte flipped: the digest check must catch it",
                  port: "SimDeployments") { _, _ in .deployment(.corruptArtifact) },
        FaultKind(layer: "deploy", name: "crashloop-component", summary: "every component version a deployment brought crashes at each start",
                  port: "SimDeployments") { _, _ in .deployment(.crashloopComponent) },
        FaultKind(layer: "host", name: "disk-full", summary: "the state disk has 1 MB free", port: "SimDeployments") { _, _ in .deployment(.diskFull) },
        FaultKind(layer: "host", name: "power-loss", summary: "the hub is off for the fault's `for` (default 30s), then boots from its stores",
                  port: "Simulation") { _, _ in .powerLoss },
    ]
}

/// `deploy.<kind>` and `host.disk-full`: what goes wrong with a deployment (see `SimDeployments`).
public enum DeploymentFault: Equatable, Sendable {
    case badModel
    case corruptArtifact
    case crashloopComponent
    case diskFull

    public var name: String {
        switch self {
        case .badModel: "deploy.bad-model"
        case .corruptArtifact: "deploy.corrupt-artifact"
        case .crashloopComponent: "deploy.crashloop-component"
        case .diskFull: "host.disk-full"
        }
    }
}
