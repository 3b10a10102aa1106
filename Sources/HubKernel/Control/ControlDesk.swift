import HubCore

/// Answers control requests and keeps the faults injected through them: a sans-I/O state
/// machine the live shell runs on the hub's own thread.
///
/// Why here and not in the socket server: a reply needs the hub's state and a fault acts
/// on the hub's bus and supervisor, both of which only the hub's thread may touch; the
/// server only moves lines. The desk says what to do (`Effect`), the shell does it, so
/// every rule (one fault per name, expiry, what a clear ends) is tested without a socket.
///
/// Faults get ids `f1`, `f2`, … in the order they were injected. A fault with `for` ends
/// by itself at `expire(now:)` after its deadline; the shell calls that at least every
/// 200 ms. Two faults of one name cannot be in force at once (the second would change the
/// first's probability behind its id): the second is refused until the first is cleared.
public struct ControlDesk {
    /// What the shell does for a request or an expiry.
    public enum Effect: Equatable, Sendable {
        case wire(address: UInt8, I2CWireFault, active: Bool)
        case crash(component: String)
        case hang(component: String, active: Bool)
        case cloud(CloudLinkFault, active: Bool)
        /// `ipc.down` starts (true) or ends; `ipc.restart` is `ipcRestart`.
        case ipcDown(active: Bool)
        case ipcRestart
        /// `ipc.slow` and `ipc.drop` start (the value) or end (nil).
        case ipcSlow(Duration?)
        case ipcDrop(Double?)
        /// Record the injection or its end in the event log.
        case record(HistoryEvent)
        /// Refuse kit `device` from now on and restart the kits' broker (`kit-revoked`).
        case kitRevoked(device: DeviceID, serial: String)
    }

    public let thing: String
    /// The hub's components, for a fault naming one.
    public let componentNames: [String]
    /// Whether the hub's bus can take wire faults (a hub without a faultable bus refuses them).
    public let wireFaults: Bool
    /// Whether this desk is the fault proxy's, which takes the cloud faults (and only them).
    public let cloudFaults: Bool
    /// Whether the hub serves an IPC bus (components in processes of their own).
    public let ipcFaults: Bool
    /// The hub's kits over MQTT, for `kit-revoked`.
    public let kits: [DeviceID]
    public private(set) var active: [ActiveFault] = []
    private var nextID = 1

    public init(thing: String, componentNames: [String], wireFaults: Bool, cloudFaults: Bool = false, ipcFaults: Bool = false, kits: [DeviceID] = []) {
        self.kits = kits
        self.thing = thing
        self.componentNames = componentNames
        self.wireFaults = wireFaults
        self.cloudFaults = cloudFaults
        self.ipcFaults = ipcFaults
    }

    /// The reply to one request line, and what to do. `status` is asked only for `status`.
    /// A `subscribe` reply is the shell's cue to add the client to the event stream.
    /// `outbox` answers `outbox` (nil: this desk has none, the fault proxy's).
    public mutating func handle(line: ArraySlice<UInt8>, now: Instant, status: (_ faults: [ActiveFault]) -> any ControlStatus,
                                outbox: (() -> Result<SequenceRanges, OutboxError>)? = nil)
        -> (reply: [UInt8], request: ControlRequest?, effects: [Effect]) {
        let (id, parsed) = ControlProtocol.parse(line)
        let request: ControlRequest
        switch parsed {
        case .failure(let error): return (ControlProtocol.reply(id: id, error: error), nil, [])
        case .success(let value): request = value
        }
        switch request {
        case .hello:
            return (ControlProtocol.reply(id: id) { json in
                json.beginObject()
                json.key("protocol")
                json.int(ControlProtocol.version)
                json.field("thing", thing)
                json.key("ops")
                json.beginArray()
                for op in ControlProtocol.operations { json.string(op) }
                json.endArray()
                json.endObject()
            }, request, [])
        case .status:
            let snapshot = status(active)
            return (ControlProtocol.reply(id: id) { snapshot.write(to: &$0) }, request, [])
        case .faults:
            return (ControlProtocol.reply(id: id) { json in writeList(active, to: &json) }, request, [])
        case .outbox:
            guard let outbox else { return (ControlProtocol.reply(id: id, error: ControlError(.unsupported, "this desk keeps no outbox")), request, []) }
            switch outbox() {
            case .failure(let error):
                return (ControlProtocol.reply(id: id, error: ControlError(.internalError, "reading the outbox: \(error)")), request, [])
            case .success(let ranges):
                return (ControlProtocol.reply(id: id) { json in
                    json.beginObject()
                    json.field("time", now.secondsSinceEpoch)
                    json.key("telemetry")
                    json.beginArray()
                    for range in ranges.ranges {
                        json.beginArray()
                        json.int(Int(range.lowerBound))
                        json.int(Int(range.upperBound))
                        json.endArray()
                    }
                    json.endArray()
                    json.endObject()
                }, request, [])
            }
        case .kitRevoked(let device, let serial):
            guard kits.contains(device) else {
                return (ControlProtocol.reply(id: id, error: ControlError(.notFound, "this hub has no kit \(device)")), request, [])
            }
            return (ControlProtocol.reply(id: id) { json in
                json.beginObject()
                json.field("revoked", device.rawValue)
                json.field("serial", serial)
                json.endObject()
            }, request, [.kitRevoked(device: device, serial: serial)])
        case .subscribe:
            return (ControlProtocol.reply(id: id) { json in
                json.beginObject()
                json.key("subscribed")
                json.bool(true)
                json.endObject()
            }, request, [])
        case .inject(let fault, let duration):
            switch inject(fault, for: duration, now: now) {
            case .failure(let error): return (ControlProtocol.reply(id: id, error: error), request, [])
            case .success(let (entry, effects)):
                return (ControlProtocol.reply(id: id) { entry.write(to: &$0) }, request, effects)
            }
        case .clear(let faultID):
            let ending: [ActiveFault]
            if let faultID {
                guard let entry = active.first(where: { $0.id == faultID }) else {
                    let known = active.isEmpty ? "none is in force" : "in force: " + active.map(\.id).joined(separator: ", ")
                    return (ControlProtocol.reply(id: id, error: ControlError(.notFound, "no fault \(faultID); \(known)")), request, [])
                }
                ending = [entry]
            } else {
                ending = active
            }
            let effects = end(ending, reason: "cleared")
            return (ControlProtocol.reply(id: id) { json in
                json.beginObject()
                json.key("cleared")
                json.beginArray()
                for entry in ending { json.string(entry.id) }
                json.endArray()
                json.endObject()
            }, request, effects)
        }
    }

