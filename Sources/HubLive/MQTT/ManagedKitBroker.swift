import Glibc

/// The kits' broker a hub runs itself (`local_broker.identity: managed`): a real mosquitto
/// on the configured address with TLS, client certificates from the hub's kit authority,
/// its revocation list and the per-kit ACL (`KitAuthority.listenerConfiguration`).
///
/// Why the hub runs it: mosquitto reads its revocation list when it starts, and a
/// connection it took before a revocation stays open (tested against mosquitto 2.0.11:
/// SIGHUP reloads the list for new handshakes only). Restarting the broker is what shuts a
/// revoked kit out at once; every other kit's client reconnects by itself.
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

    private func start() throws {
        broker = try LocalMosquitto(directory: directory, listener: authority.listenerConfiguration, port: port, anonymous: false, bind: host)
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
