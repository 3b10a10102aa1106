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

    func int() throws(ScenarioError) -> Int {
        let text = try string()
        guard let value = Int(text) else { throw error("expected a whole number, found \(text.debugDescription)") }
        return value
    }

    func uint64() throws(ScenarioError) -> UInt64 {
        let text = try string()
        guard let value = UInt64(text) else { throw error("expected a non-negative whole number, found \(text.debugDescription)") }
        return value
    }

    func double() throws(ScenarioError) -> Double {
        let text = try string()
        guard let value = Double(text), value.isFinite else { throw error("expected a number, found \(text.debugDescription)") }
        return value
    }

    func duration() throws(ScenarioError) -> Duration {
        let text = try string()
        do { return try DurationText.parse(text) } catch { throw self.error(error.description) }
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
                                message: "unknown field '\(entry.key)' (known: \(known.joined(separator: ", ")))")
        }
    }
}
