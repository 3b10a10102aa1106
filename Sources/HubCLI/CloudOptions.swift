import ArgumentParser

/// Where a live hub's cloud messages go and where its outbox lives: `hub run` and `hubrig
/// sim run` take the same flags.
///
/// With `--cloud-host` the uplink publishes over MQTT (libmosquitto; TLS with `--cloud-ca`,
/// mutual TLS adding `--cloud-cert` and `--cloud-key`); without it, each tool keeps its
/// default (a spool file for `hub run`, the simulated cloud for `hubrig sim run`). The
/// configuration file's `cloud:` and `state_dir` say the same; a flag given here overrides
/// the file's field (`HubRunSettings`), whose `outbox` and `mqtt` build what they describe.
public struct CloudOptions: ParsableArguments {
    @Option(name: .customLong("cloud-host"), help: "MQTT broker of the cloud (e.g. the AWS IoT endpoint).")
    public var host: String?

    @Option(name: .customLong("cloud-port"), help: "Its port (8883 for MQTT over TLS, 1883 plaintext). (default: \(BrokerAddress.cloudDefaultPort))")
    public var port: Int?

    @Option(name: .customLong("cloud-ca"), help: "CA certificate (PEM) the broker's certificate must chain to; enables TLS.")
    public var caFile: String?

    @Option(name: .customLong("cloud-cert"), help: "The hub's client certificate (PEM), for mutual TLS.")
    public var certificateFile: String?

    @Option(name: .customLong("cloud-key"), help: "The hub's private key (PEM) for --cloud-cert; never logged.")
    public var keyFile: String?

    @Option(name: .customLong("state-dir"), help: "Directory of the hub's durable state (owner-only): the outbox, outbox.sqlite.")
    public var stateDirectory: String?

    public init() {}
}
