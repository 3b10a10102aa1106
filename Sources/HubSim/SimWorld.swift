import HubCore
import HubStore
import HubDrivers
import HubKernel

/// A fault the simulator can inject, by layer (DESIGN.md naming `layer.target.kind`).
public enum SimFault: Equatable, Sendable {
    /// `i2c.<addr>.absent|nack|timeout|slow|bitflip`: faults on the wire.
    case i2cWire(address: UInt8, I2CWireFault)
    /// `i2c.<addr>.stuck`: the chip's output registers stop updating.
    case i2cStuck(address: UInt8)
    /// `i2c.<addr>.reset`: the chip returns to power-on defaults (an instant event).
    case i2cReset(address: UInt8)
    /// `i2c.<addr>.whoami`: WHO_AM_I reads another value.
    case i2cWhoAmI(address: UInt8, value: UInt8)
    /// `sensor.<device>.drift|spike|stuck`, on the element of `chip`.
    case sensor(device: DeviceID, SensorFault, chip: SenseHATChip)
    /// `gpio.<line>.stuck|bounce`.
    case gpio(SimGPIOFault)
    /// `appliance.<device>.<failure>`: the appliance develops a failure, ramping in over `ramp`.
    case appliance(device: DeviceID, ApplianceFailure, ramp: Duration)
    /// `joystick.<keys>`: a person holds the joystick keys (KEYS bits) for the entry's duration.
    case joystick(keys: UInt8, name: String)
    /// `cloud.<kind>`: the connection, network or broker between the uplink and the cloud.
    case cloud(CloudFault)
    /// `kit.<device>.<kind>`: a monitoring kit on the home network misbehaves.
    case kit(device: DeviceID, KitFault)
    /// `component.<name>.<kind>`: one of the hub's components crashes, hangs or misbehaves.
    case component(name: String, ComponentFault)
    /// `deploy.<kind>` and `host.disk-full`: what goes wrong with deployments (`SimDeployments`).
    case deployment(DeploymentFault)
    /// `host.power-loss`: the hub is off for a while, then boots from its stores (`Simulation`).
    case powerLoss
    /// A timeline `deploy:` entry: the cloud publishes a deployment to the hub.
    case deploy(DeploymentSpec)
    /// `ipc.<kind>`: the hub's IPC bus server goes away, restarts, stalls or loses frames.
    case ipc(IPCFault)
    /// A timeline `revoke:` entry: the hub's owner revokes a kit's certificate (`hub kit revoke`).
    case revokeKit(DeviceID)

    public var name: String {
        switch self {
        case .i2cWire(let address, let fault):
            let kind = switch fault {
            case .absent: "absent"
            case .nack: "nack"
            case .timeout: "timeout"
            case .slow: "slow"
            case .bitflip: "bitflip"
            }
            return "i2c.\(hexAddress(address)).\(kind)"
        case .i2cStuck(let address): return "i2c.\(hexAddress(address)).stuck"
        case .i2cReset(let address): return "i2c.\(hexAddress(address)).reset"
        case .i2cWhoAmI(let address, _): return "i2c.\(hexAddress(address)).whoami"
        case .sensor(let device, let fault, _): return "sensor.\(device).\(fault.kind)"
        case .gpio(let fault):
            switch fault {
            case .stuck(let line, _): return "gpio.\(line).stuck"
            case .bounce(let line, _): return "gpio.\(line).bounce"
            }
        case .joystick(_, let name): return "joystick.\(name)"
        case .appliance(let device, let failure, _): return "appliance.\(device).\(failure.rawValue)"
        case .cloud(let fault): return "cloud.\(fault.kind)"
        case .kit(let device, let fault): return "kit.\(device).\(fault.kind)"
        case .component(let name, let fault): return "component.\(name).\(fault.kind)"
        case .deployment(let fault): return fault.name
        case .powerLoss: return "host.power-loss"
        case .deploy(let spec): return "deploy.publish.\(spec.id)"
        case .ipc(let fault): return "ipc.\(fault.kind)"
        case .revokeKit(let device): return "owner.revoke.\(device)"
        }
    }
}

