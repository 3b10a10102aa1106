import HubCore
import HubDrivers

/// The timer port: the shell wakes the hub at `at` with `timer`.
/// The IPC bus server's side of its connections (docs/ipc.md): the node hands it frames for
/// a session and asks it to close one; what arrives comes back through `HubNode.ipc*`.
public protocol IPCPort: AnyObject {
    func send(_ frame: IPCFrame, session: Int)
    func close(session: Int, reason: String)
}

/// Starts and stops component programs; an exit comes back as `PortCompletion.processExited`.
public protocol ProcessPort: AnyObject {
    func start(_ recipe: ComponentRecipe)
    func stop(_ component: String)
}

public protocol TimerPort: AnyObject {
    func schedule(_ timer: HubTimer, at: Instant)
}

/// A message for the cloud, with the stable ID the cloud uses to de-duplicate.
public struct CloudMessage: Equatable, Sendable {
    public var topic: Topic
    public var messageID: String
    public var payload: [UInt8]

    public init(topic: Topic, messageID: String, payload: [UInt8]) {
        self.topic = topic
        self.messageID = messageID
        self.payload = payload
    }
}

/// What became of a cloud request, delivered later as an event.
public enum CloudCompletion: Equatable, Sendable {
    /// The cloud has the message (MQTT PUBACK; the spool file has it on disk).
    case acknowledged(messageID: String)
    /// The message did not get there; the uplink keeps it and sends it again.
    case failed(messageID: String, reason: String)
    /// The connection to the cloud went up or down.
    case connection(up: Bool, reason: String)
    /// A message the cloud sent the hub (on a subscribed topic, the deployments).
    case inbound(topic: String, payload: [UInt8])
}

/// A port's answer to an earlier request: ports never answer inside the call that asked,
/// so a component's state is never re-entered.
public enum PortCompletion: Equatable, Sendable {
    case cloud(CloudCompletion)
    /// A sensor driver's initialisation (drivers answer at once, within the request).
    case sensorInitialised(device: Int, chip: Int, Result<String, DriverError>)
    /// A sensor driver's sample: values, nil when not ready, or the error.
    case sensorSampled(device: Int, chip: Int, Result<ChannelValues?, DriverError>)
    /// The LED matrix write, failed or not.
    case displayWritten(error: DriverError?)
    /// The joystick's keys after an interrupt.
    case joystick(Result<JoystickKeys, DriverError>)
    /// A message from a monitoring kit on the hub's local broker.
    case kitMessage(topic: String, payload: [UInt8])
    /// A frame from a component process on IPC session `session`.
    case ipcFrame(session: Int, IPCFrame)
    /// IPC session `session` ended (the process hung up or broke the protocol).
    case ipcClosed(session: Int)
    /// The IPC bus server stopped serving (`up: false`: its sessions are gone, connections
    /// refused) or serves again. Components cannot answer probes through a server that is
    /// down, so their silence then says nothing about them.
    case ipcServer(up: Bool)
    /// A component's program exited (`reason`: its status or signal).
    case processExited(component: String, reason: String)
    /// A deployment artifact's bytes (not yet checked against its digest), or why not.
    case artifactFetched(DeploymentDocument.Artifact, Result<[UInt8], DeploymentFailure>)
}

/// Where deployment artifacts come from: the cloud's bucket (a directory standing in for it
/// live, a simulated bucket in scenarios). The answer comes later as `artifactFetched`.
public protocol ArtifactPort: AnyObject {
    func fetch(_ artifact: DeploymentDocument.Artifact, at: Instant)
}

/// What the host has free, for a deployment's prerequisites (answers at once).
public protocol HostResources: AnyObject {
    func freeBytes() -> (disk: Int64, memory: Int64)
}

/// What a hub needs to take deployments: the durable record and artifacts, the bucket, the
/// host's free space, and a reader for recipe files (YAML lives outside the kernel).
public struct DeploymentPorts {
    public var store: any DeploymentStore
    public var artifacts: any ArtifactPort
    public var host: any HostResources
    /// Parses a recipe artifact's bytes (`file` names it in errors).
    public var readRecipe: ([UInt8], _ file: String) throws -> ComponentRecipe

    public init(store: any DeploymentStore, artifacts: any ArtifactPort, host: any HostResources,
                readRecipe: @escaping ([UInt8], _ file: String) throws -> ComponentRecipe) {
        self.store = store
        self.artifacts = artifacts
        self.host = host
        self.readRecipe = readRecipe
    }
}

