import Foundation

/// A deployment as the cloud sends it on `hbs/<thing>/deployments`: which component
/// versions to run, configuration to merge into them, which model package each device
/// gets, the artifacts all that needs with their SHA-256 digests, what the hub must have
/// free to take it, how long to watch its health, and whether components may defer it.
///
/// It is parsed in full before anything happens, with every limit checked (counts, sizes,
/// names, paths that cannot leave the artifact store), because it comes over the network:
/// a document the hub cannot read is rejected with the field that is wrong, never half
/// applied. docs/deployments.md documents every field.
public struct DeploymentDocument: Equatable, Sendable {
    public var id: String
    /// Component name → version to run. Each needs its recipe among the artifacts, at
    /// `components/<name>/<version>/recipe.yaml`.
    public var components: [(name: String, version: SemanticVersion)]
    /// Component name → a JSON object merged into its configuration (RFC 7386: `null` removes a key).
    public var configuration: [(name: String, merge: JSONValue)]
    /// Device → model package; each needs `models/<name>/<version>/{manifest.json,model.onnx,golden.json}`.
    public var models: [(device: DeviceID, name: String, version: SemanticVersion)]
    public var artifacts: [Artifact]
    /// Free space the deployment needs on the hub's state disk and in memory.
    public var diskBytesRequired: Int64
    public var memoryBytesRequired: Int64
    /// After the new versions run, any failure of a changed component within this rolls back.
    public var healthWindow: Duration
    /// Components asked whether they are at a safe point before anything stops, and how long
    /// the hub waits for them at most.
    public var deferTo: [String]
    public var deferMax: Duration

    /// One file in the artifact store the deployment needs.
    public struct Artifact: Equatable, Sendable {
        /// Relative to the artifact store's root: plain segments, no `..`, no leading `/`.
        public var path: String
        public var sha256: String
        public var bytes: Int

