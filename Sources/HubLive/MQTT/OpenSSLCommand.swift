/// Runs `/usr/bin/openssl`, as an operator would, for the certificates the hub and the rig
/// make: one place that knows how to call it and how it failed.
enum OpenSSLCommand {
    /// Runs `openssl arguments...`, its output appended to `log`; throws naming the
    /// subcommand and the log when it fails or takes over a minute.
    static func run(_ arguments: [String], log: String) throws(LocalProcessError) {
        let process: ChildProcess
        do { process = try ChildProcess("/usr/bin/openssl", arguments, output: log) } catch {
            throw LocalProcessError("openssl: \(error)")
        }
        guard let status = process.wait(seconds: 60), status == 0 else {
            throw LocalProcessError("openssl \(arguments.first ?? "") failed (see \(log))")
        }
    }
}