    /// Ends the faults whose time is up.
    public mutating func expire(now: Instant) -> [Effect] {
        end(active.filter { $0.until.map { $0 <= now } ?? false }, reason: "expired")
    }

    /// The earliest instant a fault ends by itself.
    public var nextExpiry: Instant? { active.compactMap(\.until).min() }

    private mutating func inject(_ fault: LiveFault, for duration: Duration?, now: Instant)
        -> Result<(ActiveFault, [Effect]), ControlError> {
        var effects: [Effect] = []
        if cloudFaults, !fault.isProxyFault {
            return .failure(ControlError(.unsupported, "this is the cloud fault proxy: \(fault.name) goes to the hub's own control socket"))
        }
        switch fault {
        case .cloud(let link):
            guard cloudFaults else {
                return .failure(ControlError(.unsupported, "fault \(fault.name) is the rig's: the cloud faults go through the fault proxy between the hub and its broker (hubrig cloud proxy), not the hub"))
            }
            effects.append(.cloud(link, active: true))
        case .ipcDown, .ipcRestart, .ipcSlow, .ipcDrop:
            guard ipcFaults else {
                return .failure(ControlError(.unsupported, "this hub serves no IPC bus (hub run --ipc-socket starts one for components in processes of their own)"))
            }
            switch fault {
            case .ipcDown: effects.append(.ipcDown(active: true))
            case .ipcSlow(let latency): effects.append(.ipcSlow(latency))
            case .ipcDrop(let p): effects.append(.ipcDrop(p))
            default: effects.append(.ipcRestart)
            }
        case .i2cWire(let address, let wire):
            guard wireFaults else { return .failure(ControlError(.unsupported, "this hub's bus takes no wire faults (it runs without a faultable bus)")) }
            effects.append(.wire(address: address, wire, active: true))
        case .componentCrash(let name), .componentHang(let name):
            guard componentNames.contains(name) else {
                return .failure(ControlError(.badRequest, "no component \(name); this hub runs \(componentNames.joined(separator: ", "))"))
            }
            if case .componentCrash = fault { effects.append(.crash(component: name)) } else { effects.append(.hang(component: name, active: true)) }
        }
        if let clash = active.first(where: { $0.fault.name == fault.name }) {
            return .failure(ControlError(.conflict, "\(fault.name) is already in force as \(clash.id); clear it first"))
        }
        let entry = ActiveFault(id: "f\(nextID)", fault: fault, since: now, until: duration.map { now + $0 })
        nextID += 1
        let detail = fault.parameters.map { "\($0.0)=\(Self.text($0.1))" }.joined(separator: " ")
        effects.append(.record(.faultStart(name: "control." + entry.id + " " + fault.name + (detail.isEmpty ? "" : " " + detail))))
        if !fault.isInstant { active.append(entry) }
        return .success((entry, effects))
    }

    private mutating func end(_ entries: [ActiveFault], reason: String) -> [Effect] {
        var effects: [Effect] = []
        for entry in entries {
            active.removeAll { $0.id == entry.id }
            switch entry.fault {
            case .i2cWire(let address, let wire): effects.append(.wire(address: address, wire, active: false))
            case .componentHang(let name): effects.append(.hang(component: name, active: false))
            case .cloud(let link): effects.append(.cloud(link, active: false))
            case .ipcDown: effects.append(.ipcDown(active: false))
            case .ipcSlow: effects.append(.ipcSlow(nil))
            case .ipcDrop: effects.append(.ipcDrop(nil))
            case .componentCrash, .ipcRestart: break
            }
            effects.append(.record(.faultEnd(name: "control." + entry.id + " " + entry.fault.name + " " + reason)))
        }
        return effects
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .number(let n): "\(n)"
        case .string(let s): s
        default: "\(value)"
        }
    }

    private func writeList(_ faults: [ActiveFault], to json: inout JSONWriter) {
        json.beginObject()
        json.key("faults")
        json.beginArray()
        for fault in faults { fault.write(to: &json) }
        json.endArray()
        json.endObject()
    }
}
