import HubCore

/// What a `status` request answers with: one JSON value.
public protocol ControlStatus {
    func write(to json: inout JSONWriter)
}

/// What a running hub says of itself on the control socket (`status`): its components
/// and their supervisor states, each device's sensor health, condition and model, the
/// cloud connection, the outbox, the configuration deployed, and the faults injected.
///
/// Why one value: `hubrig status` prints it for a person and `--json` hands it to a
/// script; both read the same snapshot, taken on the hub's own thread between two events.
public struct HubStatus: ControlStatus, Equatable, Sendable {
    public struct Component: Equatable, Sendable {
        public var name: String
        public var state: String

        public init(name: String, state: String) {
            self.name = name
            self.state = state
        }
    }

    public struct Device: Equatable, Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        /// The kit's health as the sensor component last judged it (nil: not a Sense HAT device).
        public var sensorHealth: HealthState?
        public var condition: DeviceCondition?
        public var model: String?

        public init(id: DeviceID, kind: ApplianceKind, sensorHealth: HealthState?, condition: DeviceCondition?, model: String?) {
            self.id = id
            self.kind = kind
            self.sensorHealth = sensorHealth
            self.condition = condition
            self.model = model
        }
    }

    public var thing: String
    public var now: Instant
    public var components: [Component]
    public var devices: [Device]
    public var cloudConnected: Bool
    public var outboxDepth: Int
    public var unacknowledged: Int
    /// The deployment that made the running configuration (nil: the factory one).
    public var deploymentID: String?
    public var faults: [ActiveFault]

    public init(thing: String, now: Instant, components: [Component], devices: [Device], cloudConnected: Bool,
                outboxDepth: Int, unacknowledged: Int, deploymentID: String?, faults: [ActiveFault]) {
        self.thing = thing
        self.now = now
        self.components = components
        self.devices = devices
        self.cloudConnected = cloudConnected
        self.outboxDepth = outboxDepth
        self.unacknowledged = unacknowledged
        self.deploymentID = deploymentID
        self.faults = faults
    }

    public func write(to json: inout JSONWriter) {
        json.beginObject()
        json.field("thing", thing)
        json.field("time", now.secondsSinceEpoch)
        json.key("components")
        json.beginArray()
        for component in components {
            json.beginObject()
            json.field("name", component.name)
            json.field("state", component.state)
            json.endObject()
        }
        json.endArray()
        json.key("devices")
        json.beginArray()
        for device in devices {
            json.beginObject()
            json.field("id", device.id.rawValue)
            json.field("kind", device.kind.rawValue)
            json.field("sensor_health", device.sensorHealth?.rawValue)
            json.field("condition", device.condition?.rawValue)
            json.field("model", device.model)
            json.endObject()
        }
        json.endArray()
        json.field("cloud_connected", cloudConnected)
        json.field("outbox_depth", outboxDepth)
        json.field("unacknowledged", unacknowledged)
        json.field("deployment", deploymentID)
        json.key("faults")
        json.beginArray()
        for fault in faults { fault.write(to: &json) }
        json.endArray()
        json.endObject()
    }
}

extension HubNode {
    /// The hub's state now, with `faults` as the control socket keeps them.
    public func status(now: Instant, faults: [ActiveFault]) -> HubStatus {
        let sensor = component(SensorComponent.self)
        let uplink = component(UplinkComponent.self)
        let polled = config.devices.filter { $0.source == .senseHAT }.map(\.id)
        let devices = config.devices.map { device in
            HubStatus.Device(id: device.id, kind: device.kind,
                             sensorHealth: polled.firstIndex(of: device.id).flatMap { sensor?.health(of: $0) },
                             condition: condition(of: device.id), model: model(of: device.id))
        }
        return HubStatus(thing: config.thing, now: now,
                         components: recipes.map { HubStatus.Component(name: $0.name, state: state(of: $0.name)?.rawValue ?? "unsupervised") },
                         devices: devices, cloudConnected: uplink?.isConnected ?? false,
                         outboxDepth: ports.outbox.counters.depth, unacknowledged: unacknowledgedCloudMessages,
                         deploymentID: deployedConfiguration.deploymentID, faults: faults)
    }
}

extension HubNode {
    /// The sequences of the telemetry the outbox holds (unsent, or sent and not yet
    /// acknowledged), read between two events: with the event log up to this instant, it
    /// accounts for every reading (`NoReadingLostChecker`).
    public func outboxTelemetry() -> Result<SequenceRanges, OutboxError> {
        var ranges: [ClosedRange<Int64>] = []
        var after: Int64 = 0
        do throws(OutboxError) {
            while true {
                let page = try ports.outbox.messages(after: after, limit: 1_000)
                guard let last = page.last else { break }
                for message in page where message.priority == .telemetry { ranges.append(message.sequence...message.sequence) }
                after = last.sequence
            }
        } catch {
            return .failure(error)
        }
        return .success(SequenceRanges(ranges))
    }
}
