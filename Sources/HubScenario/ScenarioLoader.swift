import Foundation
import HubCore
import HubInference
import HubKernel
import HubSim
import Yams

/// Reads scenario YAML into a `Scenario`, rejecting anything it does not understand.
///
/// Unknown fields, wrong types, malformed durations, unknown fault names and appliance
/// kinds without a simulator each come back as a `ScenarioError` naming file, line,
/// column and field — a scenario that silently ignored a typo would test nothing.
public enum ScenarioLoader {
    public static let statusColours = ["green", "red", "amber", "off"]

    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ScenarioError(file: path, line: nil, column: nil, field: nil, message: "cannot read file: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ScenarioError) -> Scenario {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        } catch {
            throw ScenarioError(file: file, line: nil, column: nil, field: nil, message: "invalid YAML: \(error)")
        }
        guard let node else { throw ScenarioError(file: file, line: nil, column: nil, field: nil, message: "empty scenario file") }
        let root = try YAMLValue(node: node, path: "", file: file).map()
        try root.finish(known: ["name", "pillar", "questions", "modes", "seed", "start", "duration", "hub", "timeline", "expect"])

        let name = try ScenarioName.validate(try root.required("name"))
        let hub = try root.required("hub").map()
        try hub.finish(known: ["thing", "poll_interval", "appliances", "model"])
        let thing = try hub.optional("thing")?.string() ?? "hbshub001"
        let pollValue = hub.optional("poll_interval")
        let pollInterval = try pollValue?.duration() ?? .seconds(10)
        if let pollValue, pollInterval < .milliseconds(100) { throw pollValue.error("poll interval must be at least 100ms") }
        let appliances = try parseAppliances(try hub.required("appliances"), hubModel: hub.optional("model"), file: file)
        let durationValue = try root.required("duration")
        let duration = try durationValue.duration()
        if duration <= .zero { throw durationValue.error("duration must be positive") }

