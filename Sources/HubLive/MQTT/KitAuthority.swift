import Glibc
import HubCore

/// The hub's certificate authority for its monitoring kits, kept with `openssl ca` in the
/// state directory (`kits-ca/`), and the kits' broker configuration that trusts only it.
///
/// Why the hub holds its own authority: the kits talk to the hub, not to the cloud, so the
/// hub decides who is a kit — enrolment needs no network, and a revocation takes effect on
/// the hub at once. Every certificate's subject is its device id (a kit's) or a name no
/// device id can take (`hub.kits-broker`, `hub.kit-listener`: device ids have no dots), and
/// the broker uses it as the client's user name, so its ACL keeps each kit to its own topic.
/// EC P-256 keys: cheap for a kit's handshake. The authority's key is owner-only and is
/// never printed; nothing here reads it but `openssl`.
public struct KitAuthority: Sendable {
    public let directory: String

    /// The broker's server certificate's subject.
    public static let brokerName = "hub.kits-broker"
    /// The hub's own client (the kit listener) certificate's subject: it may read every kit's topic.
    public static let listenerName = "hub.kit-listener"
    /// A kit's certificate validity unless the configuration says otherwise.
    public static let validityDefault: Duration = .seconds(365 * 86_400)
    /// What a configuration may say for the validity.
    public static let validityRange: ClosedRange<Duration> = .seconds(3600)...Duration.seconds(20 * 365 * 86_400)

    /// The authority under `stateDirectory`, made on first use (its key, the broker's and
    /// the listener's certificates, an empty revocation list, the ACL).
    public static func open(stateDirectory: String, now: Instant) throws(LocalProcessError) -> KitAuthority {
        let authority = KitAuthority(directory: stateDirectory + "/kits-ca")
        if access(authority.path("ca.crt"), R_OK) != 0 { try authority.create(now: now) }
        return authority
    }

    private init(directory: String) { self.directory = directory }

    public func path(_ file: String) -> String { directory + "/" + file }

    /// mosquitto configuration lines for the kits' listener: TLS with client certificates
    /// from this authority only, the revocation list, the certificate's subject as the user
    /// name, the ACL (docs/config.md, "The kits' broker"). `set_tcp_nodelay`: without it a
    /// TLS handshake's small flights wait on Nagle against the kit's delayed ACK — 47.6 ms
    /// to CONNACK instead of 6.6 on loopback (`hubrig bench kits`).
    public var listenerConfiguration: [String] {
        ["set_tcp_nodelay true", "cafile \(path("ca.crt"))", "certfile \(path("broker.crt"))", "keyfile \(path("broker.key"))", "require_certificate true",
         "use_identity_as_username true", "crlfile \(path("crl.pem"))", "acl_file \(path("acl"))"]
    }

    /// The TLS files the hub's kit listener connects with.
    public var listenerTLS: (caFile: String, certificateFile: String, keyFile: String) {
        (path("ca.crt"), path("listener.crt"), path("listener.key"))
    }

    private func create(now: Instant) throws(LocalProcessError) {
        for sub in ["", "/certs", "/private"] {
            guard mkdir(directory + sub, 0o700) == 0 || errno == EEXIST else {
                throw LocalProcessError("\(directory + sub): \(String(cString: strerror(errno)))")
            }
        }
        try write(Self.configuration(directory: directory), to: path("ca.cnf"))
        try write("", to: path("index.txt"))
        try write("1000\n", to: path("serial"))
        try write("1000\n", to: path("crlnumber"))
        // The ACL: the listener reads every kit's telemetry, a kit writes its own topic only.
        try write("user \(Self.listenerName)\ntopic read hbs/kits/+/telemetry\n\npattern write hbs/kits/%u/telemetry\n", to: path("acl"))
        try openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", path("private/ca.key"), "-out", path("ca.crt.new"), "-days", "7300", "-subj", "/CN=hub kit authority"])
        guard chmod(path("private/ca.key"), 0o600) == 0 else { throw LocalProcessError("\(path("private/ca.key")): chmod 0600: \(String(cString: strerror(errno)))") }
        try issue(Self.brokerName, key: path("broker.key"), certificate: path("broker.crt"), from: now, until: now + .seconds(20 * 365 * 86_400),
                  authority: path("ca.crt.new"), serverNames: true)
        try issue(Self.listenerName, key: path("listener.key"), certificate: path("listener.crt"), from: now, until: now + .seconds(20 * 365 * 86_400),
                  authority: path("ca.crt.new"))
        try openssl(["ca", "-config", path("ca.cnf"), "-cert", path("ca.crt.new"), "-gencrl", "-out", path("crl.pem")])
        // Last: `ca.crt` present means the authority is whole.
        guard rename(path("ca.crt.new"), path("ca.crt")) == 0 else { throw LocalProcessError("\(path("ca.crt")): \(String(cString: strerror(errno)))") }
    }

