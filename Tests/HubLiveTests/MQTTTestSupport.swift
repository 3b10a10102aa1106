import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive

/// A certificate authority and certificates made by `openssl`, as an operator would make them.
struct TestCertificates {
    let directory: String

    /// A mosquitto listener on TLS with `server.crt`, requiring client certificates signed by `ca`.
    var mutualTLSListener: [String] {
        ["cafile \(path("ca.crt"))", "certfile \(path("server.crt"))", "keyfile \(path("server.key"))", "require_certificate true"]
    }

    /// `name.key` and `name.crt` signed by CA `ca` (made first with `makeAuthority`).
    func makeCertificate(_ name: String, commonName: String, ca: String, serverAddress: Bool = false) throws {
        try openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"), "-out", path("\(name).csr"),
                     "-subj", "/CN=\(commonName)"])
        var sign = ["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).crt"), "-CAkey", path("\(ca).key"),
                    "-CAcreateserial", "-out", path("\(name).crt"), "-days", "2"]
        if serverAddress {
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            sign += ["-extfile", path("\(name).ext")]
        }
        try openssl(sign)
    }

    func makeAuthority(_ name: String) throws {
        try openssl(["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(name).key"),
                     "-out", path("\(name).crt"), "-days", "2", "-subj", "/CN=\(name)"])
    }

    func path(_ file: String) -> String { directory + "/" + file }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSetupError("openssl \(arguments.first ?? "") failed") }
    }
}

/// Waits (really) until `done` holds for what `inbox` delivered, collecting it; nil on timeout.
func collect(_ inbox: CompletionInbox, seconds: Double, until done: ([CloudCompletion]) -> Bool) -> [CloudCompletion]? {
    var seen: [CloudCompletion] = []
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        for (completion, _) in inbox.take() { if case .cloud(let cloud) = completion { seen.append(cloud) } }
        if done(seen) { return seen }
        usleep(20_000)
    }
    return nil
}

/// A test's own setup failed (no port, no broker, openssl refused).
struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
