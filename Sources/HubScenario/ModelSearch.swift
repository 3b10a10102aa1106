import Foundation
import HubCore
import HubInference

/// Where a scenario's model packages come from; the working directory plays no part.
///
/// The rule (README, "Scenarios"): an absolute `model:` path is used as it is; a relative
/// one is looked up from the scenario file's directory, then from each directory above it,
/// and the first that holds a package (a directory with `manifest.json`) wins — so
/// `model: fixtures/models/furnace` means the repository's package wherever the scenario
/// sits inside it and whatever directory the rig runs in. An appliance without a `model:`
/// gets the committed package for its kind: `<models>/<kind>` when `--models DIR` is given
/// (the directory holding `<kind>/` packages), otherwise `fixtures/models/<kind>` looked up
/// the same way as a relative `model:`; with neither, the interim detector.
public struct ModelSearch: Sendable {
    /// The absolute directory of the scenario file.
    public let scenarioDirectory: String
    /// `--models DIR`, absolute, if given.
    public let models: String?

    /// `file` and `models` may be relative to the working directory (they are what the user
    /// typed); they are made absolute once, here.
    public init(scenarioFile file: String, models: String? = nil) {
        scenarioDirectory = Self.absolute((file as NSString).deletingLastPathComponent)
        self.models = models.map(Self.absolute)
    }

    /// The package directory a scenario's `model: <path>` names, or nil if there is none.
    public func resolve(_ path: String) -> String? {
        if path.hasPrefix("/") { return ModelPackage.exists(at: path) ? Self.standard(path) : nil }
        var directory = scenarioDirectory
        while true {
            let candidate = Self.standard((directory as NSString).appendingPathComponent(path))
            if ModelPackage.exists(at: candidate) { return candidate }
            let parent = (directory as NSString).deletingLastPathComponent
            if parent == directory || parent.isEmpty { return nil }
            directory = parent
        }
    }

    /// The committed (or `--models`) package for `kind`, or nil.
    public func defaultPackage(for kind: ApplianceKind) -> String? {
        if let models {
            let candidate = Self.standard(ModelPackage.directory(for: kind, in: models))
            return ModelPackage.exists(at: candidate) ? candidate : nil
        }
        return resolve(ModelPackage.directory(for: kind, in: ModelPackage.committedDirectory))
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return standard(path) }
        let base = FileManager.default.currentDirectoryPath
        return standard(path.isEmpty ? base : (base as NSString).appendingPathComponent(path))
    }

    /// `a/b/../c` → `a/c`, textually (symbolic links are left alone, so the path printed is the one looked at).
    static func standard(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
