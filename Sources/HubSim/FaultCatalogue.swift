import HubCore
import HubKernel

/// One parameter a fault kind takes: its name, type, range, unit and default.
///
/// Declared by the port that applies the fault, read by the scenario grammar (to parse
/// and range-check it), by `hubrig fault list` and by the README's fault table, so a
/// parameter's type, range and default are written once.
public struct FaultParameter: Sendable {
    /// What values the parameter takes.
    public enum Kind: Sendable {
        /// A chance per transfer or conversion, above 0 up to 1.
        case probability
        case duration(ClosedRange<Duration>)
        case number(ClosedRange<Double>, nonZero: Bool)
        case count(ClosedRange<Int>)
        /// A byte written `0x00`…`0xff`.
        case byte
        case choice([String])
        /// A reading channel the device's kit measures, from these.
        case channel([Channel])
        /// A Sense HAT chip that measures the fault's channel and that the kit polls.
        case chip
    }

    public let name: String
    public let kind: Kind
    /// The unit, for readers (`per hour, in the channel's unit`), if any.
    public let unit: String?
    /// The default when omitted, as a scenario writes it; nil means the parameter is required.
    public let defaultText: String?
    public let summary: String

    public init(_ name: String, _ kind: Kind, unit: String? = nil, default defaultText: String? = nil, summary: String) {
        self.name = name
        self.kind = kind
        self.unit = unit
        self.defaultText = defaultText
        self.summary = summary
    }

    /// The allowed values in words: `0.000001…1`, `1ms…1m`, `low, high`.
    /// The probabilities a `probability` parameter accepts (0 would never fire).
    public static let probabilityRange: ClosedRange<Double> = 0.000_001...1

