import Glibc

/// Small files the rig and the hub write and read beside the programs they start
/// (mosquitto's configuration, openssl's database, pid files): one place for the C calls
/// and for errors that name the path.
enum LocalFile {
    /// Writes `text` to `path`, replacing what was there.
    static func write(_ text: String, to path: String) throws(LocalProcessError) {
        guard let file = fopen(path, "w") else { throw LocalProcessError("\(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw LocalProcessError("\(path): \(String(cString: strerror(errno)))") }
    }

    /// The first line of `path` without its line end; nil when it cannot be read or is empty.
    /// Reads with stdio, so it works on /proc files (whose size says 0).
    static func firstLine(_ path: String, maximumBytes: Int32 = 4096) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: Int(maximumBytes))
        guard fgets(&buffer, maximumBytes, file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 && $0 != 0x0A && $0 != 0x0D }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return line.isEmpty ? nil : line
    }

    /// Every byte of `path` read with stdio (a /proc file's size says 0); nil when it cannot be opened.
    static func contents(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}

/// What /proc says of a process: the figures the live rig, the benchmarks and the hub's
/// own kits' broker read, parsed in one place.
public enum ProcessFacts {
    /// The command line, its NULs as spaces; nil when there is no such process.
    public static func commandLine(of pid: pid_t) -> String? {
        LocalFile.contents("/proc/\(pid)/cmdline").map { String(decoding: $0.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self) }
    }

    /// The fields of /proc/PID/stat after the command's closing parenthesis (index 0 is the
    /// state, field 3; index 11 utime, field 14); nil when there is no such process.
    static func statFields(of pid: pid_t) -> [Substring]? {
        guard let line = LocalFile.firstLine("/proc/\(pid)/stat"), let close = line.lastIndex(of: ")") else { return nil }
        return Array(line[line.index(after: close)...].split(separator: " "))
    }

    /// User plus system CPU time so far, in seconds.
    public static func cpuSeconds(of pid: pid_t) -> Double? {
        guard let fields = statFields(of: pid), fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Whether the process is gone or a zombie (exited, not yet reaped).
    public static func isGone(_ pid: pid_t) -> Bool {
        guard let state = statFields(of: pid)?.first else { return true }
        return state == "Z"
    }
}
