import Foundation
import HubCore
import HubKernel
import HubScenario
import HubSim
import Testing

/// Hostile numbers and entries that can hit nothing: each is a validation error naming
/// file, line, field and the allowed range, never a trap and never a silent pass.
@Suite("Scenario limits")
struct ScenarioLimitsTests {
    /// A scenario with a furnace (`hvac`, first: it carries the display) and a washer; lines
    /// 1–8 are fixed, so the first timeline entry is on line 9 and the first expectation
    /// follows the timeline.
    static func scenario(duration: String = "2h", poll: String = "10s", seed: String = "1", start: String = "2026-01-15T00:00:00Z",
                         timeline: [String] = [], expect: [String] = []) -> String {
        """
        name: limits
        seed: \(seed)
        start: \(start)
        duration: \(duration)
        hub:
          poll_interval: \(poll)
          appliances: [{ id: hvac, kind: furnace, model: none }, { id: washer, kind: washer, model: none }]
        timeline:\(timeline.isEmpty ? " []" : "")
        \(timeline.map { "  - \($0)" }.joined(separator: "\n"))
        expect:\(expect.isEmpty ? " []" : "")
        \(expect.map { "  - \($0)" }.joined(separator: "\n"))
        """
    }

    static func error(_ text: String) -> ScenarioError? {
        do {
            _ = try ScenarioLoader.parse(text, file: "limits.yaml")
            return nil
        } catch {
            return error
        }
    }

    static func check(_ text: String, line: Int, field: String, message: String) {
        guard let error = error(text) else {
            Issue.record("accepted, expected \(field): \(message)")
            return
        }
        #expect(error.file == "limits.yaml")
        #expect(error.line == line, "\(error)")
        #expect(error.column != nil, "\(error)")
        #expect(error.field == field, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("a scenario's hub polls as hub run's does: the same default and the same range")
    func pollAsTheHubDoes() throws {
        let withoutPoll = Self.scenario().replacingOccurrences(of: "  poll_interval: 10s\n", with: "")
        #expect(try ScenarioLoader.parse(withoutPoll, file: "limits.yaml").pollInterval == HubConfig.defaultPollInterval)
        #expect(ScenarioLoader.Limits.pollInterval == HubConfig.pollIntervals)
        #expect(try ScenarioLoader.parse(Self.scenario(poll: "1s"), file: "limits.yaml").pollInterval == .seconds(1))
        #expect(try ScenarioLoader.parse(Self.scenario(poll: "1h"), file: "limits.yaml").pollInterval == .seconds(3600))
    }

    @Test("top-level numbers out of range are refused with the range", arguments: [
        (scenario(duration: "90000d"), 4, "duration", "longer than the maximum of 3653d"),
        (scenario(duration: "99999999999999999999999d"), 4, "duration", "longer than the maximum"),
        (scenario(duration: "0s"), 4, "duration", "outside the allowed 1s...3653d"),
        (scenario(duration: "-1h"), 4, "duration", "expected a number"),
        (scenario(duration: "[1h]"), 4, "duration", "expected a single value, found a list"),
        (scenario(duration: ".nan"), 4, "duration", "expected a number"),
        (scenario(poll: "0s"), 6, "hub.poll_interval", "outside the allowed 1s...1h"),
        (scenario(poll: "500ms"), 6, "hub.poll_interval", "outside the allowed 1s...1h"),
        (scenario(poll: "2h"), 6, "hub.poll_interval", "outside the allowed 1s...1h"),
        (scenario(seed: "18446744073709551616"), 2, "seed", "0...18446744073709551615"),
        (scenario(seed: "1.5"), 2, "seed", "0...18446744073709551615"),
        (scenario(seed: "{ a: 1 }"), 2, "seed", "expected a single value, found a mapping"),
        (scenario(start: "9999-01-01T00:00:00Z"), 3, "start", "to 2200-01-01T00:00:00Z"),
        (scenario(start: "2200-01-01T00:00:01Z"), 3, "start", "to 2200-01-01T00:00:00Z"),
    ] as [(String, Int, String, String)])
    func topLevel(text: String, line: Int, field: String, message: String) {
        Self.check(text, line: line, field: field, message: message)
    }

    @Test("names that become file names and MQTT topics are plain", arguments: [
        ("name: limits", "name: ../../x", 1, "name", "not starting with '.'"),
        ("name: limits", "name: a/b", 1, "name", "letters, digits"),
        ("name: limits", "name: \"\"", 1, "name", "1...100"),
        ("name: limits", "name: [a]", 1, "name", "expected a single value"),
        ("  poll_interval", "  thing: hbs/hub/#\n  poll_interval", 6, "hub.thing", "part of MQTT topics"),
        ("  poll_interval", "  thing: hub+1\n  poll_interval", 6, "hub.thing", "part of MQTT topics"),
    ] as [(String, String, Int, String, String)])
    func names(original: String, replacement: String, line: Int, field: String, message: String) {
        let text = Self.scenario().replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.scenario())
        Self.check(text, line: line, field: field, message: message)
    }

