import Glibc

/// The kits' broker a hub runs itself (`local_broker.identity: managed`): a real mosquitto
/// on the configured address with TLS, client certificates from the hub's kit authority,
/// its revocation list and the per-kit ACL (`KitAuthority.listenerConfiguration`).
///
/// Why the hub runs it: mosquitto reads its revocation list when it starts, and a
/// connection it took before a revocation stays open (tested against mosquitto 2.0.11:
/// SIGHUP reloads the list for new handshakes only). Restarting the broker is what shuts a
/// revoked kit out at once; every other kit's client reconnects by itself.
///
/// A hub killed outright (SIGKILL, a crash outside systemd, whose unit would take the whole
/// control group down) leaves its mosquitto running, holding the port with the revocation
/// list of its day. So the broker writes its pid file in the state directory, and a new
/// start first ends the broker that file names — if it is a mosquitto started with this
/// directory's configuration, and nothing else.
public final class ManagedKitBroker {
    public let authority: KitAuthority
    public let host: String
    public let port: Int
    private let directory: String
    private var broker: LocalMosquitto?

    /// Starts mosquitto on `host:port`, its configuration and log in `stateDirectory/kits-broker`.
    public init(authority: KitAuthority, stateDirectory: String, host: String, port: Int) throws {
        self.authority = authority
        self.host = host
        self.port = port
        directory = stateDirectory + "/kits-broker"
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else { throw LocalProcessError("\(directory): \(String(cString: strerror(errno)))") }
        try start()
    }

    private var pidFile: String { directory + "/mosquitto.pid" }

    private func start() throws {
        Self.endStale(pidFile: pidFile, naming: directory)
        broker = try LocalMosquitto(directory: directory, listener: authority.listenerConfiguration + ["pid_file \(pidFile)"], port: port,
                                    anonymous: false, bind: host)
    }

    /// The running broker's process id.
    public var pid: pid_t? { broker?.pid }

    /// Ends the mosquitto `pidFile` names, if its command line names `directory` (a stale
    /// broker of an earlier hub), and waits up to 5 s for it to go.
    static func endStale(pidFile: String, naming directory: String) {
        guard let file = fopen(pidFile, "r") else { return }
        var buffer = [CChar](repeating: 0, count: 32)
        let read = fgets(&buffer, 32, file) != nil
        fclose(file)
        guard read, let pid = pid_t(String(decoding: buffer.prefix { $0 != 0 && $0 != 0x0A }.map { UInt8(bitPattern: $0) }, as: UTF8.self)),
              pid > 1, let command = commandLine(of: pid), command.contains("mosquitto"), command.contains(directory + "/") else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where commandLine(of: pid) != nil && !isZombie(pid) { usleep(50_000) }
        if commandLine(of: pid) != nil, !isZombie(pid) { kill(pid, SIGKILL) }
    }

    /// `/proc/PID/cmdline` with its NULs as spaces; nil when there is no such process.
    static func commandLine(of pid: pid_t) -> String? {
        guard let file = fopen("/proc/\(pid)/cmdline", "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, 512, file) != nil else { return true }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = line.lastIndex(of: ")") else { return true }
        return line[line.index(after: close)...].hasPrefix(" Z")
    }

    /// Stops and starts the broker: every connection drops, each kit must pass a handshake
    /// against the current revocation list.
    public func restart() throws {
        broker?.stop()
        try start()
    }

    public func stop() {
        broker?.stop()
        broker = nil
    }

    deinit { stop() }
}