        var modes: [Scenario.Mode] = [.sim]
        if let modesValue = root.optional("modes") {
            modes = []
            for item in try modesValue.list() {
                let text = try item.string()
                guard let mode = Scenario.Mode(rawValue: text) else { throw item.error("unknown mode '\(text)' (known: sim, live)") }
                modes.append(mode)
            }
        }
        var start = SimulationSetup.defaultStart
        if let startValue = root.optional("start") {
            let text = try startValue.string()
            guard let instant = parseUTC(text) else { throw startValue.error("expected a UTC time like 2026-01-15T00:00:00Z, found \(text.debugDescription)") }
            start = instant
        }
        let ids = appliances.map(\.id)
        return Scenario(
            name: name, file: file,
            pillar: try root.optional("pillar")?.string(),
            questions: try root.optional("questions")?.list().map { (item) throws(ScenarioError) in try item.string() } ?? [],
            modes: modes,
            seed: try root.required("seed").uint64(),
            start: start, duration: duration, thing: thing, pollInterval: pollInterval,
            appliances: appliances,
            timeline: try root.optional("timeline")?.list().map { (item) throws(ScenarioError) in try parseFault(item, devices: ids, kinds: appliances.map(\.kind), duration: duration) } ?? [],
            expectations: try root.optional("expect")?.list().map { (item) throws(ScenarioError) in try parseExpectation(item, devices: ids) } ?? [])
    }

    /// `model: <dir>` (a package, relative to the working directory or to the repository the
    /// scenario lives in), `model: interim` (the rolling z-score) or `model: none`.
    static func modelSetup(_ value: YAMLValue, file: String) throws(ScenarioError) -> (DetectorSetup, String) {
        let text = try value.string()
        switch text {
        case "interim": return (.interim, "interim")
        case "none": return (.none, "none")
        default:
            guard let directory = resolve(text, file: file) else {
                throw value.error("no model package at \(text.debugDescription) (a directory with manifest.json)")
            }
            do { return (.package(try ModelPackage.load(directory: directory)), text) } catch {
                throw value.error("model package \(text): \(error)")
            }
        }
    }

    /// A package directory as given, or relative to the repository holding the scenario file.
    static func resolve(_ path: String, file: String) -> String? {
        let manager = FileManager.default
        var candidates = [path]
        if !path.hasPrefix("/") {
            let scenarioDirectory = (file as NSString).deletingLastPathComponent
            candidates.append(((scenarioDirectory as NSString).appendingPathComponent("..") as NSString).appendingPathComponent(path))
            candidates.append((scenarioDirectory as NSString).appendingPathComponent(path))
        }
        return candidates.first { manager.fileExists(atPath: ($0 as NSString).appendingPathComponent("manifest.json")) }
    }

    /// Each appliance's detector, in order of precedence: its own `model:`, the hub-level
    /// `model:` (if a package, for appliances of its kind), the committed package for its
    /// kind, the interim detector.
    private static func parseAppliances(_ value: YAMLValue, hubModel: YAMLValue?, file: String) throws(ScenarioError) -> [Scenario.Appliance] {
        let hubSetup = try hubModel.map { (value) throws(ScenarioError) in try modelSetup(value, file: file) }
        let items = try value.list()
        if items.isEmpty { throw value.error("a hub needs at least one appliance") }
        var result: [Scenario.Appliance] = []
        for item in items {
            let map = try item.map()
            try map.finish(known: ["id", "kind", "sensor", "model"])
            let idValue = try map.required("id")
            let id = try idValue.deviceID()
            if result.contains(where: { $0.id == id }) { throw idValue.error("duplicate appliance id '\(id)'") }
            let kindValue = try map.required("kind")
            let kindText = try kindValue.string()
            guard let kind = ApplianceKind(rawValue: kindText) else {
                throw kindValue.error("unknown appliance kind '\(kindText)' (known: \(ApplianceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard SimulatedAppliances.kinds.contains(kind) else {
                throw kindValue.error("appliance kind '\(kindText)' has no simulator yet (simulated: \(SimulatedAppliances.kinds.map(\.rawValue).joined(separator: ", ")))")
            }
            let sensorValue = map.optional("sensor")
            let sensor = try sensorValue?.string() ?? "sensehat"
            if let sensorValue, sensor != "sensehat" { throw sensorValue.error("unknown sensor kit '\(sensor)' (known: sensehat)") }
            var appliance = Scenario.Appliance(id: id, kind: kind, sensor: sensor)
            if let modelValue = map.optional("model") {
                let (setup, source) = try modelSetup(modelValue, file: file)
                if case .package(let package) = setup, package.manifest.kind != kind {
                    throw modelValue.error("\(package.manifest.identifier) watches a \(package.manifest.kind.rawValue), not a \(kind.rawValue)")
                }
                appliance.detector = setup
                appliance.modelSource = source
            } else if let (setup, source) = hubSetup, setup.watches(kind) {
                appliance.detector = setup
                appliance.modelSource = source
            } else if let directory = resolve("fixtures/models/\(kind.rawValue)", file: file) {
                // The committed package for the kind is the hub's default detector.
                do { appliance.detector = .package(try ModelPackage.load(directory: directory)) } catch {
                    throw kindValue.error("the default model package \(directory): \(error)")
                }
                appliance.modelSource = "default fixtures/models/\(kind.rawValue)"
            } else {
                appliance.modelSource = "default interim"
            }
            result.append(appliance)
        }
        return result
    }

    /// Timeline parameters each fault kind takes (beyond at/fault/for/device).
    static let faultParameters: [(kind: String, parameters: [String])] = hardwareFaultParameters + applianceFaultParameters

    static let applianceFaultParameters: [(kind: String, parameters: [String])] =
        ApplianceFailure.allCases.map { failure -> (kind: String, parameters: [String]) in ("appliance.\(failure.rawValue)", ["ramp"]) }

    static let hardwareFaultParameters: [(kind: String, parameters: [String])] = [
        ("i2c.absent", []), ("i2c.nack", ["probability"]), ("i2c.timeout", ["probability"]),
        ("i2c.slow", ["stretch"]), ("i2c.bitflip", ["probability"]), ("i2c.stuck", []),
        ("i2c.reset", []), ("i2c.whoami", ["value"]),
        ("sensor.drift", ["channel", "rate"]), ("sensor.spike", ["channel", "magnitude", "probability"]),
        ("sensor.stuck", ["channel"]),
        ("gpio.stuck", ["level"]), ("gpio.bounce", ["count"]),
    ]

    static let joystickKeys: [(name: String, bit: UInt8)] = [("down", 0x01), ("right", 0x02), ("up", 0x04), ("enter", 0x08), ("left", 0x10)]

    static var faultNames: String {
        faultParameters.map { entry in
            let parts = entry.kind.split(separator: ".")
            let target = parts[0] == "i2c" ? "addr" : parts[0] == "gpio" ? "line" : "device"
            if parts[0] == "appliance" { return "appliance.<device>.\(parts[1])" }
            return "\(parts[0]).<\(target)>.\(parts[1])"
        }.joined(separator: ", ")
    }

    /// `{ at: 3h, event: joystick.enter, for: 300ms }`: a person presses the joystick.
    private static func parseEvent(_ map: YAMLMap, _ eventValue: YAMLValue, duration: Duration) throws(ScenarioError) -> ScheduledFault {
        try map.finish(known: ["at", "event", "for"])
        let name = try eventValue.string()
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "joystick" else {
            throw eventValue.error("unknown event '\(name)' (known: joystick.<keys>, keys from \(joystickKeys.map(\.name).joined(separator: "/")) joined by '+')")
        }
        var bits: UInt8 = 0
        for key in parts[1].split(separator: "+") {
            guard let bit = joystickKeys.first(where: { $0.name == key })?.bit else {
                throw eventValue.error("unknown joystick key '\(key)' (known: \(joystickKeys.map(\.name).joined(separator: ", ")))")
            }
            bits |= bit
        }
        let atValue = try map.required("at")
        let at = try atValue.duration()
        if at > duration { throw atValue.error("event happens after the scenario ends (\(DurationText.format(duration)))") }
        let hold = try map.optional("for")?.duration() ?? .milliseconds(300)
        return ScheduledFault(at: at, duration: hold, fault: .joystick(keys: bits, name: parts[1]))
    }

    private static func parseFault(_ item: YAMLValue, devices: [DeviceID], kinds: [ApplianceKind],
                                   duration: Duration) throws(ScenarioError) -> ScheduledFault {
        let map = try item.map()
        if let eventValue = map.optional("event") {
            if let faultValue = map.optional("fault") { throw faultValue.error("a timeline entry is a fault or an event, not both") }
            return try parseEvent(map, eventValue, duration: duration)
        }
        let faultValue = try map.required("fault")
        let name = try faultValue.string()
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let entry = faultParameters.first(where: { $0.kind == "\(parts[0]).\(parts[2])" }) else {
            throw faultValue.error("unknown fault '\(name)' (simulated: \(faultNames))")
        }
        try map.finish(known: ["at", "fault", "for", "device"] + entry.parameters)
        let atValue = try map.required("at")
        let at = try atValue.duration()
        if at > duration { throw atValue.error("fault starts after the scenario ends (\(DurationText.format(duration)))") }
        let forValue = map.optional("for")
        let lasting = try forValue?.duration()
        if let forValue, entry.kind == "i2c.reset" { throw forValue.error("a reset is an instant; it takes no 'for'") }
        func device(_ value: YAMLValue) throws(ScenarioError) -> DeviceID {
            let id = try value.deviceID()
            guard devices.contains(id) else { throw value.error("no appliance with id '\(id)'") }
            return id
        }
        func probability() throws(ScenarioError) -> Double {
            guard let value = map.optional("probability") else { return 1 }
            let p = try value.double()
            guard (0...1).contains(p) else { throw value.error("probability must be within 0...1") }
            return p
        }
        func channel(_ allowed: [Channel]) throws(ScenarioError) -> Channel {
            let value = try map.required("channel")
            let text = try value.string()
            guard let channel = Channel(key: text), allowed.contains(channel) else {
                throw value.error("channel must be one of \(allowed.map(\.key).joined(separator: ", "))")
            }
            return channel
        }
        func number(_ key: String) throws(ScenarioError) -> Double { try map.required(key).double() }
        if parts[0] == "appliance" {
            if let deviceValue = map.optional("device") { throw deviceValue.error("an appliance failure names its device in the fault name") }
            let target: DeviceID
            do { target = try DeviceID(validating: parts[1]) } catch { throw faultValue.error(error.description) }
            guard let index = devices.firstIndex(of: target) else { throw faultValue.error("no appliance with id '\(target)'") }
            let failure = ApplianceFailure(rawValue: parts[2])!
            guard failure.kind == kinds[index] else {
                throw faultValue.error("\(failure.rawValue) is a \(failure.kind.rawValue) failure; '\(target)' is a \(kinds[index].rawValue)")
            }
            let ramp = try map.optional("ramp")?.duration() ?? .zero
            return ScheduledFault(at: at, duration: lasting, fault: .appliance(device: target, failure, ramp: ramp))
        }
        if parts[0] == "sensor" {
            if let deviceValue = map.optional("device") { throw deviceValue.error("a sensor fault names its device in the fault name") }
            let target: DeviceID
            do { target = try DeviceID(validating: parts[1]) } catch { throw faultValue.error(error.description) }
            guard devices.contains(target) else { throw faultValue.error("no appliance with id '\(target)'") }
            let physical: [Channel] = [.temperature, .humidity, .pressure]
            let fault: SensorFault
            switch parts[2] {
            case "drift": fault = .drift(channel: try channel(physical), perHour: try number("rate"))
            case "spike":
                fault = .spike(channel: try channel(physical), magnitude: try number("magnitude"), probability: try probability())
            default: fault = .stuck(channel: try channel(physical + [.vibration]))
            }
            return ScheduledFault(at: at, duration: lasting, fault: .sensor(device: target, fault))
        }
        if parts[0] == "gpio" {
            guard let line = Int(parts[1]), (0..<54).contains(line) else { throw faultValue.error("'\(parts[1])' is not a GPIO line 0...53") }
            if let deviceValue = map.optional("device") { throw deviceValue.error("GPIO faults are on the Pi, not on a device's kit") }
            if parts[2] == "stuck" {
                let levelValue = map.optional("level")
                let level = try levelValue?.string() ?? "low"
                guard level == "low" || level == "high" else { throw levelValue!.error("level must be low or high") }
                return ScheduledFault(at: at, duration: lasting, fault: .gpio(.stuck(line: line, level: level == "high")))
            }
            let countValue = map.optional("count")
            let count = try countValue?.int() ?? 5
            guard (1...100).contains(count) else { throw countValue!.error("count must be within 1...100") }
            return ScheduledFault(at: at, duration: lasting, fault: .gpio(.bounce(line: line, count: count)))
        }
        guard parts[1].hasPrefix("0x"), let address = UInt8(parts[1].dropFirst(2), radix: 16), address < 128 else {
            throw faultValue.error("'\(parts[1])' is not a 7-bit I²C address like 0x5f")
        }
        let target = try map.optional("device").map { (value) throws(ScenarioError) in try device(value) }
        let fault: SimFault
        switch parts[2] {
        case "absent": fault = .i2cWire(address: address, .absent)
        case "nack": fault = .i2cWire(address: address, .nack(probability: try probability()))
        case "timeout": fault = .i2cWire(address: address, .timeout(probability: try probability()))
        case "bitflip": fault = .i2cWire(address: address, .bitflip(probability: try probability()))
        case "slow": fault = .i2cWire(address: address, .slow(stretch: try map.required("stretch").duration()))
        case "stuck": fault = .i2cStuck(address: address)
        case "reset": fault = .i2cReset(address: address)
        default:
            let value = try map.required("value")
            let text = try value.string()
            guard text.hasPrefix("0x"), let byte = UInt8(text.dropFirst(2), radix: 16) else {
                throw value.error("expected a byte like 0xbd, found \(text.debugDescription)")
            }
            fault = .i2cWhoAmI(address: address, value: byte)
        }
        return ScheduledFault(at: at, duration: lasting, fault: fault, device: target)
    }

    static let expectationNames = ["readings-every-poll", "no-alert", "no-reading-lost", "no-corrupted-reading", "alert", "led", "health", "scroll", "scroll-count", "channel-range"]

    private static func parseExpectation(_ item: YAMLValue, devices: [DeviceID]) throws(ScenarioError) -> Expectation {
        let name: String
        var argument: YAMLValue?
        if item.isScalar {
            name = try item.string()
        } else {
            let map = try item.map()
            guard map.keys.count == 1, let key = map.keys.first else {
                throw item.error("an expectation is a name, or a mapping with exactly one name")
            }
            name = key
            argument = map.optional(key)
        }
        func device(_ map: YAMLMap) throws(ScenarioError) -> DeviceID? {
            guard let value = map.optional("device") else { return nil }
            let id = try value.deviceID()
            guard devices.contains(id) else { throw value.error("no appliance with id '\(id)'") }
            return id
        }
        switch name {
        case "readings-every-poll", "no-alert":
            var target: DeviceID?
            if let argument {
                let map = try argument.map()
                try map.finish(known: ["device"])
                target = try device(map)
            }
            return name == "no-alert" ? .noAlert(device: target) : .readingsEveryPoll(device: target)
        case "no-reading-lost", "no-corrupted-reading":
            if let argument { throw argument.error("\(name) takes no arguments") }
            return name == "no-reading-lost" ? .noReadingLost : .noCorruptedReading
        case "scroll":
            guard let argument else { throw item.error("scroll needs { prefix, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["prefix", "within", "after"])
            return .scroll(prefix: try map.required("prefix").string(), after: try map.optional("after")?.duration() ?? .zero,
                           within: try map.required("within").duration())
        case "channel-range":
            guard let argument else { throw item.error("channel-range needs { device, channel, min, max }") }
            let map = try argument.map()
            try map.finish(known: ["device", "channel", "min", "max"])
            guard let target = try device(map) else { throw argument.error("missing required field 'device'") }
            let channelValue = try map.required("channel")
            let text = try channelValue.string()
            guard let channel = Channel(key: text) else {
                throw channelValue.error("unknown channel '\(text)' (known: \(Channel.allCases.map(\.key).joined(separator: ", ")))")
            }
            let low = try map.required("min").double()
            let maxValue = try map.required("max")
            let high = try maxValue.double()
            guard low <= high else { throw maxValue.error("max must not be below min") }
            return .channelRange(device: target, channel: channel, min: low, max: high)
        case "scroll-count":
            guard let argument else { throw item.error("scroll-count needs a number") }
            let count = try argument.int()
            guard count >= 0 else { throw argument.error("scroll-count must not be negative") }
            return .scrollCount(count)
        case "health":
            guard let argument else { throw item.error("health needs { device, state, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["device", "state", "within", "after"])
            guard let target = try device(map) else { throw argument.error("missing required field 'device'") }
            let stateValue = try map.required("state")
            let stateText = try stateValue.string()
            guard let state = HealthState(rawValue: stateText) else { throw stateValue.error("state must be ok, degraded or failed") }
            return .health(device: target, state: state, after: try map.optional("after")?.duration() ?? .zero,
                           within: try map.required("within").duration())
        case "alert":
            guard let argument else { throw item.error("alert needs { device, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["device", "within", "after"])
            guard let target = try device(map) else { throw argument.error("missing required field 'device'") }
            return .alert(device: target, after: try map.optional("after")?.duration() ?? .zero,
                          within: try map.required("within").duration())
        case "led":
            guard let argument else { throw item.error("led needs a colour, or { colour, within, after }") }
            if argument.isScalar {
                return .led(colour: try colour(argument), after: nil, within: nil)
            }
            let map = try argument.map()
            try map.finish(known: ["colour", "within", "after"])
            return .led(colour: try colour(try map.required("colour")),
                        after: try map.optional("after")?.duration() ?? .zero,
                        within: try map.required("within").duration())
        default:
            throw item.error("unknown expectation '\(name)' (known: \(expectationNames.joined(separator: ", ")))")
        }
    }

    private static func colour(_ value: YAMLValue) throws(ScenarioError) -> String {
        let text = try value.string()
        guard statusColours.contains(text) else { throw value.error("unknown LED colour '\(text)' (known: \(statusColours.joined(separator: ", ")))") }
        return text
    }

    private static func yamlError(_ error: YamlError, file: String) -> ScenarioError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ScenarioError(file: file, line: mark.line, column: mark.column, field: nil, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ScenarioError(file: file, line: context.mark.line, column: context.mark.column,
                                 field: duplicates.sorted().first, message: "duplicate field (first defined here)")
        default:
            return ScenarioError(file: file, line: nil, column: nil, field: nil, message: "invalid YAML: \(error)")
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` only: scenario times are UTC and exact.
    static func parseUTC(_ text: String) -> Instant? {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              year >= 1970, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Instant(secondsSinceEpoch: Int64(days * 86_400 + hour * 3600 + minute * 60 + second))
    }
}
