/// One frame of the hub's IPC protocol (docs/ipc.md, version 1): what a component process
/// and the hub's bus server say to each other over the Unix-domain socket.
///
/// The wire form is a 4-byte big-endian length and a UTF-8 JSON object with a `type`: any
/// language with a socket and a JSON library can speak it (the tests include a Python
/// component), and a reader can bound its memory by the length before reading the body.
public enum IPCFrame: Equatable, Sendable {
    // Component → hub
    /// The first frame: which component this is, and the protocol versions it speaks.
    case hello(component: String, versions: [Int])
    case subscribe(id: Int, filter: TopicFilter)
    case publish(id: Int, topic: Topic, message: BusMessage)
    /// The answer to a health probe.
    case pong(probe: Int)
    /// An orderly goodbye: the component is stopping.
    case bye

    // Hub → component
    /// The hub accepts the component at `version`; `session` counts its connections.
    case welcome(version: Int, session: Int)
    /// The request `id` (a subscribe or publish) was carried out.
    case ack(id: Int)
    /// The request `id` was refused (nil: the hello was), with the reason; for a hello the
    /// hub closes the connection after it.
    case refused(id: Int?, reason: String)
    /// A bus message for one of the component's subscriptions.
    case message(topic: Topic, from: String, message: BusMessage)
    /// Are you alive? Answer with `pong` within the recipe's `probe_timeout`.
    case probe(probe: Int)

    /// The protocol versions this build speaks.
    public static let versions = [1]
    /// The largest body a frame may have: a bus message is a few hundred bytes; this bounds
    /// what a broken or hostile peer can make the other side buffer.
    public static let bodyBytesMax = 256 * 1024
    /// Request ids and probe numbers: non-negative and exact in a JSON number (a double).
    public static let idRange = 0...(1 << 53)

    /// The frame's `type` on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .subscribe: "subscribe"
        case .publish: "publish"
        case .pong: "pong"
        case .bye: "bye"
        case .welcome: "welcome"
        case .ack: "ack"
        case .refused: "refused"
        case .message: "message"
        case .probe: "probe"
        }
    }

    /// The frame as bytes on the wire: length, then body.
    public func encoded() -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("type", type)
        switch self {
        case .hello(let component, let versions):
            json.field("component", component)
            json.key("versions"); json.beginArray()
            for version in versions { json.int(version) }
            json.endArray()
        case .subscribe(let id, let filter):
            json.field("id", id); json.field("filter", filter.pattern)
        case .publish(let id, let topic, let message):
            json.field("id", id); json.field("topic", topic.name)
            json.key("payload"); message.write(to: &json)
        case .pong(let probe), .probe(let probe):
            json.field("probe", probe)
        case .bye:
            break
        case .welcome(let version, let session):
            json.field("version", version); json.field("session", session)
        case .ack(let id):
            json.field("id", id)
        case .refused(let id, let reason):
            if let id { json.field("id", id) }
            json.field("reason", reason)
        case .message(let topic, let from, let message):
            json.field("topic", topic.name); json.field("from", from)
            json.key("payload"); message.write(to: &json)
        }
        json.endObject()
        let body = json.bytes
        precondition(body.count <= Self.bodyBytesMax, "an IPC frame body of \(body.count) bytes")
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
    }

    /// Decodes one frame body (without its length). Errors name the field and what is wrong.
    public static func decode(body: [UInt8]) throws(PayloadError) -> IPCFrame {
        let object = try PayloadObject(body, type: "IPC frame")
        let type = try object.string("type")
        func only(_ fields: [String]) throws(PayloadError) { try object.expectOnly(["type"] + fields) }
        func id(_ key: String = "id") throws(PayloadError) -> Int {
            let value = try object.int(key)
            guard idRange.contains(value) else { throw PayloadError(type: object.type, field: key, reason: "must be within 0...\(idRange.upperBound)") }
            return value
        }
        func topic() throws(PayloadError) -> Topic {
            let text = try object.string("topic")
            do { return try Topic(validating: text) } catch { throw PayloadError(type: object.type, field: "topic", reason: error.description) }
        }
        switch type {
        case "hello":
            try only(["component", "versions"])
            let component = try object.string("component")
            guard ComponentRecipe.isName(component) else {
                throw PayloadError(type: object.type, field: "component", reason: "is not a component name")
            }
            let versions = try object.ints("versions")
            guard (1...16).contains(versions.count) else { throw PayloadError(type: object.type, field: "versions", reason: "must list 1...16 versions") }
            return .hello(component: component, versions: versions)
        case "subscribe":
            try only(["id", "filter"])
            let text = try object.string("filter")
            let request = try id()
            do throws(TopicError) {
                return .subscribe(id: request, filter: try TopicFilter(validating: text))
            } catch {
                throw PayloadError(type: object.type, field: "filter", reason: error.description)
            }
        case "publish":
            try only(["id", "topic", "payload"])
            let topic = try topic()
            return .publish(id: try id(), topic: topic, message: try BusMessage.decode(on: topic, payload: object, field: "payload"))
        case "pong":
            try only(["probe"])
            return .pong(probe: try id("probe"))
        case "bye":
            try only([])
            return .bye
        case "welcome":
            try only(["version", "session"])
            return .welcome(version: try object.int("version"), session: try id("session"))
        case "ack":
            try only(["id"])
            return .ack(id: try id())
        case "refused":
            try only(["id", "reason"])
            return .refused(id: object.has("id") ? try id() : nil, reason: try object.string("reason"))
        case "message":
            try only(["topic", "from", "payload"])
            let topic = try topic()
            return .message(topic: topic, from: try object.string("from"), message: try BusMessage.decode(on: topic, payload: object, field: "payload"))
        case "probe":
            try only(["probe"])
            return .probe(probe: try id("probe"))
        default:
            throw PayloadError(type: object.type, field: "type", reason: "unknown frame type \(type.debugDescription)")
        }
    }
}

/// Splits a byte stream into IPC frames: feed it what the socket gave, take whole frames
/// out. A length above the limit is an error at once (before any body is buffered), so a
/// peer cannot make the reader hold more than one frame's worth.
public struct IPCFrameReader: Sendable {
    private var buffer: [UInt8] = []
    private var head = 0

    public init() {}

    /// Bytes received and not yet taken as frames.
    public var pendingCount: Int { buffer.count - head }

    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next whole frame, nil if more bytes are needed; an error leaves the stream
    /// unusable (the connection must be closed).
    public mutating func next() throws(IPCProtocolError) -> IPCFrame? {
        guard pendingCount >= 4 else { return nil }
        let length = Int(buffer[head]) << 24 | Int(buffer[head + 1]) << 16 | Int(buffer[head + 2]) << 8 | Int(buffer[head + 3])
        guard (2...IPCFrame.bodyBytesMax).contains(length) else {
            throw IPCProtocolError(reason: "a frame of \(length) bytes (allowed 2...\(IPCFrame.bodyBytesMax))")
        }
        guard pendingCount >= 4 + length else { return nil }
        let body = Array(buffer[(head + 4)..<(head + 4 + length)])
        head += 4 + length
        if head > 65_536, head * 2 > buffer.count {
            buffer.removeFirst(head)
            head = 0
        }
        do throws(PayloadError) { return try IPCFrame.decode(body: body) } catch { throw IPCProtocolError(reason: error.description) }
    }
}

/// A peer broke the IPC protocol; the connection is closed with this reason.
public struct IPCProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "IPC protocol error: \(reason)" }
}
