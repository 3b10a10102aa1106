import HubCore
import HubDrivers
import HubInference

/// The hub's synchronous core: its components, the bus between them, and the code that
/// carries out their actions against the ports.
///
/// Both shells drive the same node: the simulator calls `boot` and `fire` from its
/// discrete-event loop with virtual instants, the live shell from its real clock. The node
/// never waits: sensor drivers answer at once (or say "not ready"), bus deliveries drain
/// through one FIFO before a call returns, and timers go to the shell through `TimerPort`.
public final class HubNode {
    public let config: HubConfig
    public let ports: HubPorts
    private var sensor: SensorComponent
    private var inference: InferenceComponent
    private var display = DisplayComponent()
    private var uplink: UplinkComponent
    private var router = BusRouter()
    private var deliveries: [(ComponentID, BusMessage)] = []
    /// `dt/local/sensor/<device>` per device index, built once.
    private let readingTopics: [Topic]
    private var deliveryHead = 0
    private var draining = false

    /// Readings published on the bus since boot.
    public private(set) var readingsPublished = 0

    public init(config: HubConfig, ports: HubPorts) {
        precondition(ports.sensorKits.count == config.devices.count, "one sensor kit per configured device")
        self.config = config
        self.ports = ports
        sensor = SensorComponent(
            devices: zip(config.devices, ports.sensorKits).map { device, kit in
                SensorComponent.Device(id: device.id, chips: kit.map { $0.chip },
                                       derivesDutyCycle: MonitoringKit.for(device.kind).channels.contains(.dutyCycles))
            },
            pollInterval: config.pollInterval)
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
        inference = InferenceComponent(
            devices: scored.map(\.0), detectors: scored.map(\.1),
            debounceK: config.debounceK, debounceN: config.debounceN)
        uplink = UplinkComponent(thing: config.thing)
        readingTopics = config.devices.map { Topic.sensorReading($0.id) }
        router.subscribe(.inference, to: "dt/local/sensor/+")
        router.subscribe(.uplink, to: "dt/local/sensor/+")
        router.subscribe(.display, to: "dt/local/sensor/+")
        router.subscribe(.display, to: "hbs/alerts/+")
        router.subscribe(.uplink, to: "hbs/alerts/+")
        router.subscribe(.display, to: "hbs/health/#")
        router.subscribe(.uplink, to: "hbs/health/#")
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
        let previous = inference.detector(of: device)
        let successor: PackageDetector
        if let previous = previous as? PackageDetector {
            successor = PackageDetector(package: package, continuing: previous)
        } else {
            successor = PackageDetector(package: package)
        }
        inference.replaceDetector(for: device, with: successor)
        ports.history.record(.modelChange(device: device, from: previous?.model ?? "none", to: package.manifest.identifier), at: now)
        return true
    }

    /// Loads the package in `directory` and installs it for `device`. A package that fails
    /// to load (bad manifest, unsupported graph, golden mismatch) is reported in the history
    /// and the device keeps the model it has.
    @discardableResult
    public func installModel(directory: String, for device: DeviceID, now: Instant) -> Bool {
        let package: ModelPackage
        do {
            package = try ModelPackage.load(directory: directory)
        } catch {
            ports.history.record(.componentError(component: "inference",
                                                 error: "\(directory): \(error); \(device) keeps \(model(of: device) ?? "no model")"), at: now)
            return false
        }
        return installModel(package, for: device, now: now)
    }

    /// The model (`name@version`) scoring a device, if any.
    public func model(of device: DeviceID) -> String? { inference.model(of: device) }

    /// The debounced condition the inference component holds for a device.
    public func condition(of device: DeviceID) -> DeviceCondition? { inference.condition(of: device) }

    public func boot(now: Instant) {
        ports.history.record(.hubStarted(thing: config.thing), at: now)
        for action in display.start() { execute(action, now: now) }
        run(sensor.handle(.start, now: now), now: now)
    }

    public func fire(_ timer: HubTimer, now: Instant) {
        switch timer {
        case .sensor(let sensorTimer):
            run(sensor.handle(.timer(sensorTimer), now: now), now: now)
        case .display(let displayTimer):
            for action in display.timer(displayTimer, now: now) { execute(action, now: now) }
        case .uplink(let uplinkTimer):
            execute(uplink.timer(uplinkTimer, now: now), now: now)
        }
    }

    /// A port's answer to an earlier request, delivered by the shell from its loop.
    public func complete(_ completion: PortCompletion, now: Instant) {
        switch completion {
        case .cloud(let cloud):
            execute(uplink.handle(cloud, now: now), now: now)
        }
    }

