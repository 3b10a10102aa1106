import Foundation
import HubCore

/// A cloud fault the rig's TCP fault proxy applies between a hub and its broker.
public enum CloudLinkFault: Equatable, Sendable {
    case offline
    case blackhole
    case latency(extra: Duration, jitter: Duration)
    case bandwidth(bytesPerSecond: Int)
    case resetAfter(bytes: Int)
    case slowClose(delay: Duration)

    /// The fault's kind as its name spells it (`cloud.<kind>`).
    public var kind: String {
        switch self {
        case .offline: "offline"
        case .blackhole: "blackhole"
        case .latency: "latency"
        case .bandwidth: "bandwidth"
        case .resetAfter: "reset-after"
        case .slowClose: "slow-close"
        }
    }
}

/// A fault the running hub injects into itself: a wire fault on its own I²C bus (through
/// `FaultableI2CBus`), or a crash or hang of one of its components (through the supervisor).
///
/// Why a set of its own: the production hub links no simulator, so it cannot take the
/// simulator's catalogue; these are the catalogue's faults that need nothing but the hub
/// (cloud faults belong to the rig's proxy, appliance faults to the physics). Names and
/// parameters are the catalogue's (`hubrig fault list`).
public enum LiveFault: Equatable, Sendable {
    case i2cWire(address: UInt8, I2CWireFault)
    case componentCrash(String)
    case componentHang(String)
    /// The hub's IPC bus server is gone: sessions end, reconnections are closed at once.
    case ipcDown
    /// The IPC bus server drops every session at once (an instant).
    case ipcRestart
    /// Every frame the IPC bus server reads waits `latency` first (a stalled server).
    case ipcSlow(latency: Duration)
    /// Each frame the IPC bus server reads or writes is lost with chance `p`; a stream
    /// cannot lose one frame and go on, so its connection is reset.
    case ipcDrop(probability: Double)
    /// Applied by the rig's fault proxy (`hubrig cloud proxy`), not by a hub.
    case cloud(CloudLinkFault)

    /// The fault's catalogue name, `i2c.0x5f.nack`.
    public var name: String {
        switch self {
        case .i2cWire(let address, let wire): "i2c." + hexAddress(address) + "." + wire.kind
        case .componentCrash(let component): "component.\(component).crash"
        case .componentHang(let component): "component.\(component).hang"
        case .ipcDown: "ipc.down"
        case .ipcRestart: "ipc.restart"
        case .ipcSlow: "ipc.slow"
        case .ipcDrop: "ipc.drop"
        case .cloud(let fault): "cloud." + fault.kind
        }
    }

    /// An instant (a crash) has no duration and stays in no list.
    public var isInstant: Bool {
        switch self {
        case .componentCrash, .ipcRestart: true
        default: false
        }
    }

    /// A cloud fault: the proxy's to apply, never a hub's.
    public var isProxyFault: Bool {
        if case .cloud = self { true } else { false }
    }

    /// Where a fault of the catalogue's `pattern` can be injected into a live run: `hub`
    /// (a running hub's control socket) or `proxy` (`hubrig cloud proxy`'s); nil: only in
    /// simulation.
    public static func liveTarget(of pattern: String) -> String? {
        guard patterns.contains(pattern) else { return nil }
        return pattern.hasPrefix("cloud.") ? "proxy" : "hub"
    }

    /// The names the hub accepts, for an error that lists them.
    public static let patterns = ["i2c.<addr>.absent", "i2c.<addr>.nack", "i2c.<addr>.timeout", "i2c.<addr>.slow",
                                  "i2c.<addr>.bitflip", "component.<component>.crash", "component.<component>.hang", "ipc.down", "ipc.restart",
                                  "ipc.slow", "ipc.drop",
                                  "cloud.offline", "cloud.blackhole", "cloud.latency", "cloud.bandwidth", "cloud.reset-after",
                                  "cloud.slow-close"]

