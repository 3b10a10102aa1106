import HubCore
import HubDrivers
import HubInference

/// The one shape every hub component has: a value that names itself, declares the topics
/// it subscribes to and may publish, and turns each event into actions.
///
/// It never does I/O and never waits: it asks for port work (`request`), and the answer
/// comes back as a `completion` event — at once for a sensor driver, later for the cloud.
/// Nothing in it knows whether its host is the hub's own process or, later, a process at
/// the other end of an IPC port: the host carries out actions and feeds events, and both
/// are plain values, so the same component runs under either.
public protocol HubComponent {
    /// The component's own timers (a value, so the loop can order them and the component
    /// can recognise one that no longer matters).
    associatedtype Timer: Sendable

    /// Its name on the bus (`from` of what it publishes) and in the history.
    var name: String { get }
    /// The topics it hears, in the order the host subscribes them.
    var subscriptions: [TopicFilter] { get }
    /// The topics it may publish on; publishing elsewhere is a bug the host stops.
    var publications: [TopicFilter] { get }

    mutating func handle(_ event: ComponentEvent<Timer>, now: Instant) -> [ComponentAction<Timer>]

    /// Why a deployment that asks to defer for this component should wait (it is not at a
    /// safe point: the uplink while its outbox holds unsent messages), or nil to go ahead.
    var safePoint: String? { get }
}

extension HubComponent {
    public var safePoint: String? { nil }
}

/// What a component is handed.
public enum ComponentEvent<Timer: Sendable>: Sendable {
    /// The hub boots.
    case start
    /// A bus message on a topic it subscribes to.
    case message(Topic, BusMessage)
    /// One of its own timers came due.
    case timer(Timer)
    /// A port's answer to a request (its own, or the cloud's about messages it sent).
    case completion(PortCompletion)
    /// Something happened at the hub's inputs.
    case input(HubInput)
    /// An instruction from the hub's shell or supervisor.
    case command(HubCommand)
}

/// What a component asks its host to do.
public enum ComponentAction<Timer: Sendable>: Sendable {
    case publish(Topic, BusMessage)
    case schedule(Timer, at: Instant)
    case record(HistoryEvent)
    case request(PortRequest)
}

/// Port work a component can ask for; the host performs it against `HubPorts`.
public enum PortRequest: Sendable {
    case initialiseSensor(device: Int, chip: Int)
    case sampleSensor(device: Int, chip: Int)
    case writeDisplay(LEDFrame)
    case readJoystick
    case sendCloud(CloudMessage)
}

/// An input event the hub's host turns GPIO edges into.
public enum HubInput: Equatable, Sendable {
    /// The joystick's interrupt line rose: KEYS changed.
    case joystickInterrupt
}

/// An instruction from outside the components.
public enum HubCommand: Sendable {
    /// Put `package` in charge of `device` (the shell has loaded and checked it; the kernel reads no files).
    case installModel(device: DeviceID, package: ModelPackage)
    /// The owner revoked kit `device`'s certificate (`hub kit revoke`): refuse it from now on.
    case revokeKit(device: DeviceID, serial: String)
}

/// Names a hub timer for the loop: which component (by its place in the host), which run of
/// it (a timer a crashed run set must not reach its restarted successor), and its own value.
/// `component` is `HubTimer.supervisor` for the supervisor's own timers.
public struct HubTimer: Sendable {
    public let component: Int
    public let incarnation: Int
    public let payload: any Sendable

    public static let supervisor = -1
    /// The deployment agent's timers.
    public static let deployments = -2

    public init(component: Int, incarnation: Int = 0, payload: any Sendable) {
        self.component = component
        self.incarnation = incarnation
        self.payload = payload
    }
}
