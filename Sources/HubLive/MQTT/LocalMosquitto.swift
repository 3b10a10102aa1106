import Glibc

/// A real `mosquitto` broker on a free loopback port, with a configuration written into
/// `directory`: what the tests, `hubrig bench drain` and live mode start beside the hub.
public final class LocalMosquitto {
    public let port: Int
    public let directory: String
    private var process: ChildProcess?

    /// Starts mosquitto with `extra` configuration lines for its listener (TLS files and so
    /// on); `anonymous: false` takes only clients with a name (a certificate's, with
    /// `use_identity_as_username`).
    /// `bind`: the address it listens on (a hub's kits' broker listens where the kits are).
    public init(directory: String, listener extra: [String] = [], port: Int? = nil, anonymous: Bool = true, bind: String = "127.0.0.1") throws {
        self.directory = directory
        self.port = try port ?? Self.freePort()
        // `user`: mosquitto started as root drops to the `mosquitto` user, which could not read
        // owner-only certificates; it stays the user that started it.
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let config = (["user \(user)", "listener \(self.port) \(bind)", "allow_anonymous \(anonymous)", "persistence false"] + extra)
            .joined(separator: "\n") + "\n"
        let path = directory + "/mosquitto-\(self.port).conf"
        try LocalFile.write(config, to: path)
        process = try ChildProcess("/usr/sbin/mosquitto", ["-c", path], output: directory + "/mosquitto-\(self.port).log")
        try waitUntilListening()
    }

    /// The broker's process id while it runs (a benchmark reads its CPU time).
    public var pid: pid_t? { process?.pid }

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
        guard LoopbackAddress.bind(fd, port: 0), let port = LoopbackAddress.port(of: fd) else { throw LocalProcessError("no free port") }
        return Int(port)
    }

    private func waitUntilListening() throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let connected = LoopbackAddress.connect(fd, port: UInt16(port))
            close(fd)
            if connected { return }
            usleep(50_000)
        }
        throw LocalProcessError("mosquitto did not listen on \(port)")
    }
}

/// A local helper process (mosquitto, a client) could not be started or did not come up.
public struct LocalProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
