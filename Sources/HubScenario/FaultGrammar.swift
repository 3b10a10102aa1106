import HubCore
import HubYAML
import HubKernel
import HubSim

/// The `timeline:` grammar: faults named `layer.target.kind` with the parameters the
/// `FaultCatalogue` declares for them, and a person's actions (`event:`).
///
/// The catalogue (declared beside each simulated port) says which kinds exist, which
/// parameters each takes, their types, ranges and defaults, and builds the fault; this
/// file reads the YAML into those typed values and checks that the fault can hit
/// something in this scenario's hub (`FaultTargets`). An unknown kind or parameter names
/// the closest valid one.
extension ScenarioLoader {
    /// Every fault pattern, for error messages: `i2c.<addr>.absent, ...`.
    static var faultNames: String { FaultCatalogue.all.map(\.pattern).joined(separator: ", ") }

    static let joystickKeys: [(name: String, bit: UInt8)] = [("down", 0x01), ("right", 0x02), ("up", 0x04), ("enter", 0x08), ("left", 0x10)]

    /// `{ at: 3h, event: joystick.enter, for: 300ms }`: a person presses the joystick.
    private static func parseEvent(_ map: YAMLMap, _ eventValue: YAMLValue, _ setup: Setup) throws(ScenarioError) -> ScheduledFault {
        try map.finish(known: ["at", "event", "for", "prompt"])
        let name = try eventValue.string()
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "joystick" else {
            throw eventValue.error("unknown event '\(name)' (known: joystick.<keys>, keys from \(joystickKeys.map(\.name).joined(separator: "/")) joined by '+')")
        }
        var bits: UInt8 = 0
        for key in parts[1].split(separator: "+", omittingEmptySubsequences: false) {
            guard let bit = joystickKeys.first(where: { $0.name == key })?.bit else {
                throw eventValue.error("unknown joystick key '\(key)'\(ClosestName.hint(String(key), in: joystickKeys.map(\.name))) (known: \(joystickKeys.map(\.name).joined(separator: ", ")))")
            }
            bits |= bit
        }
        let at = try offset(try map.required("at"), setup)
        let hold = try map.optional("for")?.duration(in: Limits.span) ?? .milliseconds(300)
        return ScheduledFault(at: at, duration: hold, fault: .joystick(keys: bits, name: parts[1]), prompt: try prompt(map))
    }

    /// An `at:` or `after:` offset: inside the run, or the entry could hit nothing.
    static func offset(_ value: YAMLValue, _ setup: Setup) throws(ScenarioError) -> Duration {
        let at = try value.duration()
        guard setup.offsets.contains(at) else {
            throw value.error("\(DurationText.format(at)) is at or after the end of the scenario (allowed: 0s up to the duration, \(DurationText.format(setup.duration)))")
        }
        return at
    }

    /// `{ at: 2h, deploy: { id, components, models, configuration, requires, health_window, defer, defer_max } }`:
    /// the cloud publishes a deployment (docs/deployments.md); `models` republishes an
    /// appliance's own package under the version given.
    private static func parseDeploy(_ map: YAMLMap, _ value: YAMLValue, _ setup: Setup) throws(ScenarioError) -> ScheduledFault {
        try map.finish(known: ["at", "deploy"])
        let at = try offset(try map.required("at"), setup)
        return ScheduledFault(at: at, duration: nil, fault: .deploy(try parseDeploymentSpec(value, setup)))
    }

