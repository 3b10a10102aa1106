import HubCore
import Yams

/// Reads a component recipe (YAML, docs/components.md) into a `ComponentRecipe`, or an error
/// naming file, line, column and field.
///
/// Recipes arrive with deployments as well as from the hub's own files, so the reader is
/// strict: unknown fields, out-of-range numbers and oversized lists are errors, never
/// ignored or clamped.
public enum RecipeFile {
    public static let maximumFileBytes = 256 * 1024
    /// Entries at most in any list of a recipe (dependencies, topic filters, arguments).
    public static let listCountMax = 256

    public static func read(atPath path: String) throws(YAMLFileError) -> ComponentRecipe {
        try parse(bytes: try YAMLDocument.bytes(atPath: path, maximumBytes: maximumFileBytes), file: path)
    }

    public static func parse(bytes: [UInt8], file: String) throws(YAMLFileError) -> ComponentRecipe {
        guard let root = try YAMLDocument.root(bytes: bytes, file: file) else {
            throw YAMLFileError(file: file, line: nil, column: nil, field: nil, message: "the recipe is empty")
        }
        return try recipe(root)
    }

    public static func parse(text: String, file: String) throws(YAMLFileError) -> ComponentRecipe {
        try parse(bytes: Array(text.utf8), file: file)
    }

    static func recipe(_ root: YAMLValue) throws(YAMLFileError) -> ComponentRecipe {
        let map = try root.map()
        try map.finish(known: ["name", "version", "summary", "dependencies", "configuration", "lifecycle", "access", "health"])
        let nameValue = try map.required("name")
        let name = try nameValue.string()
        guard ComponentRecipe.isName(name) else {
            throw nameValue.error("\(name.debugDescription) is not a component name (lowercase letters, digits and '-', starting with a letter, at most 64)")
        }
        let versionValue = try map.required("version")
        let version: SemanticVersion
        let versionText = try versionValue.string()
        do throws(VersionError) { version = try SemanticVersion(parsing: versionText) } catch { throw versionValue.error(error.description) }
        let summary = try map.optional("summary")?.string() ?? ""
        var dependencies: [ComponentRecipe.Dependency] = []
        if let value = map.optional("dependencies") {
            let dependencyMap = try value.map()
            guard dependencyMap.keys.count <= listCountMax else { throw value.error("more than \(listCountMax) dependencies") }
            for key in dependencyMap.keys {
                let rangeValue = try dependencyMap.required(key)
                guard ComponentRecipe.isName(key) else { throw rangeValue.error("\(key.debugDescription) is not a component name") }
                guard key != name else { throw rangeValue.error("a component cannot depend on itself") }
                let text = try rangeValue.string()
                do throws(VersionError) {
                    dependencies.append(.init(name: key, versions: try VersionRange(parsing: text)))
                } catch {
                    throw rangeValue.error(error.description)
                }
            }
        }
        var configuration: [String: JSONValue] = [:]
        if let value = map.optional("configuration") {
            guard case .object(let object) = try jsonValue(value) else { throw value.error("expected a mapping") }
            configuration = object
        }
        return ComponentRecipe(name: name, version: version, summary: summary, dependencies: dependencies,
                               configuration: configuration, lifecycle: try lifecycle(try map.required("lifecycle")),
                               access: try access(try map.required("access")),
                               health: try map.optional("health").map { value throws(YAMLFileError) in try health(value) } ?? HealthPolicy())
    }

    private static func lifecycle(_ value: YAMLValue) throws(YAMLFileError) -> ComponentRecipe.Lifecycle {
        let map = try value.map()
        try map.finish(known: ["builtin", "command"])
        switch (map.optional("builtin"), map.optional("command")) {
        case (let builtin?, nil):
            let name = try builtin.string()
            guard ComponentRecipe.builtinNames.contains(name) else {
                throw builtin.error("no built-in component is named \(name.debugDescription)\(ClosestName.hint(name, in: ComponentRecipe.builtinNames)) (built-ins: \(ComponentRecipe.builtinNames.joined(separator: ", ")))")
            }
            return .builtin(name)
        case (nil, let command?):
            let items = try command.list()
            guard (1...listCountMax).contains(items.count) else { throw command.error("expected 1...\(listCountMax) arguments, the program first") }
            var arguments: [String] = []
            for item in items {
                let argument = try item.string()
                guard !argument.utf8.contains(0) else { throw item.error("an argument cannot contain a NUL byte") }
                arguments.append(argument)
            }
            guard !arguments[0].isEmpty else { throw items[0].error("the program is empty") }
            return .external(arguments: arguments)
        case (nil, nil):
            throw map.owner.error("expected 'builtin: NAME' or 'command: [PROGRAM, ARGS...]'")
        case (_?, _?):
            throw map.owner.error("give 'builtin' or 'command', not both")
        }
    }

