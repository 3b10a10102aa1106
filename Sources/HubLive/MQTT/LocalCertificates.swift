import Glibc

/// A certificate authority and certificates made by `openssl`, as an operator would make
/// them: what the TLS tests and a live scenario run's cloud broker use.
///
/// Real `openssl`-made files, so the hub's TLS setup is exercised exactly as in the field;
/// keys are owner-only (openssl writes them 0600).
public struct LocalCertificates: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// A mosquitto listener on TLS with `server.crt`, requiring client certificates signed by `ca`.
    public var mutualTLSListener: [String] {
        ["cafile \(path("ca.crt"))", "certfile \(path("server.crt"))", "keyfile \(path("server.key"))", "require_certificate true"]
    }

    /// `ca`, `server` (for 127.0.0.1) and one client certificate per name in `clients`.
    public static func make(in directory: String, clients: [String]) throws -> LocalCertificates {
        let certificates = LocalCertificates(directory: directory)
        try certificates.makeAuthority("ca")
        try certificates.makeCertificate("server", commonName: "localhost", ca: "ca", serverAddress: true)
        for client in clients { try certificates.makeCertificate(client, commonName: client, ca: "ca") }
        return certificates
    }

    /// `name.key` and `name.crt` signed by CA `ca` (made first with `makeAuthority`).
    public func makeCertificate(_ name: String, commonName: String, ca: String, serverAddress: Bool = false) throws {
        try openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).csr"),
                     "-subj", "/CN=\(commonName)"])
        var sign = ["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).crt"), "-CAkey", path("\(ca).key"),
                    "-CAcreateserial", "-out", path("\(name).crt"), "-days", "2"]
        if serverAddress {
            try write("subjectAltName=IP:127.0.0.1,DNS:localhost\n", to: path("\(name).ext"))
            sign += ["-extfile", path("\(name).ext")]
        }
        try openssl(sign)
    }

    public func makeAuthority(_ name: String) throws {
        try openssl(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"),
                     "-out", path("\(name).crt"), "-days", "2", "-subj", "/CN=\(name)"])
    }

    public func path(_ file: String) -> String { directory + "/" + file }

    private func write(_ text: String, to path: String) throws {
        try LocalFile.write(text, to: path)
    }

    private func openssl(_ arguments: [String]) throws {
        try OpenSSLCommand.run(arguments, log: path("openssl.log"))
    }
}