    public var rangeText: String {
        switch kind {
        case .probability: "above 0, up to 1"
        case .duration(let range): "\(DurationText.format(range.lowerBound))…\(DurationText.format(range.upperBound))"
        case .number(let range, let nonZero): "\(Self.number(range.lowerBound))…\(Self.number(range.upperBound))\(nonZero ? ", not 0" : "")"
        case .count(let range): "\(range.lowerBound)…\(range.upperBound)"
        case .byte: "0x00…0xff"
        case .choice(let options): options.joined(separator: ", ")
        case .channel(let channels): channels.map(\.key).joined(separator: ", ")
        case .chip: "a chip of the kit that measures the channel (\(SenseHATChip.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }

    private static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// A parsed parameter value, handed to the port that builds the fault.
public enum FaultValue: Equatable, Sendable {
    case number(Double)
    case duration(Duration)
    case count(Int)
    case text(String)
    case channel(Channel)
    case chip(SenseHATChip)
}

/// What a fault is aimed at: the middle part of its name.
public enum FaultTarget: Equatable, Sendable {
    case address(UInt8)
    case device(DeviceID)
    case line(Int)
    /// The one cloud (`cloud.<kind>` names no target).
    case cloud
    /// The hub itself: its host, deployments and IPC bus server (`host.<kind>`, `deploy.<kind>`, `ipc.<kind>`).
    case hub
    /// One of the hub's components, by name.
    case component(String)
}

/// One kind of fault the simulator can inject: its name pattern, parameters, what it does,
/// and which port applies it — declared in that port's file.
public struct FaultKind: Sendable {
    /// The first part of the name: `i2c`, `sensor`, `gpio`, `appliance`.
    public let layer: String
    /// The last part of the name: `nack`, `drift`, `blocked-filter`.
    public let name: String
    public let parameters: [FaultParameter]
    public let summary: String
    /// The simulated part that applies it (`SimI2CBus`, `FaultableEnvironment`, ...).
    public let port: String
    /// Builds the fault from its target and parsed parameters (every required one present,
    /// every value in range, defaults filled in).
    let make: @Sendable (FaultTarget, [String: FaultValue]) -> SimFault

    public init(layer: String, name: String, parameters: [FaultParameter] = [], summary: String, port: String,
                make: @escaping @Sendable (FaultTarget, [String: FaultValue]) -> SimFault) {
        self.layer = layer
        self.name = name
        self.parameters = parameters
        self.summary = summary
        self.port = port
        self.make = make
    }

    /// `i2c.<addr>.nack`: the name as a scenario writes it, with its target's placeholder.
    public var pattern: String {
        FaultCatalogue.untargetedLayers.contains(layer) ? "\(layer).\(name)" : "\(layer).<\(FaultCatalogue.targetPlaceholder(layer))>.\(name)"
    }

    /// The fault this kind makes for `target` with `values`.
    public func fault(_ target: FaultTarget, _ values: [String: FaultValue]) -> SimFault { make(target, values) }
}

/// A simulated part that applies the fault kinds it declares.
///
/// The world only routes a fault to the parts its target names (the bus or chip at an
/// address, a device's sensing elements or appliance, the GPIO chip, the HAT's
/// microcontroller); what the fault does is the part's own business, next to its fault
/// model. A part handed a kind it does not declare is a routing bug.
public protocol FaultApplying: AnyObject {
    /// Starts (`active`) or ends `fault` at `now`.
    func apply(_ fault: SimFault, active: Bool, now: Instant)
}

/// Every fault kind the simulator injects, from the ports that apply them: one list for
/// the scenario grammar, `hubrig fault list` and the README's table.
public enum FaultCatalogue {
    public static let all: [FaultKind] = SimI2CBus.faultKinds + ConvertingSTChip.faultKinds + FaultableEnvironment.faultKinds
        + SimGPIOChip.faultKinds + ApplianceFailure.faultKinds + SimCloudBroker.faultKinds + SimMQTTKit.faultKinds
        + SimComponentFaults.faultKinds + SimDeployments.faultKinds + SimIPCBus.faultKinds

    /// The kind named `layer.*.name`, if any.
    public static func kind(layer: String, name: String) -> FaultKind? {
        all.first { $0.layer == layer && $0.name == name }
    }

    /// Kinds that happen at an instant and take no `for`.
    public static let instantKinds = ["i2c.<addr>.reset", "component.<component>.crash", "ipc.restart"]

    /// Layers whose faults name no target: `cloud.offline`, `host.power-loss`, `ipc.down`.
    public static let untargetedLayers = ["cloud", "deploy", "host", "ipc"]

    /// The placeholder a fault name's middle part has in its pattern: `addr`, `line`, `device`.
    public static func targetPlaceholder(_ layer: String) -> String {
        switch layer {
        case "i2c": "addr"
        case "gpio": "line"
        case "component": "component"
        default: "device"
        }
    }

    /// The README's fault table (Markdown), rendered from the catalogue.
    public static func markdownTable() -> String {
        var lines = ["| fault | parameters (default) | effect | applied by |", "|---|---|---|---|"]
        for kind in all {
            let parameters = kind.parameters.map { parameter in
                "`\(parameter.name)`" + (parameter.defaultText.map { " (\($0))" } ?? "")
            }.joined(separator: ", ")
            lines.append("| `\(kind.pattern)` | \(parameters) | \(kind.summary) | `\(kind.port)` |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The catalogue as JSON: `[{"fault", "layer", "name", "summary", "port", "parameters":
    /// [{"name", "type", "range", "unit"?, "default"?, "required", "summary"}]}]`.
    public static func json() -> String {
        var json = JSONWriter(capacity: 8192)
        json.beginArray()
        for kind in all {
            json.beginObject()
            json.field("fault", kind.pattern)
            json.field("layer", kind.layer)
            json.field("name", kind.name)
            json.field("summary", kind.summary)
            json.field("port", kind.port)
            json.key("parameters")
            json.beginArray()
            for parameter in kind.parameters {
                json.beginObject()
                json.field("name", parameter.name)
                json.field("type", typeName(parameter.kind))
                json.field("range", parameter.rangeText)
                if let unit = parameter.unit { json.field("unit", unit) }
                if let value = parameter.defaultText { json.field("default", value) }
                json.field("required", parameter.defaultText == nil)
                json.field("summary", parameter.summary)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        return String(decoding: json.bytes, as: UTF8.self) + "\n"
    }

    /// The parameter type's name in listings: `probability`, `duration`, `chip`, ...
    public static func typeName(_ kind: FaultParameter.Kind) -> String {
        switch kind {
        case .probability: "probability"
        case .duration: "duration"
        case .number: "number"
        case .count: "count"
        case .byte: "byte"
        case .choice: "choice"
        case .channel: "channel"
        case .chip: "chip"
        }
    }
}

/// The value lookups a port's `make` uses: the grammar has filled in defaults and checked
/// types, so a missing or mistyped value is a bug in the catalogue, not in a scenario.
extension Dictionary where Key == String, Value == FaultValue {
    func number(_ name: String) -> Double {
        guard case .number(let value) = self[name] else { preconditionFailure("fault parameter \(name) is not a number") }
        return value
    }

    func duration(_ name: String) -> Duration {
        guard case .duration(let value) = self[name] else { preconditionFailure("fault parameter \(name) is not a duration") }
        return value
    }

    func count(_ name: String) -> Int {
        guard case .count(let value) = self[name] else { preconditionFailure("fault parameter \(name) is not a count") }
        return value
    }

    func text(_ name: String) -> String {
        guard case .text(let value) = self[name] else { preconditionFailure("fault parameter \(name) is not text") }
        return value
    }

    func channel(_ name: String) -> Channel {
        guard case .channel(let value) = self[name] else { preconditionFailure("fault parameter \(name) is not a channel") }
        return value
    }

    func chip(_ name: String) -> SenseHATChip {
        guard case .chip(let value) = self[name] else { preconditionFailure("fault parameter \(name) is not a chip") }
        return value
    }
}

extension FaultTarget {
    var address: UInt8 {
        guard case .address(let value) = self else { preconditionFailure("not an I²C address: \(self)") }
        return value
    }

    var device: DeviceID {
        guard case .device(let value) = self else { preconditionFailure("not a device: \(self)") }
        return value
    }

    var component: String {
        guard case .component(let value) = self else { preconditionFailure("not a component: \(self)") }
        return value
    }

    var line: Int {
        guard case .line(let value) = self else { preconditionFailure("not a GPIO line: \(self)") }
        return value
    }
}
