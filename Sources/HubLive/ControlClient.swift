import Foundation
import HubCore
import HubKernel

/// Why the control socket could not be used, each case saying what to do about it.
public enum ControlClientError: Error, Equatable, Sendable, CustomStringConvertible {
    case noHub(path: String)
    case staleSocket(path: String)
    case permissionDenied(path: String)
    case notASocket(path: String)
    case pathTooLong(path: String)
    case io(path: String, call: String, errno: Int32)
    /// The hub closed the connection or sent no whole reply in time.
    case noReply(path: String)
    /// The reply is not the protocol's.
    case badReply(String)

    public var description: String {
        switch self {
        case .noHub(let path): "no hub is running with its control socket at \(path) (start one with `hub run`, or give its --socket)"
        case .staleSocket(let path): "\(path) is a socket nobody listens on: the hub that made it is no longer running"
        case .permissionDenied(let path): "\(path): permission denied; the control socket is its owner's only (run as the hub's user)"
        case .notASocket(let path): "\(path) is not a socket"
        case .pathTooLong(let path): "socket path \(path) is longer than \(UnixSocketAddress.pathBytesMax) bytes"
        case .io(let path, let call, let code): "control socket \(path): \(call) failed: \(errnoText(code))"
        case .noReply(let path): "the hub at \(path) sent no reply"
        case .badReply(let detail): "the hub's reply is not protocol version \(ControlProtocol.version): \(detail)"
        }
    }
}

/// A connection to a hub's control socket: one request line out, one reply line back
/// (docs/control.md). What `hubrig fault` and `hubrig status` speak through.
public final class ControlClient {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1
    /// How long a reply may take.
    public static let replyTimeout: Duration = .seconds(5)

    public init(path: String) throws(ControlClientError) {
        self.path = path
        guard let address = UnixSocketAddress.make(path) else { throw .pathTooLong(path: path) }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK { throw .notASocket(path: path) }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw .io(path: path, call: "socket", errno: errno) }
        guard UnixSocketAddress.connect(socket, to: address) == 0 else {
            let code = errno
            close(socket)
            switch code {
            case ENOENT: throw .noHub(path: path)
            case ECONNREFUSED: throw .staleSocket(path: path)
            case EACCES, EPERM: throw .permissionDenied(path: path)
            default: throw .io(path: path, call: "connect", errno: code)
            }
        }
        fd = socket
    }

    deinit { close(fd) }

    /// Sends one request (`fields` besides v, id and op) and returns the reply's `result`,
    /// or throws the hub's error as a `ControlError`.
    public func request(_ op: String, _ fields: [(String, JSONValue)] = []) throws -> JSONValue {
        let id = nextID
        nextID += 1
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.key("v")
        json.int(ControlProtocol.version)
        json.key("id")
        json.int(id)
        json.field("op", op)
        for (key, value) in fields {
            json.key(key)
            value.write(to: &json)
        }
        json.endObject()
        guard socketSendAll(fd, json.bytes + [0x0A]) else { throw ControlClientError.io(path: path, call: "send", errno: errno) }
        while true {
            let line = try readLine(timeout: Self.replyTimeout)
            guard case .object(let reply) = try Self.decode(line) else { throw ControlClientError.badReply("not an object") }
            if reply["event"] != nil { continue }  // an event for a subscriber, before the reply
            guard reply["v"] == .number(Double(ControlProtocol.version)) else { throw ControlClientError.badReply("v is not \(ControlProtocol.version)") }
            guard reply["id"] == .number(Double(id)) || reply["id"] == .null else { throw ControlClientError.badReply("a reply to another request") }
            switch reply["ok"] {
            case .bool(true)?: return reply["result"] ?? .null
            case .bool(false)?:
                guard case .object(let error)? = reply["error"], case .string(let code)? = error["code"],
                      case .string(let message)? = error["message"] else { throw ControlClientError.badReply("an error without code and message") }
                throw ControlError(ControlError.Code(rawValue: code) ?? .badRequest, message)
            default: throw ControlClientError.badReply("no ok")
            }
        }
    }

    /// The next event line after `subscribe` (its `event` object), or nil at `timeout`.
    public func nextEvent(timeout: Duration) throws -> JSONValue? {
        let line: [UInt8]
        do { line = try readLine(timeout: timeout) } catch ControlClientError.noReply(_) where buffer.isEmpty { return nil }
        guard case .object(let message) = try Self.decode(line), let event = message["event"] else {
            throw ControlClientError.badReply("not an event")
        }
        return event
    }

    private static func decode(_ line: [UInt8]) throws -> JSONValue {
        do { return try JSONValue.parse(line) } catch { throw ControlClientError.badReply("not JSON: \(error)") }
    }

    private func readLine(timeout: Duration) throws(ControlClientError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 8_192)
        let deadline = timeout.nanoseconds / 1_000_000
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                return line
            }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(clamping: deadline))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { throw .noReply(path: path) }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw .noReply(path: path) }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
