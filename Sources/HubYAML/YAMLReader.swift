import HubCore
import Yams

/// A YAML node with its path and file, and typed accessors whose errors say where.
///
/// Scenario and hub configuration files are written by hand; every mistake must come back
/// as `file:line:col: field: what is wrong`. Yams keeps the marks, this keeps the path.
public struct YAMLValue {
    public let node: Node
    public let path: String
    public let file: String

    public init(node: Node, path: String, file: String) {
        self.node = node
        self.path = path
        self.file = file
    }

    public func error(_ message: String) -> YAMLFileError {
        YAMLFileError(file: file, line: node.mark?.line, column: node.mark?.column, field: path, message: message)
    }

    public func string() throws(YAMLFileError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a single value, found \(kindName)") }
        return scalar.string
    }

    /// A whole number within `range`; the error names the range.
    public func int(in range: ClosedRange<Int>) throws(YAMLFileError) -> Int {
        let text = try string()
        guard let value = Int(text), range.contains(value) else {
            throw error("expected a whole number within \(range.lowerBound)...\(range.upperBound), found \(text.debugDescription)")
        }
        return value
    }

    public func uint64() throws(YAMLFileError) -> UInt64 {
        let text = try string()
        guard let value = UInt64(text) else {
            throw error("expected a non-negative whole number within 0...\(UInt64.max), found \(text.debugDescription)")
        }
        return value
    }

    /// A finite number within `range` (NaN and infinities are refused); the error names the range.
    public func double(in range: ClosedRange<Double>) throws(YAMLFileError) -> Double {
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
    public func duration(in range: ClosedRange<Duration> = .zero...DurationText.maximum) throws(YAMLFileError) -> Duration {
        let text = try string()
        let value: Duration
        do { value = try DurationText.parse(text) } catch { throw self.error(error.description) }
        guard range.contains(value) else {
            throw error("\(text.debugDescription) is outside the allowed \(DurationText.format(range))")
        }
        return value
    }

    public func deviceID() throws(YAMLFileError) -> DeviceID {
        let text = try string()
        do { return try DeviceID(validating: text) } catch { throw self.error(error.description) }
    }

    public func list() throws(YAMLFileError) -> [YAMLValue] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kindName)") }
        return sequence.enumerated().map { YAMLValue(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    public func map() throws(YAMLFileError) -> YAMLMap {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, found \(kindName)") }
        return try YAMLMap(mapping: mapping, value: self)
    }

    /// PEM text (a certificate or a private key pasted where a path or a name belongs): errors
    /// never echo it.
    public static func looksLikeKeyMaterial(_ text: String) -> Bool {
        text.contains("-----BEGIN") || text.contains("PRIVATE KEY")
    }

    public var isScalar: Bool { if case .scalar = node { true } else { false } }

    public var kindName: String {
        switch node {
        case .scalar(let s) where YAMLValue.looksLikeKeyMaterial(s.string): "a value that looks like PEM key material (not shown)"
        case .scalar(let s): "the value \(s.string.debugDescription)"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// A YAML mapping whose keys are consumed one by one; `finish(known:)` rejects the rest.
public struct YAMLMap {
    public let owner: YAMLValue
    private(set) var entries: [(key: String, keyNode: Node, value: Node)] = []

    public init(mapping: Node.Mapping, value: YAMLValue) throws(YAMLFileError) {
        owner = value
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key) = keyNode else {
                throw YAMLFileError(file: value.file, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                    field: value.path, message: "keys must be plain names")
            }
            if entries.contains(where: { $0.key == key.string }) {
                throw YAMLFileError(file: value.file, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                    field: child(key.string), message: "duplicate field")
            }
            entries.append((key.string, keyNode, valueNode))
        }
    }

    private func child(_ key: String) -> String { owner.path.isEmpty ? key : "\(owner.path).\(key)" }

    public var keys: [String] { entries.map(\.key) }

    public func optional(_ key: String) -> YAMLValue? {
        entries.first(where: { $0.key == key }).map { YAMLValue(node: $0.value, path: child(key), file: owner.file) }
    }

    public func required(_ key: String) throws(YAMLFileError) -> YAMLValue {
        guard let value = optional(key) else { throw owner.error("missing required field '\(key)'") }
        return value
    }

    /// Fails on the first key not in `known`, naming it and its line.
    public func finish(known: [String]) throws(YAMLFileError) {
        for entry in entries where !known.contains(entry.key) {
            throw YAMLFileError(file: owner.file, line: entry.keyNode.mark?.line, column: entry.keyNode.mark?.column,
                                field: child(entry.key),
                                message: "unknown field '\(entry.key)'\(ClosestName.hint(entry.key, in: known)) (known: \(known.joined(separator: ", ")))")
        }
    }
}