    /// A deployment as the simulated cloud publishes it (a scenario's `deploy:`, a fleet's `deployment:`).
    static func parseDeploymentSpec(_ value: YAMLValue, _ setup: Setup) throws(ScenarioError) -> DeploymentSpec {
        let deploy = try value.map()
        try deploy.finish(known: ["id", "components", "models", "configuration", "requires", "health_window", "defer", "defer_max"])
        let idValue = try deploy.required("id")
        let id = try idValue.string()
        guard PlainName.isPlain(id, maximum: 64, extra: "-_.") else { throw idValue.error("a deployment id is 1…64 letters, digits, '-', '_' or '.'") }
        func version(_ value: YAMLValue) throws(ScenarioError) -> SemanticVersion {
            do { return try SemanticVersion(parsing: try value.string()) } catch { throw value.error("\(error)") }
        }
        var spec = DeploymentSpec(id: id)
        if let components = deploy.optional("components") {
            let entries = try components.map()
            for name in entries.keys {
                let entry = try entries.required(name)
                guard setup.components.contains(name) else {
                    throw entry.error("this hub runs no component '\(name)'\(ClosestName.hint(name, in: setup.components)) (it runs \(setup.components.joined(separator: ", ")))")
                }
                spec.components.append((name, try version(entry)))
            }
        }
        if let models = deploy.optional("models") {
            let entries = try models.map()
            for device in entries.keys {
                let entry = try entries.required(device)
                guard let appliance = setup.appliances.first(where: { $0.id.rawValue == device }) else {
                    throw entry.error("no appliance with id '\(device)'\(ClosestName.hint(device, in: setup.devices.map(\.rawValue)))")
                }
                guard case .package = appliance.detector else { throw entry.error("\(device) has no model package to republish (its detector is \(appliance.modelSource))") }
                let files: ModelPackageFiles
                do { files = try ModelPackageFiles.read(directory: appliance.modelSource) } catch {
                    throw entry.error("cannot read the package in \(appliance.modelSource): \(error)")
                }
                spec.models.append((appliance.id, try version(entry), files))
            }
        }
        if let configuration = deploy.optional("configuration") {
            let entries = try configuration.map()
            for name in entries.keys {
                let entry = try entries.required(name)
                guard setup.components.contains(name) || spec.components.contains(where: { $0.name == name }) else {
                    throw entry.error("this hub runs no component '\(name)'\(ClosestName.hint(name, in: setup.components))")
                }
                let merge = try RecipeFile.jsonValue(entry)
                guard case .object = merge else { throw entry.error("a configuration change is a mapping (merged into the component's configuration)") }
                spec.configuration.append((name, merge))
            }
        }
        if let requires = deploy.optional("requires") {
            let entries = try requires.map()
            try entries.finish(known: ["disk_mb", "memory_mb"])
            spec.diskMB = try entries.optional("disk_mb")?.double(in: 0...1_048_576) ?? 0
            spec.memoryMB = try entries.optional("memory_mb")?.double(in: 0...1_048_576) ?? 0
        }
        spec.healthWindow = try deploy.optional("health_window")?.duration(in: .zero...DeploymentDocument.healthWindowMax) ?? spec.healthWindow
        if let deferTo = deploy.optional("defer") {
            for item in try deferTo.list() {
                let name = try item.string()
                guard setup.components.contains(name) else { throw item.error("this hub runs no component '\(name)'\(ClosestName.hint(name, in: setup.components))") }
                spec.deferTo.append(name)
            }
        }
        spec.deferMax = try deploy.optional("defer_max")?.duration(in: .zero...DeploymentDocument.deferMaxLimit) ?? spec.deferMax
        return spec
    }

    /// `{ at: 2h, revoke: freezer }`: the hub's owner revokes a kit's certificate (`hub kit revoke`).
    private static func parseRevoke(_ map: YAMLMap, _ value: YAMLValue, _ setup: Setup) throws(ScenarioError) -> ScheduledFault {
        try map.finish(known: ["at", "revoke"])
        let device = try value.deviceID()
        let kits = setup.appliances.filter { $0.sensor == "mqtt-kit" }.map(\.id.rawValue)
        guard kits.contains(device.rawValue) else {
            throw value.error("'\(device)' is not a kit with a certificate to revoke\(ClosestName.hint(device.rawValue, in: kits)) (kits: \(kits.isEmpty ? "none; an appliance needs sensor: mqtt-kit" : kits.joined(separator: ", ")))")
        }
        return ScheduledFault(at: try offset(try map.required("at"), setup), duration: nil, fault: .revokeKit(device))
    }

