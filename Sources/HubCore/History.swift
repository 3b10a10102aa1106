/// One entry of the hub's recorded history: what happened, at a virtual or real instant.
///
/// The history is the evidence scenarios are judged on (checkers read these typed values)
/// and the event log is its JSON-lines rendering. Register-level I²C traffic is not here:
/// it would dwarf everything else; it belongs to a trace level of its own.
public enum HistoryEvent: Equatable, Sendable {
    case hubStarted(thing: String)
    case sensorReady(device: DeviceID, chip: String, detail: String)
    case sensorError(device: DeviceID, chip: String, error: String)
    case componentError(component: String, error: String)
    /// The supervisor moved a component between states (`Supervisor.State` names).
    case componentState(component: String, from: String, to: String, reason: String)
    /// The bus refused `count` of a component's publishes or subscriptions (`operation`) on
    /// `topic`: not granted by its recipe, or over its publish rate. The first refusal is
    /// recorded at once; repeats within a minute are counted and recorded together.
    case busRefused(component: String, operation: String, topic: String, reason: String, count: Int)
    /// The bus dropped the oldest message queued for `subscriber` (its queue was full).
    case busDropped(subscriber: String, topic: Topic)
    case modelChange(device: DeviceID, from: String, to: String)
    case busPublish(topic: Topic, from: String, message: BusMessage)
    case displayWrite(colour: String, reason: String)
    case displayScroll(text: String)
    case joystick(keys: String)
    case cloudSend(topic: Topic, messageID: String)
    case cloudReceive(topic: Topic, messageID: String)
    /// A telemetry batch (one cloud message, `batchID`) carrying these messages.
    case cloudSendBatch(topic: Topic, batchID: String, messageIDs: [String])
    case cloudReceiveBatch(topic: Topic, batchID: String, messageIDs: [String])
    case ledFrame(colour: String)
    case faultStart(name: String)
    case faultEnd(name: String)
    /// What a simulated chip really converted (the rig's ground truth, recorded only when a
    /// checker compares readings with it); `t` is the conversion's own instant.
    case sensorTruth(device: DeviceID, chip: String, values: ChannelValues)
    /// The end of a simulated run: readings published, cloud messages still unacknowledged,
    /// the sequences of the telemetry still in the outbox (unsent, or sent and not yet
    /// acknowledged) and events still queued (timers, completions) — what a run leaves
    /// unfinished is reported, not lost.
    case simulationEnd(SimulationEndReport)
    /// A component over IPC at the end of a run, from its client's side: messages it
    /// `published` (handed to its IPC client), `dropped` from the client's full buffer, and
    /// `held` (buffered or sent unacknowledged) — so a checker can tell a message the bus
    /// never saw from one the client still holds or counted as dropped.
    case ipcClient(component: String, published: Int, dropped: Int, held: Int)
    /// What the hub uses of its machine, sampled: its state disk's bytes (the outbox and
    /// deployment databases), and — for a real hub process only — its resident memory (the
    /// peak so far, VmHWM) and its CPU share per second of hub time. A simulated hub shares
    /// the rig's process, so it has no memory or CPU figure of its own (nil).
    case hubResources(memoryBytes: Int?, cpuShare: Double?, diskBytes: Int)
    /// The readings a telemetry message the cloud received carried (recorded only when a
    /// checker needs the contents: de-duplication and per-device order).
    case cloudContent(topic: Topic, readings: [CloudReadingKey])

    /// The event's name in the log (`ev` field).
    public var name: String {
        switch self {
        case .hubStarted: "hub.start"
        case .sensorReady: "sensor.ready"
        case .sensorError: "sensor.error"
        case .componentError: "component.error"
        case .componentState: "component.state"
        case .busRefused: "bus.refused"
        case .busDropped: "bus.dropped"
        case .modelChange: "model.change"
        case .busPublish: "bus.publish"
        case .displayWrite: "display.write"
        case .displayScroll: "display.scroll"
        case .joystick: "joystick"
        case .cloudSend, .cloudSendBatch: "uplink.send"
        case .cloudReceive, .cloudReceiveBatch: "cloud.receive"
        case .ledFrame: "led.frame"
        case .faultStart: "fault.start"
        case .faultEnd: "fault.end"
        case .sensorTruth: "sim.truth"
        case .simulationEnd: "sim.end"
        case .ipcClient: "ipc.client"
        case .hubResources: "hub.resources"
        case .cloudContent: "cloud.content"
        }
    }

