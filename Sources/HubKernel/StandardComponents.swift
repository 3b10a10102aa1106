import HubCore
import HubInference

/// The standard hub: what `hub run` and the simulator assemble.
public enum StandardComponents {
    /// The built-ins that can run in a process of their own (`hub component`, the simulator's
    /// IPC bus): their ports are the Sense HAT's, which such a process opens itself. The
    /// uplink's outbox and cloud connection and the kit bridge's local broker stay with the hub.
    public static let runnableOverIPC = ["sensor", "inference", "display"]

    /// Adds the standard components to `node`, each by its own type (so the host is
    /// specialised for them). Those with a recipe in `overIPC` run in processes of their own:
    /// the node gets them as remote components under that recipe, in the same place of the
    /// start and delivery order, and their values come back for a shell that runs them behind
    /// `ComponentOverIPC` — the same code as in the hub process.
    @discardableResult
    public static func add(to node: HubNode, overIPC remote: [ComponentRecipe] = []) -> [any HubComponent] {
        let parts = build(config: node.config, ports: node.ports)
        var away: [any HubComponent] = []
        func place<C: HubComponent>(_ component: C, _ recipe: ComponentRecipe) {
            if let recipe = remote.first(where: { $0.name == recipe.name }) {
                node.addRemote(recipe: recipe)
                away.append(component)
            } else {
                node.add(component, recipe: recipe)
            }
        }
        if let sensor = parts.sensor { place(sensor, BuiltinRecipes.sensor) }
        if let bridge = parts.bridge { place(bridge, BuiltinRecipes.kitBridge) }
        place(parts.inference, BuiltinRecipes.inference)
        place(parts.display, BuiltinRecipes.display)
        place(parts.uplink, BuiltinRecipes.uplink)
        return away
    }

    /// The names of the standard components a hub with `config` runs, in the order `add`
    /// adds them: the sensor only with a Sense HAT device, the kit bridge only with a kit over MQTT.
    public static func names(config: HubConfig) -> [String] {
        ComponentRecipe.builtinNames.filter { name in
            switch name {
            case "sensor": config.devices.contains { $0.source == .senseHAT }
            case "kit-bridge": config.devices.contains { $0.source != .senseHAT }
            default: true
            }
        }
    }

    /// The standard components as values, for a node that adds more of its own (each gets
    /// its built-in recipe by name).
    public static func make(config: HubConfig, ports: HubPorts) -> [any HubComponent] {
        let parts = build(config: config, ports: ports)
        let sources: [(any HubComponent)?] = [parts.sensor, parts.bridge]
        return sources.compactMap { $0 } + [parts.inference, parts.display, parts.uplink]
    }

    /// The one component named `name` of those `runnableOverIPC`, for a process of its own
    /// (`ports` need hold only what it uses: the sensor's kits, the display's matrix); nil for
    /// another name, or a sensor in a hub without a Sense HAT device.
    public static func make(named name: String, config: HubConfig, ports: HubPorts) -> (any HubComponent)? {
        switch name {
        case "sensor": sensor(config: config, ports: ports)
        case "inference": inference(config: config)
        case "display": DisplayComponent()
        default: nil
        }
    }

    private static func build(config: HubConfig, ports: HubPorts)
        -> (sensor: SensorComponent?, bridge: KitBridgeComponent?, inference: InferenceComponent, display: DisplayComponent, uplink: UplinkComponent) {
        let kits = config.devices.compactMap { device -> KitBridgeComponent.Kit? in
            guard case .mqttKit(let interval) = device.source else { return nil }
            return KitBridgeComponent.Kit(id: device.id, kind: device.kind, interval: interval,
                                          certificate: config.kitCertificates.last { $0.device == device.id })
        }
        let bridge = kits.isEmpty ? nil : KitBridgeComponent(kits: kits, certificateWarning: config.certificateWarning)
        // Inference before display and uplink: a reading reaches the detector first, and an
        // alert the display before the cloud.
        return (sensor(config: config, ports: ports), bridge, inference(config: config), DisplayComponent(),
                UplinkComponent(thing: config.thing, outbox: ports.outbox, batching: config.telemetryBatching))
    }

    /// The sensor over the hub's own Sense HAT kits, one list of drivers each in
    /// `ports.sensorKits`; kits over MQTT reach the kit bridge instead.
    private static func sensor(config: HubConfig, ports: HubPorts) -> SensorComponent? {
        let polled = config.devices.filter { $0.source == .senseHAT }
        precondition(polled.count == ports.sensorKits.count, "one list of drivers per Sense HAT device")
        return polled.isEmpty ? nil : SensorComponent(
            devices: zip(polled, ports.sensorKits).map { device, kit in
                SensorComponent.Device(id: device.id, chips: kit.map { $0.chip },
                                       derivesDutyCycle: MonitoringKit.for(device.kind).channels.contains(.dutyCycles))
            },
            pollInterval: config.pollInterval, selfHeating: config.selfHeating)
    }

    private static func inference(config: HubConfig) -> InferenceComponent {
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
        return InferenceComponent(devices: scored.map(\.0), detectors: scored.map(\.1), debounceK: config.debounceK, debounceN: config.debounceN)
    }
}