/// One timeline entry: a fault (or a person's action, like a joystick press) starting `at`
/// after the run's start, for `duration` (or to the end).
public struct ScheduledFault: Equatable, Sendable {
    public var at: Duration
    public var duration: Duration?
    public var fault: SimFault
    /// Limit an I²C fault to one device's kit; nil means every kit.
    public var device: DeviceID?
    /// What a person at a bench does for this entry (a scenario's `prompt:`): a bench run on
    /// real hardware shows it and waits; a simulation and the stand-in do it themselves.
    public var prompt: String?

    public init(at: Duration, duration: Duration?, fault: SimFault, device: DeviceID? = nil, prompt: String? = nil) {
        self.at = at
        self.duration = duration
        self.fault = fault
        self.device = device
        self.prompt = prompt
    }
}

/// Appliance kinds the simulator has physics for.
public enum SimulatedAppliances {
    public static let kinds: [ApplianceKind] = [.furnace, .washer, .fridge]

    /// The physics model of `kind`, in the shared house.
    static func model(_ kind: ApplianceKind, weather: HouseWeather, start: Instant, random: SeededRandom) -> any SensorEnvironmentSource {
        switch kind {
        case .furnace: FurnaceModel(weather: weather, start: start, random: random)
        case .washer: WasherModel(weather: weather, start: start, random: random)
        case .fridge: FridgeModel(weather: weather, start: start, random: random)
        }
    }
}

/// One monitored appliance in the simulated house: its physics and a whole Sense HAT on its own bus.
public final class SimKit {
    public let device: HubConfig.Device
    public let bus: SimI2CBus
    public let appliance: any SensorEnvironmentSource
    /// The physics as the sensing elements see it (sensor faults live here).
    public let environment: FaultableEnvironment
    public let hts221: HTS221Model
    public let lps25h: LPS25HModel
    public let accelGyro: LSM9DS1AccelGyroModel
    public let magnetometer: LSM9DS1MagnetometerModel
    public let monitoring: MonitoringKit

    init(device: HubConfig.Device, clock: any HubClock, weather: HouseWeather, start: Instant, random: inout SeededRandom) {
        precondition(SimulatedAppliances.kinds.contains(device.kind), "no physics model for \(device.kind)")
        self.device = device
        monitoring = .for(device.kind)
        var streams = random.split("device.\(device.id)")
        bus = SimI2CBus(clock: clock, random: streams.split("bus"))
        appliance = SimulatedAppliances.model(device.kind, weather: weather, start: start, random: streams.split("physics"))
        environment = FaultableEnvironment(source: appliance, random: streams.split("sensor-faults"))
        var calibrationStream = streams.split("hts221.calibration")
        // The HAT sits on the Pi: its thermometers read the Pi's warmth too (`SelfHeating`).
        hts221 = HTS221Model(calibration: HTS221Model.randomCalibration(using: &calibrationStream),
                             source: environment.element(.hts221), random: streams.split("hts221.noise"),
                             selfHeating: SelfHeating.piUnderHAT.hts221)
        let lps25hStream = streams.split("lps25h")
        accelGyro = LSM9DS1AccelGyroModel(source: environment.element(.lsm9ds1), random: streams.split("lsm9ds1.ag"))
        magnetometer = LSM9DS1MagnetometerModel(source: environment.element(.lsm9ds1), random: streams.split("lsm9ds1.m"))
        // Split last, so the streams above are those of kits before the thermometer existed.
        lps25h = LPS25HModel(source: environment.element(.lps25h), random: lps25hStream,
                             thermometerRandom: streams.split("lps25h.thermometer"), selfHeating: SelfHeating.piUnderHAT.lps25h)
        bus.attach(hts221, at: HTS221Register.address)
        bus.attach(lps25h, at: LPS25HRegister.address)
        bus.attach(accelGyro, at: LSM9DS1AccelGyroRegister.address)
        bus.attach(magnetometer, at: LSM9DS1MagnetometerRegister.address)
    }

    /// The chip model at `address`, if it can show chip-level faults.
    func faultableChip(at address: UInt8) -> (any SimFaultableChip)? {
        bus.device(at: address) as? any SimFaultableChip
    }

    /// The production drivers this kit's hub polls.
    public func drivers(verifyReads: Bool = true) -> [any SensorDriver] { monitoring.drivers(on: bus, verifyReads: verifyReads) }
}