    /// Appends the event as one JSON object (no newline): `{"t": ..., "ev": ..., fields}`.
    public func write(at time: Instant, to json: inout JSONWriter) {
        json.beginObject()
        json.key("t"); json.timestamp(time, decimals: 6)
        json.field("ev", name)
        switch self {
        case .hubStarted(let thing):
            json.field("thing", thing)
        case .sensorReady(let device, let chip, let detail):
            json.field("device_id", device.rawValue); json.field("chip", chip); json.field("detail", detail)
        case .sensorError(let device, let chip, let error):
            json.field("device_id", device.rawValue); json.field("chip", chip); json.field("error", error)
        case .componentError(let component, let error):
            json.field("component", component); json.field("error", error)
        case .componentState(let component, let from, let to, let reason):
            json.field("component", component); json.field("from", from); json.field("to", to); json.field("reason", reason)
        case .busRefused(let component, let operation, let topic, let reason, let count):
            json.field("component", component); json.field("operation", operation); json.field("topic", topic); json.field("reason", reason)
            json.field("count", count)
        case .busDropped(let subscriber, let topic):
            json.field("subscriber", subscriber); json.field("topic", topic.name)
        case .modelChange(let device, let from, let to):
            json.field("device_id", device.rawValue); json.field("from", from); json.field("to", to)
        case .busPublish(let topic, let from, let message):
            json.field("topic", topic.name); json.field("from", from)
            json.key("payload"); message.write(to: &json)
        case .displayWrite(let colour, let reason):
            json.field("colour", colour); json.field("reason", reason)
        case .displayScroll(let text):
            json.field("text", text)
        case .joystick(let keys):
            json.field("keys", keys)
        case .cloudSend(let topic, let id), .cloudReceive(let topic, let id):
            json.field("topic", topic.name); json.field("message_id", id)
        case .cloudSendBatch(let topic, let id, let ids), .cloudReceiveBatch(let topic, let id, let ids):
            json.field("topic", topic.name); json.field("message_id", id)
            json.key("message_ids"); json.beginArray()
            for id in ids { json.string(id) }
            json.endArray()
        case .ledFrame(let colour):
            json.field("colour", colour)
        case .faultStart(let name), .faultEnd(let name):
            json.field("fault", name)
        case .sensorTruth(let device, let chip, let values):
            json.field("device_id", device.rawValue); json.field("chip", chip)
            for (channel, value) in values { json.field(channel.key, value) }
        case .simulationEnd(let end):
            json.field("readings", end.readings); json.field("unacknowledged", end.unacknowledged)
            json.field("outbox_telemetry", end.outboxTelemetry.description); json.field("outbox_depth_max", end.outboxDepthMax)
            json.field("cloud_bytes", end.cloudBytes); json.field("cloud_refused", end.cloudRefusedAttempts)
            json.field("kit_rejected", end.kitRejected)
            json.field("pending", end.pending)
        case .ipcClient(let component, let published, let dropped, let held):
            json.field("component", component); json.field("published", published); json.field("dropped", dropped)
            json.field("held", held)
        case .hubResources(let memory, let cpu, let disk):
            json.key("memory_bytes"); if let memory { json.int(memory) } else { json.null() }
            json.key("cpu_share"); if let cpu { json.double(cpu) } else { json.null() }
            json.field("disk_bytes", disk)
        case .cloudContent(let topic, let readings):
            json.field("topic", topic.name)
            json.key("message_ids"); json.beginArray(); for reading in readings { json.string(reading.messageID) }; json.endArray()
            json.key("devices"); json.beginArray(); for reading in readings { json.string(reading.device) }; json.endArray()
            json.key("timestamps"); json.beginArray(); for reading in readings { json.double(reading.timestamp) }; json.endArray()
        }
        json.endObject()
    }
}

/// The history port: every shell records events through one.
public protocol HistorySink: AnyObject {
    func record(_ event: HistoryEvent, at time: Instant)
}

/// What a simulated run leaves at its end (`sim.end`): the evidence for checkers that judge
/// totals rather than events.
public struct SimulationEndReport: Equatable, Sendable {
    /// Readings published on the bus.
    public var readings: Int
    /// Cloud messages handed to the uplink and not yet acknowledged.
    public var unacknowledged: Int
    /// The sequences of the telemetry still in the outbox (unsent, or sent and unacknowledged).
    public var outboxTelemetry: SequenceRanges
    /// The most messages the outbox held at once.
    public var outboxDepthMax: Int
    /// Bytes of MQTT PUBLISH packets the cloud received.
    public var cloudBytes: Int
    /// Connection attempts the cloud refused.
    public var cloudRefusedAttempts: Int
    /// Messages from monitoring kits the kit bridge rejected.
    public var kitRejected: Int
    /// Events still queued (timers, completions).
    public var pending: Int

    public init(readings: Int, unacknowledged: Int, outboxTelemetry: SequenceRanges = SequenceRanges(), outboxDepthMax: Int = 0,
                cloudBytes: Int = 0, cloudRefusedAttempts: Int = 0, kitRejected: Int = 0, pending: Int) {
        self.readings = readings
        self.unacknowledged = unacknowledged
        self.outboxTelemetry = outboxTelemetry
        self.outboxDepthMax = outboxDepthMax
        self.cloudBytes = cloudBytes
        self.cloudRefusedAttempts = cloudRefusedAttempts
        self.kitRejected = kitRejected
        self.pending = pending
    }
}