    /// Reads a fault from its name and parameters, checking each as the catalogue does.
    public static func parse(name: String, parameters: [String: JSONValue]) throws(ControlError) -> LiveFault {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts[0] == "cloud", parts.count == 2 { return .cloud(try cloudFault(parts[1], name: name, parameters)) }
        if parts[0] == "ipc", parts.count == 2, ["down", "restart"].contains(parts[1]) {
            try onlyParameters([], of: name, given: parameters)
            return parts[1] == "down" ? .ipcDown : .ipcRestart
        }
        if parts[0] == "ipc", parts.count == 2, parts[1] == "slow" {
            try onlyParameters(["latency"], of: name, given: parameters)
            // The catalogue's range and default (SimIPCBus.faultKinds).
            let latency = try parameters["latency"].map { (value) throws(ControlError) in
                try duration(value, field: "latency", fault: name, in: .milliseconds(1)...Duration.seconds(3600))
            } ?? .seconds(2)
            return .ipcSlow(latency: latency)
        }
        if parts[0] == "ipc", parts.count == 2, parts[1] == "drop" {
            try onlyParameters(["p"], of: name, given: parameters)
            return .ipcDrop(probability: parameters["p"] == nil ? 0.01 : try probability(parameters["p"], fault: name, field: "p"))
        }
        if ["ipc", "kit", "sensor", "appliance", "gpio", "deploy", "host"].contains(parts[0]) {
            throw ControlError(.unsupported, "fault \(name) exists only in simulation")
        }
        guard parts.count == 3 else { throw .unknownFault(name) }
        var allowed: [String] = []
        let fault: LiveFault
        switch (parts[0], parts[2]) {
        case ("i2c", let kind):
            guard let address = parseAddress(parts[1]) else {
                throw ControlError(.badRequest, "fault \(name): \(parts[1]) is not a 7-bit address such as 0x5f")
            }
            switch kind {
            case "absent": fault = .i2cWire(address: address, .absent)
            case "nack", "timeout", "bitflip":
                allowed = ["probability"]
                let p = try probability(parameters["probability"], fault: name)
                fault = .i2cWire(address: address, kind == "nack" ? .nack(probability: p) : kind == "timeout" ? .timeout(probability: p) : .bitflip(probability: p))
            case "slow":
                allowed = ["stretch"]
                guard let value = parameters["stretch"] else { throw ControlError(.badRequest, "fault \(name): parameter stretch is required (1ms…1m)") }
                let stretch = try duration(value, field: "stretch", fault: name, in: .milliseconds(1)...Duration.seconds(60))
                fault = .i2cWire(address: address, .slow(stretch: stretch))
            case "stuck", "reset", "whoami":
                throw ControlError(.unsupported, "fault \(name): a chip fault needs the chip itself and exists only in simulation")
            default: throw .unknownFault(name)
            }
        case ("component", "crash"): fault = .componentCrash(parts[1])
        case ("component", "hang"): fault = .componentHang(parts[1])
        default: throw .unknownFault(name)
        }
        try onlyParameters(allowed, of: name, given: parameters)
        return fault
    }

    /// Refuses a parameter the fault does not take, naming the ones it does.
    private static func onlyParameters(_ allowed: [String], of name: String, given parameters: [String: JSONValue]) throws(ControlError) {
        for key in parameters.keys.sorted() where !allowed.contains(key) {
            throw ControlError(.badRequest, "fault \(name) takes no parameter \(key)" + (allowed.isEmpty ? "" : " (it takes \(allowed.joined(separator: ", ")))"))
        }
    }

