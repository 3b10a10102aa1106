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

    /// The largest scenario file the loader reads (a scenario is a page of YAML).
    public static let maximumFileBytes = 1024 * 1024

    /// Loads the scenario at `path`; `models` is `--models DIR` (see `ModelSearch`).
    public static func load(path: String, models: String? = nil) throws(ScenarioError) -> Scenario {
        let bytes: [UInt8]
        do {
            bytes = try FileContents.bytes(atPath: path, maximumBytes: maximumFileBytes)
        } catch {
            throw ScenarioError(file: path, line: nil, column: nil, field: nil, message: error.message)
        }
        return try parse(bytes: bytes, file: path, models: models)
    }

    /// Parses the bytes of a scenario file: UTF-8 text (a byte-order mark allowed), or an
    /// error saying where and how it is not.
    public static func parse(bytes: [UInt8], file: String, models: String? = nil) throws(ScenarioError) -> Scenario {
        if let problem = TextEncodingProblem.find(in: bytes) {
            throw ScenarioError(file: file, line: problem.line, column: problem.column, field: nil, message: problem.description)
        }
        let text = String(decoding: bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes, as: UTF8.self)
        return try parse(text, file: file, models: models)
    }

    /// Parses scenario text; `file` names it in errors and anchors model paths (`ModelSearch`).
    public static func parse(_ text: String, file: String, models: String? = nil) throws(ScenarioError) -> Scenario {
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
        let thingValue = hub.optional("thing")
        let thing = try thingValue?.string() ?? "hbshub001"
        if let thingValue, !isPlainName(thing, maximum: 128, extra: ":_-") {
            throw thingValue.error("a thing name is 1...128 letters, digits, ':', '_' or '-' (it is part of MQTT topics), found \(thing.debugDescription)")
        }
        let pollInterval = try hub.optional("poll_interval")?.duration(in: Limits.pollInterval) ?? HubConfig.defaultPollInterval
        let search = ModelSearch(scenarioFile: file, models: models)
        if let directory = search.models, !ModelSearch.isDirectory(directory) {
            throw ScenarioError(file: file, line: nil, column: nil, field: nil,
                                message: "--models \(models ?? directory): not a directory (it holds <kind>/ model packages)")
        }
        let appliances = try parseAppliances(try hub.required("appliances"), hubModel: hub.optional("model"), search: search)
        let duration = try root.required("duration").duration(in: Limits.duration)

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
            guard let instant = parseUTC(text), instant <= DurationText.latestStart else {
                throw startValue.error("expected a UTC time from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z like 2026-01-15T00:00:00Z, found \(text.debugDescription)")
            }
            start = instant
        }
        let setup = Setup(appliances: appliances, duration: duration)
        let timeline = try root.optional("timeline")?.list().map { (item) throws(ScenarioError) in try parseFault(item, setup) } ?? []
        let presses = timeline.compactMap { entry -> Duration? in if case .joystick = entry.fault { entry.at } else { nil } }
        return Scenario(
            name: name, file: file,
            pillar: try root.optional("pillar")?.string(),
            questions: try root.optional("questions")?.list().map { (item) throws(ScenarioError) in try item.string() } ?? [],
            modes: modes,
            seed: try root.required("seed").uint64(),
            start: start, duration: duration, thing: thing, pollInterval: pollInterval,
            appliances: appliances,
            timeline: timeline,
            expectations: try root.optional("expect")?.list().map { (item) throws(ScenarioError) in
                try parseExpectation(item, setup, presses: presses)
            } ?? [])
    }

    /// The ranges numeric scenario fields must lie in (README, "Scenarios").
    public enum Limits {
        /// A scenario lasts at least a second and at most `DurationText.maximum` (10 years).
        public static let duration: ClosedRange<Duration> = .seconds(1)...DurationText.maximum
        /// The hub's own range, as `hub run --poll` has it (see `HubConfig.pollIntervals`).
        public static let pollInterval = HubConfig.pollIntervals
        /// A fault or event that lasts (`for:`), and an expectation's window (`within:`).
        public static let span: ClosedRange<Duration> = .milliseconds(1)...DurationText.maximum
        /// A fault's probability per transfer or conversion (0 would never fire).
        public static let probability: ClosedRange<Double> = 0.000_001...1
        /// Clock stretching: from a millisecond (past 0.64 ms the controller times out) to a minute.
        public static let stretch: ClosedRange<Duration> = .milliseconds(1)...Duration.seconds(60)
        /// A sensor drift per hour, in the channel's unit (°C, %RH, hPa); zero does nothing.
        public static let driftRate: ClosedRange<Double> = -1000...1000
        /// A spike's size in the channel's unit; zero does nothing.
        public static let spikeMagnitude: ClosedRange<Double> = 0.001...1000
        /// Edges per bounce.
        public static let bounceCount: ClosedRange<Int> = 1...100
        /// `channel-range` bounds (every channel's unit fits well inside).
        public static let channelValue: ClosedRange<Double> = -1e6...1e6
        /// `scroll-count`.
        public static let scrollCount: ClosedRange<Int> = 0...10_000
    }

    /// ASCII letters, digits and the `extra` characters only, 1...`maximum` of them.
    static func isPlainName(_ text: String, maximum: Int, extra: String) -> Bool {
        let allowed = Array(extra.utf8)
        return (1...maximum).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || allowed.contains(byte)
        }
    }

    /// What the rest of a scenario is checked against: its appliances and its length.
    struct Setup {
        let appliances: [Scenario.Appliance]
        let duration: Duration
        var devices: [DeviceID] { appliances.map(\.id) }
        /// Whether anything scores `id`'s readings (the interim detector watches furnaces only).
        func isScored(_ id: DeviceID) -> Bool {
            guard let appliance = appliance(id) else { return false }
            switch appliance.detector {
            case .package: return true
            case .interim: return appliance.kind == .furnace
            case .none: return false
            }
        }
        func appliance(_ id: DeviceID) -> Scenario.Appliance? { appliances.first { $0.id == id } }
        /// `at:`/`after:` offsets: a moment inside the run (at the end or later nothing can happen).
        var offsets: ClosedRange<Duration> { .zero...(duration - .milliseconds(1)) }
    }

    /// `model: <dir>` (a package, found by `ModelSearch`), `model: interim` (the rolling
    /// z-score) or `model: none`; the second value is the resolved source, for reports.
    static func modelSetup(_ value: YAMLValue, search: ModelSearch) throws(ScenarioError) -> (DetectorSetup, String) {
        let text = try value.string()
        switch text {
        case "interim": return (.interim, "interim")
        case "none": return (.none, "none")
        default:
            guard let directory = search.resolve(text) else {
                throw value.error("no model package at \(text.debugDescription) (a directory with manifest.json) in \(search.scenarioDirectory) or a directory above it")
            }
            do { return (.package(try ModelPackage.load(directory: directory)), directory) } catch {
                throw value.error("model package \(directory): \(error)")
            }
        }
    }

    /// Each appliance's detector, in order of precedence: its own `model:`, the hub-level
    /// `model:` (if a package, for appliances of its kind), the committed (or `--models`)
    /// package for its kind, the interim detector.
    private static func parseAppliances(_ value: YAMLValue, hubModel: YAMLValue?, search: ModelSearch) throws(ScenarioError) -> [Scenario.Appliance] {
        let hubSetup = try hubModel.map { (value) throws(ScenarioError) in try modelSetup(value, search: search) }
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
                let (setup, source) = try modelSetup(modelValue, search: search)
                if case .package(let package) = setup, package.manifest.kind != kind {
                    throw modelValue.error("\(package.manifest.identifier) watches a \(package.manifest.kind.rawValue), not a \(kind.rawValue)")
                }
                appliance.detector = setup
                appliance.modelSource = source
            } else if let (setup, source) = hubSetup, setup.watches(kind) {
                appliance.detector = setup
                appliance.modelSource = source
            } else if let directory = search.defaultPackage(for: kind) {
                // The committed package for the kind is the hub's default detector.
                do { appliance.detector = .package(try ModelPackage.load(directory: directory)) } catch {
                    throw kindValue.error("the default model package \(directory): \(error)")
                }
                appliance.modelSource = directory
            } else {
                appliance.modelSource = "default interim (no \(ModelPackage.directory(for: kind, in: search.models ?? ModelPackage.committedDirectory)) package)"
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
        ("sensor.drift", ["channel", "rate", "chip"]), ("sensor.spike", ["channel", "magnitude", "probability", "chip"]),
        ("sensor.stuck", ["channel", "chip"]),
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
    private static func parseEvent(_ map: YAMLMap, _ eventValue: YAMLValue, _ setup: Setup) throws(ScenarioError) -> ScheduledFault {
        try map.finish(known: ["at", "event", "for"])
        let name = try eventValue.string()
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "joystick" else {
            throw eventValue.error("unknown event '\(name)' (known: joystick.<keys>, keys from \(joystickKeys.map(\.name).joined(separator: "/")) joined by '+')")
        }
        var bits: UInt8 = 0
        for key in parts[1].split(separator: "+", omittingEmptySubsequences: false) {
            guard let bit = joystickKeys.first(where: { $0.name == key })?.bit else {
                throw eventValue.error("unknown joystick key '\(key)' (known: \(joystickKeys.map(\.name).joined(separator: ", ")))")
            }
            bits |= bit
        }
        let at = try offset(try map.required("at"), setup)
        let hold = try map.optional("for")?.duration(in: Limits.span) ?? .milliseconds(300)
        return ScheduledFault(at: at, duration: hold, fault: .joystick(keys: bits, name: parts[1]))
    }

    /// An `at:` or `after:` offset: inside the run, or the entry could hit nothing.
    private static func offset(_ value: YAMLValue, _ setup: Setup) throws(ScenarioError) -> Duration {
        let at = try value.duration()
        guard setup.offsets.contains(at) else {
            throw value.error("\(DurationText.format(at)) is at or after the end of the scenario (allowed: 0s up to the duration, \(DurationText.format(setup.duration)))")
        }
        return at
    }

    private static func parseFault(_ item: YAMLValue, _ setup: Setup) throws(ScenarioError) -> ScheduledFault {
        let map = try item.map()
        if let eventValue = map.optional("event") {
            if let faultValue = map.optional("fault") { throw faultValue.error("a timeline entry is a fault or an event, not both") }
            return try parseEvent(map, eventValue, setup)
        }
        let faultValue = try map.required("fault")
        let name = try faultValue.string()
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let entry = faultParameters.first(where: { $0.kind == "\(parts[0]).\(parts[2])" }) else {
            throw faultValue.error("unknown fault '\(name)' (simulated: \(faultNames))")
        }
        try map.finish(known: ["at", "fault", "for", "device"] + entry.parameters)
        let at = try offset(try map.required("at"), setup)
        let forValue = map.optional("for")
        let lasting = try forValue?.duration(in: Limits.span)
        if let forValue, entry.kind == "i2c.reset" { throw forValue.error("a reset is an instant; it takes no 'for'") }
        func device(_ value: YAMLValue) throws(ScenarioError) -> DeviceID {
            let id = try value.deviceID()
            guard setup.devices.contains(id) else { throw value.error("no appliance with id '\(id)'") }
            return id
        }
        func probability() throws(ScenarioError) -> Double {
            try map.optional("probability")?.double(in: Limits.probability) ?? 1
        }
        func channel(_ allowed: [Channel], of target: DeviceID) throws(ScenarioError) -> Channel {
            let value = try map.required("channel")
            let text = try value.string()
            guard let channel = Channel(key: text), allowed.contains(channel) else {
                throw value.error("unknown channel '\(text)' for a \(entry.kind) fault (known: \(allowed.map(\.key).joined(separator: ", ")))")
            }
            let kind = setup.appliance(target)!.kind
            let has = MonitoringKit.for(kind).channels
            guard has.contains(channel) else {
                throw value.error("'\(target)' (a \(kind.rawValue)) has no \(channel.key) sensor; its kit measures \(has.filter(allowed.contains).map(\.key).joined(separator: ", "))")
            }
            return channel
        }
        /// The chip whose element the fault sits on: `chip:` or the one readings take the channel from.
        func sensingChip(for channel: Channel, of target: DeviceID) throws(ScenarioError) -> SenseHATChip {
            let measuring = SenseHATChip.measuring(channel)
            guard let chipValue = map.optional("chip") else { return measuring[0] }
            let text = try chipValue.string()
            guard let chip = SenseHATChip(rawValue: text), measuring.contains(chip) else {
                throw chipValue.error("no chip '\(text)' measures \(channel.key) (known: \(measuring.map(\.rawValue).joined(separator: ", ")))")
            }
            let kind = setup.appliance(target)!.kind
            guard MonitoringKit.for(kind).chips.contains(chip) else {
                throw chipValue.error("the hub does not poll the \(chip.rawValue) on '\(target)' (a \(kind.rawValue)), so a fault there hits nothing (it polls \(MonitoringKit.for(kind).chips.map(\.rawValue).joined(separator: ", ")))")
            }
            return chip
        }
        func target() throws(ScenarioError) -> DeviceID {
            if let deviceValue = map.optional("device") { throw deviceValue.error("a \(parts[0]) fault names its device in the fault name") }
            let target: DeviceID
            do { target = try DeviceID(validating: parts[1]) } catch { throw faultValue.error(error.description) }
            guard setup.devices.contains(target) else { throw faultValue.error("no appliance with id '\(target)'") }
            return target
        }
        if parts[0] == "appliance" {
            let target = try target()
            let kind = setup.appliance(target)!.kind
            let failure = ApplianceFailure(rawValue: parts[2])!
            guard failure.kind == kind else {
                throw faultValue.error("\(failure.rawValue) is a \(failure.kind.rawValue) failure; '\(target)' is a \(kind.rawValue)")
            }
            let ramp = try map.optional("ramp")?.duration() ?? .zero
            return ScheduledFault(at: at, duration: lasting, fault: .appliance(device: target, failure, ramp: ramp))
        }
        if parts[0] == "sensor" {
            let target = try target()
            let physical: [Channel] = [.temperature, .humidity, .pressure]
            let fault: SensorFault
            switch parts[2] {
            case "drift":
                let channel = try channel(physical, of: target)
                let rateValue = try map.required("rate")
                let rate = try rateValue.double(in: Limits.driftRate)
                if rate == 0 { throw rateValue.error("a drift of 0 per hour changes nothing (allowed: \(Limits.driftRate), not 0)") }
                fault = .drift(channel: channel, perHour: rate)
            case "spike":
                fault = .spike(channel: try channel(physical, of: target), magnitude: try map.required("magnitude").double(in: Limits.spikeMagnitude),
                               probability: try probability())
            default: fault = .stuck(channel: try channel(physical + [.vibration], of: target))
            }
            return ScheduledFault(at: at, duration: lasting, fault: .sensor(device: target, fault, chip: try sensingChip(for: fault.channel, of: target)))
        }
        if parts[0] == "gpio" {
            guard let line = Int(parts[1]), FaultTargets.gpioLines.contains(line) else {
                throw faultValue.error("'\(parts[1])' is not a GPIO line the hub watches (lines: \(FaultTargets.gpioLines.map(String.init).joined(separator: ", ")), the joystick interrupt)")
            }
            if let deviceValue = map.optional("device") { throw deviceValue.error("GPIO faults are on the Pi, not on a device's kit") }
            if parts[2] == "stuck" {
                let levelValue = map.optional("level")
                let level = try levelValue?.string() ?? "low"
                guard level == "low" || level == "high" else { throw levelValue!.error("level must be low or high") }
                return ScheduledFault(at: at, duration: lasting, fault: .gpio(.stuck(line: line, level: level == "high")))
            }
            let count = try map.optional("count")?.int(in: Limits.bounceCount) ?? 5
            return ScheduledFault(at: at, duration: lasting, fault: .gpio(.bounce(line: line, count: count)))
        }
        guard parts[1].hasPrefix("0x"), parts[1].count <= 4, let address = UInt8(parts[1].dropFirst(2), radix: 16), address < 128 else {
            throw faultValue.error("'\(parts[1])' is not a 7-bit I²C address like 0x5f")
        }
        let deviceValue = map.optional("device")
        let target = try deviceValue.map { (value) throws(ScenarioError) in try device(value) }
        try checkI2CTarget(address: address, chipFault: ["stuck", "reset", "whoami"].contains(parts[2]), device: target,
                           setup: setup, at: deviceValue ?? faultValue)
        let fault: SimFault
        switch parts[2] {
        case "absent": fault = .i2cWire(address: address, .absent)
        case "nack": fault = .i2cWire(address: address, .nack(probability: try probability()))
        case "timeout": fault = .i2cWire(address: address, .timeout(probability: try probability()))
        case "bitflip": fault = .i2cWire(address: address, .bitflip(probability: try probability()))
        case "slow": fault = .i2cWire(address: address, .slow(stretch: try map.required("stretch").duration(in: Limits.stretch)))
        case "stuck": fault = .i2cStuck(address: address)
        case "reset": fault = .i2cReset(address: address)
        default:
            let value = try map.required("value")
            let text = try value.string()
            guard text.hasPrefix("0x"), text.count <= 4, let byte = UInt8(text.dropFirst(2), radix: 16) else {
                throw value.error("expected a byte 0x00...0xff like 0xbd, found \(text.debugDescription)")
            }
            fault = .i2cWhoAmI(address: address, value: byte)
        }
        return ScheduledFault(at: at, duration: lasting, fault: fault, device: target)
    }

    /// Refuses an I²C fault that no part the hub talks to would feel (see `FaultTargets`).
    private static func checkI2CTarget(address: UInt8, chipFault: Bool, device: DeviceID?, setup: Setup,
                                       at value: YAMLValue) throws(ScenarioError) {
        let hex = FaultTargets.hex(address)
        var known: [String] = []
        for (index, appliance) in setup.appliances.enumerated() where device == nil || device == appliance.id {
            let parts = FaultTargets.parts(kind: appliance.kind, first: index == 0)
            if let part = parts.first(where: { $0.address == address }), !chipFault || part.chipFaults { return }
            known += parts.filter { !chipFault || $0.chipFaults }.map { "\(FaultTargets.hex($0.address)) \($0.name)" }
        }
        var seen: [String] = []
        for name in known where !seen.contains(name) { seen.append(name) }
        let whose = device.map { "the kit of '\($0)'" } ?? "any kit"
        let what = chipFault ? "no chip with stuck/reset/whoami fault models" : "no part the hub talks to"
        throw value.error("\(what) at \(hex) on \(whose), so the fault would hit nothing (there: \(seen.isEmpty ? "none" : seen.joined(separator: ", ")))")
    }

    static let expectationNames = ["readings-every-poll", "no-alert", "no-reading-lost", "no-corrupted-reading", "alert", "led", "health", "scroll", "scroll-count", "channel-range"]

    /// `presses`: when the timeline presses the joystick (scroll expectations need one).
    private static func parseExpectation(_ item: YAMLValue, _ setup: Setup, presses: [Duration]) throws(ScenarioError) -> Expectation {
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
            guard setup.devices.contains(id) else { throw value.error("no appliance with id '\(id)'") }
            return id
        }
        /// `after:` (default 0) and `within:` of a window that must start inside the run.
        func window(_ map: YAMLMap) throws(ScenarioError) -> (after: Duration, within: Duration) {
            let after = try map.optional("after").map { (value) throws(ScenarioError) in try offset(value, setup) } ?? .zero
            return (after, try map.required("within").duration(in: Limits.span))
        }
        switch name {
        case "readings-every-poll", "no-alert":
            var target: DeviceID?
            if let argument {
                let map = try argument.map()
                try map.finish(known: ["device"])
                target = try device(map)
            }
            if name == "no-alert", !(target.map(setup.isScored) ?? setup.devices.contains(where: setup.isScored)) {
                throw item.error("no-alert cannot fail: nothing scores \(target.map { "'\($0)'" } ?? "any appliance") (model: none, or interim on a non-furnace)")
            }
            return name == "no-alert" ? .noAlert(device: target) : .readingsEveryPoll(device: target)
        case "no-reading-lost", "no-corrupted-reading":
            if let argument { throw argument.error("\(name) takes no arguments") }
            return name == "no-reading-lost" ? .noReadingLost : .noCorruptedReading
        case "scroll":
            guard let argument else { throw item.error("scroll needs { prefix, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["prefix", "within", "after"])
            let prefix = try map.required("prefix").string()
            let (after, within) = try window(map)
            guard presses.contains(where: { $0 <= after + within }) else {
                throw argument.error("the hub scrolls only when the joystick is pressed, and the timeline presses it \(presses.isEmpty ? "never" : "only after this window") (add an event: joystick.enter)")
            }
            return .scroll(prefix: prefix, after: after, within: within)
        case "channel-range":
            guard let argument else { throw item.error("channel-range needs { device, channel, min, max }") }
            let map = try argument.map()
            try map.finish(known: ["device", "channel", "min", "max"])
            guard let target = try device(map) else { throw argument.error("missing required field 'device'") }
            let channelValue = try map.required("channel")
            let text = try channelValue.string()
            guard let channel = Channel(key: text) else {
                throw channelValue.error("unknown channel '\(text)' (known: \(Channel.published.map(\.key).joined(separator: ", ")))")
            }
            let kind = setup.appliance(target)!.kind
            let has = MonitoringKit.for(kind).channels
            guard has.contains(channel) else {
                throw channelValue.error("'\(target)' (a \(kind.rawValue)) has no \(channel.key) channel (its readings carry \(has.map(\.key).joined(separator: ", ")))")
            }
            let low = try map.required("min").double(in: Limits.channelValue)
            let maxValue = try map.required("max")
            let high = try maxValue.double(in: Limits.channelValue)
            guard low <= high else { throw maxValue.error("max must not be below min") }
            return .channelRange(device: target, channel: channel, min: low, max: high)
        case "scroll-count":
            guard let argument else { throw item.error("scroll-count needs a number") }
            let count = try argument.int(in: Limits.scrollCount)
            guard count <= presses.count else {
                throw argument.error("\(count) scrolls can never happen: the timeline presses the joystick \(presses.count) time(s)")
            }
            return .scrollCount(count)
        case "health":
            guard let argument else { throw item.error("health needs { device, state, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["device", "state", "within", "after"])
            guard let target = try device(map) else { throw argument.error("missing required field 'device'") }
            let stateValue = try map.required("state")
            let stateText = try stateValue.string()
            guard let state = HealthState(rawValue: stateText) else { throw stateValue.error("state must be ok, degraded or failed") }
            let (after, within) = try window(map)
            return .health(device: target, state: state, after: after, within: within)
        case "alert":
            guard let argument else { throw item.error("alert needs { device, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["device", "within", "after"])
            guard let target = try device(map) else { throw argument.error("missing required field 'device'") }
            let (after, within) = try window(map)
            guard setup.isScored(target) else {
                throw argument.error("'\(target)' can never alert: nothing scores its readings (model: none, or interim on a non-furnace)")
            }
            return .alert(device: target, after: after, within: within)
        case "led":
            guard let argument else { throw item.error("led needs a colour, or { colour, within, after }") }
            if argument.isScalar {
                return .led(colour: try colour(argument), after: nil, within: nil)
            }
            let map = try argument.map()
            try map.finish(known: ["colour", "within", "after"])
            let colour = try colour(try map.required("colour"))
            let (after, within) = try window(map)
            return .led(colour: colour, after: after, within: within)
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
        case .reader(let problem, let offset, let value, let yaml):
            // The offset counts characters from the start; count lines and columns the same way.
            var line = 1
            var column = 1
            for character in yaml.prefix(offset ?? 0) {
                if character == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            let found = value >= 0 && value <= 0x10FFFF ? String(format: " (found U+%04X)", value) : ""
            return ScenarioError(file: file, line: line, column: column, field: nil, message: "invalid YAML: \(problem)\(found)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ScenarioError(file: file, line: context.mark.line, column: context.mark.column,
                                 field: duplicates.sorted().first, message: "duplicate field (first defined here)")
        default:
            return ScenarioError(file: file, line: nil, column: nil, field: nil, message: "invalid YAML: \(error)")
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` only, years 1970...2200: scenario times are UTC and exact.
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
              (1970...2200).contains(year), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
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