/// The simulated world a hub lives in: the house, its appliances and their Sense HATs,
/// the LED matrix and the cloud — everything but the hub and the clock that drives it.
///
/// The discrete-event `Simulation` drives it with virtual time; `hub run --backend sim`
/// and `hubrig sim i2c-serve` drive the same world with the real clock. Random streams
/// are split from the one seed in a fixed order.
public final class SimWorld {
    public let start: Instant
    public let weather: HouseWeather
    public let kits: [SimKit]
    public let display: ATtiny88Model
    /// The Pi's GPIO chip: the joystick interrupt arrives on line 23.
    public let gpio: SimGPIOChip
    public let cloud: SimCloudBroker
    /// The hub's components as processes that crash and hang (`Simulation` connects it to the node).
    public let components = SimComponentFaults()
    /// The cloud's artifact bucket, the host's free space and the deployment faults.
    public let deployments = SimDeployments()
    /// The kits that publish over MQTT (`sensor: mqtt-kit`), in device order.
    public let mqttKits: [SimMQTTKit]
    /// The IPC bus server and the component processes behind it (`Simulation` fills it).
    public let ipc: SimIPCBus
    /// The hub's local broker for the MQTT kits, checking their certificates.
    public let kitBroker: SimKitBroker
    private let history: any HistorySink

    /// `kitCertificates`: the hub's enrolment record; with it, the kits' broker takes only
    /// kits presenting their certificates (each kit's previous serial is on its revocation
    /// list); without, it is a plaintext broker.
    public init(devices: [HubConfig.Device], seed: UInt64, start: Instant, clock: any HubClock, history: any HistorySink,
                kitCertificates: [KitCertificate] = []) {
        precondition(!devices.isEmpty, "a hub monitors at least one device")
        self.start = start
        self.history = history
        var root = SeededRandom(seed: seed)
        weather = HouseWeather(start: start, random: root.split("weather"))
        gpio = SimGPIOChip()
        display = ATtiny88Model(history: history, gpio: gpio, interruptLine: SimWorld.joystickLine)
        var kits: [SimKit] = []
        for device in devices {
            kits.append(SimKit(device: device, clock: clock, weather: weather, start: start, random: &root))
        }
        self.kits = kits
        // Split after the kits, so their streams are those of worlds before the cloud had one.
        cloud = SimCloudBroker(history: history, random: root.split("cloud"))
        var mqttKits: [SimMQTTKit] = []
        for kit in kits {
            guard case .mqttKit(let interval) = kit.device.source else { continue }
            let enrolled = kitCertificates.last { $0.device == kit.device.id }
            let neighbour = devices.first { $0.id != kit.device.id }?.id ?? "stranger"
            mqttKits.append(SimMQTTKit(kit: kit, interval: interval, verifyReads: true, random: root.split("mqtt-kit.\(kit.device.id)"),
                                       enrolled: enrolled, previousSerial: enrolled.map { Self.previousSerial(of: $0) }, neighbour: neighbour))
        }
        self.mqttKits = mqttKits
        kitBroker = SimKitBroker(requiresCertificates: !kitCertificates.isEmpty,
                                 revokedSerials: kitCertificates.filter { $0.revokedAt != nil }.map(\.serial) + mqttKits.compactMap(\.previousSerial),
                                 history: history)
        for kit in mqttKits where !kitCertificates.isEmpty { kit.broker = kitBroker }
        // Split last, so the streams above are those of worlds before the IPC bus had one.
        ipc = SimIPCBus(history: history, clock: clock, random: root.split("ipc"))
        // The hub's own HAT: the first kit's (the LED matrix and joystick live there).
        kits[0].bus.attach(display, at: ATtiny88Register.address)
    }

    /// The hub lost power: the Sense HAT's chips forget their registers (their calibration
    /// is in non-volatile memory), and the broker sees the client vanish.
    public func powerLost(now: Instant) {
        for kit in kits {
            kit.hts221.powerOnReset()
            kit.lps25h.powerOnReset()
            kit.accelGyro.powerOnReset()
            kit.magnetometer.powerOnReset()
        }
        kernel?.powerLost()
        cloud.clientGone(now: now)
        kitBroker.restart()
    }

    /// The serial of the certificate a kit held before `certificate` (revoked when it was enrolled again).
    static func previousSerial(of certificate: KitCertificate) -> String { certificate.serial + "-1" }

