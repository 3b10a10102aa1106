import Glibc

/// 127.0.0.1:PORT as the socket calls take it: the one place the rig's loopback TCP code
/// (the brokers it starts, the fault proxy) spells a `sockaddr_in`.
enum LoopbackAddress {
    /// Binds `fd` to 127.0.0.1:`port` (0: a port the kernel picks).
    static func bind(_ fd: Int32, port: UInt16) -> Bool {
        var address = make(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Connects `fd` to 127.0.0.1:`port`.
    static func connect(_ fd: Int32, port: UInt16) -> Bool {
        var address = make(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// The local port `fd` is bound to, or nil.
    static func port(of fd: Int32) -> UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        return named ? UInt16(bigEndian: address.sin_port) : nil
    }

    private static func make(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
