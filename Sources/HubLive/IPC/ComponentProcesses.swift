import Foundation
import Glibc
import HubCore
import HubKernel
import Synchronization

/// Starts the programs of components with a `command` lifecycle and reports their exits.
///
/// A program gets the IPC socket's path in `HUB_IPC_SOCKET`, its configuration (recipe defaults merged with deployments') as JSON in `HUB_COMPONENT_CONFIG`, the hub's working directory,
/// and the hub's standard error for both its outputs (standard output may carry the hub's
/// event log). A thread per program waits for its exit and posts `processExited` to the
/// loop, where the supervisor counts it as a failure and restarts the component with
/// backoff. `stop` sends SIGTERM, then SIGKILL after `killAfter`.
public final class ComponentProcesses: ProcessPort, NetworkClient, Sendable {
    private let socketPath: String
    private let completions: CompletionInbox
    private let clock: LiveClock
    private let killAfter: Duration
    /// Running programs by component name (only looked up and removed).
    private let running = Mutex<[String: pid_t]>([:])

    public init(socketPath: String, completions: CompletionInbox, clock: LiveClock, killAfter: Duration = .seconds(5)) {
        self.socketPath = socketPath
        self.completions = completions
        self.clock = clock
        self.killAfter = killAfter
    }

    public func start(_ recipe: ComponentRecipe) {
        let name = recipe.name
        guard case .external(let arguments) = recipe.lifecycle else {
            // A recipe file can say `builtin:`; out of process a built-in runs as a program too.
            completions.complete(.processExited(component: name, reason: "a built-in recipe names no program: give lifecycle.command "
                                                + "(hub component \(name) --ipc SOCKET runs the built-in one)"), at: clock.now)
            return
        }
        let pid: pid_t
        do { pid = try Self.spawn(arguments, socketPath: socketPath, configuration: Self.configurationJSON(recipe)) } catch {
            completions.complete(.processExited(component: name, reason: "\(error)"), at: clock.now)
            return
        }
        running.withLock { $0[name] = pid }
        let thread = Thread { [self] in
            // Wait without reaping, forget the pid under the lock, then reap: `stop` signals
            // under the same lock, so it can never signal a pid the system has reused.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
            running.withLock { if $0[name] == pid { $0[name] = nil } }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            completions.complete(.processExited(component: name, reason: Self.describe(status)), at: clock.now)
        }
        thread.name = "hub-process-\(name)"
        thread.start()
    }

    public func stop(_ component: String) {
        guard let pid = running.withLock({ running in running[component].map { pid in kill(pid, SIGTERM); return pid } }) else { return }
        let deadline = ContinuousClock.now + killAfter
        // The waiting thread reaps it; a program that ignores SIGTERM is killed.
        Thread.detachNewThread { [self] in
            while ContinuousClock.now < deadline {
                guard running.withLock({ $0[component] == pid }) else { return }
                usleep(20_000)
            }
            running.withLock { if $0[component] == pid { kill(pid, SIGKILL) } }
        }
    }

    public func start() {}

    /// Stops every program (the hub is shutting down).
    public func stop() {
        running.withLock { for pid in $0.values { kill(pid, SIGTERM) } }
    }

    /// "exit 3", "killed by signal 9".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        return signal == 0 ? "exited with status \((status >> 8) & 0xFF)" : "killed by signal \(signal)"
    }

    /// The recipe's configuration (defaults merged with deployments') as one JSON object, for `HUB_COMPONENT_CONFIG`.
    static func configurationJSON(_ recipe: ComponentRecipe) -> String {
        var json = JSONWriter()
        JSONValue.object(recipe.configuration).write(to: &json)
        return json.string
    }

    private static func spawn(_ arguments: [String], socketPath: String, configuration: String) throws(LocalProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        // The hub's threads block SIGTERM for the service lifecycle; a program must not inherit that.
        var attributes = ChildProcess.cleanSignalAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var environment = ProcessInfo.processInfo.environment.filter { $0.key != "HUB_IPC_SOCKET" && $0.key != "HUB_COMPONENT_CONFIG" }
            .map { "\($0.key)=\($0.value)" }.sorted()
        environment.append("HUB_IPC_SOCKET=\(socketPath)")
        environment.append("HUB_COMPONENT_CONFIG=\(configuration)")
        let envp = environment.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard rc == 0 else { throw LocalProcessError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}
