import Foundation
import HubCore
import HubInference
import HubKernel
import HubSim
import HubYAML

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
        try parse(bytes: try YAMLDocument.bytes(atPath: path, maximumBytes: maximumFileBytes), file: path, models: models)
    }

    /// Parses the bytes of a scenario file: UTF-8 text (a byte-order mark allowed), or an
    /// error saying where and how it is not.
    public static func parse(bytes: [UInt8], file: String, models: String? = nil) throws(ScenarioError) -> Scenario {
        try parse(root: try YAMLDocument.root(bytes: bytes, file: file), file: file, models: models)
    }

    /// Parses scenario text; `file` names it in errors and anchors model paths (`ModelSearch`).
    public static func parse(_ text: String, file: String, models: String? = nil) throws(ScenarioError) -> Scenario {
        try parse(root: try YAMLDocument.root(text: text, file: file), file: file, models: models)
    }

    private static func parse(root node: YAMLValue?, file: String, models: String?) throws(ScenarioError) -> Scenario {
        guard let node else { throw ScenarioError(file: file, line: nil, column: nil, field: nil, message: "empty scenario file") }
        let root = try node.map()
        try root.finish(known: ["name", "pillar", "questions", "modes", "tags", "seed", "start", "duration", "hub", "timeline", "expect"])

        let name = try ScenarioName.validate(try root.required("name"))
        let hub = try parseHub(try root.required("hub"), file: file, models: models, allowsIPC: true)
        let duration = try root.required("duration").duration(in: Limits.duration)

        var modes: [Scenario.Mode] = [.sim]
        if let modesValue = root.optional("modes") {
            modes = []
            for item in try modesValue.list() {
                let text = try item.string()
                guard let mode = Scenario.Mode(rawValue: text) else { throw item.error("unknown mode '\(text)'\(ClosestName.hint(text, in: Scenario.Mode.allCases.map(\.rawValue))) (known: sim, live, bench)") }
                modes.append(mode)
            }
        }
        var start = SimulationSetup.defaultStart
        if let startValue = root.optional("start") { start = try parseStart(startValue) }
        var setup = Setup(appliances: hub.appliances, duration: duration)
        if let ipcValue = hub.ipc { setup.ipc = try parseIPC(ipcValue, setup) }
        let timelineItems = try root.optional("timeline")?.list() ?? []
        let timeline = try timelineItems.map { (item) throws(ScenarioError) in try parseFault(item, setup) }
        var tags: [String] = []
        for item in try root.optional("tags")?.list() ?? [] {
            let tag = try item.string()
            guard isPlainName(tag, maximum: 40, extra: "-_"), tag == tag.lowercased() else { throw item.error("tag '\(tag)': lowercase letters, digits, - and _, at most 40") }
            guard !tags.contains(tag) else { throw item.error("tag '\(tag)' given twice") }
            tags.append(tag)
        }
        let expectationItems = try root.optional("expect")?.list() ?? []
        if modes.contains(.live) || modes.contains(.bench) {
            // Refused here, naming the line, rather than halfway through a live run.
            if hub.senseHATKernelBound, let value = root.optional("hub") {
                throw value.error("mode live: the I²C stand-in serves no kernel drivers (sensehat_kernel: bound exists only in simulation)")
            }
            let onHAT = hub.appliances.filter { $0.sensor != "mqtt-kit" }
            if onHAT.count != 1 || hub.appliances[0].sensor == "mqtt-kit", let value = root.optional("hub") {
                throw value.error("mode live: the hub reads one appliance on its own Sense HAT, listed first (the others publish as mqtt-kit); this has \(onHAT.count)")
            }
            if case .none = hub.appliances[0].detector, let value = root.optional("hub") {
                throw value.error("mode live: the hub scores the appliance on its Sense HAT (interim without a package); model: none exists only in simulation")
            }
            if setup.ipc.bufferCountMax != SimIPCSetup.defaultBufferCountMax, let value = root.optional("hub") {
                throw value.error("mode live: hub.ipc.buffer_max: the live component's client keeps \(SimIPCSetup.defaultBufferCountMax) (hub component has no such option)")
            }
            for (item, entry) in zip(timelineItems, timeline) {
                if modes.contains(.live) {
                    do { _ = try LiveRoute.of(entry.fault) } catch { throw item.error("mode live: \(error)") }
                }
                if modes.contains(.bench) {
                    do { _ = try LiveRoute.onBench(entry, senseHAT: hub.appliances[0].id) } catch { throw item.error("mode bench: \(error)") }
                }
            }
        }
        let presses = timeline.compactMap { entry -> Duration? in if case .joystick = entry.fault { entry.at } else { nil } }
        let failing = timeline.compactMap { entry -> String? in
            if case .component(let name, let fault) = entry.fault, fault.endsRun { name } else { nil }
        }
        let deployments = timeline.compactMap { entry -> String? in if case .deploy(let spec) = entry.fault { spec.id } else { nil } }
        return Scenario(
            name: name, file: file,
            pillar: try root.optional("pillar")?.string(),
            questions: try root.optional("questions")?.list().map { (item) throws(ScenarioError) in try item.string() } ?? [],
            modes: modes,
            seed: try root.required("seed").uint64(),
            start: start, duration: duration, thing: hub.thing, pollInterval: hub.pollInterval, telemetryBatching: hub.batching,
            appliances: hub.appliances, certificateWarning: hub.certificateWarning,
            timeline: timeline, ipc: setup.ipc, senseHATKernelBound: hub.senseHATKernelBound,
            tags: tags,
            expectations: try expectationItems.map { (item) throws(ScenarioError) in
                let expectation = try parseExpectation(item, setup, presses: presses, failing: failing, deployments: deployments)
                if modes.contains(.live) || modes.contains(.bench), let why = LiveRoute.unsupported(expectation) {
                    throw item.error("mode \(modes.contains(.live) ? "live" : "bench"): \(why)")
                }
                if case .resources(let budget) = expectation {
                    if budget.memoryBytes != nil || budget.cpuShare != nil, !modes.contains(.live), !modes.contains(.bench) {
                        throw item.error("memory and cpu are a real hub process's (modes live or bench); a simulated hub shares the rig's process — judge its disk, or add mode live")
                    }
                    if budget.diskBytes == nil, modes.contains(.sim) {
                        throw item.error("a simulation judges only the hub's disk: give disk too, or drop mode sim")
                    }
                }
                return expectation
            })
    }

    /// The `hub:` section as scenarios and fleet files write it: the thing, the poll
    /// interval, telemetry batching and the appliances with their models.
    struct HubSection {
        var thing: String
        var pollInterval: Duration
        var batching: TelemetryBatching?
        var appliances: [Scenario.Appliance]
        /// `ipc:` as written (a scenario's hub only), read once the appliances are known.
        var ipc: YAMLValue?
        /// `sensehat_kernel: bound` (a scenario's hub only): the overlay's drivers are loaded.
        var senseHATKernelBound = false
        /// `certificate_warning`: how long ahead the hub reports a kit certificate's expiry.
        var certificateWarning = KitCertificate.warningDefault
    }

    /// Reads a `hub:` section; `file` anchors its model paths and `models` is `--models DIR`
    /// (`ModelSearch`); `allowsIPC`: it may put components over the simulated IPC bus (a scenario's).
    static func parseHub(_ value: YAMLValue, file: String, models: String?, allowsIPC: Bool = false) throws(ScenarioError) -> HubSection {
        let hub = try value.map()
        try hub.finish(known: ["thing", "poll_interval", "telemetry_batch", "appliances", "model", "certificate_warning"] + (allowsIPC ? ["ipc", "sensehat_kernel"] : []))
        var kernelBound = false
        if let kernelValue = hub.optional("sensehat_kernel") {
            switch try kernelValue.string() {
            case "bound": kernelBound = true
            case "none": kernelBound = false
            case let other: throw kernelValue.error("sensehat_kernel must be bound (the rpi-sense overlay's framebuffer and joystick drivers are loaded) or none, found '\(other)'")
            }
        }
        let thingValue = hub.optional("thing")
        let thing = try thingValue?.string() ?? "hbshub001"
        if let thingValue, !HubConfig.isValidThing(thing) {
            throw thingValue.error("\(HubConfig.thingRule), found \(thing.debugDescription)")
        }
        let pollInterval = try hub.optional("poll_interval")?.duration(in: Limits.pollInterval) ?? HubConfig.defaultPollInterval
        var batching: TelemetryBatching? = Scenario.defaultTelemetryBatching
        if let batchValue = hub.optional("telemetry_batch") {
            batching = try batchValue.string() == "off" ? nil
                : TelemetryBatching(interval: try batchValue.duration(in: TelemetryBatching.intervals))
        }
        let search = ModelSearch(scenarioFile: file, models: models)
        if let directory = search.models, !ModelSearch.isDirectory(directory) {
            throw ScenarioError(file: file, line: nil, column: nil, field: nil,
                                message: "--models \(models ?? directory): not a directory (it holds <kind>/ model packages)")
        }
        let appliances = try parseAppliances(try hub.required("appliances"), hubModel: hub.optional("model"), search: search)
        var section = HubSection(thing: thing, pollInterval: pollInterval, batching: batching, appliances: appliances, ipc: hub.optional("ipc"),
                                 senseHATKernelBound: kernelBound)
        if let warningValue = hub.optional("certificate_warning") {
            guard appliances.contains(where: { $0.sensor == "mqtt-kit" }) else {
                throw warningValue.error("certificate_warning is about the kits' certificates, and no appliance has sensor: mqtt-kit")
            }
            section.certificateWarning = try warningValue.duration(in: KitCertificate.warningRange)
        }
        return section
    }

    /// The ranges numeric scenario fields must lie in (README, "Scenarios").
    public enum Limits {
        /// A scenario lasts at least a second and at most `DurationText.maximum` (10 years).
        public static let duration: ClosedRange<Duration> = .seconds(1)...DurationText.maximum
        /// The hub's own range, as `hub run --poll` has it (see `HubConfig.pollIntervals`).
        public static let pollInterval = HubConfig.pollIntervals
        /// A kit certificate's expiry from the run's start: a minute up to ten years.
        public static let certificateExpires: ClosedRange<Duration> = .seconds(60)...DurationText.maximum
        /// A fault or event that lasts (`for:`), and an expectation's window (`within:`).
        public static let span: ClosedRange<Duration> = .milliseconds(1)...DurationText.maximum
        // Fault parameters' ranges live in the `FaultCatalogue`, beside the ports that apply them.
        /// `channel-range` bounds (every channel's unit fits well inside).
        public static let channelValue: ClosedRange<Double> = -1e6...1e6
        /// `hub.ipc.buffer_max`: publishes a component's IPC client holds while the bus is away.
        public static let ipcBuffer: ClosedRange<Int> = 1...1_000_000
        /// `scroll-count`.
        public static let scrollCount: ClosedRange<Int> = 0...10_000
        /// `outbox-depth-max`, `cloud-bytes-per-day-max`, `cloud-attempts-max`.
        public static let runTotal: ClosedRange<Int> = 0...1_000_000_000_000
    }

    /// ASCII letters, digits and the `extra` characters only, 1...`maximum` of them.
    static func isPlainName(_ text: String, maximum: Int, extra: String) -> Bool {
        PlainName.isPlain(text, maximum: maximum, extra: extra)
    }

    /// What the rest of a scenario is checked against: its appliances and its length.
    struct Setup {
        let appliances: [Scenario.Appliance]
        let duration: Duration
        /// The components that run over the simulated IPC bus (`hub.ipc`).
        var ipc = SimIPCSetup()
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
        /// The components this hub runs, by name: the sensor only with a kit on the Sense
        /// HAT, the kit bridge only with a kit over MQTT.
        var components: [String] {
            ComponentRecipe.builtinNames.filter { name in
                switch name {
                case "sensor": appliances.contains { $0.sensor != "mqtt-kit" }
                case "kit-bridge": appliances.contains { $0.sensor == "mqtt-kit" }
                default: true
                }
            }
        }
        /// `at:`/`after:` offsets: a moment inside the run (at the end or later nothing can happen).
        var offsets: ClosedRange<Duration> { .zero...(duration - .milliseconds(1)) }
    }

    /// `hub.ipc: { components: [sensor], buffer_max: 10000 }`: built-in components that run
    /// in processes of their own behind the simulated IPC bus, and their clients' buffer.
    static func parseIPC(_ value: YAMLValue, _ setup: Setup) throws(ScenarioError) -> SimIPCSetup {
        let map = try value.map()
        try map.finish(known: ["components", "buffer_max"])
        let listValue = try map.required("components")
        let items = try listValue.list()
        if items.isEmpty { throw listValue.error("name at least one component to run over IPC (runnable: \(SimIPCSetup.runnable.joined(separator: ", ")))") }
        var ipc = SimIPCSetup()
        for item in items {
            let name = try item.string()
            guard SimIPCSetup.runnable.contains(name) else {
                let why = ComponentRecipe.builtinNames.contains(name)
                    ? "'\(name)' cannot run over the simulated IPC bus (its ports live with the hub here)"
                    : "unknown component '\(name)'\(ClosestName.hint(name, in: SimIPCSetup.runnable))"
                throw item.error("\(why) (runnable: \(SimIPCSetup.runnable.joined(separator: ", ")))")
            }
            guard setup.components.contains(name) else {
                throw item.error("this hub runs no component '\(name)' (it runs: \(setup.components.joined(separator: ", ")))")
            }
            if ipc.components.contains(name) { throw item.error("'\(name)' is listed twice") }
            ipc.components.append(name)
        }
        if let bufferValue = map.optional("buffer_max") { ipc.bufferCountMax = try bufferValue.int(in: Limits.ipcBuffer) }
        return ipc
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
            try map.finish(known: ["id", "kind", "sensor", "interval", "model", "certificate_expires"])
            let idValue = try map.required("id")
            let id = try idValue.deviceID()
            if result.contains(where: { $0.id == id }) { throw idValue.error("duplicate appliance id '\(id)'") }
            let kindValue = try map.required("kind")
            let kindText = try kindValue.string()
            guard let kind = ApplianceKind(rawValue: kindText) else {
                throw kindValue.error("unknown appliance kind '\(kindText)'\(ClosestName.hint(kindText, in: ApplianceKind.allCases.map(\.rawValue))) (known: \(ApplianceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard SimulatedAppliances.kinds.contains(kind) else {
                throw kindValue.error("appliance kind '\(kindText)' has no simulator yet (simulated: \(SimulatedAppliances.kinds.map(\.rawValue).joined(separator: ", ")))")
            }
            let sensorValue = map.optional("sensor")
            let sensor = try sensorValue?.string() ?? "sensehat"
            if let sensorValue, !["sensehat", "mqtt-kit"].contains(sensor) {
                throw sensorValue.error("unknown sensor kit '\(sensor)'\(ClosestName.hint(sensor, in: ["sensehat", "mqtt-kit"])) (known: sensehat, mqtt-kit)")
            }
            var appliance = Scenario.Appliance(id: id, kind: kind, sensor: sensor)
            if let intervalValue = map.optional("interval") {
                guard sensor == "mqtt-kit" else { throw intervalValue.error("interval is a kit's publishing interval (sensor: mqtt-kit); the hub's own polls are hub.poll_interval") }
                appliance.kitInterval = try intervalValue.duration(in: Limits.pollInterval)
            }
            if let expiresValue = map.optional("certificate_expires") {
                guard sensor == "mqtt-kit" else { throw expiresValue.error("certificate_expires is a kit's certificate (sensor: mqtt-kit); the hub's own Sense HAT has none") }
                appliance.certificateExpires = try expiresValue.duration(in: Limits.certificateExpires)
            }
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

    /// A `start:` field: a UTC time from 1970 to 2200.
    static func parseStart(_ value: YAMLValue) throws(ScenarioError) -> Instant {
        let text = try value.string()
        guard let instant = parseUTC(text), instant <= DurationText.latestStart else {
            throw value.error("expected a UTC time from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z like 2026-01-15T00:00:00Z, found \(text.debugDescription)")
        }
        return instant
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
