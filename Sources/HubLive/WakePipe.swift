import Glibc

/// A pipe that wakes a thread waiting in `poll`: any thread writes a byte (`wake`), the
/// waiting thread polls `readFD` and takes the bytes (`drain`).
///
/// Why one type: the completion inbox, the socket servers' listeners and the fault proxy
/// each wait this way, and each had made its own pipe, flags and drain loop.
struct WakePipe {
    let readFD: Int32
    let writeFD: Int32

    /// Both ends non-blocking (a full pipe already wakes the reader; draining stops when
    /// it is empty) and close-on-exec; nil, with errno set, when no pipe can be made.
    static func make() -> WakePipe? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        return WakePipe(readFD: fds[0], writeFD: fds[1])
    }

    func wake() {
        var byte: UInt8 = 1
        while write(writeFD, &byte, 1) < 0 && errno == EINTR {}
    }

    /// Takes every byte written so far.
    func drain() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(readFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    func close() {
        Glibc.close(readFD)
        Glibc.close(writeFD)
    }
}
