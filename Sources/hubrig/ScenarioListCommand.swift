import ArgumentParser
import HubCore
import HubScenario

extension ScenarioCommand {
    /// `hubrig scenario list`: the catalogue at a glance, for people and for CI scripts.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List scenarios: name, pillar, Well-Architected questions, modes, simulated duration.",
            discussion: "Exit status: 0, or 2 for an invalid file (every scenario is loaded and validated).")

        @Argument(help: "Scenario files or directories (default: scenarios).")
        var paths: [String] = ["scenarios"]

        @OptionGroup var selection: ScenarioSelection

        @Flag(help: "Print JSON: [{\"name\", \"file\", \"pillar\", \"questions\", \"tags\", \"modes\", \"duration_s\", \"cost\"}].")
        var json = false

        func validate() throws { try selection.validate() }

        func run() throws {
            let scenarios = try selection.select(try loadScenarios(try expandScenarioPaths(paths), models: nil))
            if json {
                var out = JSONWriter()
                out.beginArray()
                for scenario in scenarios {
                    out.beginObject()
                    out.field("name", scenario.name)
                    out.field("file", scenario.file)
                    out.field("pillar", scenario.pillar)
                    out.field("questions", scenario.questions)
                    out.field("tags", scenario.tags)
                    out.field("modes", scenario.modes.map(\.rawValue))
                    out.field("duration_s", Int(scenario.duration.components.seconds))
                    out.field("cost", Int(SweepPlan.cost(scenario)))
                    out.endObject()
                }
                out.endArray()
                print(out.string)
                return
            }
            let rows = scenarios.map { scenario in
                [scenario.name, scenario.pillar ?? "-", scenario.questions.isEmpty ? "-" : scenario.questions.joined(separator: ", "),
                 scenario.modes.map(\.rawValue).joined(separator: ","), DurationText.format(scenario.duration),
                 scenario.tags.isEmpty ? "" : scenario.tags.joined(separator: ",")]
            }
            let header = ["scenario", "pillar", "questions", "modes", "simulated", "tags"]
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! + 2 }
            for row in [header] + rows {
                print(zip(row, widths).map { TextFormat.padded($0, $1) }.joined().trimmingSuffix())
            }
            let total = scenarios.reduce(Duration.zero) { $0 + $1.duration }
            print("\(scenarios.count) scenarios, \(DurationText.format(total)) simulated in all")
        }
    }
}

private extension String {
    func trimmingSuffix() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
