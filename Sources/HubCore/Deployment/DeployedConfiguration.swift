import Foundation

/// What a hub runs beyond its factory state: the component versions and configuration
/// deployments brought, and the model package each device got.
///
/// Artifacts are named by their SHA-256 digest; their bytes live in the durable
/// `DeploymentStore`, so a hub that restarts builds exactly this configuration again
/// from its own disk, without the cloud.
public struct DeployedConfiguration: Equatable, Sendable {
    /// The deployment that made it; nil for the factory configuration.
    public var deploymentID: String?
    /// Sorted by name.
    public var components: [Component]
    /// Sorted by device.
    public var models: [Model]

    public struct Component: Equatable, Sendable {
        public var name: String
        public var version: SemanticVersion
        /// The recipe artifact's digest; nil when only the configuration changed (the hub's own recipe).
        public var recipe: String?
        /// The merge patches of configuration deployments applied, in order (RFC 7386).
        public var configuration: JSONValue?

        public init(name: String, version: SemanticVersion, recipe: String?, configuration: JSONValue?) {
            self.name = name
            self.version = version
            self.recipe = recipe
            self.configuration = configuration
        }
    }

    public struct Model: Equatable, Sendable {
        public var device: DeviceID
        /// `name@version`.
        public var identifier: String
        /// Digests of manifest.json, model.onnx and golden.json.
        public var manifest: String
        public var model: String
        public var golden: String

        public init(device: DeviceID, identifier: String, manifest: String, model: String, golden: String) {
            self.device = device
            self.identifier = identifier
            self.manifest = manifest
            self.model = model
            self.golden = golden
        }
    }

    public static let factory = DeployedConfiguration(deploymentID: nil, components: [], models: [])

    public init(deploymentID: String?, components: [Component], models: [Model]) {
        self.deploymentID = deploymentID
        self.components = components.sorted { $0.name < $1.name }
        self.models = models.sorted { $0.device < $1.device }
    }

    public func component(_ name: String) -> Component? { components.first { $0.name == name } }
    public func model(of device: DeviceID) -> Model? { models.first { $0.device == device } }

    /// Every artifact digest the configuration needs kept.
    public var digests: [String] {
        components.compactMap(\.recipe) + models.flatMap { [$0.manifest, $0.model, $0.golden] }
    }

    /// This configuration with `document` applied over it; `versionOf` names the running
    /// version of a component the document only configures.
    public func applying(_ document: DeploymentDocument, versionOf: (String) -> SemanticVersion?) -> DeployedConfiguration {
        var components = self.components
        func update(_ name: String, _ change: (inout Component) -> Void) {
            if let index = components.firstIndex(where: { $0.name == name }) {
                change(&components[index])
            } else if let version = versionOf(name) {
                var entry = Component(name: name, version: version, recipe: nil, configuration: nil)
                change(&entry)
                components.append(entry)
            }
        }
        for (name, version) in document.components {
            let digest = document.artifact(DeploymentDocument.recipePath(name, version))?.sha256
            if components.contains(where: { $0.name == name }) || versionOf(name) != nil {
                update(name) { $0.version = version; $0.recipe = digest }
            } else {
                components.append(Component(name: name, version: version, recipe: digest, configuration: nil))
            }
        }
        for (name, merge) in document.configuration {
            update(name) { $0.configuration = ($0.configuration ?? .object([:])).merged(with: merge) }
        }
        var models = self.models
        for (device, name, version) in document.models {
            let folder = DeploymentDocument.modelFolder(name, version)
            func digest(_ file: String) -> String { document.artifact("\(folder)/\(file)")!.sha256 }
            models.removeAll { $0.device == device }
            models.append(Model(device: device, identifier: "\(name)@\(version)", manifest: digest("manifest.json"),
                                model: digest("model.onnx"), golden: digest("golden.json")))
        }
        return DeployedConfiguration(deploymentID: document.id, components: components, models: models)
    }

    /// The components whose version, recipe or configuration differ between the two, and
    /// `inference` when any device's model differs: what a change between them restarts or touches.
    public func changedComponents(to other: DeployedConfiguration) -> [String] {
        var names: [String] = []
        for name in Set(components.map(\.name) + other.components.map(\.name)).sorted() where component(name) != other.component(name) {
            names.append(name)
        }
        if models != other.models, !names.contains("inference") { names.append("inference") }
        return names
    }

    // MARK: JSON (the durable record)

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        if let deploymentID { json.field("deployment_id", deploymentID) } else { json.key("deployment_id"); json.null() }
        json.key("components"); json.beginArray()
        for component in components {
            json.beginObject()
            json.field("name", component.name)
            json.field("version", component.version.description)
            if let recipe = component.recipe { json.field("recipe", recipe) }
            if let configuration = component.configuration { json.key("configuration"); configuration.write(to: &json) }
            json.endObject()
        }
        json.endArray()
        json.key("models"); json.beginArray()
        for model in models {
            json.beginObject()
            json.field("device", model.device.rawValue); json.field("package", model.identifier)
            json.field("manifest", model.manifest); json.field("model", model.model); json.field("golden", model.golden)
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }

