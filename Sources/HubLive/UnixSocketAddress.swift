import Glibc

/// A Unix-domain socket address, and `bind`/`connect` with it: the IPC bus server, its
/// client socket and the I²C stand-in's server all fill a `sockaddr_un` the same way.
enum UnixSocketAddress {
    /// The longest path `sun_path` holds (the terminator takes the last byte).
    static let pathBytesMax = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// The address of `path`, or nil when the path is empty or longer than `pathBytesMax`.
    static func make(_ path: String) -> sockaddr_un? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= pathBytesMax else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }

    static func bind(_ fd: Int32, to address: sockaddr_un) -> Int32 {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func connect(_ fd: Int32, to address: sockaddr_un) -> Int32 {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// Writes all of `bytes` to a connected socket; false if the peer is gone (or a send
/// timeout passed). MSG_NOSIGNAL keeps a vanished peer from raising SIGPIPE, which would
/// kill the whole process.
func socketSendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += sent
    }
    return true
}