    /// The GPIO line of the Sense HAT's joystick interrupt.
    public static let joystickLine = 23

    /// The kernel drivers of the rpi-sense overlay, when the world presents a Pi that
    /// loaded it (`bindKernelDrivers`); nil: the hub drives 0x46 and GPIO23 itself.
    public private(set) var kernel: SimSenseHATKernel?

    /// Presents the hub a Pi with the rpi-sense overlay loaded: its LED matrix and joystick
    /// come through the kernel's framebuffer and event device (twins on the first kit's bus).
    public func bindKernelDrivers() {
        kernel = SimSenseHATKernel(bus: kits[0].bus)
    }

    /// Ports for a `HubNode` living in this world (timers, completions and history come from
    /// the shell that runs it). The outbox is the hub's own SQLite outbox over an in-memory
    /// database unless one is given.
    public func hubPorts(timers: any TimerPort, completions: any CompletionSink, history: any HistorySink,
                         verifyReads: Bool = true, outbox: (any OutboxStore)? = nil) -> HubPorts {
        cloud.completions = completions
        deployments.completions = completions
        for kit in mqttKits { kit.completions = completions }
        kitBroker.completions = completions
        let outbox = outbox ?? Self.inMemoryOutbox()
        let polled = kits.filter { $0.device.source == .senseHAT }
        let display: any LEDMatrix = kernel.map { FramebufferLEDMatrix(device: $0.framebuffer) } ?? LEDMatrixDriver(bus: kits[0].bus)
        let joystick: any JoystickReader = kernel?.joystick ?? JoystickDriver(bus: kits[0].bus)
        return HubPorts(sensorKits: polled.map { $0.drivers(verifyReads: verifyReads) }, display: display,
                 joystick: joystick, joystickLine: Self.joystickLine,
                 cloud: cloud, outbox: outbox, timers: timers, history: history)
    }

    private static func inMemoryOutbox() -> SQLiteOutboxStore {
        do { return try SQLiteOutboxStore(path: nil) } catch { preconditionFailure("an in-memory SQLite outbox: \(error)") }
    }

    /// Records every conversion's true conditions in the history (`sim.truth`), for
    /// checkers that compare readings with the truth.
    public func recordTruth() {
        for kit in kits {
            let device = kit.device.id
            kit.hts221.truthSink = { [history] environment, instant in
                history.record(.sensorTruth(device: device, chip: "HTS221",
                                            values: ChannelValues([(.temperature, environment.temperature), (.humidity, environment.humidity)])),
                               at: instant)
            }
            kit.lps25h.truthSink = { [history] environment, instant in
                history.record(.sensorTruth(device: device, chip: "LPS25H", values: ChannelValues([(.pressure, environment.pressure)])), at: instant)
            }
        }
    }

    /// Starts or ends a fault at `now`.
    public func apply(_ scheduled: ScheduledFault, active: Bool, now: Instant) {
        history.record(active ? .faultStart(name: scheduled.fault.name) : .faultEnd(name: scheduled.fault.name), at: now)
        for part in parts(targetedBy: scheduled) { part.apply(scheduled.fault, active: active, now: now) }
    }

    /// The simulated parts a fault's target names, in kit order: the world only routes,
    /// each part applies the kinds it declares.
    private func parts(targetedBy scheduled: ScheduledFault) -> [any FaultApplying] {
        let targeted = kits.filter { scheduled.device == nil || scheduled.device == $0.device.id }
        switch scheduled.fault {
        case .gpio: return [gpio]
        case .joystick: return [display]
        case .cloud: return [cloud]
        case .kit(let device, _): return mqttKits.filter { $0.kit.device.id == device }
        case .component: return [components]
        case .deployment: return [deployments]
        case .powerLoss, .deploy, .revokeKit: return []  // the simulation itself carries these out
        case .ipc: return [ipc]
        case .i2cWire: return targeted.map(\.bus)
        case .i2cStuck(let address), .i2cReset(let address), .i2cWhoAmI(let address, _):
            return targeted.compactMap { $0.faultableChip(at: address) }
        case .sensor(let device, _, _):
            return targeted.filter { $0.device.id == device }.map(\.environment)
        case .appliance(let device, _, _):
            return targeted.filter { $0.device.id == device }.compactMap { $0.appliance as? any FailureInjectable }
        }
    }
}
