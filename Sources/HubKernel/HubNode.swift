import HubCore
import HubDrivers
import HubInference

/// The hub's synchronous core: its components, the bus between them, and the host that
/// carries out their actions against the ports.
///
/// It is only the router, the delivery FIFO, the timer table and the host: every
/// component has the one `HubComponent` shape, so adding one touches nothing here. Both
/// shells drive the same node: the simulator calls `boot`, `fire`, `complete` and
/// `gpioEdge` from its loop with virtual instants, the live shell from the real clock.
/// The node never waits: sensor drivers answer at once (or say "not ready"), bus
/// deliveries drain through one FIFO before a call returns, timers go to the shell
/// through `TimerPort`, and slow ports (the cloud) answer later through the shell.
public final class HubNode {
    public let config: HubConfig
    public let ports: HubPorts
    private var slots: [ComponentSlot] = []
    private var router = BusRouter()
    private var deliveries: [(Int, Topic, BusMessage)] = []
    private var deliveryHead = 0
    private var draining = false

    /// Readings published on the bus since boot.
    public private(set) var readingsPublished = 0

    /// The hub with its standard components: sensor, inference, display and uplink.
    public convenience init(config: HubConfig, ports: HubPorts) {
        self.init(config: config, ports: ports, components: [])
        StandardComponents.add(to: self)
    }

    /// The hub with `components`, subscribed to the bus in this order (which is the order
    /// subscribers of one topic hear a message in); `add` appends more before boot.
    public init(config: HubConfig, ports: HubPorts, components: [any HubComponent]) {
        precondition(ports.sensorKits.count == config.devices.count { $0.source == .senseHAT },
                     "one sensor kit per device read by the hub's own Sense HAT")
        self.config = config
        self.ports = ports
        for component in components { add(component) }
    }

    /// Adds a component (before `boot`): it subscribes to its topics and joins the host.
    ///
    /// Generic, so a caller that names the component's type gets the host's code
    /// specialised for it — the hub's hot path runs no generic metadata lookups.
    public func add<C: HubComponent>(_ component: C) {
        let index = slots.count
        for filter in component.subscriptions { router.subscribe(index, to: filter) }
        let box = Slot(component: component, index: index)
        slots.append(ComponentSlot(
            box: box,
            handle: { [unowned self] event, now in box.run(Self.typed(event, C.Timer.self), node: self, now: now) },
            fire: { [unowned self] payload, now in
                guard let timer = payload as? C.Timer else { preconditionFailure("timer \(payload) is not \(component.name)'s") }
                box.run(.timer(timer), node: self, now: now)
            }))
    }

    private static func typed<T: Sendable>(_ event: HostEvent, _: T.Type) -> ComponentEvent<T> {
        switch event {
        case .start: .start
        case .message(let topic, let message): .message(topic, message)
        case .completion(let completion): .completion(completion)
        case .input(let input): .input(input)
        case .command(let command): .command(command)
        }
    }

    /// The component of type `C`, for questions about its state (tests, reports).
    public func component<C: HubComponent>(_ type: C.Type) -> C? {
        for slot in slots { if let box = slot.box as? Slot<C> { return box.component } }
        return nil
    }

    /// Puts a new model package in charge of `device`, handing over the current window.
    /// Refuses (and keeps the current model) when the package is for another appliance kind.
    @discardableResult
    public func installModel(_ package: ModelPackage, for device: DeviceID, now: Instant) -> Bool {
        guard let configured = config.devices.first(where: { $0.id == device }), configured.kind == package.manifest.kind else {
            ports.history.record(.componentError(component: "inference",
                                                 error: "model \(package.manifest.identifier) is for \(package.manifest.kind.rawValue); \(device) keeps its model"), at: now)
            return false
        }
        for slot in slots { slot.handle(.command(.installModel(device: device, package: package)), now) }
        return true
    }

    /// The model (`name@version`) scoring a device, if any.
    public func model(of device: DeviceID) -> String? { component(InferenceComponent.self)?.model(of: device) }

    /// The debounced condition the inference component holds for a device.
    public func condition(of device: DeviceID) -> DeviceCondition? { component(InferenceComponent.self)?.condition(of: device) }

    /// Cloud messages handed over and not yet acknowledged (reported at the end of a run).
    public var unacknowledgedCloudMessages: Int { component(UplinkComponent.self)?.unacknowledgedCount ?? 0 }

    /// Kit messages the kit bridge rejected.
    public var kitMessagesRejected: Int { component(KitBridgeComponent.self)?.rejected.reduce(0, +) ?? 0 }

    /// The most messages the uplink's outbox held at once.
    public var outboxDepthMax: Int { component(UplinkComponent.self)?.depthMax ?? 0 }