    public init(json value: JSONValue) throws(DeploymentRecordError) {
        guard case .object(let root) = value else { throw .init("configuration is not an object") }
        var deploymentID: String?
        if case .string(let id)? = root["deployment_id"] { deploymentID = id }
        var components: [Component] = []
        if case .array(let items)? = root["components"] {
            for item in items {
                guard case .object(let entry) = item, case .string(let name)? = entry["name"], case .string(let text)? = entry["version"],
                      let version = try? SemanticVersion(parsing: text) else { throw .init("a component entry is malformed") }
                var recipe: String?
                if case .string(let digest)? = entry["recipe"] { recipe = digest }
                components.append(Component(name: name, version: version, recipe: recipe, configuration: entry["configuration"]))
            }
        }
        var models: [Model] = []
        if case .array(let items)? = root["models"] {
            for item in items {
                guard case .object(let entry) = item, case .string(let device)? = entry["device"], let id = try? DeviceID(validating: device),
                      case .string(let package)? = entry["package"], case .string(let manifest)? = entry["manifest"],
                      case .string(let model)? = entry["model"], case .string(let golden)? = entry["golden"] else {
                    throw .init("a model entry is malformed")
                }
                models.append(Model(device: id, identifier: package, manifest: manifest, model: model, golden: golden))
            }
        }
        self.init(deploymentID: deploymentID, components: components, models: models)
    }
}

/// The deployment agent's durable state: the last good configuration, the deployment in
/// progress (if any) with how far it got, and the outcomes of recent deployments (so a
/// document the cloud sends again is answered, not applied twice).
///
/// Written whole in one store transaction at each step that matters, so a power loss
/// leaves the previous record or the next, never a mix.
public struct DeploymentRecord: Equatable, Sendable {
    public var good: DeployedConfiguration
    public var attempt: Attempt?
    /// Deployment id → its terminal status, oldest first, at most `outcomesMax`.
    public var outcomes: [(id: String, state: DeploymentStatus.State, detail: String)]

    public static let outcomesMax = 32

    /// A deployment under way: its document, and whether it has begun changing what runs
    /// (then `target` is what it is changing to).
    public struct Attempt: Equatable, Sendable {
        public var document: DeploymentDocument
        public var target: DeployedConfiguration?

        public init(document: DeploymentDocument, target: DeployedConfiguration?) {
            self.document = document
            self.target = target
        }
    }

    public init(good: DeployedConfiguration = .factory, attempt: Attempt? = nil, outcomes: [(id: String, state: DeploymentStatus.State, detail: String)] = []) {
        self.good = good
        self.attempt = attempt
        self.outcomes = outcomes
    }

    public static func == (a: Self, b: Self) -> Bool { a.json == b.json }

    public mutating func remember(_ id: String, _ state: DeploymentStatus.State, _ detail: String) {
        outcomes.removeAll { $0.id == id }
        outcomes.append((id, state, detail))
        if outcomes.count > Self.outcomesMax { outcomes.removeFirst(outcomes.count - Self.outcomesMax) }
    }

    public var json: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("version", 1)
        json.key("good"); good.write(to: &json)
        if let attempt {
            json.key("attempt"); json.beginObject()
            json.key("document"); json.raw(attempt.document.json)
            if let target = attempt.target { json.key("target"); target.write(to: &json) }
            json.endObject()
        }
        json.key("outcomes"); json.beginArray()
        for outcome in outcomes {
            json.beginObject(); json.field("id", outcome.id); json.field("state", outcome.state.rawValue); json.field("detail", outcome.detail); json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    public init(json bytes: [UInt8]) throws(DeploymentRecordError) {
        guard case .object(let root)? = try? JSONValue.parse(bytes) else { throw .init("not a JSON object") }
        guard case .number(1)? = root["version"] else { throw .init("unknown record version") }
        guard let good = root["good"] else { throw .init("no good configuration") }
        self.good = try DeployedConfiguration(json: good)
        if case .object(let attempt)? = root["attempt"] {
            guard let document = attempt["document"] else { throw .init("an attempt without its document") }
            var writer = JSONWriter()
            document.write(to: &writer)
            let parsed: DeploymentDocument
            do { parsed = try DeploymentDocument.parse(writer.bytes) } catch { throw .init("the attempt's document: \(error)") }
            self.attempt = Attempt(document: parsed, target: try attempt["target"].map { (value) throws(DeploymentRecordError) in try DeployedConfiguration(json: value) })
        }
        outcomes = []
        if case .array(let items)? = root["outcomes"] {
            for item in items {
                guard case .object(let entry) = item, case .string(let id)? = entry["id"], case .string(let state)? = entry["state"],
                      let parsedState = DeploymentStatus.State(rawValue: state), case .string(let detail)? = entry["detail"] else {
                    throw .init("an outcome is malformed")
                }
                outcomes.append((id, parsedState, detail))
            }
        }
    }
}

/// A durable deployment record that cannot be read back.
public struct DeploymentRecordError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The durable home of the deployment record and the artifacts it names (SQLite in
/// `HubStore`: a file live, in memory in the simulator, where it outlives a simulated
/// power loss as a disk does).
public protocol DeploymentStore: AnyObject {
    func load() throws(DeploymentStoreError) -> DeploymentRecord?
    /// Saves the record and drops artifacts no longer named by it or `keeping`, in one transaction.
    func save(_ record: DeploymentRecord, keeping: [String]) throws(DeploymentStoreError)
    func artifact(_ sha256: String) throws(DeploymentStoreError) -> [UInt8]?
    func keep(artifact bytes: [UInt8], sha256: String) throws(DeploymentStoreError)
}

public struct DeploymentStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
