import HubCore

/// Writes a recipe as the YAML `RecipeFile` reads (docs/components.md), for `hub recipes`
/// and the docs.
///
/// Every string is written double-quoted with JSON escapes, which YAML reads the same way,
/// so no name, topic or argument can change meaning by looking like YAML syntax; object
/// keys are written sorted, so the text is the same on every run.
public enum RecipeText {
    public static func yaml(_ recipe: ComponentRecipe) -> String {
        var lines = ["name: \(quoted(recipe.name))", "version: \(quoted(recipe.version.description))"]
        if !recipe.summary.isEmpty { lines.append("summary: \(quoted(recipe.summary))") }
        if !recipe.dependencies.isEmpty {
            lines.append("dependencies:")
            for dependency in recipe.dependencies { lines.append("  \(quoted(dependency.name)): \(quoted(dependency.versions.text))") }
        }
        if !recipe.configuration.isEmpty { lines.append("configuration: \(json(.object(recipe.configuration)))") }
        switch recipe.lifecycle {
        case .builtin(let name): lines += ["lifecycle:", "  builtin: \(quoted(name))"]
        case .external(let arguments): lines += ["lifecycle:", "  command: [\(arguments.map(quoted).joined(separator: ", "))]"]
        }
        lines += ["access:",
                  "  publish: [\(recipe.access.publish.map { quoted($0.pattern) }.joined(separator: ", "))]",
                  "  subscribe: [\(recipe.access.subscribe.map { quoted($0.pattern) }.joined(separator: ", "))]",
                  "  queue_max: \(recipe.access.queueCountMax)",
                  "  publish_rate_max: \(json(.number(recipe.access.publishRateMax)))"]
        let health = recipe.health
        lines += ["health:",
                  "  probe_interval: \(DurationText.format(health.probeInterval))",
                  "  probe_timeout: \(DurationText.format(health.probeTimeout))",
                  "  failures_max: \(health.failuresMax)",
                  "  failure_window: \(DurationText.format(health.failureWindow))",
                  "  restart_delay: \(DurationText.format(health.restartDelay))",
                  "  restart_delay_max: \(DurationText.format(health.restartDelayMax))"]
        return lines.joined(separator: "\n") + "\n"
    }

    private static func quoted(_ text: String) -> String {
        var writer = JSONWriter()
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Flow-style YAML that is also JSON, keys sorted.
    private static func json(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number):
            number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"
        case .string(let text): quoted(text)
        case .array(let items): "[\(items.map(json).joined(separator: ", "))]"
        case .object(let members):
            "{\(members.keys.sorted().map { "\(quoted($0)): \(json(members[$0]!))" }.joined(separator: ", "))}"
        }
    }
}
