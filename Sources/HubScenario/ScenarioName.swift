import HubYAML

/// The rules for a scenario's `name`.
///
/// A name becomes a file name (`--event-log DIR/<name>.jsonl`), a report key and part of
/// a replay command, so it must be a plain file name — `../../x` would write outside the
/// directory — and unique among the scenarios of one run, or one log would overwrite another.
public enum ScenarioName {
    public static let lengthMax = 100

    /// Why `name` is unusable, or nil if it is fine.
    public static func problem(_ name: String) -> String? {
        guard ScenarioLoader.isPlainName(name, maximum: lengthMax, extra: "._-"), !name.hasPrefix("."), !name.hasPrefix("-") else {
            return "a name is 1...\(lengthMax) letters, digits, '.', '_' or '-', not starting with '.' or '-' (it names files), found \(name.debugDescription)"
        }
        return nil
    }

    static func validate(_ value: YAMLValue) throws(ScenarioError) -> String {
        let name = try value.string()
        if let problem = problem(name) { throw value.error(problem) }
        return name
    }

    /// One error per scenario whose name an earlier one already has.
    public static func duplicates(_ scenarios: [Scenario]) -> [ScenarioError] {
        var seen: [String: String] = [:]
        var errors: [ScenarioError] = []
        for scenario in scenarios {
            if let other = seen[scenario.name] {
                errors.append(ScenarioError(file: scenario.file, line: nil, column: nil, field: "name",
                                            message: "\(scenario.name.debugDescription) is also the name of \(other); names must be unique in one run"))
            } else {
                seen[scenario.name] = scenario.file
            }
        }
        return errors
    }
}
