/// Why a model package was refused, naming the file and the field, node or vector at fault.
///
/// A hub that cannot load a new model keeps the one it has, so these errors are reported
/// (by `hubrig model check` and in the hub's history) rather than thrown at the user's feet.
public enum ModelPackageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file of the package is missing or unreadable.
    case file(name: String, reason: String)
    /// manifest.json is invalid: `field` is its JSON path (`window.length`).
    case manifest(field: String, reason: String)
    /// model.onnx could not be loaded or does not fit the manifest.
    case model(reason: String)
    /// golden.json is invalid.
    case golden(field: String, reason: String)
    /// The self-test disagreed with the training side's outputs.
    case goldenMismatch(vector: Int, index: Int, expected: Double, got: Double, what: String)

    public var description: String {
        switch self {
        case .file(let name, let reason): "\(name): \(reason)"
        case .manifest(let field, let reason): "manifest.json: \(field): \(reason)"
        case .model(let reason): "model.onnx: \(reason)"
        case .golden(let field, let reason): "golden.json: \(field): \(reason)"
        case .goldenMismatch(let vector, let index, let expected, let got, let what):
            "golden.json: vector \(vector), \(what)[\(index)]: expected \(expected), got \(got)"
        }
    }
}
