import HubCore
import HubScenario
import HubSim
import Testing

@Suite("Scenario loader")
struct ScenarioLoaderTests {
    static let valid = """
        name: sample
        seed: 3
        duration: 2h
        hub:
          thing: hbshub009
          poll_interval: 5s
          appliances:
            - { id: hvac, kind: furnace, sensor: sensehat }
        timeline:
          - { at: 30m, fault: i2c.0x5f.nack, for: 10m, probability: 0.5 }
          - { at: 1h, fault: i2c.0x5c.absent, device: hvac }
        expect:
          - readings-every-poll
          - no-alert: { device: hvac }
          - no-reading-lost
          - led: green
          - alert: { device: hvac, within: 10m, after: 1h }
          - led: { colour: red, within: 5m, after: 1h }
        """

    @Test("a complete scenario loads into typed values")
    func valid() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "sample.yaml")
        #expect(scenario.name == "sample")
        #expect(scenario.seed == 3)
        #expect(scenario.duration == .seconds(7200))
        #expect(scenario.thing == "hbshub009")
        #expect(scenario.pollInterval == .seconds(5))
        #expect(scenario.appliances.map(\.id) == ["hvac"])
        #expect(scenario.timeline == [
            ScheduledFault(at: .seconds(1800), duration: .seconds(600), fault: .i2cWire(address: 0x5F, .nack(probability: 0.5))),
            ScheduledFault(at: .seconds(3600), duration: nil, fault: .i2cWire(address: 0x5C, .absent), device: "hvac"),
        ])
        #expect(scenario.expectations == [
            .readingsEveryPoll(device: nil), .noAlert(device: "hvac"), .noReadingLost,
            .led(colour: "green", after: nil, within: nil),
            .alert(device: "hvac", after: .seconds(3600), within: .seconds(600)),
            .led(colour: "red", after: .seconds(3600), within: .seconds(300)),
        ])
        #expect(scenario.start == SimulationSetup.defaultStart)
    }

    static func error(_ text: String) -> ScenarioError? {
        do {
            _ = try ScenarioLoader.parse(text, file: "bad.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test("each mistake names file, line, field and what is wrong", arguments: [
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\ncolour: red\n",
         6, "colour", "unknown field 'colour'"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace, size: 3 }]\n",
         5, "hub.appliances[0].size", "unknown field 'size'"),
        ("name: x\nseed: 1\nduration: 1x\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n",
         3, "duration", "unknown unit"),
        ("name: x\nseed: -1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n",
         2, "seed", "non-negative whole number"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: boiler }]\n",
         5, "hub.appliances[0].kind", "unknown appliance kind 'boiler'"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\ntimeline:\n  - { at: 1m, fault: cloud.offlin }\n",
         7, "timeline[0].fault", "unknown fault 'cloud.offlin'"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\ntimeline:\n  - { at: 2h, fault: i2c.0x5f.nack }\n",
         7, "timeline[0].at", "at or after the end of the scenario"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\nexpect:\n  - no-alerts\n",
         7, "expect[0]", "unknown expectation 'no-alerts'"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\nexpect:\n  - alert: { device: washer, within: 1m }\n",
         7, "expect[0].alert.device", "no appliance with id 'washer'"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: Hvac, kind: furnace }]\n",
         5, "hub.appliances[0].id", "lowercase"),
        ("name: x\nseed: 1\nseed: 2\nduration: 1h\n", 2, "seed", "duplicate field"),
        ("seed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n", 1, "", "missing required field 'name'"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }\n", 6, nil, "invalid YAML"),
        ("name: x\nseed: 1\nduration: 1h\nhub: [1, 2]\n", 4, "hub", "expected a mapping, found a list"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n  ipc: { components: [uplink] }\n",
         6, "hub.ipc.components[0]", "'uplink' cannot run over the simulated IPC bus"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n  ipc: { components: [sensr] }\n",
         6, "hub.ipc.components[0]", "unknown component 'sensr' (did you mean 'sensor'?)"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n  ipc: { components: [sensor], buffer_max: 0 }\n",
         6, "hub.ipc.buffer_max", "1"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\ntimeline:\n  - { at: 1m, fault: ipc.down, for: 1m }\n",
         7, "timeline[0].fault", "no component runs over IPC in this hub"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n  ipc: { components: [sensor] }\ntimeline:\n  - { at: 1m, fault: ipc.restart, for: 1m }\n",
         8, "timeline[0].for", "ipc.restart is an instant"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n  ipc: { components: [sensor] }\ntimeline:\n  - { at: 1m, fault: component.sensor.hang, for: 1m }\n",
         8, "timeline[0].fault", "'sensor' runs over IPC here"),
        ("name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\nexpect:\n  - ipc-dropped: { component: sensor, max: 0 }\n",
         7, "expect[0].ipc-dropped", "'sensor' runs in the hub process"),
        // Live mode: what a live run cannot carry out is refused at load, with its line.
        ("name: x\nmodes: [sim, live]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n  ipc: { components: [sensor], buffer_max: 50 }\n",
         6, "hub", "mode live: hub.ipc.buffer_max"),
        ("name: x\nmodes: [live]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\ntimeline:\n  - { at: 1m, fault: cloud.reject-auth, for: 1m }\n",
         8, "timeline[0]", "mode live: cloud.reject-auth needs the broker's insides"),
        ("name: x\nmodes: [live]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\ntimeline:\n  - { at: 1m, fault: gpio.23.stuck, for: 1m }\n",
         8, "timeline[0]", "needs the Pi's GPIO chip"),
        ("name: x\nmodes: [live]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\nexpect:\n  - outbox-depth-max: 100\n",
         8, "expect[0]", "a live run has none"),
        ("name: x\nmodes: [live]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }, { id: washer, kind: washer }]\n",
         6, "hub", "one appliance on its own Sense HAT"),
        ("name: x\nmodes: [live]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace, model: none }]\n",
         6, "hub", "model: none exists only in simulation"),
        ("name: x\ntags: [Smoke]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n",
         2, "tags[0]", "lowercase letters"),
        ("name: x\ntags: [smoke, smoke]\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace }]\n",
         2, "tags[1]", "given twice"),
        // Found by the scenario fuzz harness: libyaml's reader errors came back without a line.
        ("name: x\nseed: 1\nduration: 1h\u{7}\n", 3, nil, "control characters are not allowed (found U+0007)"),
    ] as [(String, Int, String?, String)])
    func errors(text: String, line: Int, field: String?, message: String) throws {
        let error = try #require(Self.error(text))
        #expect(error.file == "bad.yaml")
        #expect(error.line == line, "\(error)")
        if let field { #expect(error.field == field, "\(error)") }
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description.hasPrefix("bad.yaml:\(line)"))
    }

    @Test("UTC start times parse exactly and reject impossible dates")
    func startTime() throws {
        let text = Self.valid.replacingOccurrences(of: "seed: 3", with: "seed: 3\nstart: 2026-07-01T12:30:00Z")
        #expect(try ScenarioLoader.parse(text, file: "s.yaml").start == Instant(secondsSinceEpoch: 1_782_909_000))
        let bad = Self.valid.replacingOccurrences(of: "seed: 3", with: "seed: 3\nstart: 2026-02-30T00:00:00Z")
        #expect(Self.error(bad)?.field == "start")
    }

    @Test("a misspelt name anywhere in a scenario gets the closest valid one, with line and column", arguments: [
        ("kind: furnace, sensor", "kind: furnance, sensor", "unknown appliance kind 'furnance' (did you mean 'furnace'?)", 8),
        ("seed: 3", "seed: 3\nmodes: [simm]", "unknown mode 'simm' (did you mean 'sim'?)", 3),
        ("sensor: sensehat", "sensor: sensehatt", "unknown sensor kit 'sensehatt' (did you mean 'sensehat'?)", 8),
        ("led: green", "led: gren", "unknown LED colour 'gren' (did you mean 'green'?)", 16),
        ("  - no-reading-lost", "  - no-readings-lost", "unknown expectation 'no-readings-lost' (did you mean 'no-reading-lost'?)", 15),
        ("probability: 0.5", "probabilty: 0.5", "unknown field 'probabilty' (did you mean 'probability'?)", 10),
        ("fault: i2c.0x5c.absent", "fault: i2c.0x5c.absnt", "(did you mean 'i2c.<addr>.absent'?)", 11),
        ("  poll_interval: 5s", "  poll_intervall: 5s", "unknown field 'poll_intervall' (did you mean 'poll_interval'?)", 6),
        ("  - no-reading-lost", "  - health: { device: hvac, state: degaded, within: 1m }", "state must be ok, degraded or failed (did you mean 'degraded'?)", 15),
    ])
    func suggestions(original: String, typo: String, message: String, line: Int) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: typo)
        #expect(text != Self.valid)
        let error = try #require(Self.error(text))
        #expect(error.description.contains(message), "\(error)")
        #expect(error.line == line && error.column != nil, "\(error)")
    }

    static let withKit = """
        name: kits
        seed: 1
        duration: 2h
        hub:
          appliances:
            - { id: hvac, kind: furnace, sensor: sensehat }
            - { id: freezer, kind: fridge, sensor: mqtt-kit, interval: 30s, model: none }
        timeline:
          - { at: 1h, revoke: freezer }
        """

    @Test("kit identity fields refuse what cannot be: a revocation of no kit, a certificate on the hub's own HAT, bad ranges, two actions in one entry", arguments: [
        ("revoke: freezer", "revoke: freezr", 9, "'freezr' is not a kit with a certificate to revoke (did you mean 'freezer'?)"),
        ("revoke: freezer", "revoke: hvac", 9, "'hvac' is not a kit with a certificate to revoke"),
        ("revoke: freezer", "revoke: ../x", 9, "invalid id"),
        ("revoke: freezer", "revoke: freezer, fault: kit.freezer.silent", 9, "found revoke and fault"),
        ("revoke: freezer", "revoke: freezer, for: 1m", 9, "unknown field 'for'"),
        ("{ at: 1h, revoke", "{ at: 3h, revoke", 9, "at or after the end"),
        ("sensor: sensehat }", "sensor: sensehat, certificate_expires: 1d }", 6, "the hub's own Sense HAT has none"),
        ("model: none }", "model: none, certificate_expires: -1d }", 7, "certificate_expires"),
        ("model: none }", "model: none, certificate_expires: 30s }", 7, "certificate_expires"),
        ("  appliances:", "  certificate_warning: 0s\n  appliances:", 5, "certificate_warning"),
        ("  appliances:", "  certificate_warning: [1d]\n  appliances:", 5, "certificate_warning"),
    ])
    func kitIdentityMistakes(original: String, typo: String, line: Int, message: String) throws {
        #expect(Self.error(Self.withKit) == nil, "the base scenario loads")
        let text = Self.withKit.replacingOccurrences(of: original, with: typo)
        #expect(text != Self.withKit)
        let error = try #require(Self.error(text))
        #expect(error.description.contains(message), "\(error)")
        #expect(error.line == line, "\(error)")
    }

    @Test("certificate_warning needs a kit to warn about")
    func warningWithoutKits() throws {
        let text = Self.valid.replacingOccurrences(of: "  poll_interval: 5s", with: "  poll_interval: 5s\n  certificate_warning: 1d")
        let error = try #require(Self.error(text))
        #expect(error.description.contains("no appliance has sensor: mqtt-kit"), "\(error)")
    }
}
