import Foundation
@testable import HubInference

// Builders for ONNX protobufs, so each test states its graph in a few lines. The models
// are serialized and loaded through the public initializer exactly as a file would be.

/// One dimension of a declared graph input/output shape.
enum Dim: ExpressibleByIntegerLiteral {
    case size(Int64)
    case symbol(String)
    case unknown

    init(integerLiteral value: Int64) { self = .size(value) }
}

func floatTensor(_ name: String, _ dims: [Int64], _ values: [Float], raw: Bool = false) -> Onnx_TensorProto {
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = dims
    tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    if raw {
        var bytes = Data()
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        tensor.rawData = bytes
    } else {
        tensor.floatData = values
    }
    return tensor
}

func int64Tensor(_ name: String, _ dims: [Int64], _ values: [Int64], raw: Bool = false) -> Onnx_TensorProto {
    var tensor = Onnx_TensorProto()
    tensor.name = name
    tensor.dims = dims
    tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
    if raw {
        var bytes = Data()
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        tensor.rawData = bytes
    } else {
        tensor.int64Data = values
    }
    return tensor
}

func valueInfo(_ name: String, _ dims: [Dim]?, elementType: Onnx_TensorProto.DataType = .float) -> Onnx_ValueInfoProto {
    var info = Onnx_ValueInfoProto()
    info.name = name
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = Int32(elementType.rawValue)
    if let dims {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { dim in
            var d = Onnx_TensorShapeProto.Dimension()
            switch dim {
            case .size(let size): d.dimValue = size
            case .symbol(let symbol): d.dimParam = symbol
            case .unknown: break
            }
            return d
        }
        tensorType.shape = shape
    }
    info.type.tensorType = tensorType
    return info
}

func attribute(_ name: String, int value: Int64) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .int
    a.i = value
    return a
}

func attribute(_ name: String, float value: Float) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .float
    a.f = value
    return a
}

func attribute(_ name: String, ints values: [Int64]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .ints
    a.ints = values
    return a
}

func attribute(_ name: String, floats values: [Float]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .floats
    a.floats = values
    return a
}

func attribute(_ name: String, tensor value: Onnx_TensorProto) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .tensor
    a.t = value
    return a
}

func node(_ opType: String, _ inputs: [String], _ outputs: [String], name: String = "",
          _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.opType = opType
    n.input = inputs
    n.output = outputs
    if !name.isEmpty { n.name = name }
    n.attribute = attributes
    return n
}

func modelProto(nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto] = [],
                inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
                opset: Int64 = 17, irVersion: Int64 = 8) -> Onnx_ModelProto {
    var graph = Onnx_GraphProto()
    graph.name = "test"
    graph.node = nodes
    graph.initializer = initializers
    graph.input = inputs
    graph.output = outputs
    var model = Onnx_ModelProto()
    model.irVersion = irVersion
    model.producerName = "HubInferenceTests"
    var opsetID = Onnx_OperatorSetIdProto()
    opsetID.domain = ""
    opsetID.version = opset
    model.opsetImport = [opsetID]
    model.graph = graph
    return model
}

func serialize(_ model: Onnx_ModelProto) -> [UInt8] {
    // Serializing a message built in memory cannot fail (no required fields in onnx.proto).
    (try? model.serializedBytes()) ?? []
}

func load(_ model: Onnx_ModelProto) throws(ModelError) -> ONNXModel {
    try ONNXModel(serialized: serialize(model))
}

/// A one-node graph `y = op(x, extra inputs...)` with x of shape `inputShape` and y's shape left undeclared.
func singleNode(_ opType: String, inputShape: [Dim], extraInputs: [String] = [],
                initializers: [Onnx_TensorProto] = [], attributes: [Onnx_AttributeProto] = [],
                opset: Int64 = 17) -> Onnx_ModelProto {
    modelProto(nodes: [node(opType, ["x"] + extraInputs, ["y"], name: "n0", attributes)],
               initializers: initializers,
               inputs: [valueInfo("x", inputShape)], outputs: [valueInfo("y", nil)], opset: opset)
}

/// Loads `model`, runs it on `input` and returns the output, failing the test on any error.
func evaluate(_ model: Onnx_ModelProto, _ input: [Float]) throws -> [Float] {
    try load(model).run(input)
}

func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

/// The error loading `model` throws, or nil when it loads.
func loadError(_ model: Onnx_ModelProto) -> ModelError? {
    do {
        _ = try load(model)
        return nil
    } catch {
        return error
    }
}
