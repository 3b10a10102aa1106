import ArgumentParser
import HubYAML

/// Where a setting of a hub run came from — a flag or a line of the configuration file —
/// so a check that can only be made when the setting is used (a TLS file that cannot be
/// read, a model package that does not load, a state directory that cannot be made) names
/// it the way the user wrote it.
public enum SettingOrigin: Equatable, Sendable, CustomStringConvertible {
    /// A command-line option, e.g. `--cloud-ca`.
    case flag(String)
    /// A field of the configuration file, e.g. `hub.yaml`, line 12, column 7, `cloud.ca`.
    case file(file: String, line: Int?, column: Int?, field: String)

    /// The origin of `value` in a configuration file.
    public init(_ value: YAMLValue) {
        self = .file(file: value.file, line: value.node.mark?.line, column: value.node.mark?.column, field: value.path)
    }

    public var description: String {
        switch self {
        case .flag(let flag): flag
        case .file(let file, let line, let column, let field):
            // "hub.yaml:12:7: cloud.ca: " without the separator before a message.
            String(YAMLFileError(file: file, line: line, column: column, field: field, message: "").description.dropLast(2))
        }
    }

    /// An input error (exit 2) about this setting: `--cloud-ca PATH: why` for a flag,
    /// `hub.yaml:12:7: cloud.ca: PATH: why` for a field of the file. `subject` is the value
    /// as written (a path, never a file's content), if the message needs it.
    public func error(_ message: String, subject: String? = nil) -> ValidationError {
        let text = subject.map { "\($0): \(message)" } ?? message
        switch self {
        case .flag(let flag):
            return ValidationError(subject.map { "\(flag) \($0): \(message)" } ?? "\(flag): \(message)")
        case .file(let file, let line, let column, let field):
            return ValidationError(YAMLFileError(file: file, line: line, column: column, field: field, message: text).description)
        }
    }
}

/// A setting's value and where it came from.
public struct Sourced<Value: Sendable>: Sendable {
    public var value: Value
    public var origin: SettingOrigin

    public init(_ value: Value, from origin: SettingOrigin) {
        self.value = value
        self.origin = origin
    }
}

extension Sourced: Equatable where Value: Equatable {}
