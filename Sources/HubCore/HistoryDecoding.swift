/// Reading the event log back: one JSON line becomes the typed `HistoryEvent` it was
/// written from, so the checkers that judge a run as it happens can judge a log from disk
/// — a simulation's, or a real hub's on a bench.
extension HistoryEvent {
    /// Every `ev` name the log can hold, in declaration order.
    public static let names = ["hub.start", "sensor.ready", "sensor.error", "component.error", "component.state",
                               "bus.refused", "bus.dropped", "model.change",
                               "bus.publish", "display.write", "display.scroll", "joystick", "uplink.send",
                               "cloud.receive", "led.frame", "fault.start", "fault.end", "sim.truth", "sim.end", "ipc.client", "hub.resources", "cloud.content"]

    /// Decodes one line of the event log (without its newline). Errors name the field and
    /// what is wrong with it; unknown fields are refused, so a misspelt or foreign log is
    /// not half read.
    public static func decode(line: [UInt8]) throws(PayloadError) -> (event: HistoryEvent, time: Instant) {
        let object = try PayloadObject(line, type: "history event")
        let time = try object.instant("t", decimals: 6)
        let name = try object.string("ev")
        func only(_ fields: [String]) throws(PayloadError) { try object.expectOnly(["t", "ev"] + fields) }
        func topic() throws(PayloadError) -> Topic {
            let text = try object.string("topic")
            do { return try Topic(validating: text) } catch { throw PayloadError(type: object.type, field: "topic", reason: error.description) }
        }
        func count(_ key: String) throws(PayloadError) -> Int {
            let value = try object.int(key)
            guard value >= 0 else { throw PayloadError(type: object.type, field: key, reason: "must not be negative") }
            return value
        }
        let event: HistoryEvent
        switch name {
        case "hub.start":
            try only(["thing"])
            event = .hubStarted(thing: try object.string("thing"))
        case "sensor.ready":
            try only(["device_id", "chip", "detail"])
            event = .sensorReady(device: try object.device("device_id"), chip: try object.string("chip"), detail: try object.string("detail"))
        case "sensor.error":
            try only(["device_id", "chip", "error"])
            event = .sensorError(device: try object.device("device_id"), chip: try object.string("chip"), error: try object.string("error"))
        case "component.error":
            try only(["component", "error"])
            event = .componentError(component: try object.string("component"), error: try object.string("error"))
        case "component.state":
            try only(["component", "from", "to", "reason"])
            event = .componentState(component: try object.string("component"), from: try object.string("from"),
                                    to: try object.string("to"), reason: try object.string("reason"))
        case "bus.refused":
            try only(["component", "operation", "topic", "reason", "count"])
            let count = try object.int("count")
            guard count >= 1 else { throw PayloadError(type: object.type, field: "count", reason: "must be at least 1") }
            event = .busRefused(component: try object.string("component"), operation: try object.string("operation"),
                                topic: try object.string("topic"), reason: try object.string("reason"), count: count)
        case "bus.dropped":
            try only(["subscriber", "topic"])
            event = .busDropped(subscriber: try object.string("subscriber"), topic: try topic())
        case "model.change":
            try only(["device_id", "from", "to"])
            event = .modelChange(device: try object.device("device_id"), from: try object.string("from"), to: try object.string("to"))
        case "bus.publish":
            try only(["topic", "from", "payload"])
            let topic = try topic()
            event = .busPublish(topic: topic, from: try object.string("from"), message: try Self.message(on: topic, in: object))
        case "display.write":
            try only(["colour", "reason"])
            event = .displayWrite(colour: try object.string("colour"), reason: try object.string("reason"))
        case "display.scroll":
            try only(["text"])
            event = .displayScroll(text: try object.string("text"))
        case "joystick":
            try only(["keys"])
            event = .joystick(keys: try object.string("keys"))
        case "uplink.send", "cloud.receive":
            try only(["topic", "message_id", "message_ids"])
            let topic = try topic()
            let id = try object.string("message_id")
            if object.has("message_ids") {
                let ids = try object.strings("message_ids")
                event = name == "uplink.send" ? .cloudSendBatch(topic: topic, batchID: id, messageIDs: ids)
                    : .cloudReceiveBatch(topic: topic, batchID: id, messageIDs: ids)
            } else {
                event = name == "uplink.send" ? .cloudSend(topic: topic, messageID: id) : .cloudReceive(topic: topic, messageID: id)
            }
        case "led.frame":
            try only(["colour"])
            event = .ledFrame(colour: try object.string("colour"))
        case "fault.start", "fault.end":
            try only(["fault"])
            let fault = try object.string("fault")
            event = name == "fault.start" ? .faultStart(name: fault) : .faultEnd(name: fault)
        case "sim.truth":
            var values = ChannelValues()
            for key in object.keys where !["t", "ev", "device_id", "chip"].contains(key) {
                guard let channel = Channel(key: key) else {
                    throw PayloadError(type: object.type, field: key, reason: "unknown field")
                }
                values[channel] = try object.double(key)
            }
            event = .sensorTruth(device: try object.device("device_id"), chip: try object.string("chip"), values: values)
        case "sim.end":
            try only(["readings", "unacknowledged", "outbox_telemetry", "outbox_depth_max", "cloud_bytes", "cloud_refused", "kit_rejected", "pending"])
            let ranges: SequenceRanges
            let rangesText = try object.string("outbox_telemetry")
            do throws(SequenceRanges.ParseError) { ranges = try SequenceRanges(parsing: rangesText) } catch {
                throw PayloadError(type: object.type, field: "outbox_telemetry", reason: error.description)
            }
            event = .simulationEnd(SimulationEndReport(
                readings: try count("readings"), unacknowledged: try count("unacknowledged"), outboxTelemetry: ranges,
                outboxDepthMax: try count("outbox_depth_max"), cloudBytes: try count("cloud_bytes"),
                cloudRefusedAttempts: try count("cloud_refused"), kitRejected: try count("kit_rejected"), pending: try count("pending")))
        case "ipc.client":
            try only(["component", "published", "dropped", "held"])
            event = .ipcClient(component: try object.string("component"), published: try count("published"),
                               dropped: try count("dropped"), held: try count("held"))
        case "cloud.content":
            try only(["topic", "message_ids", "devices", "timestamps"])
            let ids = try object.strings("message_ids")
            let devices = try object.strings("devices")
            let timestamps = try object.doubles("timestamps")
            guard devices.count == ids.count, timestamps.count == ids.count else {
                throw PayloadError(type: object.type, field: "devices", reason: "message_ids, devices and timestamps must be as long as each other")
            }
            event = .cloudContent(topic: try topic(), readings: ids.indices.map {
                CloudReadingKey(messageID: ids[$0], device: devices[$0], timestamp: timestamps[$0])
            })
        case "hub.resources":
            try only(["memory_bytes", "cpu_share", "disk_bytes"])
            func share() throws(PayloadError) -> Double {
                let value = try object.double("cpu_share")
                guard (0...1_000).contains(value) else { throw PayloadError(type: object.type, field: "cpu_share", reason: "must be within 0…1000 (cores)") }
                return value
            }
            event = .hubResources(memoryBytes: try object.isNull("memory_bytes") ? nil : count("memory_bytes"),
                                  cpuShare: try object.isNull("cpu_share") ? nil : share(),
                                  diskBytes: try count("disk_bytes"))
        default:
            throw PayloadError(type: object.type, field: "ev", reason: "unknown event '\(name)' (known: \(names.joined(separator: ", ")))")
        }
        return (event, time)
    }

