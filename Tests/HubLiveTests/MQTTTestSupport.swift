import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive

/// A real `mosquitto` broker on a free loopback port, with a configuration the test writes.
final class TestBroker {
    let port: Int
    let directory: String
    private var process: ChildProcess?

    /// Starts mosquitto with `extra` configuration lines for its listener (TLS files and so on).
    init(directory: String, listener extra: [String] = [], port: Int? = nil) throws {
        self.directory = directory
        self.port = try port ?? Self.freePort()
        // `user`: mosquitto started as root drops to the `mosquitto` user, which could not read
        // the test's owner-only certificates; it stays the user that started it.
        let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let config = (["user \(user)", "listener \(self.port) 127.0.0.1", "allow_anonymous true", "persistence false"] + extra)
            .joined(separator: "\n") + "\n"
        let path = directory + "/mosquitto-\(self.port).conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        process = try ChildProcess("/usr/sbin/mosquitto", ["-c", path], output: directory + "/mosquitto-\(self.port).log")
        try waitUntilListening()
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and reaps it.
    func stop() {
        process?.terminate()
        process = nil
    }

    deinit { stop() }

    /// A port nothing listens on now (the kernel's choice for port 0).
    static func freePort() throws -> Int {
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
        guard bound else { throw TestSetupError("no free port") }
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
        throw TestSetupError("mosquitto did not listen on \(port)")
    }
}

/// A child process started with posix_spawn and reaped with waitpid. (Foundation's
/// `Process.waitUntilExit` hung in these tests after a SIGTERM; waitpid cannot.)
final class ChildProcess {
    let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with stdout and stderr appended to `output`.
    init(_ executable: String, _ arguments: [String], output: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The test runs on a worker thread whose signal mask blocks SIGTERM; a child inherits
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
        guard rc == 0 else { throw TestSetupError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Waits up to `seconds` for the child to exit; its wait status, or nil if it still runs.
    @discardableResult
    func wait(seconds: Double) -> Int32? {
        if let status { return status }
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        repeat {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw
                return raw
            }
            usleep(10_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s; reaps it either way.
    func terminate() {
        guard status == nil else { return }
        kill(pid, SIGTERM)
        if wait(seconds: 5) == nil {
            kill(pid, SIGKILL)
            wait(seconds: 5)
        }
    }

    deinit { terminate() }
}

/// A certificate authority and certificates made by `openssl`, as an operator would make them.
struct TestCertificates {
    let directory: String

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