        public init(path: String, sha256: String, bytes: Int) {
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    public init(id: String, components: [(name: String, version: SemanticVersion)] = [], configuration: [(name: String, merge: JSONValue)] = [],
                models: [(device: DeviceID, name: String, version: SemanticVersion)] = [], artifacts: [Artifact] = [],
                diskBytesRequired: Int64 = 0, memoryBytesRequired: Int64 = 0, healthWindow: Duration = .seconds(300),
                deferTo: [String] = [], deferMax: Duration = .seconds(600)) {
        self.id = id
        self.components = components
        self.configuration = configuration
        self.models = models
        self.artifacts = artifacts
        self.diskBytesRequired = diskBytesRequired
        self.memoryBytesRequired = memoryBytesRequired
        self.healthWindow = healthWindow
        self.deferTo = deferTo
        self.deferMax = deferMax
    }

    public static func == (a: Self, b: Self) -> Bool { a.json == b.json }

    // MARK: Limits

    public static let bytesMax = 65_536
    public static let entriesMax = 64
    public static let artifactBytesMax = 64 << 20
    public static let healthWindowMax: Duration = .seconds(86_400)
    public static let deferMaxLimit: Duration = .seconds(86_400)

    /// The recipe artifact of a component version.
    public static func recipePath(_ name: String, _ version: SemanticVersion) -> String { "components/\(name)/\(version)/recipe.yaml" }
    /// The folder of a model package version.
    public static func modelFolder(_ name: String, _ version: SemanticVersion) -> String { "models/\(name)/\(version)" }

    /// The artifact at `path`, if the document lists it.
    public func artifact(_ path: String) -> Artifact? { artifacts.first { $0.path == path } }

    // MARK: Reading

    public static func parse(_ bytes: [UInt8]) throws(DeploymentDocumentError) -> DeploymentDocument {
        guard bytes.count <= bytesMax else { throw .init(field: nil, reason: "\(bytes.count) bytes (at most \(bytesMax))") }
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(bytes) } catch { throw .init(field: nil, reason: "not JSON (\(error))") }
        guard case .object(let root) = parsed else { throw .init(field: nil, reason: "not a JSON object") }
        let known = ["deployment_id", "components", "configuration", "models", "artifacts", "requires", "health_window_s", "defer"]
        for key in root.keys.sorted() where !known.contains(key) {
            throw .init(field: key, reason: "unknown field (known: \(known.joined(separator: ", ")))")
        }
        guard case .string(let id)? = root["deployment_id"] else { throw .init(field: "deployment_id", reason: "missing, or not a string") }
        guard PlainName.isPlain(id, maximum: 64, extra: "-_.") else {
            throw .init(field: "deployment_id", reason: "must be 1…64 letters, digits, '-', '_' or '.'")
        }
        var document = DeploymentDocument(id: id)
        for (name, value) in try members(root["components"], field: "components") {
            let field = "components.\(name)"
            try checkComponentName(name, field: field)
            guard case .string(let text) = value else { throw .init(field: field, reason: "must be a version string like \"1.2.0\"") }
            document.components.append((name, try version(text, field: field)))
        }
        for (name, value) in try members(root["configuration"], field: "configuration") {
            let field = "configuration.\(name)"
            try checkComponentName(name, field: field)
            guard case .object = value else { throw .init(field: field, reason: "must be an object (merged into the component's configuration)") }
            try checkDepth(value, field: field, depth: 0)
            document.configuration.append((name, value))
        }
        for (device, value) in try members(root["models"], field: "models") {
            let field = "models.\(device)"
            let id: DeviceID
            do { id = try DeviceID(validating: device) } catch { throw .init(field: field, reason: "\(error)") }
            guard case .string(let text) = value, let at = text.firstIndex(of: "@") else {
                throw .init(field: field, reason: "must be \"name@version\" of a model package")
            }
            let name = String(text[..<at])
            guard PlainName.isPlain(name, maximum: 64, extra: "-_") else { throw .init(field: field, reason: "model name \(name.debugDescription) is not plain") }
            document.models.append((id, name, try version(String(text[text.index(after: at)...]), field: field)))
        }
        if let value = root["artifacts"] {
            guard case .array(let items) = value else { throw .init(field: "artifacts", reason: "must be an array") }
            guard items.count <= entriesMax * 4 else { throw .init(field: "artifacts", reason: "\(items.count) entries (at most \(entriesMax * 4))") }
            for (index, item) in items.enumerated() { document.artifacts.append(try artifact(item, field: "artifacts[\(index)]")) }
            var paths: [String] = []
            for (index, artifact) in document.artifacts.enumerated() {
                if paths.contains(artifact.path) { throw .init(field: "artifacts[\(index)].path", reason: "\(artifact.path) is listed twice") }
                paths.append(artifact.path)
            }
        }
        if let value = root["requires"] {
            let requires = try members(value, field: "requires")
            for (key, amount) in requires {
                let megabytes = try number(amount, field: "requires.\(key)", range: 0...1_048_576)
                switch key {
                case "disk_mb": document.diskBytesRequired = Int64(megabytes * 1_048_576)
                case "memory_mb": document.memoryBytesRequired = Int64(megabytes * 1_048_576)
                default: throw .init(field: "requires.\(key)", reason: "unknown (known: disk_mb, memory_mb)")
                }
            }
        }
        if let value = root["health_window_s"] {
            document.healthWindow = .seconds(try number(value, field: "health_window_s", range: 0...Double(healthWindowMax.components.seconds)))
        }
        if let value = root["defer"] {
            for (key, member) in try members(value, field: "defer") {
                switch key {
                case "components":
                    guard case .array(let names) = member, names.count <= entriesMax else {
                        throw .init(field: "defer.components", reason: "must be an array of at most \(entriesMax) component names")
                    }
                    for (index, name) in names.enumerated() {
                        guard case .string(let text) = name else { throw .init(field: "defer.components[\(index)]", reason: "not a string") }
                        try checkComponentName(text, field: "defer.components[\(index)]")
                        document.deferTo.append(text)
                    }
                case "max_s":
                    document.deferMax = .seconds(try number(member, field: "defer.max_s", range: 0...Double(deferMaxLimit.components.seconds)))
                default: throw .init(field: "defer.\(key)", reason: "unknown (known: components, max_s)")
                }
            }
        }
        try document.checkArtifactsListed()
        return document
    }

    /// Every recipe and model file the document refers to must be among its artifacts.
    private func checkArtifactsListed() throws(DeploymentDocumentError) {
        for (name, version) in components where artifact(Self.recipePath(name, version)) == nil {
            throw .init(field: "components.\(name)", reason: "its recipe \(Self.recipePath(name, version)) is not among the artifacts")
        }
        for (device, name, version) in models {
            for file in ["manifest.json", "model.onnx", "golden.json"] where artifact("\(Self.modelFolder(name, version))/\(file)") == nil {
                throw .init(field: "models.\(device)", reason: "\(Self.modelFolder(name, version))/\(file) is not among the artifacts")
            }
        }
    }

    private static func members(_ value: JSONValue?, field: String) throws(DeploymentDocumentError) -> [(String, JSONValue)] {
        guard let value else { return [] }
        guard case .object(let object) = value else { throw .init(field: field, reason: "must be an object") }
        guard object.count <= entriesMax else { throw .init(field: field, reason: "\(object.count) entries (at most \(entriesMax))") }
        return object.keys.sorted().map { ($0, object[$0]!) }
    }

    private static func checkComponentName(_ name: String, field: String) throws(DeploymentDocumentError) {
        guard ComponentRecipe.isName(name) else { throw .init(field: field, reason: "\(name.prefix(80).debugDescription) is not a component name") }
    }

    private static func version(_ text: String, field: String) throws(DeploymentDocumentError) -> SemanticVersion {
        do { return try SemanticVersion(parsing: text) } catch { throw .init(field: field, reason: "\(error)") }
    }

