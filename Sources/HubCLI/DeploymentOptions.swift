import ArgumentParser
import HubCore
import HubKernel
import HubLive
import HubStore
import HubYAML

/// `--artifacts DIR`: take deployments from the cloud, fetching their artifacts from a
/// directory that stands in for the cloud's bucket (docs/deployments.md). The deployment
/// record and the verified artifacts live in `deployments.sqlite` in the state directory.
///
/// Without it the hub answers every deployment `rejected` (it has nowhere to fetch from).
public struct DeploymentOptions: ParsableArguments {
    @Option(name: .customLong("artifacts"),
            help: "Take deployments, fetching their artifacts from this directory (standing in for the cloud's bucket).")
    public var artifacts: String?

    public init() {}

    /// The deployment ports, or nil without `--artifacts`. `stateDirectory` nil keeps the
    /// record in memory (a hub without a state directory forgets its deployments).
    public func ports(shell: LiveShell, stateDirectory: String?) throws -> DeploymentPorts? {
        guard let artifacts else { return nil }
        let bucket: DirectoryArtifactStore
        do { bucket = try DirectoryArtifactStore(root: artifacts, completions: shell) } catch { throw ValidationError("--artifacts: \(error)") }
        let store: SQLiteDeploymentStore
        do { store = try SQLiteDeploymentStore(path: stateDirectory.map { $0 + "/deployments.sqlite" }) } catch {
            throw ValidationError("deployment store: \(error)")
        }
        return DeploymentPorts(store: store, artifacts: bucket, host: LiveHostResources(stateDirectory: stateDirectory ?? "."),
                               readRecipe: { bytes, file in try RecipeFile.parse(bytes: bytes, file: file) })
    }
}