    /// Enrols `device`: a new key and a certificate valid from `now` for `validity`, written
    /// to `out` as `<device>.key` (owner-only), `<device>.crt` and the authority's `ca.crt`.
    /// `from` backdates the start (tests make expired certificates with it).
    public func enrol(_ device: DeviceID, validity: Duration, into out: String, now: Instant, from: Instant? = nil) throws(LocalProcessError) -> KitCertificate {
        guard mkdir(out, 0o700) == 0 || errno == EEXIST else { throw LocalProcessError("\(out): \(String(cString: strerror(errno)))") }
        let start = from ?? now
        let notAfter = start + validity
        let serial = try nextSerial()
        try issue(device.rawValue, key: out + "/\(device).key", certificate: out + "/\(device).crt", from: start, until: notAfter,
                  authority: path("ca.crt"))
        try copy(path("ca.crt"), to: out + "/ca.crt")
        return KitCertificate(device: device, serial: serial, notAfter: notAfter)
    }

    /// Puts `serial` on the revocation list and writes the list again (the broker reads it
    /// when it starts).
    public func revoke(serial: String) throws(LocalProcessError) {
        guard KitCertificate.isSerial(serial) else {
            throw LocalProcessError("serial \(serial.debugDescription) is not a certificate serial (hex digits)")
        }
        try openssl(["ca", "-config", path("ca.cnf"), "-revoke", path("certs/\(serial).pem")])
        try openssl(["ca", "-config", path("ca.cnf"), "-gencrl", "-out", path("crl.pem")])
    }

    /// The serial `openssl ca` gives the next certificate (its `serial` file).
    private func nextSerial() throws(LocalProcessError) -> String {
        let serial = LocalFile.firstLine(path("serial")) ?? ""
        guard KitCertificate.isSerial(serial) else { throw LocalProcessError("\(path("serial")): \(serial.debugDescription) is not a hex serial") }
        return serial
    }

    /// A key and a certificate with subject `name`, signed by the authority, valid
    /// `from`…`until` exactly (`openssl ca` records it in its index, so it can be revoked).
    private func issue(_ name: String, key: String, certificate: String, from: Instant, until: Instant, authority: String,
                       serverNames: Bool = false) throws(LocalProcessError) {
        let request = path("request.csr")
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", key, "-out", request, "-subj", "/CN=\(name)"])
        guard chmod(key, 0o600) == 0 else { throw LocalProcessError("\(key): chmod 0600: \(String(cString: strerror(errno)))") }
        var sign = ["ca", "-batch", "-config", path("ca.cnf"), "-cert", authority, "-in", request, "-out", certificate, "-notext",
                    "-startdate", Self.generalizedTime(from), "-enddate", Self.generalizedTime(until)]
        if serverNames { sign += ["-extensions", "broker"] }
        try openssl(sign)
        unlink(request)
    }

    /// `YYYYMMDDHHMMSSZ`, as `openssl ca -startdate/-enddate` takes it.
    static func generalizedTime(_ instant: Instant) -> String { utcText(instant, compact: true) }

    /// `instant` in UTC to the second: `2027-12-02 07:23:37Z` (how `hub kit list` shows a
    /// certificate's dates), or with `compact` openssl's `20271202072337Z`.
    public static func utcText(_ instant: Instant, compact: Bool = false) -> String {
        var seconds = time_t(instant.nanosecondsSinceEpoch / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let date = [String(parts.tm_year + 1900), two(parts.tm_mon + 1), two(parts.tm_mday)]
        let time = [two(parts.tm_hour), two(parts.tm_min), two(parts.tm_sec)]
        return compact ? date.joined() + time.joined() + "Z" : date.joined(separator: "-") + " " + time.joined(separator: ":") + "Z"
    }

    /// openssl's `ca` configuration: any subject (a device id), no copied extensions, the
    /// broker's server names as an extension section.
    static func configuration(directory: String) -> String {
        """
        [ ca ]
        default_ca = kits
        [ kits ]
        dir = \(directory)
        database = \(directory)/index.txt
        serial = \(directory)/serial
        crlnumber = \(directory)/crlnumber
        new_certs_dir = \(directory)/certs
        certificate = \(directory)/ca.crt
        private_key = \(directory)/private/ca.key
        default_md = sha256
        default_crl_days = 3650
        policy = subject_only
        unique_subject = no
        copy_extensions = none
        [ subject_only ]
        commonName = supplied
        [ broker ]
        subjectAltName = IP:127.0.0.1,DNS:localhost

        """
    }

    private func openssl(_ arguments: [String]) throws(LocalProcessError) {
        try OpenSSLCommand.run(arguments, log: path("openssl.log"))
    }

    private func write(_ text: String, to file: String) throws(LocalProcessError) {
        try LocalFile.write(text, to: file)
    }

    /// The authority's certificate (PEM text) copied for a kit.
    private func copy(_ source: String, to destination: String) throws(LocalProcessError) {
        guard let bytes = LocalFile.contents(source) else { throw LocalProcessError("\(source): \(String(cString: strerror(errno)))") }
        try LocalFile.write(String(decoding: bytes, as: UTF8.self), to: destination)
    }
}
