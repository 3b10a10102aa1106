import ArgumentParser
import Glibc
import HubCore
import HubKernel
import HubLive
import HubStore

/// Where a live hub's cloud messages go and where its outbox lives: `hub run` and `hubrig
/// sim run` take the same flags.
///
/// With `--cloud-host` the uplink publishes over MQTT (libmosquitto; TLS with `--cloud-ca`,
/// mutual TLS adding `--cloud-cert` and `--cloud-key`); without it, each tool keeps its
/// default (a spool file for `hub run`, the simulated cloud for `hubrig sim run`).
public struct CloudOptions: ParsableArguments {
    @Option(name: .customLong("cloud-host"), help: "MQTT broker of the cloud (e.g. the AWS IoT endpoint).")
    public var host: String?

    @Option(name: .customLong("cloud-port"), help: "Its port (8883 for MQTT over TLS, 1883 plaintext).")
    public var port = 8883

    @Option(name: .customLong("cloud-ca"), help: "CA certificate (PEM) the broker's certificate must chain to; enables TLS.")
    public var caFile: String?

    @Option(name: .customLong("cloud-cert"), help: "The hub's client certificate (PEM), for mutual TLS.")
    public var certificateFile: String?

    @Option(name: .customLong("cloud-key"), help: "The hub's private key (PEM) for --cloud-cert; never logged.")
    public var keyFile: String?

    @Option(name: .customLong("state-dir"), help: "Directory of the hub's durable state (owner-only): the outbox, outbox.sqlite.")
    public var stateDirectory: String?

    public init() {}

    /// The outbox: `<state-dir>/outbox.sqlite`, or `fallback` when no directory was given.
    public func outbox(fallback: String?) throws -> SQLiteOutboxStore {
        guard let directory = stateDirectory ?? fallback else { return try SQLiteOutboxStore(path: nil) }
        do {
            try StateDirectory.prepare(directory)
            return try SQLiteOutboxStore(path: directory + "/outbox.sqlite")
        } catch {
            throw ValidationError("--state-dir: \(error)")
        }
    }

    /// The MQTT cloud port for `thing` posting to `shell`, or nil without `--cloud-host`.
    /// Not started: the caller starts it with the loop and stops it after.
    public func mqtt(thing: String, shell: LiveShell) throws -> MQTTCloudPort? {
        guard let (host, port, tls) = try broker() else { return nil }
        do {
            // Jitter only spreads a fleet's reconnects; the process id is an explicit, good-enough seed.
            return try MQTTCloudPort(settings: .hub(thing: thing, host: host, port: port, tls: tls),
                                     random: SeededRandom(seed: UInt64(getpid())), clock: shell.clock, completions: shell.inbox)
        } catch {
            throw ValidationError("--cloud-host: \(error)")
        }
    }

    /// The broker and TLS files the flags name, checked (files readable, mutual TLS
    /// complete), or nil without `--cloud-host`.
    public func broker() throws -> (host: String, port: Int, tls: MQTTSettings.TLSFiles?)? {
        guard let host else {
            if caFile != nil || certificateFile != nil || keyFile != nil {
                throw ValidationError("--cloud-ca, --cloud-cert and --cloud-key need --cloud-host")
            }
            return nil
        }
        guard (1...65535).contains(port) else { throw ValidationError("--cloud-port \(port): a TCP port is 1…65535") }
        guard (certificateFile == nil) == (keyFile == nil) else {
            throw ValidationError("--cloud-cert and --cloud-key go together (mutual TLS)")
        }
        if certificateFile != nil, caFile == nil { throw ValidationError("--cloud-cert needs --cloud-ca (mutual TLS is TLS)") }
        for (flag, path) in [("--cloud-ca", caFile), ("--cloud-cert", certificateFile), ("--cloud-key", keyFile)] {
            if let path, access(path, R_OK) != 0 {
                throw ValidationError("\(flag) \(path): \(String(cString: strerror(errno)))")
            }
        }
        return (host, port, caFile.map { MQTTSettings.TLSFiles(caFile: $0, certificateFile: certificateFile, keyFile: keyFile) })
    }
}