    /// The bus message a `bus.publish` line carries, typed by its topic.
    private static func message(on topic: Topic, in object: PayloadObject) throws(PayloadError) -> BusMessage {
        try BusMessage.decode(on: topic, payload: object, field: "payload")
    }
}

extension BusMessage {
    /// The message under `field` of `object`, typed by the topic it travels on (the bus's
    /// topic families each carry one payload type).
    static func decode(on topic: Topic, payload object: PayloadObject, field: String) throws(PayloadError) -> BusMessage {
        let name = topic.name
        if name.hasPrefix("dt/local/sensor/") { return .reading(try Reading.decode(try object.object(field, type: "reading"))) }
        if name.hasPrefix("hbs/inference/") {
            return .inference(try InferenceResult.decode(try object.object(field, type: "inference result")))
        }
        if name.hasPrefix("hbs/alerts/") { return .alert(try Alert.decode(try object.object(field, type: "alert"))) }
        if name.hasPrefix("hbs/health/") { return .health(try HealthReport.decode(try object.object(field, type: "health report"))) }
        if name == Topic.deploymentStatus.name {
            return .deployment(try DeploymentStatus.decode(try object.object(field, type: "deployment status")))
        }
        throw PayloadError(type: object.type, field: "topic", reason: "'\(name)' is no topic of the hub's bus")
    }
}