    private static func number(_ value: JSONValue, field: String, range: ClosedRange<Double>) throws(DeploymentDocumentError) -> Double {
        guard case .number(let number) = value, number.isFinite, range.contains(number) else {
            throw .init(field: field, reason: "must be a number within \(Int(range.lowerBound))…\(Int(range.upperBound))")
        }
        return number
    }

    private static func checkDepth(_ value: JSONValue, field: String, depth: Int) throws(DeploymentDocumentError) {
        guard depth < 16 else { throw .init(field: field, reason: "nested deeper than 16 levels") }
        switch value {
        case .object(let object): for member in object.values { try checkDepth(member, field: field, depth: depth + 1) }
        case .array(let items): for item in items { try checkDepth(item, field: field, depth: depth + 1) }
        default: break
        }
    }

    private static func artifact(_ value: JSONValue, field: String) throws(DeploymentDocumentError) -> Artifact {
        guard case .object(let object) = value else { throw .init(field: field, reason: "must be an object with path, sha256 and bytes") }
        for key in object.keys.sorted() where !["path", "sha256", "bytes"].contains(key) {
            throw .init(field: "\(field).\(key)", reason: "unknown (known: path, sha256, bytes)")
        }
        guard case .string(let path)? = object["path"] else { throw .init(field: "\(field).path", reason: "missing, or not a string") }
        guard isSafePath(path) else {
            throw .init(field: "\(field).path", reason: "\(path.prefix(80).debugDescription) must be a relative path of plain segments (no '..', no leading '/')")
        }
        guard case .string(let digest)? = object["sha256"], SHA256.isHexDigest(digest) else {
            throw .init(field: "\(field).sha256", reason: "must be 64 lowercase hex digits")
        }
        guard let size = object["bytes"] else { throw .init(field: "\(field).bytes", reason: "missing") }
        let bytes = try number(size, field: "\(field).bytes", range: 0...Double(artifactBytesMax))
        guard bytes == bytes.rounded() else { throw .init(field: "\(field).bytes", reason: "must be a whole number") }
        return Artifact(path: path, sha256: digest, bytes: Int(bytes))
    }

    /// A path that stays inside the store: 1…8 segments of letters, digits, '-', '_', '.',
    /// none of them `.` or `..`.
    public static func isSafePath(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...8).contains(segments.count), path.utf8.count <= 256 else { return false }
        return segments.allSatisfy { segment in
            segment != "." && segment != ".." && PlainName.isPlain(String(segment), maximum: 64, extra: "-_.")
        }
    }

    // MARK: Writing

    /// The document as JSON (keys in a fixed order), as the cloud sends it.
    public var json: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("deployment_id", id)
        json.key("components"); json.beginObject()
        for (name, version) in components { json.field(name, version.description) }
        json.endObject()
        json.key("configuration"); json.beginObject()
        for (name, merge) in configuration { json.key(name); merge.write(to: &json) }
        json.endObject()
        json.key("models"); json.beginObject()
        for (device, name, version) in models { json.field(device.rawValue, "\(name)@\(version)") }
        json.endObject()
        json.key("artifacts"); json.beginArray()
        for artifact in artifacts {
            json.beginObject(); json.field("path", artifact.path); json.field("sha256", artifact.sha256); json.field("bytes", artifact.bytes); json.endObject()
        }
        json.endArray()
        json.key("requires"); json.beginObject()
        json.field("disk_mb", Double(diskBytesRequired) / 1_048_576); json.field("memory_mb", Double(memoryBytesRequired) / 1_048_576)
        json.endObject()
        json.field("health_window_s", Int(healthWindow.components.seconds))
        json.key("defer"); json.beginObject()
        json.key("components"); json.beginArray(); for name in deferTo { json.string(name) }; json.endArray()
        json.field("max_s", Int(deferMax.components.seconds))
        json.endObject()
        json.endObject()
        return json.bytes
    }
}

/// A deployment document the hub cannot take, naming the field (nil: the whole document).
public struct DeploymentDocumentError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String?
    public let reason: String

    public init(field: String?, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { field.map { "\($0): \(reason)" } ?? reason }
}

extension JSONValue {
    /// Writes the value with object keys sorted, so equal values write equal bytes.
    public func write(to json: inout JSONWriter) {
        switch self {
        case .null: json.null()
        case .bool(let value): json.bool(value)
        case .number(let value): json.double(value)
        case .string(let value): json.string(value)
        case .array(let items):
            json.beginArray()
            for item in items { item.write(to: &json) }
            json.endArray()
        case .object(let members):
            json.beginObject()
            for key in members.keys.sorted() { json.key(key); members[key]!.write(to: &json) }
            json.endObject()
        }
    }

    /// RFC 7386 JSON merge patch: members of `patch` replace those here, `null` removes one,
    /// objects merge recursively; anything else replaces the whole value.
    public func merged(with patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result: [String: JSONValue] = if case .object(let members) = self { members } else { [:] }
        for key in changes.keys.sorted() {
            let change = changes[key]!
            if change == .null { result[key] = nil } else { result[key] = (result[key] ?? .null).merged(with: change) }
        }
        return .object(result)
    }
}
