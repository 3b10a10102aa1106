import Foundation
import HubCore
import HubKernel
import HubScenario
import HubSim
import Testing

@Suite("Fault catalogue")
struct FaultCatalogueTests {
    static let scenarioDocs = ScenarioRunnerTests.scenarios.deletingLastPathComponent().appendingPathComponent("docs/scenarios.md")

    /// A hub with one appliance of each kind (the furnace first: it carries the display),
    /// a kit over MQTT for the kit faults, and (`ipc`) the sensor over IPC for the IPC faults.
    static func scenario(_ entry: String, ipc: Bool = false) -> String {
        """
        name: catalogue
        seed: 1
        duration: 2h
        hub:
          appliances:
            - { id: hvac, kind: furnace, model: none }
            - { id: washer, kind: washer, model: none }
            - { id: fridge, kind: fridge, model: none }
            - { id: garage, kind: fridge, sensor: mqtt-kit, model: none }\(ipc ? "\n  ipc: { components: [sensor] }" : "")
        timeline:
          - \(entry)
        """
    }

    /// A timeline entry for every kind, with its required parameters.
    static func entry(for kind: FaultKind) -> String {
        let target = switch kind.layer {
        case "i2c": "0x5f"
        case "gpio": "23"
        case "kit": "garage"
        case "component": "uplink"
        default: kind.name == "drum-imbalance" || kind.name == "bearing-wear" ? "washer"
            : kind.name == "door-open" || kind.name == "compressor-failure" ? "fridge" : "hvac"
        }
        let name = FaultCatalogue.untargetedLayers.contains(kind.layer) ? "\(kind.layer).\(kind.name)" : "\(kind.layer).\(target).\(kind.name)"
        var fields = ["at: 1h", "fault: \(name)"]
        for parameter in kind.parameters where parameter.defaultText == nil {
            switch parameter.name {
            case "channel": fields.append("channel: temperature")
            case "rate": fields.append("rate: 0.5")
            case "magnitude": fields.append("magnitude: 2")
            case "stretch": fields.append("stretch: 2ms")
            case "value": fields.append("value: 0xbd")
            default: Issue.record("no sample value for required parameter \(parameter.name) of \(kind.pattern)")
            }
        }
        return "{ " + fields.joined(separator: ", ") + " }"
    }

