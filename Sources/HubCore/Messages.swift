import Foundation

/// One sample of an appliance's channels, published on `dt/local/sensor/<device_id>`.
///
/// Payload (DESIGN.md): `{"timestamp": 1732612345.1234, "device_id": "hvac",
/// "temperature": 21.4, "humidity": 40.2, "pressure": 1011.8}` — channels in canonical order.
///
/// A reading that lacks some of its kit's channels (a sensor failed this poll) carries
/// `"quality": "partial"` after the channels; one whose thermometers disagree (a drifting
/// sensor) carries `"quality": "suspect"`; a complete, trusted one has no quality key, so
/// the book's payload stays byte for byte as it was.
public struct Reading: Equatable, Sendable {
    public var timestamp: Instant
    public var device: DeviceID
    public var values: ChannelValues
    public var quality: ReadingQuality

    public init(timestamp: Instant, device: DeviceID, values: ChannelValues, quality: ReadingQuality = .good) {
        self.timestamp = timestamp
        self.device = device
        self.values = values
        self.quality = quality
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("timestamp"); json.timestamp(timestamp)
        json.field("device_id", device.rawValue)
        for (channel, value) in values { json.field(channel.key, value) }
        if quality != .good { json.field("quality", quality.rawValue) }
        json.endObject()
    }

    public static func decode(_ data: [UInt8]) throws(PayloadError) -> Reading {
        try decode(try PayloadObject(data, type: "reading"))
    }

    static func decode(_ object: PayloadObject) throws(PayloadError) -> Reading {
        var values = ChannelValues()
        var quality = ReadingQuality.good
        if object.has("quality") {
            guard let parsed = ReadingQuality(rawValue: try object.string("quality")) else {
                throw PayloadError(type: "reading", field: "quality", reason: "must be good, partial or suspect")
            }
            quality = parsed
        }
        for key in object.keys where key != "timestamp" && key != "device_id" && key != "quality" {
            guard let channel = Channel(key: key) else { throw PayloadError(type: "reading", field: key, reason: "unknown channel") }
            values[channel] = try object.double(key)
        }
        return Reading(timestamp: try object.instant("timestamp"), device: try object.device("device_id"),
                       values: values, quality: quality)
    }
}

/// Whether a reading carries every channel its kit provides, and whether its values can be trusted.
public enum ReadingQuality: String, Sendable, CaseIterable {
    case good
    /// Some of the kit's channels are missing (a sensor gave no data this poll).
    case partial
    /// The kit's two thermometers disagree beyond their usual offset: the values are sent
    /// as measured, but no detector should judge the appliance on them.
    case suspect
}

/// The detector's verdict on one window, published on `hbs/inference/<device_id>`.
public struct InferenceResult: Equatable, Sendable {
    public var timestamp: Instant
    public var device: DeviceID
    /// `name@version` of the model that produced the score.
    public var model: String
    public var score: Double
    public var threshold: Double
    public var anomalous: Bool

    public init(timestamp: Instant, device: DeviceID, model: String, score: Double, threshold: Double, anomalous: Bool) {
        self.timestamp = timestamp
        self.device = device
        self.model = model
        self.score = score
        self.threshold = threshold
        self.anomalous = anomalous
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("timestamp"); json.timestamp(timestamp)
        json.field("device_id", device.rawValue)
        json.field("model", model)
        json.field("score", score)
        json.field("threshold", threshold)
        json.field("anomalous", anomalous)
        json.endObject()
    }

    public static func decode(_ data: [UInt8]) throws(PayloadError) -> InferenceResult {
        try decode(try PayloadObject(data, type: "inference result"))
    }

    static func decode(_ object: PayloadObject) throws(PayloadError) -> InferenceResult {
        try object.expectOnly(["timestamp", "device_id", "model", "score", "threshold", "anomalous"])
        return InferenceResult(
            timestamp: try object.instant("timestamp"), device: try object.device("device_id"),
            model: try object.string("model"), score: try object.double("score"),
            threshold: try object.double("threshold"), anomalous: try object.bool("anomalous"))
    }
}

/// The debounced health of a monitored device as the detector sees it.
public enum DeviceCondition: String, Sendable, CaseIterable {
    case normal
    case anomalous
}

/// A change of a device's condition, published on `hbs/alerts/<device_id>` and sent to
/// the cloud at once.
public struct Alert: Equatable, Sendable {
    public var timestamp: Instant
    public var device: DeviceID
    public var state: DeviceCondition
    public var previous: DeviceCondition
    public var model: String
    public var score: Double