    static func parseFault(_ item: YAMLValue, _ setup: Setup) throws(ScenarioError) -> ScheduledFault {
        let map = try item.map()
        let actions = ["deploy", "revoke", "event", "fault"].filter { map.optional($0) != nil }
        if actions.count > 1 {
            throw map.optional(actions[1])!.error("a timeline entry is one of a fault, an event, a deployment or a revocation, found \(actions.joined(separator: " and "))")
        }
        if let deployValue = map.optional("deploy") {
            return try parseDeploy(map, deployValue, setup)
        }
        if let revokeValue = map.optional("revoke") {
            return try parseRevoke(map, revokeValue, setup)
        }
        if let eventValue = map.optional("event") {
            if let faultValue = map.optional("fault") { throw faultValue.error("a timeline entry is a fault or an event, not both") }
            return try parseEvent(map, eventValue, setup)
        }
        let faultValue = try map.required("fault")
        let name = try faultValue.string()
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, FaultCatalogue.untargetedLayers.contains(parts[0]), let kind = FaultCatalogue.kind(layer: parts[0], name: parts[1]) {
            try map.finish(known: ["at", "fault", "for", "prompt"] + kind.parameters.map(\.name))
            let at = try offset(try map.required("at"), setup)
            let forValue = map.optional("for")
            let lasting = try forValue?.duration(in: Limits.span)
            if let forValue, FaultCatalogue.instantKinds.contains(kind.pattern) {
                throw forValue.error("\(kind.pattern) is an instant; it takes no 'for'")
            }
            if kind.layer == "ipc", setup.ipc.components.isEmpty {
                throw faultValue.error("\(kind.pattern) hits nothing: no component runs over IPC in this hub (hub.ipc.components)")
            }
            var values: [String: FaultValue] = [:]
            for parameter in kind.parameters {
                values[parameter.name] = try parseParameter(parameter, of: kind, in: map, appliance: nil, values: values)
            }
            return ScheduledFault(at: at, duration: lasting, fault: kind.fault(parts[0] == "cloud" ? .cloud : .hub, values), prompt: try prompt(map))
        }
        guard parts.count == 3, let kind = FaultCatalogue.kind(layer: parts[0], name: parts[2]) else {
            let spelled = parts.count == 3 ? "\(parts[0]).<\(FaultCatalogue.targetPlaceholder(parts[0]))>.\(parts[2])" : name
            let hint = ClosestName.hint(spelled, in: FaultCatalogue.all.map(\.pattern))
            throw faultValue.error("unknown fault '\(name)'\(hint) (simulated: \(faultNames))")
        }
        try map.finish(known: ["at", "fault", "for", "device", "prompt"] + kind.parameters.map(\.name))
        let at = try offset(try map.required("at"), setup)
        let forValue = map.optional("for")
        let lasting = try forValue?.duration(in: Limits.span)
        if let forValue, FaultCatalogue.instantKinds.contains(kind.pattern) {
            throw forValue.error("\(kind.pattern) is an instant; it takes no 'for'")
        }

        let target = try parseTarget(parts[1], kind: kind, faultValue: faultValue, map: map, setup: setup)
        let appliance: Scenario.Appliance? = if case .device(let id) = target.target { setup.appliance(id) } else { nil }
        var values: [String: FaultValue] = [:]
        for parameter in kind.parameters {
            values[parameter.name] = try parseParameter(parameter, of: kind, in: map, appliance: appliance, values: values)
        }
        return ScheduledFault(at: at, duration: lasting, fault: kind.fault(target.target, values), device: target.kit, prompt: try prompt(map))
    }