    @Test("every kind in the catalogue loads from a scenario and names itself as the catalogue does")
    func everyKindLoads() throws {
        #expect(Set(FaultCatalogue.all.map(\.pattern)).count == FaultCatalogue.all.count, "patterns are unique")
        for kind in FaultCatalogue.all {
            let scenario = try ScenarioLoader.parse(Self.scenario(Self.entry(for: kind), ipc: kind.layer == "ipc"), file: "catalogue.yaml")
            let fault = try #require(scenario.timeline.first?.fault)
            let parts = fault.name.split(separator: ".").map(String.init)
            #expect(parts.first == kind.layer && parts.last == kind.name && parts.count == (kind.pattern.contains("<") ? 3 : 2),
                    "\(fault.name) for \(kind.pattern)")
        }
    }

    @Test("defaults come from the catalogue: a nack without probability always refuses, a bounce repeats 5 times, a flaky cloud resets 5 %")
    func defaults() throws {
        let nack = try ScenarioLoader.parse(Self.scenario("{ at: 1h, fault: i2c.0x5f.nack }"), file: "d.yaml")
        #expect(nack.timeline.first?.fault == .i2cWire(address: 0x5F, .nack(probability: 1)))
        let bounce = try ScenarioLoader.parse(Self.scenario("{ at: 1h, fault: gpio.23.bounce }"), file: "d.yaml")
        #expect(bounce.timeline.first?.fault == .gpio(.bounce(line: 23, count: 5)))
        let flaky = try ScenarioLoader.parse(Self.scenario("{ at: 1h, fault: cloud.flaky }"), file: "d.yaml")
        #expect(flaky.timeline.first?.fault == .cloud(.flaky(chance: 0.05)), "the catalogue's 0.05, not 1")
        let drop = try ScenarioLoader.parse(Self.scenario("{ at: 1h, fault: ipc.drop }", ipc: true), file: "d.yaml")
        #expect(drop.timeline.first?.fault == .ipc(.drop(chance: 0.01)))
        let drift = try ScenarioLoader.parse(Self.scenario("{ at: 1h, fault: sensor.hvac.drift, channel: pressure, rate: 1 }"), file: "d.yaml")
        #expect(drift.timeline.first?.fault == .sensor(device: "hvac", .drift(channel: .pressure, perHour: 1), chip: .lps25h))
    }

    @Test("a misspelt fault, parameter or expectation names the closest valid one", arguments: [
        ("{ at: 1h, fault: i2c.0x5f.nak }", "timeline[0].fault", "unknown fault 'i2c.0x5f.nak' (did you mean 'i2c.<addr>.nack'?)"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probabilty: 0.5 }", "timeline[0].probabilty", "unknown field 'probabilty' (did you mean 'probability'?)"),
        ("{ at: 1h, fault: sensor.hvac.drfit, channel: temperature, rate: 1 }", "timeline[0].fault", "(did you mean 'sensor.<device>.drift'?)"),
        ("{ at: 1h, fault: gpio.23.stuck, level: hgih }", "timeline[0].level", "level must be low or high (did you mean 'high'?)"),
        ("{ at: 1h, fault: sensor.hvca.stuck, channel: humidity }", "timeline[0].fault", "no appliance with id 'hvca' (did you mean 'hvac'?)"),
        ("{ at: 1h, fault: cloud.ofline }", "timeline[0].fault", "(did you mean 'cloud.offline'?)"),
        ("{ at: 1h, fault: cloud.flaky, p: 1.5 }", "timeline[0].p", "expected a number within 1e-06...1, found \"1.5\""),
        ("{ at: 1h, fault: cloud.restart, down: -5s }", "timeline[0].down", "expected a number before each unit"),
        ("{ at: 1h, fault: cloud.offline, device: hvac }", "timeline[0].device", "unknown field 'device'"),
        ("{ at: 1h, fault: kit.hvac.silent }", "timeline[0].fault", "kit faults need sensor: mqtt-kit"),
        ("{ at: 1h, fault: kit.garage.flood, count: 0 }", "timeline[0].count", "1...1000"),
    ] as [(String, String, String)])
    func closestName(entry: String, field: String, message: String) {
        do {
            _ = try ScenarioLoader.parse(Self.scenario(entry), file: "typo.yaml")
            Issue.record("\(entry) loaded")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect(error.line == 11, "\(error)")
        }
    }

    @Test("docs/scenarios.md's fault table is the catalogue's, so the docs cannot drift from the grammar")
    func docsTable() throws {
        let text = try String(contentsOf: Self.scenarioDocs, encoding: .utf8)
        #expect(text.contains(FaultCatalogue.markdownTable()), "regenerate it with: hubrig fault list --markdown")
    }

    @Test("the JSON catalogue parses and lists every kind with typed parameters")
    func json() throws {
        let kinds = try #require(try JSONSerialization.jsonObject(with: Data(FaultCatalogue.json().utf8)) as? [[String: Any]])
        #expect(kinds.count == FaultCatalogue.all.count)
        let drift = try #require(kinds.first { $0["fault"] as? String == "sensor.<device>.drift" })
        let parameters = try #require(drift["parameters"] as? [[String: Any]])
        #expect(parameters.map { $0["name"] as? String } == ["channel", "rate", "chip"])
        #expect(parameters[1]["required"] as? Bool == true && parameters[1]["range"] as? String == "-1000…1000, not 0")
        #expect(parameters[2]["required"] as? Bool == false)
    }
}

@Suite("Live faults and the catalogue")
struct LiveFaultCatalogueTests {
    @Test("every fault a running hub or the proxy injects is the catalogue's, by name and parameters, but the proxy's own four")
    func liveFaultsAreCatalogueFaults() {
        let catalogue = Dictionary(uniqueKeysWithValues: FaultCatalogue.all.map { ($0.pattern, $0) })
        let proxyOnly = ["cloud.blackhole", "cloud.bandwidth", "cloud.reset-after", "cloud.slow-close"]
        for pattern in LiveFault.patterns where !proxyOnly.contains(pattern) {
            #expect(catalogue[pattern] != nil, "\(pattern) is not in the catalogue")
        }
        #expect(catalogue["cloud.latency"]?.parameters.map(\.name) == ["extra", "jitter"], "the proxy takes the catalogue's parameters")
        #expect(catalogue["i2c.<addr>.nack"]?.parameters.map(\.name) == ["probability"])
        #expect(catalogue["i2c.<addr>.slow"]?.parameters.map(\.name) == ["stretch"])
        #expect(LiveFault.liveTarget(of: "i2c.<addr>.nack") == "hub")
        #expect(LiveFault.liveTarget(of: "cloud.offline") == "proxy")
        #expect(LiveFault.liveTarget(of: "i2c.<addr>.stuck") == nil, "a chip fault exists only in simulation")
    }
}
