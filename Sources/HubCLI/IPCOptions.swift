import ArgumentParser
import HubCore
import HubKernel
import HubLive
import HubYAML

/// `--ipc-socket` and `--component`: the IPC bus server for components in processes of
/// their own, and the recipes of those components (docs/ipc.md, docs/components.md).
///
/// One option group for `hub run` and `hubrig sim run`, so both serve the same protocol
/// under the same flags.
public struct IPCOptions: ParsableArguments {
    @Option(name: .customLong("ipc-socket"),
            help: "Serve the IPC bus on this Unix socket (owner-only) for components in processes of their own.")
    public var socket: String?

    @Option(name: .customLong("component"),
            help: "Recipe file (YAML) of a component that runs in a process of its own and connects over --ipc-socket; repeatable.")
    public var components: [String] = []

    @Flag(name: .customLong("component-started-elsewhere"),
          help: "Do not start the --component programs: a service manager runs them, and the hub only supervises their connections.")
    public var startedElsewhere = false

    public init() {}

    /// The port that starts the components' programs, unless they are started elsewhere.
    public func processes(shell: LiveShell) -> ComponentProcesses? {
        guard let socket, !components.isEmpty, !startedElsewhere else { return nil }
        return ComponentProcesses(socketPath: socket, completions: shell.inbox, clock: shell.clock)
    }

    public func validate() throws {
        if !components.isEmpty, socket == nil { throw ValidationError("--component needs --ipc-socket (the components connect there)") }
    }

    /// The server, if `--ipc-socket` was given (not yet listening: the run starts it).
    public func server(shell: LiveShell) throws -> UnixSocketIPCServer? {
        guard let socket else { return nil }
        do { return try UnixSocketIPCServer(path: socket, completions: shell.inbox, clock: shell.clock) } catch {
            throw ValidationError("--ipc-socket: \(error)")
        }
    }

    /// Reads the `--component` recipes and adds them to `node`, after checking that they
    /// run together with the node's own components (names, dependencies, versions, cycles).
    public func addComponents(to node: HubNode) throws {
        var recipes: [ComponentRecipe] = []
        for file in components {
            let recipe: ComponentRecipe
            do { recipe = try RecipeFile.read(atPath: file) } catch { throw ValidationError("--component: \(error)") }
            recipes.append(recipe)
        }
        do { _ = try RecipeSet(node.recipes + recipes) } catch {
            throw ValidationError("--component: the recipes cannot run with the hub's components: \(error)")
        }
        for recipe in recipes { node.addRemote(recipe: recipe) }
    }
}
