import Foundation
@testable import HubInference
import Testing

// Every ModelError case, provoked by the smallest model that shows it, and checked for
// naming the thing to fix.

@Suite("ONNX load errors")
struct ONNXModelErrorTests {
    /// y = Relu(x · W + b), x: [1, 2]. The base every test breaks in one place.
    static func valid() -> Onnx_ModelProto {
        modelProto(nodes: [node("Gemm", ["x", "W", "b"], ["h"], name: "fc"), node("Relu", ["h"], ["y"], name: "act")],
                   initializers: [floatTensor("W", [2, 2], [1, 2, 3, 4]), floatTensor("b", [2], [0, 0])],
                   inputs: [valueInfo("x", [1, 2])], outputs: [valueInfo("y", [1, 2])])
    }

    @Test("the base model loads, so each test below fails for its own reason")
    func baseLoads() throws {
        #expect(try evaluate(Self.valid(), [1, 1]) == [4, 6])
    }

    @Test("bytes that are not a protobuf: truncated and malformed")
    func unparseable() {
        // Field 7 (graph), length 5, but only one byte follows.
        #expect(loadErrorOf([0x3A, 0x05, 0x01]) == .unparseable(reason: "truncated protobuf"))
        // Wire type 7 does not exist.
        guard case .unparseable? = loadErrorOf([0x0F, 0x00]) else {
            Issue.record("an invalid wire type must be refused")
            return
        }
        let bytes = serialize(Self.valid())
        guard case .unparseable(let reason)? = loadErrorOf(Array(bytes.dropLast(3))) else {
            Issue.record("a truncated model must be refused")
            return
        }
        #expect(reason.contains("truncated"))
    }

    @Test("empty input is a model with nothing in it: no IR version")
    func empty() {
        #expect(loadErrorOf([]) == .unsupportedIRVersion(0))
    }

