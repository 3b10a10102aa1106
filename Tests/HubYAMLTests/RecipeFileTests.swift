import HubCore
import HubKernel
import HubYAML
import Testing

@Suite("Component recipe files")
struct RecipeFileTests {
    static let external = """
        name: weather-station
        version: 1.4.0
        summary: Reads a rain gauge over a serial line.
        dependencies:
          uplink: ^1.0.0
          inference: ">=1.0.0 <3.0.0"
        configuration:
          port: /dev/ttyUSB0
          baud: 9600
          channels: [rain, wind]
          calibration: { offset: -0.5, enabled: true, note: null }
        lifecycle:
          command: [python3, weather.py, --verbose]
        access:
          publish: [dt/local/sensor/weather, hbs/health/weather-station]
          subscribe: [hbs/alerts/+]
          queue_max: 50
        health:
          probe_interval: 5s
          probe_timeout: 2s
          failures_max: 5
          failure_window: 1h
          restart_delay: 500ms
          restart_delay_max: 2m
        """

    @Test("every field of an external component's recipe is read")
    func fullRecipe() throws {
        let recipe = try RecipeFile.parse(text: Self.external, file: "weather.yaml")
        #expect(recipe.identifier == "weather-station@1.4.0")
        #expect(recipe.dependencies.map(\.name) == ["uplink", "inference"])
        #expect(recipe.dependencies[1].versions.admits(.init(2, 9, 0)) && !recipe.dependencies[1].versions.admits(.init(3, 0, 0)))
        #expect(recipe.configuration["baud"] == .number(9600))
        #expect(recipe.configuration["port"] == .string("/dev/ttyUSB0"))
        #expect(recipe.configuration["channels"] == .array([.string("rain"), .string("wind")]))
        #expect(recipe.configuration["calibration"] == .object(["offset": .number(-0.5), "enabled": .bool(true), "note": .null]))
        #expect(recipe.lifecycle == .external(arguments: ["python3", "weather.py", "--verbose"]))
        #expect(recipe.access.mayPublish("dt/local/sensor/weather") && !recipe.access.mayPublish("dt/local/sensor/hvac"))
        #expect(recipe.access.maySubscribe("hbs/alerts/hvac") && !recipe.access.maySubscribe("hbs/#"))
        #expect(recipe.access.queueCountMax == 50)
        #expect(recipe.health == HealthPolicy(probeInterval: .seconds(5), probeTimeout: .seconds(2), failuresMax: 5,
                                              failureWindow: .seconds(3600), restartDelay: .milliseconds(500), restartDelayMax: .seconds(120)))
    }

    @Test("the built-in recipes written as YAML read back equal")
    func builtinsRoundTrip() throws {
        for recipe in BuiltinRecipes.all {
            let text = RecipeText.yaml(recipe)
            #expect(try RecipeFile.parse(text: text, file: "\(recipe.name).yaml") == recipe, "\(text)")
        }
        let external = try RecipeFile.parse(text: Self.external, file: "weather.yaml")
        #expect(try RecipeFile.parse(text: RecipeText.yaml(external), file: "again.yaml") == external)
    }

    @Test("mistakes name the file, line and field", arguments: [
        ("version: 1.0\n", 2, "version", "is not MAJOR.MINOR.PATCH"),
        ("dependencies: { uplink: ^2 }\n", 2, "dependencies.uplink", "is not MAJOR.MINOR.PATCH"),
        ("dependencies: { Uplink: ^1.0.0 }\n", 2, "dependencies.Uplink", "not a component name"),
        ("dependencies: { x: \"*\" }\n", 2, "dependencies.x", "cannot depend on itself"),
        ("access: { publish: [a/#/b] }\n", 2, "access.publish[0]", "'#' must be a whole level"),
        ("access: { publish: [], queue_max: 0 }\n", 2, "access.queue_max", "1...100000"),
        ("access: { publish: [], subscribe: x }\n", 2, "access.subscribe", "expected a list"),
        ("health: { failures_max: 1e9 }\n", 2, "health.failures_max", "1...100"),
        ("health: { probe_timeout: 90000d }\n", 2, "health.probe_timeout", "maximum of 3653d"),
        ("health: { probe_timeout: 5ms }\n", 2, "health.probe_timeout", "outside the allowed"),
        ("health: { restart_delay: 2m, restart_delay_max: 1m }\n", 2, "health.restart_delay", "above restart_delay_max"),
        ("lifecycle: { builtin: sensr }\n", 2, "lifecycle.builtin", "did you mean 'sensor'"),
        ("lifecycle: { command: [] }\n", 2, "lifecycle.command", "1...256 arguments"),
        ("lifecycle: { builtin: sensor, command: [x] }\n", 2, "lifecycle", "not both"),
        ("configuration: [1, 2]\n", 2, "configuration", "expected a mapping"),
        ("healthcheck: {}\n", 2, "healthcheck", "unknown field"),
    ])
    func mistakes(line: String, lineNumber: Int, field: String, message: String) {
        // A valid recipe whose second line is replaced (or, for new keys, added).
        let key = String(line.prefix { $0 != ":" })
        var lines = ["name: x", "version: 1.0.0", "lifecycle: { builtin: sensor }", "access: { publish: [] }"]
        if let index = lines.firstIndex(where: { $0.hasPrefix(key + ":") }) { lines.remove(at: index) }
        lines.insert(String(line.dropLast()), at: 1)
        do {
            _ = try RecipeFile.parse(text: lines.joined(separator: "\n") + "\n", file: "r.yaml")
            Issue.record("accepted: \(lines)")
        } catch {
            #expect(error.file == "r.yaml")
            #expect(error.line == lineNumber, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("a configuration nested past 16 levels, or aliases expanding past 10,000 values, is refused")
    func hostileConfiguration() {
        let deep = "configuration: " + String(repeating: "{a: ", count: 40) + "1" + String(repeating: "}", count: 40)
        let text = "name: x\nversion: 1.0.0\n\(deep)\nlifecycle: { builtin: sensor }\naccess: {}\n"
        #expect(throws: YAMLFileError.self) { try RecipeFile.parse(text: text, file: "r.yaml") }
        var laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 { laughs += "  a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let bomb = "name: x\nversion: 1.0.0\nconfiguration:\n  " + laughs + "lifecycle: { builtin: sensor }\naccess: {}\n"
        do { _ = try RecipeFile.parse(text: bomb, file: "r.yaml"); Issue.record("accepted") } catch {
            #expect(error.message.contains("more than 10000 values"), "\(error)")
        }
        let alias = "name: x\nversion: 1.0.0\nconfiguration: { a: &v 1, b: *v }\nlifecycle: { builtin: sensor }\naccess: {}\n"
        #expect((try? RecipeFile.parse(text: alias, file: "r.yaml"))?.configuration == ["a": .number(1), "b": .number(1)])
    }

    @Test("mutated recipes are accepted whole or refused with a place, never a trap or a hang")
    func fuzz() {
        let seeds = [Array(Self.external.utf8), Array(RecipeText.yaml(BuiltinRecipes.sensor).utf8)]
        let tally = Fuzzing.run(seeds: seeds, base: 0x2EC1_9E, ci: 2_000) { number, bytes in
            do throws(YAMLFileError) {
                let recipe = try RecipeFile.parse(bytes: bytes, file: "fuzz.yaml")
                #expect(ComponentRecipe.isName(recipe.name), "case \(number)")
                #expect(AccessPolicy.queueCountRange.contains(recipe.access.queueCountMax), "case \(number)")
                #expect(recipe.health.restartDelay <= recipe.health.restartDelayMax, "case \(number)")
                return true
            } catch {
                #expect(error.file == "fuzz.yaml" && !error.message.isEmpty, "case \(number)")
                return false
            }
        }
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
        #expect(tally.slow.isEmpty)
    }
}
