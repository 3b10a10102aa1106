import Foundation
import HubCore
import Yams

/// Reads a hand-written YAML file into its root node, or an error saying where it is not
/// readable, not UTF-8 or not YAML: the one path every YAML file of the project takes
/// (scenarios, the hub's configuration file).
public enum YAMLDocument {
    /// The bytes of the file at `path`, at most `maximumBytes` of them; an unreadable file
    /// (missing, a directory, a symlink loop, too large) says why.
    public static func bytes(atPath path: String, maximumBytes: Int) throws(YAMLFileError) -> [UInt8] {
        do {
            return try FileContents.bytes(atPath: path, maximumBytes: maximumBytes)
        } catch {
            throw YAMLFileError(file: path, line: nil, column: nil, field: nil, message: error.message)
        }
    }

    /// The root of a YAML document given as bytes: UTF-8 text (a byte-order mark allowed);
    /// nil for an empty document.
    public static func root(bytes: [UInt8], file: String) throws(YAMLFileError) -> YAMLValue? {
        if let problem = TextEncodingProblem.find(in: bytes) {
            throw YAMLFileError(file: file, line: problem.line, column: problem.column, field: nil, message: problem.description)
        }
        let text = String(decoding: bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes, as: UTF8.self)
        return try root(text: text, file: file)
    }

    /// The root of a YAML document given as text; nil for an empty document.
    public static func root(text: String, file: String) throws(YAMLFileError) -> YAMLValue? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        } catch {
            throw YAMLFileError(file: file, line: nil, column: nil, field: nil, message: "invalid YAML: \(error)")
        }
        return node.map { YAMLValue(node: $0, path: "", file: file) }
    }

    /// Yams' error with the line and column it knows and libyaml's short problem text, not
    /// the document around it.
    private static func yamlError(_ error: YamlError, file: String) -> YAMLFileError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return YAMLFileError(file: file, line: mark.line, column: mark.column, field: nil, message: "invalid YAML: \(problem)")
        case .reader(let problem, let offset, let value, let yaml):
            // The offset counts characters from the start; count lines and columns the same way.
            var line = 1
            var column = 1
            for character in yaml.prefix(offset ?? 0) {
                if character == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            let found = value >= 0 && value <= 0x10FFFF ? String(format: " (found U+%04X)", value) : ""
            return YAMLFileError(file: file, line: line, column: column, field: nil, message: "invalid YAML: \(problem)\(found)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return YAMLFileError(file: file, line: context.mark.line, column: context.mark.column,
                                 field: duplicates.sorted().first, message: "duplicate field (first defined here)")
        default:
            return YAMLFileError(file: file, line: nil, column: nil, field: nil, message: "invalid YAML: \(error)")
        }
    }
}
