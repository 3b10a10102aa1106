import HubCore
import Yams

/// A YAML node with its path and file, and typed accessors whose errors say where.
///
/// Scenario files are written by hand; every mistake must come back as `file:line:col:
/// field: what is wrong`. Yams keeps the marks, this keeps the path.
struct YAMLValue {
    let node: Node
    let path: String
    let file: String

    func error(_ message: String) -> ScenarioError {
        ScenarioError(file: file, line: node.mark?.line, column: node.mark?.column, field: path, message: message)
    }

    func string() throws(ScenarioError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a single value, found \(kindName)") }
        return scalar.string
    }

    /// A whole number within `range`; the error names the range.
    func int(in range: ClosedRange<Int>) throws(ScenarioError) -> Int {
        let text = try string()
        guard let value = Int(text), range.contains(value) else {
            throw error("expected a whole number within \(range.lowerBound)...\(range.upperBound), found \(text.debugDescription)")
        }
        return value
    }

    func uint64() throws(ScenarioError) -> UInt64 {
        let text = try string()
        guard let value = UInt64(text) else {
            throw error("expected a non-negative whole number within 0...\(UInt64.max), found \(text.debugDescription)")
        }
        return value
    }

    /// A finite number within `range` (NaN and infinities are refused); the error names the range.
    func double(in range: ClosedRange<Double>) throws(ScenarioError) -> Double {
        let text = try string()
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw error("expected a number within \(Self.number(range.lowerBound))...\(Self.number(range.upperBound)), found \(text.debugDescription)")
        }
        return value
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// A duration within `range` (`DurationText`, at most 10 years); the error names the range.
    func duration(in range: ClosedRange<Duration> = .zero...DurationText.maximum) throws(ScenarioError) -> Duration {
        let text = try string()
        let value: Duration
        do { value = try DurationText.parse(text) } catch { throw self.error(error.description) }
        guard range.contains(value) else {
            throw error("\(text.debugDescription) is outside the allowed \(DurationText.format(range))")
        }
        return value
    }

    func deviceID() throws(ScenarioError) -> DeviceID {
        let text = try string()
        do { return try DeviceID(validating: text) } catch { throw self.error(error.description) }
    }

    func list() throws(ScenarioError) -> [YAMLValue] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kindName)") }
        return sequence.enumerated().map { YAMLValue(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    func map() throws(ScenarioError) -> YAMLMap {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, found \(kindName)") }
        return try YAMLMap(mapping: mapping, value: self)
    }

    var isScalar: Bool { if case .scalar = node { true } else { false } }

    var kindName: String {
        switch node {
        case .scalar(let s): "the value \(s.string.debugDescription)"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// A YAML mapping whose keys are consumed one by one; `finish(known:)` rejects the rest.
struct YAMLMap {
    let owner: YAMLValue
    private(set) var entries: [(key: String, keyNode: Node, value: Node)] = []

    init(mapping: Node.Mapping, value: YAMLValue) throws(ScenarioError) {
        owner = value
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key) = keyNode else {
                throw ScenarioError(file: value.file, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                    field: value.path, message: "keys must be plain names")
            }
            if entries.contains(where: { $0.key == key.string }) {
                throw ScenarioError(file: value.file, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                    field: child(key.string), message: "duplicate field")
            }
            entries.append((key.string, keyNode, valueNode))
        }
    }

    private func child(_ key: String) -> String { owner.path.isEmpty ? key : "\(owner.path).\(key)" }

    var keys: [String] { entries.map(\.key) }

    func optional(_ key: String) -> YAMLValue? {
        entries.first(where: { $0.key == key }).map { YAMLValue(node: $0.value, path: child(key), file: owner.file) }
    }

    func required(_ key: String) throws(ScenarioError) -> YAMLValue {
        guard let value = optional(key) else { throw owner.error("missing required field '\(key)'") }
        return value
    }

    /// Fails on the first key not in `known`, naming it and its line.
    func finish(known: [String]) throws(ScenarioError) {
        for entry in entries where !known.contains(entry.key) {
            throw ScenarioError(file: owner.file, line: entry.keyNode.mark?.line, column: entry.keyNode.mark?.column,
                                field: child(entry.key),
                                message: "unknown field '\(entry.key)'\(ClosestName.hint(entry.key, in: known)) (known: \(known.joined(separator: ", ")))")
        }
    }
}
