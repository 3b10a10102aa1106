import Glibc

/// A child process started with posix_spawn and reaped with waitpid. (Foundation's
/// `Process.waitUntilExit` hung in tests after a SIGTERM; waitpid cannot.)
public final class ChildProcess {
    public let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with stdout and stderr appended to `output`, in this process's
    /// environment or in `environment` (the whole of it) if given.
    public init(_ executable: String, _ arguments: [String], output: String, input: String? = nil,
                environment: [String: String]? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let input { posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0) }
        var attributes = Self.cleanSignalAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Sorted, so a child's environment does not depend on a dictionary's order.
        let given = environment.map { $0.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in given ?? [] { free(pointer) } }
        var pid = pid_t()
        let rc = given.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) } ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            // posix_spawn reports a failed file action (the log's directory missing) as the
            // spawn's error: say which of the three it can be.
            let directory = output.lastIndex(of: "/").map { String(output[..<$0]) } ?? "."
            if access(directory.isEmpty ? "/" : directory, W_OK) != 0 {
                throw LocalProcessError("cannot start \(executable): its log \(output): \(String(cString: strerror(errno)))")
            }
            if let input, access(input, R_OK) != 0 {
                throw LocalProcessError("cannot start \(executable): its input \(input): \(String(cString: strerror(errno)))")
            }
            throw LocalProcessError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
    }

    /// Spawn attributes that give a child an empty signal mask and default dispositions: a
    /// caller on a worker thread (a test, a Dispatch queue, the hub's loop under the service
    /// lifecycle) blocks SIGTERM, and a child would inherit that. The caller destroys them.
    static func cleanSignalAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return attributes
    }

    /// The child's peak resident set in bytes, known once it has been reaped.
    public private(set) var peakResidentBytes: Int?

    /// Waits up to `seconds` for the child to exit; its wait status, or nil if it still runs.
    @discardableResult
    public func wait(seconds: Double) -> Int32? {
        if let status { return status }
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        repeat {
            var raw: Int32 = 0
            var usage = rusage()
            if wait4(pid, &raw, WNOHANG, &usage) == pid {
                status = raw
                peakResidentBytes = usage.ru_maxrss * 1024
                return raw
            }
            usleep(10_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Kills the child at once (SIGKILL: no handler runs, as when the power goes) and reaps it.
    public func killNow() {
        guard status == nil else { return }
        kill(pid, SIGKILL)
        wait(seconds: 5)
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s; reaps it either way.
    public func terminate() {
        guard status == nil else { return }
        kill(pid, SIGTERM)
        if wait(seconds: 5) == nil {
            kill(pid, SIGKILL)
            wait(seconds: 5)
        }
    }

    deinit { terminate() }
}