    @Test("timeline numbers out of range are refused with the range", arguments: [
        ("{ at: 3h, fault: i2c.0x5f.nack }", "timeline[0].at", "at or after the end of the scenario"),
        ("{ at: 2h, fault: i2c.0x5f.nack }", "timeline[0].at", "at or after the end of the scenario"),
        ("{ at: 90000d, fault: i2c.0x5f.nack }", "timeline[0].at", "longer than the maximum"),
        ("{ at: 3h, event: joystick.enter }", "timeline[0].at", "at or after the end of the scenario"),
        ("{ at: 1h, fault: i2c.0x5f.nack, for: 0s }", "timeline[0].for", "outside the allowed 1ms...3653d"),
        ("{ at: 1h, fault: i2c.0x5f.nack, for: 4000d }", "timeline[0].for", "longer than the maximum"),
        ("{ at: 1h, event: joystick.enter, for: 0s }", "timeline[0].for", "outside the allowed 1ms...3653d"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probability: 1.5 }", "timeline[0].probability", "within 1e-06...1"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probability: 0 }", "timeline[0].probability", "within 1e-06...1"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probability: .nan }", "timeline[0].probability", "within 1e-06...1"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probability: nan }", "timeline[0].probability", "within 1e-06...1"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probability: -inf }", "timeline[0].probability", "within 1e-06...1"),
        ("{ at: 1h, fault: i2c.0x5f.nack, probability: [0.5] }", "timeline[0].probability", "expected a single value"),
        ("{ at: 1h, fault: i2c.0x5f.slow, stretch: 2h }", "timeline[0].stretch", "outside the allowed 1ms...1m"),
        ("{ at: 1h, fault: i2c.0x5f.whoami, value: 0x1bd }", "timeline[0].value", "0x00...0xff"),
        ("{ at: 1h, fault: i2c.0x5f.whoami, value: 0x00000000000000000bd }", "timeline[0].value", "0x00...0xff"),
        ("{ at: 1h, fault: sensor.hvac.drift, channel: temperature, rate: 1e300 }", "timeline[0].rate", "within -1000...1000"),
        ("{ at: 1h, fault: sensor.hvac.drift, channel: temperature, rate: 0 }", "timeline[0].rate", "changes nothing"),
        ("{ at: 1h, fault: sensor.hvac.spike, channel: temperature, magnitude: inf }", "timeline[0].magnitude", "within 0.001...1000"),
        ("{ at: 1h, fault: sensor.hvac.spike, channel: temperature, magnitude: -3 }", "timeline[0].magnitude", "within 0.001...1000"),
        ("{ at: 1h, fault: gpio.23.bounce, count: 99999999999999999999 }", "timeline[0].count", "within 1...100"),
        ("{ at: 1h, fault: gpio.23.bounce, count: 0 }", "timeline[0].count", "within 1...100"),
        ("{ at: 1h, fault: appliance.hvac.blocked-filter, ramp: 90000d }", "timeline[0].ramp", "longer than the maximum"),
    ])
    func timeline(entry: String, field: String, message: String) {
        Self.check(Self.scenario(timeline: [entry]), line: 9, field: field, message: message)
    }

    @Test("expectation numbers out of range are refused with the range", arguments: [
        ("alert: { device: hvac, within: 0s }", "expect[0].alert.within", "outside the allowed 1ms...3653d"),
        ("alert: { device: hvac, within: 10m, after: 2h }", "expect[0].alert.after", "at or after the end of the scenario"),
        ("alert: { device: hvac, within: 90000d }", "expect[0].alert.within", "longer than the maximum"),
        ("health: { device: hvac, state: ok, within: 1m, after: 5h }", "expect[0].health.after", "at or after the end"),
        ("led: { colour: red, within: 1m, after: 99h }", "expect[0].led.after", "at or after the end"),
        ("channel-range: { device: hvac, channel: temperature, min: -inf, max: 50 }", "expect[0].channel-range.min", "within -1000000...1000000"),
        ("channel-range: { device: hvac, channel: temperature, min: 0, max: .nan }", "expect[0].channel-range.max", "within -1000000...1000000"),
        ("scroll-count: -1", "expect[0].scroll-count", "within 0...10000"),
        ("scroll-count: 99999999999999999999", "expect[0].scroll-count", "within 0...10000"),
        ("scroll-count: 1.5", "expect[0].scroll-count", "within 0...10000"),
    ])
    func expectations(entry: String, field: String, message: String) {
        Self.check(Self.scenario(timeline: ["{ at: 1m, fault: i2c.0x5f.nack, probability: 0.1 }"], expect: [entry]),
                   line: 11, field: field, message: message)
    }

    @Test("faults and expectations that can hit nothing are refused", arguments: [
        // No chip at 0x10 on any kit.
        ("{ at: 1h, fault: i2c.0x10.nack }", nil, "timeline[0].fault", "no part the hub talks to at 0x10 on any kit"),
        // The washer's kit polls no LPS25H.
        ("{ at: 1h, fault: i2c.0x5c.absent, device: washer }", nil, "timeline[0].device", "at 0x5c on the kit of 'washer'"),
        // The furnace's kit polls no LSM9DS1.
        ("{ at: 1h, fault: i2c.0x6a.nack, device: hvac }", nil, "timeline[0].device", "at 0x6a on the kit of 'hvac'"),
        // The display sits on the first kit only.
        ("{ at: 1h, fault: i2c.0x46.nack, device: washer }", nil, "timeline[0].device", "at 0x46 on the kit of 'washer'"),
        // The LSM9DS1 model has no stuck/reset/whoami fault model.
        ("{ at: 1h, fault: i2c.0x6a.stuck }", nil, "timeline[0].fault", "no chip with stuck/reset/whoami fault models at 0x6a"),
        ("{ at: 1h, fault: i2c.1x5f.nack }", nil, "timeline[0].fault", "not a 7-bit I²C address"),
        ("{ at: 1h, fault: i2c.0x0005f.nack }", nil, "timeline[0].fault", "not a 7-bit I²C address"),
        // A furnace's kit has no vibration sensor; a washer's no pressure sensor.
        ("{ at: 1h, fault: sensor.hvac.stuck, channel: vibration }", nil, "timeline[0].channel", "has no vibration sensor"),
        ("{ at: 1h, fault: sensor.washer.drift, channel: pressure, rate: 1 }", nil, "timeline[0].channel", "has no pressure sensor"),
        ("{ at: 1h, fault: sensor.fridge.stuck, channel: humidity }", nil, "timeline[0].fault", "no appliance with id 'fridge'"),
        // The washer's kit polls no LPS25H, and no chip but the HTS221 measures humidity.
        ("{ at: 1h, fault: sensor.washer.drift, channel: temperature, rate: 1, chip: lps25h }", nil, "timeline[0].chip",
         "does not poll the lps25h on 'washer'"),
        ("{ at: 1h, fault: sensor.hvac.drift, channel: humidity, rate: 1, chip: lps25h }", nil, "timeline[0].chip",
         "no chip 'lps25h' measures humidity (known: hts221)"),
        ("{ at: 1h, fault: sensor.hvac.stuck, channel: temperature, chip: LPS25H }", nil, "timeline[0].chip",
         "no chip 'LPS25H' measures temperature (known: hts221, lps25h)"),
        // Only the joystick interrupt line is watched.
        ("{ at: 1h, fault: gpio.4.stuck }", nil, "timeline[0].fault", "not a GPIO line the hub watches"),
        ("{ at: 1h, event: joystick.enter+ }", nil, "timeline[0].event", "unknown joystick key ''"),
        (nil, "channel-range: { device: hvac, channel: vibration, min: 0, max: 1 }", "expect[0].channel-range.channel", "has no vibration channel"),
        (nil, "channel-range: { device: washer, channel: pressure, min: 0, max: 1 }", "expect[0].channel-range.channel", "has no pressure channel"),
        (nil, "no-alert: { device: boiler }", "expect[0].no-alert.device", "no appliance with id 'boiler'"),
        (nil, "scroll: { prefix: \"t: \", within: 1m, after: 30m }", "expect[0].scroll", "presses it never"),
        (nil, "scroll-count: 1", "expect[0].scroll-count", "presses the joystick 0 time(s)"),
        // Both appliances have model: none, so nothing could ever alert.
        (nil, "alert: { device: washer, within: 1m }", "expect[0].alert", "'washer' can never alert"),
        (nil, "no-alert", "expect[0]", "no-alert cannot fail: nothing scores any appliance"),
        (nil, "no-alert: { device: hvac }", "expect[0]", "nothing scores 'hvac'"),
    ] as [(String?, String?, String, String)])
    func hitsNothing(entry: String?, expectation: String?, field: String, message: String) {
        let text = Self.scenario(timeline: entry.map { [$0] } ?? ["{ at: 1m, fault: i2c.0x5f.nack, probability: 0.1 }"],
                                 expect: expectation.map { [$0] } ?? [])
        Self.check(text, line: expectation == nil ? 9 : 11, field: field, message: message)
    }

    @Test("faults on parts the hub talks to load", arguments: [
        "{ at: 1h, fault: i2c.0x5c.nack }",  // the furnace's LPS25H (no device: every kit that has it)
        "{ at: 1h, fault: i2c.0x6a.nack, device: washer }",
        "{ at: 1h, fault: i2c.0x1c.timeout, device: washer }",
        "{ at: 1h, fault: i2c.0x46.nack }",
        "{ at: 1h, fault: i2c.0x5f.whoami, value: 0xbd, device: washer }",
        "{ at: 1h, fault: sensor.washer.stuck, channel: vibration }",
        "{ at: 1h, fault: sensor.hvac.drift, channel: pressure, rate: -0.5 }",
        "{ at: 1h, fault: sensor.hvac.drift, channel: temperature, rate: 2, chip: lps25h }",
        "{ at: 1h59m59s999ms, fault: i2c.0x5f.reset }",
    ])
    func hitsSomething(entry: String) throws {
        let scenario = try ScenarioLoader.parse(Self.scenario(timeline: [entry]), file: "limits.yaml")
        #expect(scenario.timeline.count == 1)
    }

    @Test("a scroll after a press, and as many scrolls as presses, load")
    func scrollsWithPresses() throws {
        let text = Self.scenario(timeline: ["{ at: 30m, event: joystick.enter }"],
                                 expect: ["scroll: { prefix: \"t: \", within: 1s, after: 30m }", "scroll-count: 1"])
        #expect(try ScenarioLoader.parse(text, file: "limits.yaml").expectations.count == 2)
    }
}