    /// Cloud messages handed over and not yet acknowledged (reported at the end of a run).
    public var unacknowledgedCloudMessages: Int { uplink.unacknowledgedCount }

    /// An edge on an input line. A rising edge on the joystick line means KEYS changed:
    /// read it (which clears the interrupt) and let the display act on the keys.
    public func gpioEdge(_ edge: GPIOEdge, now: Instant) {
        guard edge.rising, edge.line == ports.joystickLine, let joystick = ports.joystick else { return }
        let keys: JoystickKeys
        do throws(DriverError) {
            keys = try joystick.readKeys()
        } catch {
            ports.history.record(.componentError(component: "joystick", error: error.description), at: now)
            return
        }
        ports.history.record(.joystick(keys: keys.names), at: now)
        for action in display.joystick(keys, now: now) { execute(action, now: now) }
    }

    // MARK: Sensor actions

    private func run(_ initial: [SensorComponent.Action], now: Instant) {
        var pending = initial
        var index = 0
        while index < pending.count {
            let action = pending[index]
            index += 1
            switch action {
            case .initialise(let device, let chip):
                let driver = ports.sensorKits[device][chip]
                let result: Result<String, DriverError>
                do throws(DriverError) { result = .success(try driver.initialise()) } catch { result = .failure(error) }
                pending += sensor.handle(.initialised(device: device, chip: chip, result), now: now)
            case .sample(let device, let chip):
                let driver = ports.sensorKits[device][chip]
                let result: Result<ChannelValues?, DriverError>
                do throws(DriverError) { result = .success(try driver.sample()) } catch { result = .failure(error) }
                pending += sensor.handle(.sampled(device: device, chip: chip, result), now: now)
            case .publish(let device, let reading):
                readingsPublished += 1
                publish(.reading(reading), on: readingTopics[device], from: .sensor, now: now)
            case .publishHealth(let report):
                publish(.health(report), on: .health("sensor"), from: .sensor, now: now)
            case .schedule(let timer, let at):
                ports.timers.schedule(.sensor(timer), at: at)
            case .record(let event):
                ports.history.record(event, at: now)
            }
        }
    }

    // MARK: Bus

    private func publish(_ message: BusMessage, on topic: Topic, from: ComponentID, now: Instant) {
        ports.history.record(.busPublish(topic: topic, from: from.rawValue, message: message), at: now)
        for subscriber in router.route(topic) { deliveries.append((subscriber, message)) }
        guard !draining else { return }
        draining = true
        while deliveryHead < deliveries.count {
            let (subscriber, next) = deliveries[deliveryHead]
            deliveryHead += 1
            deliver(next, to: subscriber, now: now)
        }
        deliveries.removeAll(keepingCapacity: true)
        deliveryHead = 0
        draining = false
    }

    private func deliver(_ message: BusMessage, to subscriber: ComponentID, now: Instant) {
        switch subscriber {
        case .inference:
            guard case .reading(let reading) = message else { return }
            for case .publish(let topic, let result) in inference.handle(reading, now: now) {
                publish(result, on: topic, from: .inference, now: now)
            }
        case .display:
            for action in display.handle(message) { execute(action, now: now) }
        case .uplink:
            execute(uplink.handle(message, now: now), now: now)
        case .sensor:
            return
        }
    }

    private func execute(_ actions: [UplinkComponent.Action], now: Instant) {
        for action in actions {
            switch action {
            case .send(let cloudMessage):
                ports.history.record(.cloudSend(topic: cloudMessage.topic, messageID: cloudMessage.messageID), at: now)
                ports.cloud.send(cloudMessage, at: now)
            case .schedule(let timer, let at):
                ports.timers.schedule(.uplink(timer), at: at)
            case .record(let event):
                ports.history.record(event, at: now)
            }
        }
    }

    private func execute(_ action: DisplayComponent.Action, now: Instant) {
        switch action {
        case .write(let frame, let colour, let reason):
            ports.history.record(.displayWrite(colour: colour, reason: reason), at: now)
            guard let display = ports.display else { return }
            do throws(DriverError) {
                try display.write(frame)
            } catch {
                ports.history.record(.componentError(component: "display", error: error.description), at: now)
            }
        case .scroll(let text):
            ports.history.record(.displayScroll(text: text), at: now)
        case .schedule(let timer, let at):
            ports.timers.schedule(.display(timer), at: at)
        }
    }
}
