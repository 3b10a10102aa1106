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
    /// `faultSeed` seeds `ipc.drop` injected through the control socket.
    public func server(shell: LiveShell, faultSeed: UInt64 = 1) throws -> UnixSocketIPCServer? {
        guard let socket else { return nil }
        do { return try UnixSocketIPCServer(path: socket, completions: shell.inbox, clock: shell.clock, faultSeed: faultSeed) } catch {
            throw ValidationError("--ipc-socket: \(error)")
        }
    }

    /// Adds the standard components to `node` (made without any) and the `--component`
    /// recipes, after checking that they run together (names, dependencies, versions,
    /// cycles). A recipe named like a built-in replaces it: that component runs in a process
    /// of its own (`hub component NAME --ipc SOCKET`), in the built-in's place.
    public func addComponents(to node: HubNode) throws {
        var recipes: [ComponentRecipe] = []
        for file in components {
            let recipe: ComponentRecipe
            do { recipe = try RecipeFile.read(atPath: file) } catch { throw ValidationError("--component: \(error)") }
            if recipes.contains(where: { $0.name == recipe.name }) { throw ValidationError("--component: two recipes named \(recipe.name)") }
            recipes.append(recipe)
        }
        let replacing = recipes.filter { ComponentRecipe.builtinNames.contains($0.name) }
        let others = recipes.filter { !ComponentRecipe.builtinNames.contains($0.name) }
        // Checked before anything is added: the node refuses a set that does not form one.
        let builtins = StandardComponents.names(config: node.config)
        if let absent = replacing.first(where: { !builtins.contains($0.name) }) {
            throw ValidationError("--component: this hub runs no built-in \(absent.name) to replace (it runs: \(builtins.joined(separator: ", ")))")
        }
        let standard = builtins.compactMap { name in replacing.first { $0.name == name } ?? BuiltinRecipes.recipe(named: name) }
        do { _ = try RecipeSet(standard + others) } catch {
            throw ValidationError("--component: the recipes cannot run with the hub's components: \(error)")
        }
        StandardComponents.add(to: node, overIPC: replacing)
        for recipe in others { node.addRemote(recipe: recipe) }
    }
}
