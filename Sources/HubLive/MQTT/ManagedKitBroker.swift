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
        guard let text = LocalFile.firstLine(pidFile, maximumBytes: 32), let pid = pid_t(text), pid > 1,
              let command = ProcessFacts.commandLine(of: pid), command.contains("mosquitto"), command.contains(directory + "/") else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where !ProcessFacts.isGone(pid) { usleep(50_000) }
        if !ProcessFacts.isGone(pid) { kill(pid, SIGKILL) }
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