    /// `prompt:`, what a person at a bench does for the entry: one line of 1…200 characters.
    private static func prompt(_ map: YAMLMap) throws(ScenarioError) -> String? {
        guard let value = map.optional("prompt") else { return nil }
        let text = try value.string()
        guard (1...200).contains(text.count), !text.contains(where: { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 } ?? false) }) else {
            throw value.error("a prompt is one line of 1…200 characters")
        }
        return text
    }

    /// The fault's target from its name, checked against this hub (`kit`: the `device:` an
    /// I²C fault is limited to).
    private static func parseTarget(_ text: String, kind: FaultKind, faultValue: YAMLValue, map: YAMLMap,
                                    setup: Setup) throws(ScenarioError) -> (target: FaultTarget, kit: DeviceID?) {
        func device(_ value: YAMLValue) throws(ScenarioError) -> DeviceID {
            let id = try value.deviceID()
            guard setup.devices.contains(id) else { throw value.error("no appliance with id '\(id)'\(ClosestName.hint(id.rawValue, in: setup.devices.map(\.rawValue)))") }
            return id
        }
        switch kind.layer {
        case "i2c":
            guard text.hasPrefix("0x"), text.count <= 4, let address = UInt8(text.dropFirst(2), radix: 16), address < 128 else {
                throw faultValue.error("'\(text)' is not a 7-bit I²C address like 0x5f")
            }
            let deviceValue = map.optional("device")
            let kit = try deviceValue.map { (value) throws(ScenarioError) in try device(value) }
            let chipFault = kind.port == "ConvertingSTChip"
            try checkI2CTarget(address: address, chipFault: chipFault, device: kit, setup: setup, at: deviceValue ?? faultValue)
            return (.address(address), kit)
        case "gpio":
            guard let line = Int(text), FaultTargets.gpioLines.contains(line) else {
                throw faultValue.error("'\(text)' is not a GPIO line the hub watches (lines: \(FaultTargets.gpioLines.map(String.init).joined(separator: ", ")), the joystick interrupt)")
            }
            if let deviceValue = map.optional("device") { throw deviceValue.error("GPIO faults are on the Pi, not on a device's kit") }
            return (.line(line), nil)
        case "component":
            if let deviceValue = map.optional("device") { throw deviceValue.error("a component fault names its component in the fault name") }
            guard setup.components.contains(text) else {
                throw faultValue.error("this hub runs no component '\(text)'\(ClosestName.hint(text, in: setup.components)) (it runs: \(setup.components.joined(separator: ", ")))")
            }
            if setup.ipc.components.contains(text), kind.name != "crash" {
                throw faultValue.error("\(kind.pattern) is simulated for components in the hub process; '\(text)' runs over IPC here (crash kills its process)")
            }
            return (.component(text), nil)
        default:
            if let deviceValue = map.optional("device") { throw deviceValue.error("a \(kind.layer) fault names its device in the fault name") }
            let id: DeviceID
            do { id = try DeviceID(validating: text) } catch { throw faultValue.error(error.description) }
            guard let appliance = setup.appliance(id) else {
                throw faultValue.error("no appliance with id '\(id)'\(ClosestName.hint(id.rawValue, in: setup.devices.map(\.rawValue)))")
            }
            if kind.layer == "kit", appliance.sensor != "mqtt-kit" {
                throw faultValue.error("'\(id)' is read by the hub's own Sense HAT (sensor: \(appliance.sensor)); kit faults need sensor: mqtt-kit")
            }
            if kind.layer == "appliance", let failure = ApplianceFailure(rawValue: kind.name), failure.kind != appliance.kind {
                throw faultValue.error("\(failure.rawValue) is a \(failure.kind.rawValue) failure; '\(id)' is a \(appliance.kind.rawValue)")
            }
            return (.device(id), nil)
        }
    }

    /// One parameter, typed and range-checked as the catalogue declares it (its default
    /// when omitted); `values` holds the parameters before it (a chip depends on the channel).
    private static func parseParameter(_ parameter: FaultParameter, of kind: FaultKind, in map: YAMLMap, appliance: Scenario.Appliance?,
                                       values: [String: FaultValue]) throws(ScenarioError) -> FaultValue {
        let value = map.optional(parameter.name)
        if value == nil, parameter.defaultText == nil { _ = try map.required(parameter.name) }
        switch parameter.kind {
        case .probability:
            guard let value else {
                guard let text = parameter.defaultText, let chance = Double(text) else { preconditionFailure("the catalogue's default for \(parameter.name) is a probability") }
                return .number(chance)
            }
            return .number(try value.double(in: FaultParameter.probabilityRange))
        case .duration(let range):
            return .duration(try value?.duration(in: range) ?? defaultDuration(parameter))
        case .number(let range, let nonZero):
            guard let value else { preconditionFailure("numbers have no defaults in the catalogue") }
            let number = try value.double(in: range)
            if nonZero, number == 0 {
                throw value.error("\(parameter.name) 0 changes nothing (allowed: \(parameter.rangeText))")
            }
            return .number(number)
        case .count(let range):
            return .count(try value?.int(in: range) ?? Int(parameter.defaultText ?? "") ?? range.lowerBound)
        case .byte:
            guard let value else { preconditionFailure("bytes have no defaults in the catalogue") }
            let text = try value.string()
            guard text.hasPrefix("0x"), text.count <= 4, let byte = UInt8(text.dropFirst(2), radix: 16) else {
                throw value.error("expected a byte 0x00...0xff like 0xbd, found \(text.debugDescription)")
            }
            return .count(Int(byte))
        case .choice(let options):
            guard let value else { return .text(parameter.defaultText ?? options[0]) }
            let text = try value.string()
            guard options.contains(text) else {
                throw value.error("\(parameter.name) must be \(options.joined(separator: " or "))\(ClosestName.hint(text, in: options)), found \(text.debugDescription)")
            }
            return .text(text)
        case .channel(let allowed):
            guard let value else { preconditionFailure("channels have no defaults in the catalogue") }
            let text = try value.string()
            guard let channel = Channel(key: text), allowed.contains(channel) else {
                throw value.error("unknown channel '\(text)' for a \(kind.layer).\(kind.name) fault\(ClosestName.hint(text, in: allowed.map(\.key))) (known: \(allowed.map(\.key).joined(separator: ", ")))")
            }
            guard let appliance else { preconditionFailure("channel parameters belong to device faults") }
            let has = MonitoringKit.for(appliance.kind).channels
            guard has.contains(channel) else {
                throw value.error("'\(appliance.id)' (a \(appliance.kind.rawValue)) has no \(channel.key) sensor; its kit measures \(has.filter(allowed.contains).map(\.key).joined(separator: ", "))")
            }
            return .channel(channel)
        case .chip:
            guard case .channel(let channel) = values["channel"] else { preconditionFailure("a chip parameter follows its channel") }
            let measuring = SenseHATChip.measuring(channel)
            guard let value else { return .chip(measuring[0]) }
            let text = try value.string()
            guard let chip = SenseHATChip(rawValue: text), measuring.contains(chip) else {
                throw value.error("no chip '\(text)' measures \(channel.key) (known: \(measuring.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let appliance else { preconditionFailure("chip parameters belong to device faults") }
            let polled = MonitoringKit.for(appliance.kind).chips
            guard polled.contains(chip) else {
                throw value.error("the hub does not poll the \(chip.rawValue) on '\(appliance.id)' (a \(appliance.kind.rawValue)), so a fault there hits nothing (it polls \(polled.map(\.rawValue).joined(separator: ", ")))")
            }
            return .chip(chip)
        }
    }

    private static func defaultDuration(_ parameter: FaultParameter) -> Duration {
        guard let text = parameter.defaultText, let duration = try? DurationText.parse(text) else {
            preconditionFailure("the catalogue's default for \(parameter.name) is a duration")
        }
        return duration
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
}
