import HubCore

/// The recipes of the hub's own components: the grants and health rules the supervisor
/// applies to them.
///
/// They are values here, not files, because the hub must run without an install step and
/// the kernel reads no files; `hub recipes` writes them out as YAML (`RecipeText`), and a
/// test reads that YAML back with the same reader deployments use, so the two cannot drift.
///
/// The producers depend on their consumers: the sensor and the kit bridge start only once
/// inference and the uplink run, so no reading is published before anyone hears it.
public enum BuiltinRecipes {
    public static let version = SemanticVersion(1, 0, 0)

    public static let inference = ComponentRecipe(
        name: "inference", version: version,
        summary: "Scores each device's readings with its model package and raises alerts.",
        configuration: ["debounce_k": .number(3), "debounce_n": .number(5)],
        lifecycle: .builtin("inference"),
        access: AccessPolicy(publish: ["hbs/inference/+", "hbs/alerts/+"], subscribe: ["dt/local/sensor/+"]))

    public static let display = ComponentRecipe(
        name: "display", version: version,
        summary: "Shows the hub's state on the LED matrix and scrolls the joystick's answers.",
        lifecycle: .builtin("display"),
        access: AccessPolicy(publish: [], subscribe: ["dt/local/sensor/+", "hbs/alerts/+", "hbs/health/#", "hbs/deployments/status"], publishRateMax: 1))

    public static let uplink = ComponentRecipe(
        name: "uplink", version: version,
        summary: "Keeps telemetry, alerts and health in the durable outbox and sends them to the cloud.",
        configuration: ["telemetry_batch": .string("24h"), "compression_level": .number(6)],
        lifecycle: .builtin("uplink"),
        // The uplink must keep up with every reading of every kit while the cloud is away.
        access: AccessPolicy(publish: ["hbs/health/uplink"], subscribe: ["dt/local/sensor/+", "hbs/alerts/+", "hbs/health/#", "hbs/deployments/status"],
                             queueCountMax: 10_000, publishRateMax: 5))

    public static let sensor = ComponentRecipe(
        name: "sensor", version: version,
        summary: "Reads the Sense HAT's chips over I²C and publishes one reading per device per poll.",
        dependencies: [.init(name: "inference", versions: caret), .init(name: "uplink", versions: caret)],
        configuration: ["poll_interval": .string("10s")],
        lifecycle: .builtin("sensor"),
        // One reading per device per poll (polls are at least a second apart), and its health.
        access: AccessPolicy(publish: ["dt/local/sensor/+", "hbs/health/sensor"], subscribe: [], publishRateMax: 20))

    public static let kitBridge = ComponentRecipe(
        name: "kit-bridge", version: version,
        summary: "Checks readings from monitoring kits on the local broker and publishes the good ones.",
        dependencies: [.init(name: "inference", versions: caret), .init(name: "uplink", versions: caret)],
        lifecycle: .builtin("kit-bridge"),
        access: AccessPolicy(publish: ["dt/local/sensor/+", "hbs/health/kit-bridge"], subscribe: []))

    /// All of them, in the order the hub adds them to its bus (which is the order
    /// subscribers of one topic hear a message in).
    public static let all = [sensor, kitBridge, inference, display, uplink]

    private static var caret: VersionRange { VersionRange(caret: version) }

    public static func recipe(named name: String) -> ComponentRecipe? { all.first { $0.name == name } }
}

extension VersionRange {
    /// `^version`: the versions compatible with it.
    public init(caret version: SemanticVersion) {
        do { try self.init(parsing: "^\(version)") } catch { preconditionFailure("a version always makes a caret range: \(error)") }
    }
}