/// Where ports deliver completions: the shell queues each one and hands it to the hub
/// from its loop at `at` (the simulator's event queue, the live shell's next turn).
public protocol CompletionSink: AnyObject {
    func complete(_ completion: PortCompletion, at: Instant)
    /// Several completions at once, in order (a port thread's batch: one wake-up for all).
    func complete(contentsOf completions: [PortCompletion], at: Instant)
}

extension CompletionSink {
    public func complete(contentsOf completions: [PortCompletion], at instant: Instant) {
        for completion in completions { complete(completion, at: instant) }
    }
}

/// The cloud port: where the uplink hands messages (a simulated broker, MQTT, a spool file).
///
/// `send` only starts the request; whether the message arrived comes back later through
/// the `CompletionSink` the port was given, as `acknowledged` or `failed` — a port that
/// could report nothing would let a lost message look delivered.
public protocol CloudPort: AnyObject {
    func send(_ message: CloudMessage, at: Instant)
}

/// The hardware and services a hub runs against; production and simulation fill it differently.
public struct HubPorts {
    /// One list of sensor drivers per configured device, in `HubConfig.devices` order.
    public var sensorKits: [[any SensorDriver]]
    /// The LED matrix, if the hub has one.
    public var display: (any LEDMatrix)?
    /// The joystick (KEYS behind the ATtiny88), read when its interrupt line rises.
    public var joystick: (any JoystickReader)?
    /// The GPIO line the joystick interrupt arrives on.
    public var joystickLine: Int
    /// The Sense HAT's joystick interrupt: GPIO23.
    public static let joystickLine = 23
    public var cloud: any CloudPort
    /// The durable outbox the uplink commits every cloud message to (SQLite: a file live,
    /// in memory in the simulator).
    public var outbox: any OutboxStore
    public var timers: any TimerPort
    public var history: any HistorySink
    /// The IPC bus server's connections, for components in processes of their own (none:
    /// every component runs in the hub process).
    public var ipc: (any IPCPort)?
    /// Starts and stops the programs of components with a `command` lifecycle (none: they
    /// are started elsewhere, by a service manager, and only connect).
    public var processes: (any ProcessPort)?
    /// Deployments from the cloud (none: the hub answers each with `rejected`).
    public var deployments: DeploymentPorts?

    public init(sensorKits: [[any SensorDriver]], display: (any LEDMatrix)?, joystick: (any JoystickReader)? = nil,
                joystickLine: Int = 23, cloud: any CloudPort, outbox: any OutboxStore, timers: any TimerPort, history: any HistorySink,
                ipc: (any IPCPort)? = nil) {
        self.ipc = ipc
        self.sensorKits = sensorKits
        self.display = display
        self.joystick = joystick
        self.joystickLine = joystickLine
        self.cloud = cloud
        self.outbox = outbox
        self.timers = timers
        self.history = history
    }
}

extension HubPorts {
    /// Carries out one component's port request against these ports: drivers answer within
    /// it (the completion comes back now), the cloud answers later through its sink.
    ///
    /// One place for it, because a component runs the same way in the hub process (the
    /// node's host) and in a process of its own (`hub component`, the simulator's IPC shell).
    public func perform(_ request: PortRequest, now: Instant) -> PortCompletion? {
        switch request {
        case .initialiseSensor(let device, let chip):
            let driver = sensorKits[device][chip]
            do throws(DriverError) { return .sensorInitialised(device: device, chip: chip, .success(try driver.initialise())) } catch {
                return .sensorInitialised(device: device, chip: chip, .failure(error))
            }
        case .sampleSensor(let device, let chip):
            let driver = sensorKits[device][chip]
            do throws(DriverError) { return .sensorSampled(device: device, chip: chip, .success(try driver.sample())) } catch {
                return .sensorSampled(device: device, chip: chip, .failure(error))
            }
        case .writeDisplay(let frame):
            guard let display else { return nil }
            do throws(DriverError) { try display.write(frame) } catch { return .displayWritten(error: error) }
            return nil
        case .readJoystick:
            guard let joystick else { return nil }
            do throws(DriverError) { return .joystick(.success(try joystick.readKeys())) } catch { return .joystick(.failure(error)) }
        case .sendCloud(let message):
            cloud.send(message, at: now)
            return nil
        }
    }
}
