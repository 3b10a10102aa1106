/// Why an ONNX model was refused at load, or why a run was refused.
///
/// A model arrives over the air from a training pipeline we do not control, so a bad one
/// must never take the hub down: every problem the loader can find becomes one of these
/// cases, and each names the thing to fix — the node (its `name`, or `#index` when the
/// exporter left it empty) and operator, the tensor or initializer, the attribute — so
/// the deployment status sent back to the cloud is actionable without the model file.
/// Nothing here is thrown during a run except the buffer-size checks.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a protobuf `ModelProto` (truncated, malformed, bad UTF-8, nested too deep).
    case unparseable(reason: String)
    /// `ir_version` is missing or older than 3, the first version with operator-set imports.
    case unsupportedIRVersion(Int64)
    /// No `opset_import` for the default ONNX domain, so operator semantics are unknown.
    case missingOpsetImport
    /// The default-domain operator set is outside `ONNXModel.supportedOpsets`.
    case unsupportedOpset(Int64)
    /// The model has no graph.
    case missingGraph
    /// The graph has no input that is not also an initializer.
    case missingInput
    /// The graph declares no output.
    case missingOutput
    /// A node uses an operator (or a domain) this runtime does not implement.
    case unsupportedOperator(node: String, opType: String, domain: String)
    /// A tensor is not float32 (or, for shape-like operands, not int64/int32); `node` is the
    /// consumer when the type is only wrong for that use.
    case unsupportedDataType(tensor: String, dataType: String, node: String?)
    /// A graph input's shape is not fully known; `dimension` is nil when the whole shape is missing.
    case dynamicShape(tensor: String, dimension: Int?, detail: String)
    /// Two shapes a node needs to agree do not (or a graph output's declared shape differs
    /// from the one the graph computes).
    case shapeMismatch(node: String, opType: String, first: [Int], second: [Int], detail: String)
    /// A shape the runtime refuses: a zero dimension, too many elements, a batched MatMul operand.
    case unsupportedShape(tensor: String, shape: [Int], detail: String)
    /// A float initializer (or Constant) holds NaN or ±Inf at flat index `index`.
    case nonFiniteInitializer(name: String, index: Int)
    /// An initializer's payload disagrees with its dims, or uses storage the runtime does not
    /// read (external data, segments, sparse tensors).
    case malformedTensor(name: String, reason: String)
    /// A node reads a tensor that no graph input, initializer or earlier node defines.
    case missingTensor(node: String, opType: String, tensor: String)
    /// A node needs an operand known at load (Reshape's shape, ReduceMean's axes) and got a
    /// computed tensor instead.
    case notConstant(node: String, opType: String, tensor: String)
    /// Two definitions (inputs, initializers, node outputs) share a name.
    case duplicateTensor(name: String)
    /// An attribute is unknown to the operator, has the wrong type, or an invalid value.
    case badAttribute(node: String, opType: String, attribute: String, reason: String)
    /// A node has the wrong number of inputs or outputs for its operator.
    case wrongArity(node: String, opType: String, detail: String)
    /// `run` was called on a graph that does not have exactly one input and one output.
    case notSingleInputOutput(inputs: Int, outputs: Int)
    /// The input buffer's length is not the input shape's element count.
    case inputCount(expected: Int, actual: Int)
    /// The output buffer's length is not the output shape's element count.
    case outputCount(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .unparseable(let reason):
            "not an ONNX model: \(reason)"
        case .unsupportedIRVersion(let version):
            "unsupported ONNX IR version \(version) (need 3 or later)"
        case .missingOpsetImport:
            "model imports no operator set for the default ONNX domain"
        case .unsupportedOpset(let version):
            "unsupported ONNX operator set \(version) (supported: \(ONNXModel.supportedOpsets.lowerBound)...\(ONNXModel.supportedOpsets.upperBound))"
        case .missingGraph:
            "model has no graph"
        case .missingInput:
            "graph has no input (every declared input is an initializer)"
        case .missingOutput:
            "graph declares no output"
        case .unsupportedOperator(let node, let opType, let domain):
            domain.isEmpty
                ? "node \(quoted(node)): unsupported operator \(opType)"
                : "node \(quoted(node)): unsupported operator \(domain).\(opType)"
        case .unsupportedDataType(let tensor, let dataType, let node):
            if let node {
                "node \(quoted(node)): tensor \(quoted(tensor)) has unsupported type \(dataType) here"
            } else {
                "tensor \(quoted(tensor)) has unsupported type \(dataType) (only FLOAT is computed)"
            }
        case .dynamicShape(let tensor, let dimension, let detail):
            if let dimension {
                "input \(quoted(tensor)) dimension \(dimension) is not static: \(detail)"
            } else {
                "input \(quoted(tensor)) has no static shape: \(detail)"
            }
        case .shapeMismatch(let node, let opType, let first, let second, let detail):
            "node \(quoted(node)) (\(opType)): shapes \(first) and \(second) do not fit: \(detail)"
        case .unsupportedShape(let tensor, let shape, let detail):
            "tensor \(quoted(tensor)) shape \(shape) is unsupported: \(detail)"
        case .nonFiniteInitializer(let name, let index):
            "initializer \(quoted(name)) holds NaN or infinity at element \(index)"
        case .malformedTensor(let name, let reason):
            "tensor \(quoted(name)) is malformed: \(reason)"
        case .missingTensor(let node, let opType, let tensor):
            "node \(quoted(node)) (\(opType)) reads \(quoted(tensor)), which nothing defines before it"
        case .notConstant(let node, let opType, let tensor):
            "node \(quoted(node)) (\(opType)) needs \(quoted(tensor)) to be an initializer or Constant"
        case .duplicateTensor(let name):
            "tensor \(quoted(name)) is defined more than once"
        case .badAttribute(let node, let opType, let attribute, let reason):
            "node \(quoted(node)) (\(opType)) attribute \(quoted(attribute)): \(reason)"
        case .wrongArity(let node, let opType, let detail):
            "node \(quoted(node)) (\(opType)): \(detail)"
        case .notSingleInputOutput(let inputs, let outputs):
            "run needs a graph with one input and one output; this one has \(inputs) and \(outputs)"
        case .inputCount(let expected, let actual):
            "input holds \(actual) values; the model's input has \(expected)"
        case .outputCount(let expected, let actual):
            "output buffer holds \(actual) values; the model's output has \(expected)"
        }
    }
}

private func quoted(_ name: String) -> String {
    "\"\(name)\""
}