    /// The sequences of the telemetry the uplink holds unacknowledged (in its outbox or in
    /// memory), as ascending ranges.
    public func unacknowledgedTelemetry() throws(OutboxError) -> [ClosedRange<Int64>] {
        try component(UplinkComponent.self)?.unacknowledgedTelemetry() ?? []
    }

    public func boot(now: Instant) {
        ports.history.record(.hubStarted(thing: config.thing), at: now)
        for slot in slots { slot.handle(.start, now) }
    }

    public func fire(_ timer: HubTimer, now: Instant) {
        slots[timer.component].fire(timer.payload, now)
    }

    /// A port's answer to an earlier request, delivered by the shell from its loop to the
    /// components that made such requests (the cloud's answers about messages to those that
    /// sent to it); news from the cloud port itself — the connection, inbound messages —
    /// goes to every component, so one that has not sent yet (telemetry waiting for its
    /// daily batch) still hears the connection drop.
    public func complete(_ completion: PortCompletion, now: Instant) {
        switch completion {
        case .cloud(.acknowledged), .cloud(.failed):
            for index in cloudClients { slots[index].handle(.completion(completion), now) }
        default:
            for slot in slots { slot.handle(.completion(completion), now) }
        }
    }

    /// The components that have sent to the cloud, in the order they first did.
    private var cloudClients: [Int] = []

    /// An edge on an input line. A rising edge on the joystick line means KEYS changed.
    public func gpioEdge(_ edge: GPIOEdge, now: Instant) {
        guard edge.rising, edge.line == ports.joystickLine, ports.joystick != nil else { return }
        for slot in slots { slot.handle(.input(.joystickInterrupt), now) }
    }

    // MARK: Host

    /// Carries out one port request; drivers answer within it, so their completion comes back now.
    fileprivate func perform(_ request: PortRequest, from slot: Int, now: Instant) -> PortCompletion? {
        switch request {
        case .initialiseSensor(let device, let chip):
            let driver = ports.sensorKits[device][chip]
            do throws(DriverError) { return .sensorInitialised(device: device, chip: chip, .success(try driver.initialise())) } catch {
                return .sensorInitialised(device: device, chip: chip, .failure(error))
            }
        case .sampleSensor(let device, let chip):
            let driver = ports.sensorKits[device][chip]
            do throws(DriverError) { return .sensorSampled(device: device, chip: chip, .success(try driver.sample())) } catch {
                return .sensorSampled(device: device, chip: chip, .failure(error))
            }
        case .writeDisplay(let frame):
            guard let display = ports.display else { return nil }
            do throws(DriverError) { try display.write(frame) } catch { return .displayWritten(error: error) }
            return nil
        case .readJoystick:
            guard let joystick = ports.joystick else { return nil }
            do throws(DriverError) { return .joystick(.success(try joystick.readKeys())) } catch { return .joystick(.failure(error)) }
        case .sendCloud(let message):
            if !cloudClients.contains(slot) { cloudClients.append(slot) }
            ports.cloud.send(message, at: now)
            return nil
        }
    }

    fileprivate func schedule(_ timer: HubTimer, at: Instant) {
        ports.timers.schedule(timer, at: at)
    }

    /// Records the message, queues one delivery per matching subscription and, unless a
    /// delivery is already draining, drains the FIFO: each subscriber sees messages in
    /// publish order, also those published while handling another.
    fileprivate func publish(_ message: BusMessage, on topic: Topic, from: String, now: Instant) {
        if case .reading = message { readingsPublished += 1 }
        ports.history.record(.busPublish(topic: topic, from: from, message: message), at: now)
        for subscriber in router.route(topic) { deliveries.append((subscriber, topic, message)) }
        guard !draining else { return }
        draining = true
        while deliveryHead < deliveries.count {
            let (subscriber, topic, next) = deliveries[deliveryHead]
            deliveryHead += 1
            slots[subscriber].handle(.message(topic, next), now)
        }
        deliveries.removeAll(keepingCapacity: true)
        deliveryHead = 0
        draining = false
    }
}

/// The standard hub: what `hub run` and the simulator assemble.
public enum StandardComponents {
    /// Adds the standard components to `node`, each by its own type (so the host is
    /// specialised for them).
    public static func add(to node: HubNode) {
        let parts = build(config: node.config, ports: node.ports)
        if let sensor = parts.sensor { node.add(sensor) }
        if let bridge = parts.bridge { node.add(bridge) }
        node.add(parts.inference)
        node.add(parts.display)
        node.add(parts.uplink)
    }

    /// The standard components as values, for a node that adds more of its own.
    public static func make(config: HubConfig, ports: HubPorts) -> [any HubComponent] {
        let parts = build(config: config, ports: ports)
        let sources: [(any HubComponent)?] = [parts.sensor, parts.bridge]
        return sources.compactMap { $0 } + [parts.inference, parts.display, parts.uplink]
    }

