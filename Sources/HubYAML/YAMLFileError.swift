/// A YAML file that cannot be used, with where (file, line, column, field) and why: a
/// scenario, a hub configuration file.
public struct YAMLFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let column: Int?
    /// The field's path in the document (`hub.appliances[0].kind`), if the error has one.
    public let field: String?
    public let message: String

    public init(file: String, line: Int?, column: Int?, field: String?, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let column { text += ":\(column)" }
        text += ": "
        if let field, !field.isEmpty { text += "\(field): " }
        return text + message
    }
}
