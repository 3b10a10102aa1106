import Foundation
import GRDB

/// Opening a SQLite file only its owner may read: the outbox and the deployment record
/// both hold what the hub must not leak (telemetry, component configuration).
enum OwnerOnlyDatabase {
    /// Creates the file (0600) before SQLite does, so it never exists with wider rights;
    /// returns why not, or nil.
    static func create(_ path: String) -> String? {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { return "\(path): chmod 0600: \(String(cString: strerror(errno)))" }
        return nil
    }

    /// SQLite gives `-wal` and `-shm` the database file's mode; an older file may predate that.
    static func restrictCompanions(of path: String) -> String? {
        for companion in [path + "-wal", path + "-shm"] where access(companion, F_OK) == 0 {
            guard chmod(companion, 0o600) == 0 else { return "\(companion): chmod 0600: \(String(cString: strerror(errno)))" }
        }
        return nil
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }
}