    public init(timestamp: Instant, device: DeviceID, state: DeviceCondition, previous: DeviceCondition, model: String, score: Double) {
        self.timestamp = timestamp
        self.device = device
        self.state = state
        self.previous = previous
        self.model = model
        self.score = score
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("timestamp"); json.timestamp(timestamp)
        json.field("device_id", device.rawValue)
        json.field("state", state.rawValue)
        json.field("previous", previous.rawValue)
        json.field("model", model)
        json.field("score", score)
        json.endObject()
    }

    public static func decode(_ data: [UInt8]) throws(PayloadError) -> Alert {
        try decode(try PayloadObject(data, type: "alert"))
    }

    static func decode(_ object: PayloadObject) throws(PayloadError) -> Alert {
        try object.expectOnly(["timestamp", "device_id", "state", "previous", "model", "score"])
        return Alert(
            timestamp: try object.instant("timestamp"), device: try object.device("device_id"),
            state: try object.condition("state"), previous: try object.condition("previous"),
            model: try object.string("model"), score: try object.double("score"))
    }
}

/// Health of a hub part (`ok`, `degraded`, `failed`).
public enum HealthState: String, Sendable, CaseIterable, Comparable {
    case ok
    case degraded
    case failed

    public static func < (lhs: HealthState, rhs: HealthState) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A component's (or one of its sensors') health, published on `hbs/health/<component>`.
///
/// Payload: `{"timestamp", "component", "device_id" (optional), "state", "detail"}`.
public struct HealthReport: Equatable, Sendable {
    public var timestamp: Instant
    public var component: String
    public var device: DeviceID?
    public var state: HealthState
    public var detail: String

    public init(timestamp: Instant, component: String, device: DeviceID?, state: HealthState, detail: String) {
        self.timestamp = timestamp
        self.component = component
        self.device = device
        self.state = state
        self.detail = detail
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("timestamp"); json.timestamp(timestamp)
        json.field("component", component)
        if let device { json.field("device_id", device.rawValue) }
        json.field("state", state.rawValue)
        json.field("detail", detail)
        json.endObject()
    }

    public static func decode(_ data: [UInt8]) throws(PayloadError) -> HealthReport {
        try decode(try PayloadObject(data, type: "health report"))
    }

    static func decode(_ object: PayloadObject) throws(PayloadError) -> HealthReport {
        try object.expectOnly(["timestamp", "component", "device_id", "state", "detail"])
        guard let state = HealthState(rawValue: try object.string("state")) else {
            throw PayloadError(type: "health report", field: "state", reason: "must be ok, degraded or failed")
        }
        return HealthReport(
            timestamp: try object.instant("timestamp"), component: try object.string("component"),
            device: object.has("device_id") ? try object.device("device_id") : nil,
            state: state, detail: try object.string("detail"))
    }
}

/// A message on the hub's local bus: one of the typed payloads above.
public enum BusMessage: Equatable, Sendable {
    case reading(Reading)
    case inference(InferenceResult)
    case alert(Alert)
    case health(HealthReport)
    case deployment(DeploymentStatus)

    public func write(to json: inout JSONWriter) {
        switch self {
        case .reading(let m): m.write(to: &json)
        case .inference(let m): m.write(to: &json)
        case .alert(let m): m.write(to: &json)
        case .health(let m): m.write(to: &json)
        case .deployment(let m): m.write(to: &json)
        }
    }

    public var jsonBytes: [UInt8] {
        var json = JSONWriter()
        write(to: &json)
        return json.bytes
    }
}

/// A payload that does not decode, naming the payload type, the field and what is wrong.
public struct PayloadError: Error, Equatable, Sendable, CustomStringConvertible {
    public let type: String
    public let field: String?
    public let reason: String

    public init(type: String, field: String?, reason: String) {
        self.type = type
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(type): field \"\(field)\": \(reason)" }
        return "\(type): \(reason)"
    }
}

/// A decoded JSON object with typed, error-naming accessors (decoding is off the hot path).
struct PayloadObject {
    let type: String
    let members: [String: JSONValue]
    /// Keys in a stable order (sorted), never the dictionary's hash order.
    let keys: [String]

