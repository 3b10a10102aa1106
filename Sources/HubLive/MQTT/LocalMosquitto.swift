import Glibc

/// A real `mosquitto` broker on a free loopback port, with a configuration written into
/// `directory`: what the tests, `hubrig bench drain` and live mode start beside the hub.
public final class LocalMosquitto {
    public let port: Int
    public let directory: String
    private var process: ChildProcess?

    /// Starts mosquitto with `extra` configuration lines for its listener (TLS files and so on).
    public init(directory: String, listener extra: [String] = [], port: Int? = nil) throws {
        self.directory = directory
        self.port = try port ?? Self.freePort()
        // `user`: mosquitto started as root drops to the `mosquitto` user, which could not read
        // owner-only certificates; it stays the user that started it.
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let config = (["user \(user)", "listener \(self.port) 127.0.0.1", "allow_anonymous true", "persistence false"] + extra)
            .joined(separator: "\n") + "\n"
        let path = directory + "/mosquitto-\(self.port).conf"
        guard let file = fopen(path, "w") else { throw LocalProcessError("\(path): \(String(cString: strerror(errno)))") }
        fputs(config, file)
        fclose(file)
        process = try ChildProcess("/usr/sbin/mosquitto", ["-c", path], output: directory + "/mosquitto-\(self.port).log")
        try waitUntilListening()
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and reaps it.
    public func stop() {
        process?.terminate()
        process = nil
    }

    deinit { stop() }

    /// A port nothing listens on now (the kernel's choice for port 0).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw LocalProcessError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func waitUntilListening() throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return }
            usleep(50_000)
        }
        throw LocalProcessError("mosquitto did not listen on \(port)")
    }
}

/// A child process started with posix_spawn and reaped with waitpid. (Foundation's
/// `Process.waitUntilExit` hung in tests after a SIGTERM; waitpid cannot.)
public final class ChildProcess {
    public let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with stdout and stderr appended to `output`.
    public init(_ executable: String, _ arguments: [String], output: String, input: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let input { posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0) }
        // A caller on a worker thread (a test, a Dispatch queue) runs whose signal mask blocks SIGTERM; a child inherits
        // the mask, so it gets an empty one and default dispositions.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw LocalProcessError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
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

/// A local helper process (mosquitto, a client) could not be started or did not come up.
public struct LocalProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
