import HubCore
import HubYAML
import HubKernel
import HubSim

/// The `expect:` grammar: each entry becomes an `Expectation`, checked against the
/// scenario's appliances and timeline so that an expectation that can never fail (or never
/// hold) is an error, not a silent pass.
extension ScenarioLoader {
    static let expectationNames = ["readings-every-poll", "no-alert", "no-reading-lost", "no-corrupted-reading", "alert", "led", "health", "scroll",
                                   "scroll-count", "channel-range", "delivered-to-cloud", "outbox-depth-max", "cloud-bytes-per-day-max",
                                   "cloud-attempts-max", "kit-rejected-min", "component-state", "component-recovers", "bus-refused",
                                   "deployment", "rollback-within", "model", "ipc-dropped", "alerts-delivered-within", "cloud-messages-max", "resources", "no-duplicate-after-dedup", "per-device-order", "no-readings-from"]
    /// Components whose own health a `health` expectation can name.
    static let healthComponents = ["uplink"]

    /// `presses`: when the timeline presses the joystick (scroll expectations need one);
    /// `failing`: the components a timeline fault crashes or hangs (recovery needs one).
    static func parseExpectation(_ item: YAMLValue, _ setup: Setup, presses: [Duration], failing: [String],
                                 deployments: [String] = []) throws(ScenarioError) -> Expectation {
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
        func component(_ map: YAMLMap) throws(ScenarioError) -> String {
            let value = try map.required("component")
            let text = try value.string()
            guard setup.components.contains(text) else {
                throw value.error("this hub runs no component '\(text)'\(ClosestName.hint(text, in: setup.components)) (it runs: \(setup.components.joined(separator: ", ")))")
            }
            return text
        }
        func deploymentID(_ map: YAMLMap) throws(ScenarioError) -> String {
            let value = try map.required("id")
            let id = try value.string()
            guard deployments.contains(id) else {
                throw value.error("no timeline entry deploys '\(id)'\(ClosestName.hint(id, in: deployments))\(deployments.isEmpty ? " (the timeline has no deploy: entries)" : "")")
            }
            return id
        }
        switch name {
        case "deployment":
            guard let argument else { throw item.error("deployment needs { id, state, within }") }
            let map = try argument.map()
            try map.finish(known: ["id", "state", "within"])
            let id = try deploymentID(map)
            let stateValue = try map.required("state")
            let stateText = try stateValue.string()
            guard let state = DeploymentStatus.State(rawValue: stateText), state.isTerminal else {
                throw stateValue.error("unknown end state '\(stateText)'\(ClosestName.hint(stateText, in: ["committed", "rolled-back", "rejected"])) (known: committed, rolled-back, rejected)")
            }
            return .deployment(id: id, state: state, within: try map.required("within").duration(in: Limits.span))
        case "no-readings-from":
            guard let argument else { throw item.error("no-readings-from needs { device, after }") }
            let map = try argument.map()
            try map.finish(known: ["device", "after"])
            guard let id = try device(map) else { throw argument.error("no-readings-from needs a device") }
            return .noReadingsFrom(device: id, after: try offset(try map.required("after"), setup))
        case "rollback-within":
            guard let argument else { throw item.error("rollback-within needs { id, within }") }
            let map = try argument.map()
            try map.finish(known: ["id", "within"])
            return .rollbackWithin(id: try deploymentID(map), within: try map.required("within").duration(in: Limits.span))
        case "model":
            guard let argument else { throw item.error("model needs { device, is }") }
            let map = try argument.map()
            try map.finish(known: ["device", "is"])
            guard let id = try device(map) else { throw argument.error("model needs a device") }
            let identifier = try map.required("is").string()
            return .model(device: id, identifier: identifier)
        case "component-state":
            guard let argument else { throw item.error("component-state needs { component, state } and optionally at") }
            let map = try argument.map()
            try map.finish(known: ["component", "state", "at"])
            let target = try component(map)
            let stateValue = try map.required("state")
            let stateText = try stateValue.string()
            guard let state = Supervisor.State(rawValue: stateText) else {
                throw stateValue.error("unknown state '\(stateText)'\(ClosestName.hint(stateText, in: Supervisor.State.allCases.map(\.rawValue))) (known: \(Supervisor.State.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let at = try map.optional("at").map { (value) throws(ScenarioError) in try offset(value, setup) }
            return .componentState(component: target, state: state, at: at)
        case "component-recovers":
            guard let argument else { throw item.error("component-recovers needs { component, within }") }
            let map = try argument.map()
            try map.finish(known: ["component", "within"])
            let target = try component(map)
            guard failing.contains(target) else {
                throw argument.error("component-recovers cannot be judged: no timeline fault crashes or hangs '\(target)'")
            }
            return .componentRecovers(component: target, within: try map.required("within").duration(in: Limits.span))
        case "bus-refused", "ipc-dropped":
            guard let argument else { throw item.error("\(name) needs { component, min } and/or max") }
            let map = try argument.map()
            try map.finish(known: ["component", "min", "max"])
            let target = try component(map)
            if name == "ipc-dropped", !setup.ipc.components.contains(target) {
                throw argument.error("ipc-dropped counts an IPC client's drops; '\(target)' runs in the hub process (hub.ipc.components: \(setup.ipc.components.joined(separator: ", ")))")
            }
            let minimum = try map.optional("min")?.int(in: Limits.runTotal) ?? 0
            let maximum = try map.optional("max")?.int(in: Limits.runTotal)
            guard map.optional("min") != nil || maximum != nil else { throw argument.error("\(name) needs min, max or both") }
            if let maximum, maximum < minimum { throw argument.error("max \(maximum) is below min \(minimum)") }
            return name == "bus-refused" ? .busRefused(component: target, min: minimum, max: maximum)
                : .ipcDropped(component: target, min: minimum, max: maximum)
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
        case "no-reading-lost", "no-corrupted-reading", "no-duplicate-after-dedup", "per-device-order":
            if let argument { throw argument.error("\(name) takes no arguments") }
            switch name {
            case "no-reading-lost": return .noReadingLost
            case "no-corrupted-reading": return .noCorruptedReading
            case "no-duplicate-after-dedup": return .noDuplicateAfterDedup
            default: return .perDeviceOrder
            }
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
                throw channelValue.error("unknown channel '\(text)'\(ClosestName.hint(text, in: Channel.published.map(\.key))) (known: \(Channel.published.map(\.key).joined(separator: ", ")))")
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
        case "alerts-delivered-within":
            guard let argument else { throw item.error("alerts-delivered-within needs a duration, such as 2m") }
            guard setup.devices.contains(where: setup.isScored) else {
                throw item.error("alerts-delivered-within cannot hold: nothing scores any appliance, so no alert is ever raised")
            }
            return .alertsDeliveredWithin(try argument.duration(in: Limits.span))
        case "resources":
            guard let argument else { throw item.error("resources needs { memory, cpu, disk } (at least one)") }
            let map = try argument.map()
            try map.finish(known: ["memory", "cpu", "disk"])
            func size(_ key: String) throws(ScenarioError) -> Int? {
                guard let value = map.optional(key) else { return nil }
                let text = value.isScalar ? try value.string() : ""
                guard let bytes = ByteSize.parse(text), (4096...(1 << 40)).contains(bytes) else {
                    throw value.error("\(key) must be a size from 4kB to 1TiB, such as 40MB or 38MiB, found \(text.debugDescription)")
                }
                return bytes
            }
            var budget = ResourceBudget(memoryBytes: try size("memory"), diskBytes: try size("disk"))
            if let cpuValue = map.optional("cpu") {
                let text = cpuValue.isScalar ? try cpuValue.string() : ""
                guard text.hasSuffix("%"), let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces)),
                      percent.isFinite, percent > 0, percent <= 400 else {
                    throw cpuValue.error("cpu must be a share of one core above 0% up to 400%, such as 2%, found \(text.debugDescription)")
                }
                budget.cpuShare = percent / 100
            }
            guard budget != ResourceBudget() else { throw argument.error("resources needs memory, cpu or disk") }
            return .resources(budget)
        case "cloud-messages-max":
            guard let argument else { throw item.error("cloud-messages-max needs { topic, count }") }
            let map = try argument.map()
            try map.finish(known: ["topic", "count"])
            let topicValue = try map.required("topic")
            let topic = try topicValue.string()
            guard ["alerts", "health", "telemetry"].contains(topic) else {
                throw topicValue.error("topic must be alerts, health or telemetry (the hub's cloud topics), found \(topic.debugDescription)\(ClosestName.hint(topic, in: ["alerts", "health", "telemetry"]))")
            }
            return .cloudMessagesMax(topic: topic, count: try map.required("count").int(in: Limits.runTotal))
        case "delivered-to-cloud":
            guard let argument else { throw item.error("delivered-to-cloud needs { topic, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["topic", "within", "after"])
            let topicValue = try map.required("topic")
            let topic = try topicValue.string()
            guard ["alerts", "health", "telemetry"].contains(topic) else {
                throw topicValue.error("topic must be alerts, health or telemetry (the hub's cloud topics), found \(topic.debugDescription)\(ClosestName.hint(topic, in: ["alerts", "health", "telemetry"]))")
            }
            let (after, within) = try window(map)
            return .deliveredToCloud(topic: topic, after: after, within: within)
        case "outbox-depth-max", "cloud-bytes-per-day-max", "cloud-attempts-max", "kit-rejected-min":
            guard let argument else { throw item.error("\(name) needs a number") }
            let count = try argument.int(in: Limits.runTotal)
            switch name {
            case "outbox-depth-max": return .outboxDepthMax(count)
            case "cloud-bytes-per-day-max": return .cloudBytesPerDayMax(count)
            case "kit-rejected-min":
                guard setup.appliances.contains(where: { $0.sensor == "mqtt-kit" }) else {
                    throw item.error("kit-rejected-min cannot hold: no appliance has sensor: mqtt-kit")
                }
                return .kitRejectedMin(count)
            default: return .cloudAttemptsMax(count)
            }
        case "scroll-count":
            guard let argument else { throw item.error("scroll-count needs a number") }
            let count = try argument.int(in: Limits.scrollCount)
            guard count <= presses.count else {
                throw argument.error("\(count) scrolls can never happen: the timeline presses the joystick \(presses.count) time(s)")
            }
            return .scrollCount(count)
        case "health":
            guard let argument else { throw item.error("health needs { device or component, state, within, after }") }
            let map = try argument.map()
            try map.finish(known: ["device", "component", "state", "within", "after"])
            let target: HealthSubject
            if let componentValue = map.optional("component") {
                if map.optional("device") != nil { throw componentValue.error("health names a device or a component, not both") }
                let name = try componentValue.string()
                guard Self.healthComponents.contains(name) else {
                    throw componentValue.error("no component '\(name)' reports health of its own\(ClosestName.hint(name, in: Self.healthComponents)) (known: \(Self.healthComponents.joined(separator: ", ")))")
                }
                target = .component(name)
            } else {
                guard let id = try device(map) else { throw argument.error("missing required field 'device' (or 'component')") }
                target = .device(id)
            }
            let stateValue = try map.required("state")
            let stateText = try stateValue.string()
            guard let state = HealthState(rawValue: stateText) else {
                throw stateValue.error("state must be ok, degraded or failed\(ClosestName.hint(stateText, in: ["ok", "degraded", "failed"]))")
            }
            let (after, within) = try window(map)
            return .health(subject: target, state: state, after: after, within: within)
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
            throw item.error("unknown expectation '\(name)'\(ClosestName.hint(name, in: expectationNames)) (known: \(expectationNames.joined(separator: ", ")))")
        }
    }

    private static func colour(_ value: YAMLValue) throws(ScenarioError) -> String {
        let text = try value.string()
        guard statusColours.contains(text) else { throw value.error("unknown LED colour '\(text)'\(ClosestName.hint(text, in: statusColours)) (known: \(statusColours.joined(separator: ", ")))") }
        return text
    }

}