    init(_ data: [UInt8], type: String) throws(PayloadError) {
        self.type = type
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(data)
        } catch {
            throw PayloadError(type: type, field: nil, reason: "not valid JSON (\(error))")
        }
        guard case .object(let members) = parsed else {
            throw PayloadError(type: type, field: nil, reason: "not a JSON object")
        }
        self.members = members
        self.keys = members.keys.sorted()
    }

    /// An object already parsed (a payload nested in a history line).
    init(members: [String: JSONValue], type: String) {
        self.type = type
        self.members = members
        self.keys = members.keys.sorted()
    }

    /// The object under `key`, read as a payload of `type`.
    func object(_ key: String, type nestedType: String) throws(PayloadError) -> PayloadObject {
        guard case .object(let nested) = try value(key) else {
            throw PayloadError(type: type, field: key, reason: "must be a JSON object")
        }
        return PayloadObject(members: nested, type: nestedType)
    }

    func int(_ key: String) throws(PayloadError) -> Int {
        let number = try double(key)
        guard number.rounded() == number, abs(number) < 9e15 else {
            throw PayloadError(type: type, field: key, reason: "must be a whole number")
        }
        return Int(number)
    }

    func has(_ key: String) -> Bool { members[key] != nil }

    /// Whether `key` is present and null (a figure that was not measured); missing is an error.
    func isNull(_ key: String) throws(PayloadError) -> Bool { try value(key) == .null }

    func expectOnly(_ allowed: [String]) throws(PayloadError) {
        if let extra = keys.first(where: { !allowed.contains($0) }) {
            throw PayloadError(type: type, field: extra, reason: "unknown field")
        }
    }

    private func value(_ key: String) throws(PayloadError) -> JSONValue {
        guard let value = members[key] else { throw PayloadError(type: type, field: key, reason: "missing") }
        return value
    }

    func double(_ key: String) throws(PayloadError) -> Double {
        guard case .number(let value) = try value(key) else {
            throw PayloadError(type: type, field: key, reason: "must be a number")
        }
        guard value.isFinite else { throw PayloadError(type: type, field: key, reason: "must be finite") }
        return value
    }

    /// The array at `key`, each element read by `element` (nil: not of the kind `what` names).
    private func array<Element>(_ key: String, of what: String, _ element: (JSONValue) -> Element?) throws(PayloadError) -> [Element] {
        guard case .array(let values) = try value(key) else {
            throw PayloadError(type: type, field: key, reason: "must be an array of \(what)s")
        }
        var elements: [Element] = []
        elements.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let read = element(value) else { throw PayloadError(type: type, field: "\(key)[\(index)]", reason: "must be a \(what)") }
            elements.append(read)
        }
        return elements
    }

    func doubles(_ key: String) throws(PayloadError) -> [Double] {
        try array(key, of: "finite number") { if case .number(let number) = $0, number.isFinite { number } else { nil } }
    }

    func strings(_ key: String) throws(PayloadError) -> [String] {
        try array(key, of: "string") { if case .string(let text) = $0 { text } else { nil } }
    }

    func ints(_ key: String) throws(PayloadError) -> [Int] {
        try array(key, of: "whole number") {
            if case .number(let number) = $0, number.isFinite, number.rounded() == number, abs(number) < 9e15 { Int(number) } else { nil }
        }
    }

    func bool(_ key: String) throws(PayloadError) -> Bool {
        guard case .bool(let value) = try value(key) else {
            throw PayloadError(type: type, field: key, reason: "must be true or false")
        }
        return value
    }

    func string(_ key: String) throws(PayloadError) -> String {
        guard case .string(let text) = try value(key) else {
            throw PayloadError(type: type, field: key, reason: "must be a string")
        }
        return text
    }

    func device(_ key: String) throws(PayloadError) -> DeviceID {
        let text = try string(key)
        do { return try DeviceID(validating: text) } catch { throw PayloadError(type: type, field: key, reason: error.reason) }
    }

    func condition(_ key: String) throws(PayloadError) -> DeviceCondition {
        guard let condition = DeviceCondition(rawValue: try string(key)) else {
            throw PayloadError(type: type, field: key, reason: "must be normal or anomalous")
        }
        return condition
    }

    /// Seconds since the epoch, kept to the payload's 0.1 ms resolution (`decimals` 4), or
    /// the history's 1 µs (6).
    func instant(_ key: String, decimals: Int = 4) throws(PayloadError) -> Instant {
        precondition(decimals == 4 || decimals == 6, "payloads carry 4 decimals, history lines 6")
        let seconds = try double(key)
        guard seconds >= 0, seconds < 9e9 else {
            throw PayloadError(type: type, field: key, reason: "must be seconds since the epoch")
        }
        let scale: Double = decimals == 4 ? 10_000 : 1_000_000
        let ticks = (seconds * scale).rounded()
        return Instant(nanosecondsSinceEpoch: Int64(ticks) * (decimals == 4 ? 100_000 : 1_000))
    }
}

/// Any JSON value, as `JSONValue.parse` reads it: booleans and numbers kept apart, every
/// number a `Double`.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}
