import Foundation

/// A listening Unix socket (mode 0600) and the pipe that wakes its serving thread: what
/// the stand-in's servers (`I2CSocketServer`, `SenseHATKernelServer`) open before their
/// thread polls, and close after it has finished.
///
/// A stale socket a crashed run left is replaced; a path where a server answers, or
/// anything that is not a socket, is refused — a second rig must not steal a running
/// one's socket. Closing removes the socket file only if it is still this listener's.
struct OwnerOnlyListener {
    let path: String
    /// The listening socket, and the read end of the wake pipe.
    let fd: Int32
    private let wakePipe: WakePipe
    var wakeFD: Int32 { wakePipe.readFD }
    private let inode: UInt64

    init(path: String, backlog: Int32) throws(I2CSocketServerError) {
        self.path = path
        guard let address = UnixSocketAddress.make(path) else { throw .pathTooLong(path: path, limit: UnixSocketAddress.pathBytesMax) }
        try Self.removeStaleSocket(path, address: address)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw .system(path: path, call: "socket", errno: errno) }
        guard UnixSocketAddress.bind(listener, to: address) == 0 else {
            let code = errno
            Glibc.close(listener)
            throw code == EADDRINUSE ? .pathInUse(path: path) : .system(path: path, call: "bind", errno: code)
        }
        // bind honours the umask, so the mode is set afterwards; nobody can connect in
        // between because the socket is not listening yet.
        func fail(_ call: String, _ code: Int32) -> I2CSocketServerError {
            Glibc.close(listener)
            unlink(path)
            return .system(path: path, call: call, errno: code)
        }
        guard chmod(path, 0o600) == 0 else { throw fail("chmod", errno) }
        var info = stat()
        inode = lstat(path, &info) == 0 ? UInt64(info.st_ino) : 0
        guard listen(listener, backlog) == 0 else { throw fail("listen", errno) }
        guard let pipe = WakePipe.make() else { throw fail("pipe", errno) }
        fd = listener
        wakePipe = pipe
    }

    /// Makes `wakeFD` readable: the serving thread's poll returns and it stops.
    func wake() { wakePipe.wake() }

    /// Takes the wake-ups so far (a server that wakes for more than stopping).
    func drainWakes() { wakePipe.drain() }

    /// Closes the descriptors and removes the socket file if it is still ours (another
    /// server may have taken the path since).
    func close() {
        Glibc.close(fd)
        wakePipe.close()
        var info = stat()
        if lstat(path, &info) == 0, UInt64(info.st_ino) == inode { unlink(path) }
    }

    static func setCloseOnExec(_ fd: Int32) -> Bool {
        fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
    }

    /// Replaces a socket no server answers on (left by a crashed run); refuses anything else.
    private static func removeStaleSocket(_ path: String, address: sockaddr_un) throws(I2CSocketServerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .pathInUse(path: path) }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw .system(path: path, call: "socket", errno: errno) }
        defer { Glibc.close(probe) }
        let connected = UnixSocketAddress.connect(probe, to: address)
        guard connected != 0, errno == ECONNREFUSED else { throw .pathInUse(path: path) }
        unlink(path)
    }
}