    @Test("IR version before 3, missing or unsupported opsets")
    func versions() {
        var model = Self.valid()
        model.irVersion = 2
        #expect(loadError(model) == .unsupportedIRVersion(2))

        model = Self.valid()
        model.opsetImport = []
        #expect(loadError(model) == .missingOpsetImport)
        var mlOnly = Onnx_OperatorSetIdProto()
        mlOnly.domain = "ai.onnx.ml"
        mlOnly.version = 3
        model.opsetImport = [mlOnly]
        #expect(loadError(model) == .missingOpsetImport)

        #expect(loadError(modelProto(nodes: [], inputs: [valueInfo("x", [1])], outputs: [valueInfo("x", [1])], opset: 6))
                == .unsupportedOpset(6))
        #expect(loadError(modelProto(nodes: [], inputs: [valueInfo("x", [1])], outputs: [valueInfo("x", [1])], opset: 29))
                == .unsupportedOpset(29))
        var aliasDomain = Self.valid()
        aliasDomain.opsetImport[0].domain = "ai.onnx"
        #expect(loadError(aliasDomain) == nil, "ai.onnx is the default domain's other spelling")
    }

    @Test("missing graph, graph input, graph output")
    func missingParts() {
        var model = Self.valid()
        model.clearGraph()
        #expect(loadError(model) == .missingGraph)

        let onlyInitializer = modelProto(nodes: [], initializers: [floatTensor("k", [1], [1])],
                                         inputs: [valueInfo("k", [1])], outputs: [valueInfo("k", [1])])
        #expect(loadError(onlyInitializer) == .missingInput)
        let noInputs = modelProto(nodes: [], initializers: [floatTensor("k", [1], [1])], inputs: [], outputs: [valueInfo("k", [1])])
        #expect(loadError(noInputs) == .missingInput)

        model = Self.valid()
        model.graph.output = []
        #expect(loadError(model) == .missingOutput)
    }

    @Test("unsupported operators name the node, the operator and a foreign domain")
    func unsupportedOperator() {
        var model = Self.valid()
        model.graph.node[1] = node("Elu", ["h"], ["y"], name: "act")
        #expect(loadError(model) == .unsupportedOperator(node: "act", opType: "Elu", domain: ""))
        #expect(loadError(model)?.description == "node \"act\": unsupported operator Elu")

        var custom = node("Relu", ["h"], ["y"])
        custom.domain = "com.microsoft"
        model.graph.node[1] = custom
        #expect(loadError(model) == .unsupportedOperator(node: "#1", opType: "Relu", domain: "com.microsoft"))
    }

    @Test("non-float32 inputs, initializers and operands are refused by name")
    func dataTypes() {
        var model = Self.valid()
        model.graph.input = [valueInfo("x", [1, 2], elementType: .double)]
        #expect(loadError(model) == .unsupportedDataType(tensor: "x", dataType: "DOUBLE", node: nil))

        model = Self.valid()
        var doubles = Onnx_TensorProto()
        doubles.name = "W"
        doubles.dims = [2, 2]
        doubles.dataType = Int32(Onnx_TensorProto.DataType.double.rawValue)
        doubles.doubleData = [1, 2, 3, 4]
        model.graph.initializer[0] = doubles
        #expect(loadError(model) == .unsupportedDataType(tensor: "W", dataType: "DOUBLE", node: nil))

        model = Self.valid()
        model.graph.initializer[1] = int64Tensor("b", [2], [0, 0])
        #expect(loadError(model) == .unsupportedDataType(tensor: "b", dataType: "INT64", node: "fc"))

        model = Self.valid()
        model.graph.output = [valueInfo("y", [1, 2], elementType: .float16)]
        #expect(loadError(model) == .unsupportedDataType(tensor: "y", dataType: "FLOAT16", node: nil))

        model = Self.valid()
        var sequence = Onnx_ValueInfoProto()
        sequence.name = "x"
        sequence.type.sequenceType = Onnx_TypeProto.Sequence()
        model.graph.input = [sequence]
        #expect(loadError(model) == .unsupportedDataType(tensor: "x", dataType: "sequence", node: nil))
    }

    @Test("only the batch dimension may be symbolic; it reads as 1")
    func dynamicShapes() throws {
        var model = Self.valid()
        model.graph.input = [valueInfo("x", [.symbol("batch"), 2])]
        let loaded = try load(model)
        #expect(loaded.inputs == [ONNXModel.TensorInfo(name: "x", shape: [1, 2])])
        model.graph.input = [valueInfo("x", [.unknown, 2])]
        #expect(try load(model).inputs[0].shape == [1, 2])

        model.graph.input = [valueInfo("x", [1, .symbol("features")])]
        guard case .dynamicShape("x", 1, let detail)? = loadError(model) else {
            Issue.record("a symbolic feature dimension must be refused")
            return
        }
        #expect(detail.contains("features"))
        model.graph.input = [valueInfo("x", [1, .unknown])]
        guard case .dynamicShape("x", 1, _)? = loadError(model) else {
            Issue.record("an unknown feature dimension must be refused")
            return
        }
        model.graph.input = [valueInfo("x", nil)]
        guard case .dynamicShape("x", nil, _)? = loadError(model) else {
            Issue.record("an input without a shape must be refused")
            return
        }
    }

    @Test("a declared output shape that the graph does not compute names the producer and both shapes")
    func outputShapeMismatch() {
        var model = Self.valid()
        model.graph.output = [valueInfo("y", [1, 3])]
        #expect(loadError(model) == .shapeMismatch(node: "act", opType: "Relu", first: [1, 3], second: [1, 2],
                                                   detail: "graph output \"y\" is declared [1, 3] but computes [1, 2]"))
        model.graph.output = [valueInfo("y", [.symbol("N"), 2])]
        #expect(loadError(model) == nil, "a symbolic output dimension matches anything")
        model.graph.output = [valueInfo("y", [2])]
        guard case .shapeMismatch("act", "Relu", [2], [1, 2], _)? = loadError(model) else {
            Issue.record("a rank difference is a mismatch")
            return
        }
    }

    @Test("zero-sized and oversized shapes are refused")
    func unsupportedShapes() {
        var model = Self.valid()
        model.graph.input = [valueInfo("x", [0, 2])]
        guard case .unsupportedShape("x", [0, 2], _)? = loadError(model) else {
            Issue.record("an empty input must be refused")
            return
        }
        model.graph.input = [valueInfo("x", [.size(1 << 31), .size(1 << 31)])]
        guard case .unsupportedShape("x", _, _)? = loadError(model) else {
            Issue.record("an input of 2⁶² elements must be refused, not overflow")
            return
        }
        model = Self.valid()
        model.graph.initializer[0].dims = [Int64.max, 2]
        guard case .unsupportedShape("W", _, _)? = loadError(model) else {
            Issue.record("overflowing initializer dims must be refused")
            return
        }
    }

    @Test("NaN and infinity in an initializer, in float_data or raw_data, name it and the element")
    func nonFinite() {
        var model = Self.valid()
        model.graph.initializer[0] = floatTensor("W", [2, 2], [1, 2, .nan, 4])
        #expect(loadError(model) == .nonFiniteInitializer(name: "W", index: 2))
        model.graph.initializer[0] = floatTensor("W", [2, 2], [1, -.infinity, 3, 4], raw: true)
        #expect(loadError(model) == .nonFiniteInitializer(name: "W", index: 1))
        #expect(loadError(model)?.description == "initializer \"W\" holds NaN or infinity at element 1")
    }

    @Test("malformed initializers: counts, raw lengths, external data, negative dims, unnamed")
    func malformed() {
        func withW(_ change: (inout Onnx_TensorProto) -> Void) -> ModelError? {
            var model = Self.valid()
            change(&model.graph.initializer[0])
            return loadError(model)
        }
        #expect(withW { $0.floatData = [1, 2, 3] }
                == .malformedTensor(name: "W", reason: "dims [2, 2] need 4 values, float_data has 3"))
        guard case .malformedTensor("W", _)? = withW({ $0 = floatTensor("W", [2, 2], [1, 2, 3, 4], raw: true); $0.rawData.removeLast() }) else {
            Issue.record("a short raw_data must be refused")
            return
        }
        guard case .malformedTensor("W", _)? = withW({ $0.dataLocation = .external }) else {
            Issue.record("external data must be refused")
            return
        }
        guard case .malformedTensor("W", _)? = withW({ $0.dims = [-2, -2] }) else {
            Issue.record("negative dims must be refused")
            return
        }
        guard case .malformedTensor("W", _)? = withW({ $0.rawData = Data(count: 16) }) else {
            Issue.record("raw_data together with float_data must be refused")
            return
        }
        guard case .malformedTensor("", _)? = withW({ $0.clearName() }) else {
            Issue.record("an unnamed initializer must be refused")
            return
        }
    }

    @Test("a node reading an undefined tensor, and a graph output nobody computes")
    func missingTensors() {
        var model = Self.valid()
        model.graph.node[1].input = ["ghost"]
        #expect(loadError(model) == .missingTensor(node: "act", opType: "Relu", tensor: "ghost"))
        // Using a value before the node that defines it: ONNX requires topological order.
        model = Self.valid()
        model.graph.node.reverse()
        #expect(loadError(model) == .missingTensor(node: "act", opType: "Relu", tensor: "h"))
        model = Self.valid()
        model.graph.output = [valueInfo("z", nil)]
        #expect(loadError(model) == .missingTensor(node: "graph output", opType: "Graph", tensor: "z"))
    }

    @Test("operands needed at load must be constants")
    func notConstant() {
        let model = modelProto(nodes: [node("ReduceMean", ["x", "x"], ["y"], name: "mean")],
                               inputs: [valueInfo("x", [1])], outputs: [valueInfo("y", nil)], opset: 18)
        #expect(loadError(model) == .notConstant(node: "mean", opType: "ReduceMean", tensor: "x"))
    }

    @Test("a tensor defined twice")
    func duplicates() {
        var model = Self.valid()
        model.graph.node[1].output = ["h"]
        #expect(loadError(model) == .duplicateTensor(name: "h"))
        model = Self.valid()
        model.graph.initializer.append(floatTensor("b", [2], [1, 1]))
        #expect(loadError(model) == .duplicateTensor(name: "b"))
        model = Self.valid()
        model.graph.input.append(valueInfo("x", [1, 2]))
        #expect(loadError(model) == .duplicateTensor(name: "x"))
    }

    @Test("attributes: unknown, wrongly typed, invalid, repeated, function references")
    func attributes() {
        var model = Self.valid()
        model.graph.node[1].attribute = [attribute("alpha", float: 0.1)]
        #expect(loadError(model) == .badAttribute(node: "act", opType: "Relu", attribute: "alpha",
                                                  reason: "Relu in opset 17 has no such attribute"))
        model = Self.valid()
        model.graph.node[0].attribute = [attribute("alpha", int: 2)]
        #expect(loadError(model) == .badAttribute(node: "fc", opType: "Gemm", attribute: "alpha",
                                                  reason: "has type INT, needs FLOAT"))
        model.graph.node[0].attribute = [attribute("alpha", float: .infinity)]
        #expect(loadError(model) == .badAttribute(node: "fc", opType: "Gemm", attribute: "alpha", reason: "must be finite"))
        model.graph.node[0].attribute = [attribute("transB", int: 1), attribute("transB", int: 0)]
        #expect(loadError(model) == .badAttribute(node: "fc", opType: "Gemm", attribute: "transB", reason: "is given more than once"))
        var reference = attribute("alpha", float: 1)
        reference.refAttrName = "outer_alpha"
        model.graph.node[0].attribute = [reference]
        guard case .badAttribute("fc", "Gemm", "alpha", _)? = loadError(model) else {
            Issue.record("a function attribute reference outside a function must be refused")
            return
        }
        model.graph.node[0].attribute = [attribute("broadcast", int: 1)]
        guard case .badAttribute("fc", "Gemm", "broadcast", _)? = loadError(model) else {
            Issue.record("Gemm-6's broadcast attribute does not exist from opset 7")
            return
        }
    }

    @Test("wrong numbers of inputs or outputs")
    func arity() {
        var model = Self.valid()
        model.graph.node[1].input = ["h", "h"]
        #expect(loadError(model) == .wrongArity(node: "act", opType: "Relu", detail: "takes 1 inputs, has 2"))
        model = Self.valid()
        model.graph.node[1].output = ["y", "extra"]
        guard case .wrongArity("act", "Relu", _)? = loadError(model) else {
            Issue.record("two outputs of Relu must be refused")
            return
        }
        model = Self.valid()
        model.graph.node[0].input = ["x", ""]
        #expect(loadError(model) == .wrongArity(node: "fc", opType: "Gemm", detail: "required input 1 is empty"))
        model = Self.valid()
        model.graph.node[0].input = ["x"]
        #expect(loadError(model) == .wrongArity(node: "fc", opType: "Gemm", detail: "takes 2 to 3 inputs, has 1"))
    }

    @Test("run refuses multi-input graphs and wrongly sized buffers without touching them")
    func runErrors() throws {
        let twoInputs = modelProto(nodes: [node("Add", ["a", "b"], ["y"])],
                                   inputs: [valueInfo("a", [2]), valueInfo("b", [2])], outputs: [valueInfo("y", [2])])
        let loaded = try load(twoInputs)
        #expect(loaded.inputs.map(\.name) == ["a", "b"])
        #expect(throws: ModelError.notSingleInputOutput(inputs: 2, outputs: 1)) { try loaded.run([1, 2]) }

        let model = try load(Self.valid())
        #expect(throws: ModelError.inputCount(expected: 2, actual: 3)) { try model.run([1, 2, 3]) }
        #expect(throws: ModelError.inputCount(expected: 2, actual: 0)) { try model.run([]) }
        var output: [Float] = [9, 9, 9]
        let input: [Float] = [1, 1]
        #expect(throws: ModelError.outputCount(expected: 2, actual: 3)) {
            try input.withUnsafeBufferPointer { i in
                try output.withUnsafeMutableBufferPointer { o in try model.run(i, into: o) }
            }
        }
        #expect(output == [9, 9, 9])
    }
}

/// The load error for raw bytes, or nil when they load.
func loadErrorOf(_ bytes: [UInt8]) -> ModelError? {
    do {
        _ = try ONNXModel(serialized: bytes)
        return nil
    } catch {
        return error
    }
}
