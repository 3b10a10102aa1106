/// What the supervisor needs to know to run one component: its name and version, what it
/// depends on, its default configuration, how it runs, what it may say and hear on the bus,
/// and how its health is judged.
///
/// Recipes are the unit a deployment changes (a new version of a component is a new recipe),
/// so everything the supervisor decides about a component comes from here and nothing from
/// the component's code: in particular the bus grants, which the component cannot widen.
/// docs/components.md documents every field.
public struct ComponentRecipe: Equatable, Sendable {
    public var name: String
    public var version: SemanticVersion
    public var summary: String
    public var dependencies: [Dependency]
    /// Default configuration: a JSON object a deployment merges into.
    public var configuration: [String: JSONValue]
    public var lifecycle: Lifecycle
    public var access: AccessPolicy
    public var health: HealthPolicy

    public init(name: String, version: SemanticVersion, summary: String = "", dependencies: [Dependency] = [],
                configuration: [String: JSONValue] = [:], lifecycle: Lifecycle, access: AccessPolicy, health: HealthPolicy = HealthPolicy()) {
        precondition(Self.isName(name), "component name \(name.debugDescription) is not plain")
        self.name = name
        self.version = version
        self.summary = summary
        self.dependencies = dependencies
        self.configuration = configuration
        self.lifecycle = lifecycle
        self.access = access
        self.health = health
    }

    /// The hub's own components, which `lifecycle: {builtin: NAME}` can name.
    public static let builtinNames = ["sensor", "kit-bridge", "inference", "display", "uplink"]

    /// `name@version`, as logs and deployment status messages name a component.
    public var identifier: String { "\(name)@\(version)" }

    /// A component name: it becomes part of topics (`hbs/health/<name>`), file names and
    /// command lines, so lowercase letters, digits and `-` only, starting with a letter.
    public static func isName(_ text: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return PlainName.isPlain(text, maximum: 64, extra: "-") && text.lowercased() == text
    }

    /// Another component this one needs running first, within a version range.
    public struct Dependency: Equatable, Sendable {
        public var name: String
        public var versions: VersionRange

        public init(name: String, versions: VersionRange) {
            self.name = name
            self.versions = versions
        }
    }

    /// How the component runs.
    public enum Lifecycle: Equatable, Sendable {
        /// One of the hub's own components, by its built-in name, inside the hub process (or
        /// in a process of its own through `hub component NAME --ipc SOCKET`).
        case builtin(String)
        /// An external program that speaks the IPC protocol (docs/ipc.md); `arguments[0]` is
        /// the executable.
        case external(arguments: [String])
    }
}

/// What a component may publish and subscribe to, and how much the bus holds for it.
///
/// Deny by default: a topic not matched by a filter here is refused, whatever the
/// component's code asks for.
public struct AccessPolicy: Equatable, Sendable {
    public var publish: [TopicFilter]
    public var subscribe: [TopicFilter]
    /// Messages the bus queues for this subscriber while it is not taking them (restarting,
    /// hung, or behind on its IPC socket); above it the oldest is dropped and counted.
    public var queueCountMax: Int
    /// Messages per second the component may publish on average; it may spend ten seconds'
    /// worth at once. Above it a publish is refused and counted, so a component that floods
    /// cannot fill the outbox or starve the others.
    public var publishRateMax: Double

    public static let queueCountRange = 1...100_000
    public static let publishRateRange: ClosedRange<Double> = 0.01...100_000
    /// How many seconds of `publishRateMax` a burst may use.
    public static let burstSeconds = 10.0

    public init(publish: [TopicFilter], subscribe: [TopicFilter], queueCountMax: Int = 1_000, publishRateMax: Double = 50) {
        precondition(Self.queueCountRange.contains(queueCountMax), "queue bound \(queueCountMax) outside \(Self.queueCountRange)")
        precondition(Self.publishRateRange.contains(publishRateMax), "publish rate \(publishRateMax) outside \(Self.publishRateRange)")
        self.publish = publish
        self.subscribe = subscribe
        self.queueCountMax = queueCountMax
        self.publishRateMax = publishRateMax
    }

    public func mayPublish(_ topic: Topic) -> Bool { publish.contains { $0.matches(topic) } }

    /// A subscription is granted when every topic it could match is allowed: the filter
    /// equals a granted one or is narrower than it.
    public func maySubscribe(_ filter: TopicFilter) -> Bool { subscribe.contains { $0.covers(filter) } }
}

/// How the supervisor judges and restarts a component.
///
/// A probe goes out every `probeInterval`; no answer within `probeTimeout` is a failure
/// (the component is hung), as is an exit. After a failure the component restarts after
/// `restartDelay`, doubling per further failure up to `restartDelayMax`; `failuresMax`
/// failures within `failureWindow` make it broken, and it is not restarted again until a
/// deployment replaces it.
public struct HealthPolicy: Equatable, Sendable {
    public var probeInterval: Duration
    public var probeTimeout: Duration
    public var failuresMax: Int
    public var failureWindow: Duration
    public var restartDelay: Duration
    public var restartDelayMax: Duration

    public static let failuresRange = 1...100
    public static let durationRange: ClosedRange<Duration> = .milliseconds(10)...(.seconds(86_400))

    public init(probeInterval: Duration = .seconds(30), probeTimeout: Duration = .seconds(10), failuresMax: Int = 3,
                failureWindow: Duration = .seconds(600), restartDelay: Duration = .seconds(1), restartDelayMax: Duration = .seconds(60)) {
        precondition(Self.failuresRange.contains(failuresMax), "failures_max \(failuresMax) outside \(Self.failuresRange)")
        for value in [probeInterval, probeTimeout, failureWindow, restartDelay, restartDelayMax] {
            precondition(Self.durationRange.contains(value), "health duration \(value) outside \(Self.durationRange)")
        }
        precondition(restartDelay <= restartDelayMax, "restart_delay above restart_delay_max")
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        self.failuresMax = failuresMax
        self.failureWindow = failureWindow
        self.restartDelay = restartDelay
        self.restartDelayMax = restartDelayMax
    }

    /// The wait before restart number `failures` (1 after the first failure), doubling, capped.
    public func restartDelay(afterFailures failures: Int) -> Duration {
        precondition(failures >= 1)
        var delay = restartDelay
        for _ in 1..<min(failures, 40) where delay < restartDelayMax { delay = delay * 2 }
        return min(delay, restartDelayMax)
    }
}