    /// The fault proxy's faults; each checks its parameters as the catalogue does.
    private static func cloudFault(_ kind: String, name: String, _ parameters: [String: JSONValue]) throws(ControlError) -> CloudLinkFault {
        func only(_ allowed: [String]) throws(ControlError) { try onlyParameters(allowed, of: name, given: parameters) }
        func durationParameter(_ key: String, _ fallback: Duration, _ range: ClosedRange<Duration>) throws(ControlError) -> Duration {
            guard let value = parameters[key] else { return fallback }
            return try duration(value, field: key, fault: name, in: range)
        }
        func count(_ key: String, _ range: ClosedRange<Int>) throws(ControlError) -> Int {
            guard let value = parameters[key] else { throw ControlError(.badRequest, "fault \(name): parameter \(key) is required (\(range.lowerBound)…\(range.upperBound))") }
            guard case .number(let number) = value, number.rounded() == number, Double(range.lowerBound) <= number, number <= Double(range.upperBound) else {
                throw ControlError(.badRequest, "fault \(name): \(key) must be a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return Int(number)
        }
        switch kind {
        case "offline": try only([]); return .offline
        case "blackhole": try only([]); return .blackhole
        case "latency":
            try only(["extra", "jitter"])
            return .latency(extra: try durationParameter("extra", .milliseconds(500), .zero...Duration.seconds(600)),
                            jitter: try durationParameter("jitter", .zero, .zero...Duration.seconds(600)))
        case "bandwidth":
            try only(["rate"])
            return .bandwidth(bytesPerSecond: try count("rate", 1...1_000_000_000))
        case "reset-after":
            try only(["bytes"])
            return .resetAfter(bytes: try count("bytes", 1...1_000_000_000))
        case "slow-close":
            try only(["delay"])
            return .slowClose(delay: try durationParameter("delay", .seconds(5), .milliseconds(1)...Duration.seconds(600)))
        case "reject-auth", "impostor", "restart", "flaky", "puback-lost", "puback-delay":
            throw ControlError(.unsupported, "fault \(name) needs a simulated broker and exists only in simulation")
        default: throw .unknownFault(name)
        }
    }

    private static func parseAddress(_ text: String) -> UInt8? {
        guard text.hasPrefix("0x"), text.count == 4, let value = UInt8(text.dropFirst(2), radix: 16), value < 0x80 else { return nil }
        return value
    }

    private static func probability(_ value: JSONValue?, fault: String, field: String = "probability") throws(ControlError) -> Double {
        guard let value else { return 1 }
        guard case .number(let p) = value, p > 0, p <= 1 else {
            throw ControlError(.badRequest, "fault \(fault): \(field) must be a number above 0, up to 1")
        }
        return p
    }

    static func duration(_ value: JSONValue, field: String, fault: String?, in range: ClosedRange<Duration>) throws(ControlError) -> Duration {
        let place = fault.map { "fault \($0): " } ?? ""
        guard case .string(let text) = value else {
            throw ControlError(.badRequest, "\(place)\(field) must be a duration string such as \"30s\" (\(DurationText.format(range)))")
        }
        let duration: Duration
        do { duration = try DurationText.parse(text) } catch { throw ControlError(.badRequest, "\(place)\(field): \(error)") }
        guard range.contains(duration) else { throw ControlError(.badRequest, "\(place)\(field) \(text) is outside \(DurationText.format(range))") }
        return duration
    }

    /// Parameters as the fault list shows them.
    public var parameters: [(String, JSONValue)] {
        switch self {
        case .i2cWire(_, .nack(let p)), .i2cWire(_, .timeout(let p)), .i2cWire(_, .bitflip(let p)): [("probability", .number(p))]
        case .i2cWire(_, .slow(let stretch)): [("stretch", .string(DurationText.format(stretch)))]
        case .ipcSlow(let latency): [("latency", .string(DurationText.format(latency)))]
        case .ipcDrop(let p): [("p", .number(p))]
        case .cloud(.latency(let extra, let jitter)): [("extra", .string(DurationText.format(extra))), ("jitter", .string(DurationText.format(jitter)))]
        case .cloud(.bandwidth(let rate)): [("rate", .number(Double(rate)))]
        case .cloud(.resetAfter(let bytes)): [("bytes", .number(Double(bytes)))]
        case .cloud(.slowClose(let delay)): [("delay", .string(DurationText.format(delay)))]
        default: []
        }
    }
}

/// A fault in force, as `faults` and `status` list it.
public struct ActiveFault: Equatable, Sendable {
    public var id: String
    public var fault: LiveFault
    public var since: Instant
    /// When it ends by itself (nil: when cleared).
    public var until: Instant?

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("id", id)
        json.field("name", fault.name)
        json.key("parameters")
        json.beginObject()
        for (key, value) in fault.parameters {
            json.key(key)
            value.write(to: &json)
        }
        json.endObject()
        json.field("since", since.secondsSinceEpoch)
        json.key("until")
        if let until { json.double(until.secondsSinceEpoch) } else { json.null() }
        json.endObject()
    }
}

/// Why a control request got an error reply; `code` is for scripts, the message for people.
public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case badRequest = "bad_request"
        case unsupportedVersion = "unsupported_version"
        case unknownOperation = "unknown_op"
        case unknownFault = "unknown_fault"
        case unsupported
        case conflict
        case notFound = "not_found"
        case tooLarge = "too_large"
        /// The hub could not answer (its outbox could not be read).
        case internalError = "internal_error"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func unknownFault(_ name: String) -> ControlError {
        ControlError(.unknownFault, "no fault \(name); the hub injects \(LiveFault.patterns.joined(separator: ", "))")
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// One request on the control socket.
public enum ControlRequest: Equatable, Sendable {
    /// The protocol version and what the hub is.
    case hello
    case status
    /// The faults in force.
    case faults
    case inject(LiveFault, for: Duration?)
    /// Ends one fault by id, or all of them (nil).
    case clear(id: String?)
    /// From now on, every event the hub records goes to this client as well.
    case subscribe
    /// The telemetry the outbox holds, as sequence ranges (a rig compares it with what
    /// reached the cloud).
    case outbox
    /// `hub kit revoke` has revoked kit `device`'s certificate `serial` (in the enrolment
    /// record and the authority's list): the running hub refuses it and restarts its kits' broker.
    case kitRevoked(device: DeviceID, serial: String)
}

/// The control socket's wire format, version 1 (docs/control.md): one JSON object per
/// line each way. A request `{"v": 1, "id": 7, "op": "status"}`; a reply echoes the id,
/// `{"v": 1, "id": 7, "ok": true, "result": {...}}` or `{"v": 1, "id": 7, "ok": false,
/// "error": {"code": "bad_request", "message": "..."}}`.
///
/// Why lines of JSON: `socat` and a shell can speak it, every language reads it, and a
/// line is a frame, so a client that sends garbage costs only that line.
public enum ControlProtocol {
    public static let version = 1
    /// The longest request line a hub reads; a longer one is refused and the connection closed.
    public static let lineBytesMax = 16 * 1_024
    /// How long a fault may be injected for.
    public static let faultDurations: ClosedRange<Duration> = .milliseconds(1)...Duration.seconds(30 * 86_400)

    /// A request line: the request, or the error to reply with; `id` is what to echo.
    public static func parse(_ line: ArraySlice<UInt8>) -> (id: JSONValue, request: Result<ControlRequest, ControlError>) {
        guard line.count <= lineBytesMax else {
            return (.null, .failure(ControlError(.tooLarge, "a request line is at most \(lineBytesMax) bytes")))
        }
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch {
            return (.null, .failure(ControlError(.badRequest, "not a JSON object: \(error)")))
        }
        guard case .object(let members) = value else {
            return (.null, .failure(ControlError(.badRequest, "a request is a JSON object, {\"v\": 1, \"id\": 1, \"op\": \"status\"}")))
        }
        let id = members["id"] ?? .null
        switch id {
        case .null, .string, .number: break
        default: return (.null, .failure(ControlError(.badRequest, "id must be a number or a string")))
        }
        return (id, Result { () throws(ControlError) in try request(members) })
    }

    private static func request(_ members: [String: JSONValue]) throws(ControlError) -> ControlRequest {
        guard case .number(let version)? = members["v"] else {
            throw ControlError(.badRequest, "v (the protocol version, \(Self.version)) is required")
        }
        guard version == Double(Self.version) else {
            throw ControlError(.unsupportedVersion, "this hub speaks protocol version \(Self.version), not \(version)")
        }
        guard case .string(let op)? = members["op"] else { throw ControlError(.badRequest, "op is required: \(operations.joined(separator: ", "))") }
        var allowed: Set<String> = ["v", "id", "op"]
        let request: ControlRequest
        switch op {
        case "hello": request = .hello
        case "status": request = .status
        case "faults": request = .faults
        case "subscribe": request = .subscribe
        case "outbox": request = .outbox
        case "inject":
            allowed.formUnion(["fault", "parameters", "for"])
            guard case .string(let name)? = members["fault"] else { throw ControlError(.badRequest, "inject: fault (a name such as i2c.0x5f.nack) is required") }
            var parameters: [String: JSONValue] = [:]
            switch members["parameters"] {
            case nil: break
            case .object(let given)?: parameters = given
            default: throw ControlError(.badRequest, "inject: parameters must be an object")
            }
            let fault = try LiveFault.parse(name: name, parameters: parameters)
            var duration: Duration?
            if let value = members["for"] {
                guard !fault.isInstant else { throw ControlError(.badRequest, "inject: \(name) is an instant and takes no for") }
                duration = try LiveFault.duration(value, field: "for", fault: nil, in: faultDurations)
            }
            request = .inject(fault, for: duration)
        case "kit-revoked":
            allowed.formUnion(["device", "serial"])
            guard case .string(let deviceText)? = members["device"], let device = try? DeviceID(validating: deviceText) else {
                throw ControlError(.badRequest, "kit-revoked: device (a kit's device id) is required")
            }
            guard case .string(let serial)? = members["serial"], KitCertificate.isSerial(serial) else {
                throw ControlError(.badRequest, "kit-revoked: serial (the certificate's serial, 1…64 hex digits in capitals) is required")
            }
            request = .kitRevoked(device: device, serial: serial)
        case "clear":
            allowed.formUnion(["fault_id", "all"])
            switch (members["fault_id"], members["all"]) {
            case (.string(let id)?, nil): request = .clear(id: id)
            case (nil, .bool(true)?): request = .clear(id: nil)
            default: throw ControlError(.badRequest, "clear: give either fault_id (a string) or all: true")
            }
        default:
            throw ControlError(.unknownOperation, "no op \(op); ops: \(operations.joined(separator: ", "))")
        }
        for key in members.keys.sorted() where !allowed.contains(key) {
            throw ControlError(.badRequest, "\(op): unknown field \(key)")
        }
        return request
    }

    public static let operations = ["hello", "status", "faults", "inject", "clear", "subscribe", "outbox", "kit-revoked"]


    /// A success reply, `result` writing one JSON value.
    public static func reply(id: JSONValue, result: (inout JSONWriter) -> Void) -> [UInt8] {
        envelope(id: id) { json in
            json.key("ok")
            json.bool(true)
            json.key("result")
            result(&json)
        }
    }

    /// An error reply.
    public static func reply(id: JSONValue, error: ControlError) -> [UInt8] {
        envelope(id: id) { json in
            json.key("ok")
            json.bool(false)
            json.key("error")
            json.beginObject()
            json.field("code", error.code.rawValue)
            json.field("message", error.message)
            json.endObject()
        }
    }

    /// An event line for a subscriber: `{"v": 1, "event": <the history line>}`.
    public static func event(_ line: [UInt8]) -> [UInt8] {
        var json = JSONWriter(capacity: line.count + 24)
        json.beginObject()
        json.key("v")
        json.int(version)
        json.key("event")
        json.raw(line)
        json.endObject()
        return json.bytes + [UInt8(ascii: "\n")]
    }

    private static func envelope(id: JSONValue, _ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("v")
        json.int(version)
        json.key("id")
        id.write(to: &json)
        body(&json)
        json.endObject()
        return json.bytes + [UInt8(ascii: "\n")]
    }
}
