import Glibc

/// The hub's state directory: created owner-only (0700) if missing, refused if it is not a
/// directory or other users may enter it, since the outbox and later the hub's keys live there.
public enum StateDirectory {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static func prepare(_ path: String) throws(Error) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw Error(description: "\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw Error(description: "\(path): \(String(cString: strerror(errno)))") }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw Error(description: "\(path): not a directory") }
        guard status.st_uid == geteuid() else { throw Error(description: "\(path): owned by uid \(status.st_uid), not this user") }
        if status.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
            throw Error(description: "\(path): mode \(String(status.st_mode & 0o777, radix: 8)), and chmod 0700 failed: \(String(cString: strerror(errno)))")
        }
    }
}