    private static func access(_ value: YAMLValue) throws(YAMLFileError) -> AccessPolicy {
        let map = try value.map()
        try map.finish(known: ["publish", "subscribe", "queue_max", "publish_rate_max"])
        let queue = try map.optional("queue_max")?.int(in: AccessPolicy.queueCountRange) ?? 1_000
        let rate = try map.optional("publish_rate_max")?.double(in: AccessPolicy.publishRateRange) ?? 50
        return AccessPolicy(publish: try filters(map.optional("publish")), subscribe: try filters(map.optional("subscribe")),
                            queueCountMax: queue, publishRateMax: rate)
    }

    private static func filters(_ value: YAMLValue?) throws(YAMLFileError) -> [TopicFilter] {
        guard let value else { return [] }
        let items = try value.list()
        guard items.count <= listCountMax else { throw value.error("more than \(listCountMax) topic filters") }
        var filters: [TopicFilter] = []
        for item in items {
            let text = try item.string()
            do throws(TopicError) { filters.append(try TopicFilter(validating: text)) } catch {
                throw item.error(error.description)
            }
        }
        return filters
    }

    private static func health(_ value: YAMLValue) throws(YAMLFileError) -> HealthPolicy {
        let map = try value.map()
        try map.finish(known: ["probe_interval", "probe_timeout", "failures_max", "failure_window", "restart_delay", "restart_delay_max"])
        let defaults = HealthPolicy()
        func duration(_ key: String, _ fallback: Duration) throws(YAMLFileError) -> Duration {
            try map.optional(key)?.duration(in: HealthPolicy.durationRange) ?? fallback
        }
        let restartDelay = try duration("restart_delay", defaults.restartDelay)
        let restartDelayMax = try duration("restart_delay_max", max(defaults.restartDelayMax, restartDelay))
        guard restartDelay <= restartDelayMax else {
            throw (map.optional("restart_delay") ?? value).error("restart_delay is above restart_delay_max (\(DurationText.format(restartDelayMax)))")
        }
        return HealthPolicy(probeInterval: try duration("probe_interval", defaults.probeInterval),
                            probeTimeout: try duration("probe_timeout", defaults.probeTimeout),
                            failuresMax: try map.optional("failures_max")?.int(in: HealthPolicy.failuresRange) ?? defaults.failuresMax,
                            failureWindow: try duration("failure_window", defaults.failureWindow),
                            restartDelay: restartDelay, restartDelayMax: restartDelayMax)
    }

    /// Nesting at most this deep in a configuration, and values at most this many: bounds
    /// on hostile recipes (aliases can make a short file expand exponentially).
    static let configurationDepthMax = 16
    static let configurationValueCountMax = 10_000

    /// A YAML value as JSON, within the bounds a recipe's configuration has (depth,
    /// values): a deployment document written in YAML.
    public static func jsonValue(_ value: YAMLValue) throws(YAMLFileError) -> JSONValue {
        var budget = configurationValueCountMax
        return try json(value, depth: 0, budget: &budget)
    }

    /// A YAML value as JSON: mappings, lists, and scalars read as YAML's core schema reads
    /// them (null, booleans, numbers, else strings).
    static func json(_ value: YAMLValue, depth: Int, budget: inout Int) throws(YAMLFileError) -> JSONValue {
        guard depth < configurationDepthMax else { throw value.error("nested more than \(configurationDepthMax) levels deep") }
        budget -= 1
        guard budget >= 0 else { throw value.error("more than \(configurationValueCountMax) values in the configuration") }
        switch value.node {
        case .mapping:
            let map = try value.map()
            var object: [String: JSONValue] = [:]
            for key in map.keys { object[key] = try json(try map.required(key), depth: depth + 1, budget: &budget) }
            return .object(object)
        case .sequence:
            var array: [JSONValue] = []
            for item in try value.list() { array.append(try json(item, depth: depth + 1, budget: &budget)) }
            return .array(array)
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            switch scalar.string {
            case "null", "~", "": return .null
            case "true": return .bool(true)
            case "false": return .bool(false)
            default:
                if let number = Double(scalar.string), number.isFinite { return .number(number) }
                return .string(scalar.string)
            }
        case .alias:
            throw value.error("unresolved alias")
        }
    }
}