    private static func build(config: HubConfig, ports: HubPorts)
        -> (sensor: SensorComponent?, bridge: KitBridgeComponent?, inference: InferenceComponent, display: DisplayComponent, uplink: UplinkComponent) {
        // The hub's own Sense HAT kits, one list of drivers each in `ports.sensorKits`; kits
        // over MQTT reach the kit bridge instead.
        let polled = config.devices.filter { $0.source == .senseHAT }
        precondition(polled.count == ports.sensorKits.count, "one list of drivers per Sense HAT device")
        let sensor = polled.isEmpty ? nil : SensorComponent(
            devices: zip(polled, ports.sensorKits).map { device, kit in
                SensorComponent.Device(id: device.id, chips: kit.map { $0.chip },
                                       derivesDutyCycle: MonitoringKit.for(device.kind).channels.contains(.dutyCycles))
            },
            pollInterval: config.pollInterval)
        let kits = config.devices.compactMap { device -> KitBridgeComponent.Kit? in
            guard case .mqttKit(let interval) = device.source else { return nil }
            return KitBridgeComponent.Kit(id: device.id, kind: device.kind, interval: interval)
        }
        let bridge = kits.isEmpty ? nil : KitBridgeComponent(kits: kits)
        let windowCount = max(2, Int(config.detectorWindow.nanoseconds / config.pollInterval.nanoseconds))
        // The interim z-score suits appliances whose normal day is a steady rhythm (a furnace
        // cycling all day); a washer's two loads a day would page someone every time, so
        // other kinds get it only through a model package.
        var scored: [(DeviceID, any AnomalyDetector)] = []
        for device in config.devices {
            switch device.detector {
            case .interim where device.kind == .furnace:
                scored.append((device.id, RollingZScoreDetector(windowCount: windowCount)))
            case .package(let package):
                scored.append((device.id, PackageDetector(package: package)))
            case .interim, .none:
                break
            }
        }
        let inference = InferenceComponent(devices: scored.map(\.0), detectors: scored.map(\.1),
                                           debounceK: config.debounceK, debounceN: config.debounceN)
        // Inference before display and uplink: a reading reaches the detector first, and an
        // alert the display before the cloud.
        return (sensor, bridge, inference, DisplayComponent(),
                UplinkComponent(thing: config.thing, outbox: ports.outbox, batching: config.telemetryBatching))
    }
}

/// A component in the host: its box and the two entry points, made where its type is
/// known (`HubNode.add`), so the closures run specialised code.
private struct ComponentSlot {
    let box: AnyObject
    let handle: (HostEvent, Instant) -> Void
    let fire: (any Sendable, Instant) -> Void
}

/// The events the node hands every component alike: all but its own timers.
private enum HostEvent {
    case start
    case message(Topic, BusMessage)
    case completion(PortCompletion)
    case input(HubInput)
    case command(HubCommand)
}

private final class Slot<C: HubComponent> {
    // Unchecked exclusivity: only `run` mutates `component`, and `run` never re-enters
    // for the same slot (a component's publications reach other components; its own
    // completions are queued, not delivered inside the call).
    @exclusivity(unchecked) var component: C
    let index: Int
    /// Read once: the component's declaration does not change while it runs.
    private let publications: [TopicFilter]
    /// Topics already checked against `publications`: a component publishes on a handful
    /// of topics millions of times, and a name compare is cheaper than a filter match.
    private var allowedTopics: [String] = []

    init(component: C, index: Int) {
        self.component = component
        self.index = index
        publications = component.publications
    }

    /// Carries out the component's actions in order; a request a driver answers at once
    /// feeds its completion back, and the actions that brings join the end of the queue.
    func run(_ event: ComponentEvent<C.Timer>, node: HubNode, now: Instant) {
        var pending = component.handle(event, now: now)
        var next = 0
        while next < pending.count {
            let action = pending[next]
            next += 1
            switch action {
            case .publish(let topic, let message):
                if !allowedTopics.contains(topic.name) {
                    precondition(publications.contains { $0.matches(topic) }, "\(component.name) may not publish on \(topic)")
                    allowedTopics.append(topic.name)
                }
                node.publish(message, on: topic, from: component.name, now: now)
            case .schedule(let timer, let at):
                node.schedule(HubTimer(component: index, payload: timer), at: at)
            case .record(let event):
                node.ports.history.record(event, at: now)
            case .request(let request):
                if let completion = node.perform(request, from: index, now: now) {
                    pending += component.handle(.completion(completion), now: now)
                }
            }
        }
    }
}
