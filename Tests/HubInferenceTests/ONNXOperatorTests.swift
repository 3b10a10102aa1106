import Foundation
import HubCore
@testable import HubInference
import Testing

// Each operator against values worked out by hand from the ONNX operator definitions.
// x is always the graph input; constants are initializers.

@Suite("ONNX operators")
struct ONNXOperatorTests {
    /// A = [[1, 2, 3], [4, 5, 6]]; B = [[1, 0], [0, 1], [1, 1]] → A·B = [[4, 5], [10, 11]].
    static let a: [Float] = [1, 2, 3, 4, 5, 6]
    static let b = floatTensor("B", [3, 2], [1, 0, 0, 1, 1, 1])
    static let bTransposed = floatTensor("B", [2, 3], [1, 0, 1, 0, 1, 1])

    func gemm(_ attributes: [Onnx_AttributeProto] = [], b: Onnx_TensorProto = ONNXOperatorTests.b,
              c: Onnx_TensorProto? = nil, inputShape: [Dim] = [2, 3], opset: Int64 = 17) -> Onnx_ModelProto {
        singleNode("Gemm", inputShape: inputShape, extraInputs: c == nil ? ["B"] : ["B", "C"],
                   initializers: c.map { [b, $0] } ?? [b], attributes: attributes, opset: opset)
    }

    @Test("Gemm: A·B + C with a row bias, and the default alpha = beta = 1")
    func gemmBasic() throws {
        let model = gemm(c: floatTensor("C", [2], [10, 20]))
        #expect(try evaluate(model, Self.a) == [14, 25, 20, 31])
        #expect(try load(model).outputs == [ONNXModel.TensorInfo(name: "y", shape: [2, 2])])
    }

    @Test("Gemm: alpha scales A·B and beta scales C")
    func gemmAlphaBeta() throws {
        let model = gemm([attribute("alpha", float: 2), attribute("beta", float: 0.5)],
                         c: floatTensor("C", [2], [10, 20]))
        #expect(try evaluate(model, Self.a) == [13, 20, 25, 32])
    }

    @Test("Gemm: beta = 0 ignores C entirely")
    func gemmBetaZero() throws {
        let model = gemm([attribute("beta", float: 0)], c: floatTensor("C", [2], [10, 20]))
        #expect(try evaluate(model, Self.a) == [4, 5, 10, 11])
    }

    @Test("Gemm: transB reads B as [N, K], transA reads A as [K, M]")
    func gemmTranspose() throws {
        let c = floatTensor("C", [2], [10, 20])
        #expect(try evaluate(gemm([attribute("transB", int: 1)], b: Self.bTransposed, c: c), Self.a) == [14, 25, 20, 31])
        // x is Aᵀ: [[1, 4], [2, 5], [3, 6]].
        let transA = gemm([attribute("transA", int: 1)], c: c, inputShape: [3, 2])
        #expect(try evaluate(transA, [1, 4, 2, 5, 3, 6]) == [14, 25, 20, 31])
        let both = gemm([attribute("transA", int: 1), attribute("transB", int: 1), attribute("alpha", float: 0.5)],
                        b: Self.bTransposed, c: c, inputShape: [3, 2])
        #expect(try evaluate(both, [1, 4, 2, 5, 3, 6]) == [12, 22.5, 15, 25.5])
    }

    @Test("Gemm: C broadcasts from a scalar, a column, a [1, N] row or the full shape")
    func gemmBroadcastC() throws {
        #expect(try evaluate(gemm(c: floatTensor("C", [], [100])), Self.a) == [104, 105, 110, 111])
        #expect(try evaluate(gemm(c: floatTensor("C", [2, 1], [100, 200])), Self.a) == [104, 105, 210, 211])
        #expect(try evaluate(gemm(c: floatTensor("C", [1, 2], [10, 20])), Self.a) == [14, 25, 20, 31])
        #expect(try evaluate(gemm(c: floatTensor("C", [2, 2], [1, 2, 3, 4])), Self.a) == [5, 7, 13, 15])
        #expect(try evaluate(gemm(c: floatTensor("C", [1], [1])), Self.a) == [5, 6, 11, 12])
    }

    @Test("Gemm: C is optional from opset 11 and required before")
    func gemmOptionalC() throws {
        #expect(try evaluate(gemm(opset: 13), Self.a) == [4, 5, 10, 11])
        guard case .wrongArity(let node, "Gemm", _)? = loadError(gemm(opset: 9)) else {
            Issue.record("opset 9 Gemm without C must be refused")
            return
        }
        #expect(node == "n0")
    }

    @Test("Gemm: computed B and C go through the strided kernel")
    func gemmDynamicOperands() throws {
        // x·xᵀ · 0.5 with x = [[1, 2, 3], [4, 5, 6]]: xxᵀ = [[14, 32], [32, 77]].
        let product = modelProto(nodes: [node("Gemm", ["x", "x"], ["y"], [attribute("transB", int: 1), attribute("alpha", float: 0.5)])],
                                 inputs: [valueInfo("x", [2, 3])], outputs: [valueInfo("y", [2, 2])])
        #expect(try evaluate(product, Self.a) == [7, 16, 16, 38.5])
        // x·x + 2x with x = [[1, 2], [3, 4]]: x·x = [[7, 10], [15, 22]].
        let withC = modelProto(nodes: [node("Gemm", ["x", "x", "x"], ["y"], [attribute("beta", float: 2)])],
                               inputs: [valueInfo("x", [2, 2])], outputs: [valueInfo("y", [2, 2])])
        #expect(try evaluate(withC, [1, 2, 3, 4]) == [9, 14, 21, 30])
        let scalarC = modelProto(nodes: [node("ReduceMean", ["x"], ["m"], [attribute("keepdims", int: 0)]),
                                         node("Gemm", ["x", "x", "m"], ["y"], [attribute("beta", float: 2)])],
                                 inputs: [valueInfo("x", [2, 2])], outputs: [valueInfo("y", [2, 2])])
        #expect(try evaluate(scalarC, [1, 2, 3, 4]) == [12, 15, 20, 27])
    }

    @Test("Gemm: 13 output columns (SIMD blocks of 8 and 4 plus a scalar tail), folded ReLU, computed C")
    func gemmWide() throws {
        var random = SeededRandom(seed: 11)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(random.nextGaussian()) } }
        let (m, n) = (3, 13)
        let w = values(n * n), bias = values(n), x = values(m * n)
        func reference(beta: Float, c: (Int, Int) -> Float, relu: Bool) -> [Float] {
            (0..<m).flatMap { row in
                (0..<n).map { column -> Float in
                    var sum = Double(beta * c(row, column))
                    for k in 0..<n { sum += Double(x[row * n + k]) * Double(w[k * n + column]) }
                    return relu ? Float(max(0, sum)) : Float(sum)
                }
            }
        }
        let folded = modelProto(nodes: [node("Gemm", ["x", "W", "b"], ["g"]), node("Relu", ["g"], ["y"])],
                                initializers: [floatTensor("W", [13, 13], w), floatTensor("b", [13], bias)],
                                inputs: [valueInfo("x", [3, 13])], outputs: [valueInfo("y", [3, 13])])
        #expect(close(try evaluate(folded, x), reference(beta: 1, c: { bias[$1] }, relu: true), tolerance: 1e-5))
        let computedC = modelProto(nodes: [node("Gemm", ["x", "W", "x"], ["y"], [attribute("beta", float: 0.5)])],
                                   initializers: [floatTensor("W", [13, 13], w)],
                                   inputs: [valueInfo("x", [3, 13])], outputs: [valueInfo("y", [3, 13])])
        #expect(close(try evaluate(computedC, x), reference(beta: 0.5, c: { x[$0 * n + $1] }, relu: false), tolerance: 1e-5))
    }

    @Test("Gemm: mismatched inner dimensions and non-2-D operands are named errors")
    func gemmShapes() {
        guard case .shapeMismatch("n0", "Gemm", [2, 3], [2, 2], _)? =
                loadError(gemm(b: floatTensor("B", [2, 2], [1, 2, 3, 4]))) else {
            Issue.record("expected a shape mismatch naming A and B")
            return
        }
        guard case .shapeMismatch("n0", "Gemm", [3], [2, 2], _)? =
                loadError(gemm(c: floatTensor("C", [3], [1, 2, 3]))) else {
            Issue.record("C of 3 columns cannot broadcast to [2, 2]")
            return
        }
        guard case .shapeMismatch("n0", "Gemm", [6], _, _)? = loadError(gemm(inputShape: [6])) else {
            Issue.record("1-D A must be refused")
            return
        }
    }

    @Test("Relu after Gemm is folded only when nothing else reads the Gemm output")
    func reluFolding() throws {
        let weights = floatTensor("W", [2, 2], [1, 0, 0, 1])
        let folded = modelProto(nodes: [node("Gemm", ["x", "W"], ["g"]), node("Relu", ["g"], ["y"])],
                                initializers: [weights], inputs: [valueInfo("x", [1, 2])], outputs: [valueInfo("y", [1, 2])])
        #expect(try evaluate(folded, [1, -2]) == [1, 0])
        // y = Relu(g) + g must still see the unclamped g.
        let shared = modelProto(nodes: [node("Gemm", ["x", "W"], ["g"]), node("Relu", ["g"], ["r"]),
                                        node("Add", ["r", "g"], ["y"])],
                                initializers: [weights], inputs: [valueInfo("x", [1, 2])], outputs: [valueInfo("y", [1, 2])])
        #expect(try evaluate(shared, [1, -2]) == [2, -2])
    }

    @Test("MatMul: 2-D, 1-D on either side, and a batched left operand")
    func matMul() throws {
        let w = floatTensor("W", [3, 2], [1, 0, 0, 1, 1, 1])
        let plain = singleNode("MatMul", inputShape: [2, 3], extraInputs: ["W"], initializers: [w])
        #expect(try evaluate(plain, Self.a) == [4, 5, 10, 11])

        let vectorLeft = singleNode("MatMul", inputShape: [3], extraInputs: ["W"], initializers: [w])
        #expect(try load(vectorLeft).outputs[0].shape == [2])
        #expect(try evaluate(vectorLeft, [1, 2, 3]) == [4, 5])

        let vectorRight = singleNode("MatMul", inputShape: [2, 3], extraInputs: ["v"],
                                     initializers: [floatTensor("v", [3], [1, 1, 1])])
        #expect(try load(vectorRight).outputs[0].shape == [2])
        #expect(try evaluate(vectorRight, Self.a) == [6, 15])

        let batched = singleNode("MatMul", inputShape: [2, 2, 3], extraInputs: ["W"], initializers: [w])
        #expect(try load(batched).outputs[0].shape == [2, 2, 2])
        #expect(try evaluate(batched, (1...12).map(Float.init)) == [4, 5, 10, 11, 16, 17, 22, 23])
    }

    @Test("MatMul: a batched right operand and mismatched K are refused")
    func matMulErrors() {
        let batchedRight = singleNode("MatMul", inputShape: [2, 3], extraInputs: ["W"],
                                      initializers: [floatTensor("W", [2, 3, 2], [Float](repeating: 1, count: 12))])
        guard case .unsupportedShape("W", [2, 3, 2], _)? = loadError(batchedRight) else {
            Issue.record("batched right-hand side must be refused")
            return
        }
        let wrongK = singleNode("MatMul", inputShape: [2, 3], extraInputs: ["W"],
                                initializers: [floatTensor("W", [2, 2], [1, 2, 3, 4])])
        #expect(loadError(wrongK) == .shapeMismatch(node: "n0", opType: "MatMul", first: [2, 3], second: [2, 2],
                                                    detail: "A has 3 columns but B has 2 rows"))
    }

    @Test("Add, Sub, Mul, Div broadcast [N, K] against [K], [1, K], scalars, [N, 1] and higher rank")
    func broadcasting() throws {
        func binary(_ op: String, _ c: Onnx_TensorProto, constantFirst: Bool = false, shape: [Dim] = [2, 3]) -> Onnx_ModelProto {
            modelProto(nodes: [node(op, constantFirst ? ["c", "x"] : ["x", "c"], ["y"])], initializers: [c],
                       inputs: [valueInfo("x", shape)], outputs: [valueInfo("y", nil)])
        }
        #expect(try evaluate(binary("Add", floatTensor("c", [3], [10, 20, 30])), Self.a) == [11, 22, 33, 14, 25, 36])
        #expect(try evaluate(binary("Sub", floatTensor("c", [1, 3], [10, 20, 30])), Self.a) == [-9, -18, -27, -6, -15, -24])
        #expect(try evaluate(binary("Mul", floatTensor("c", [], [2])), Self.a) == [2, 4, 6, 8, 10, 12])
        #expect(try evaluate(binary("Mul", floatTensor("c", [1], [3])), Self.a) == [3, 6, 9, 12, 15, 18])
        #expect(try evaluate(binary("Div", floatTensor("c", [2, 1], [1, 2])), Self.a) == [1, 2, 3, 2, 2.5, 3])
        #expect(try evaluate(binary("Sub", floatTensor("c", [3], [10, 20, 30]), constantFirst: true), Self.a)
                == [9, 18, 27, 6, 15, 24])
        #expect(try evaluate(binary("Div", floatTensor("c", [], [12]), constantFirst: true), Self.a) == [12, 6, 4, 3, 2.4, 2])

        let rank3 = binary("Add", floatTensor("c", [2, 1, 1], [100, 200]))
        #expect(try load(rank3).outputs[0].shape == [2, 2, 3])
        #expect(try evaluate(rank3, Self.a) == [101, 102, 103, 104, 105, 106, 201, 202, 203, 204, 205, 206])
        // [2, 1] + [1, 3]: both operands broadcast.
        let outer = binary("Add", floatTensor("c", [1, 3], [10, 20, 30]), shape: [2, 1])
        #expect(try evaluate(outer, [1, 2]) == [11, 21, 31, 12, 22, 32])

        let both = modelProto(nodes: [node("Mul", ["x", "x"], ["y"])], inputs: [valueInfo("x", [2, 3])],
                              outputs: [valueInfo("y", [2, 3])])
        #expect(try evaluate(both, Self.a) == [1, 4, 9, 16, 25, 36])
    }

    @Test("incompatible broadcast shapes are a mismatch naming both")
    func broadcastMismatch() {
        let model = modelProto(nodes: [node("Add", ["x", "c"], ["y"], name: "bias")],
                               initializers: [floatTensor("c", [2], [1, 2])],
                               inputs: [valueInfo("x", [2, 3])], outputs: [valueInfo("y", nil)])
        guard case .shapeMismatch("bias", "Add", [2, 3], [2], _)? = loadError(model) else {
            Issue.record("expected a mismatch naming node bias and both shapes")
            return
        }
    }

    @Test("Relu, Sigmoid, Tanh, Sqrt and Identity element by element")
    func unaryOperators() throws {
        #expect(try evaluate(singleNode("Relu", inputShape: [4]), [-1, 0, 2, -0.5]) == [0, 0, 2, 0])
        #expect(close(try evaluate(singleNode("Sigmoid", inputShape: [4]), [0, 1, -1, -200]),
                      [0.5, 0.7310586, 0.26894143, 0]))
        #expect(close(try evaluate(singleNode("Tanh", inputShape: [3]), [0, 0.5, -2]), [0, 0.46211716, -0.9640276]))
        #expect(try evaluate(singleNode("Sqrt", inputShape: [3]), [0, 4, 2.25]) == [0, 2, 1.5])
        #expect(try evaluate(singleNode("Sqrt", inputShape: [1]), [-1])[0].isNaN)
        #expect(try evaluate(singleNode("Identity", inputShape: [3]), [1, -2, 3]) == [1, -2, 3])
        #expect(try evaluate(singleNode("Relu", inputShape: [1]), [.nan])[0].isNaN, "Relu must not hide a NaN")
    }

    @Test("Pow: scalar 2 (squared), other scalars, integer exponents, tensors and 1")
    func pow() throws {
        func power(_ exponent: Onnx_TensorProto, shape: [Dim] = [3]) -> Onnx_ModelProto {
            singleNode("Pow", inputShape: shape, extraInputs: ["e"], initializers: [exponent])
        }
        #expect(try evaluate(power(floatTensor("e", [], [2])), [1, -2, 3]) == [1, 4, 9])
        #expect(try evaluate(power(floatTensor("e", [], [3])), [1, 2, 3]) == [1, 8, 27])
        #expect(try evaluate(power(int64Tensor("e", [], [2])), [1, 2, 3]) == [1, 4, 9])
        #expect(try evaluate(power(floatTensor("e", [3], [0, 1, 2])), [5, 2, 3]) == [1, 2, 9])
        #expect(try evaluate(power(floatTensor("e", [], [1])), [5, 2, 3]) == [5, 2, 3])
        #expect(try evaluate(power(floatTensor("e", [], [0.5])), [4, 9, 0.25]) == [2, 3, 0.5])
        // A [1, 1] exponent raises the rank, so the result is [1, 3] even for x².
        let raised = power(floatTensor("e", [1, 1], [2]))
        #expect(try load(raised).outputs[0].shape == [1, 3])
        #expect(try evaluate(raised, [1, 2, 3]) == [1, 4, 9])
        let dynamic = modelProto(nodes: [node("Pow", ["x", "x"], ["y"])], inputs: [valueInfo("x", [3])],
                                 outputs: [valueInfo("y", [3])])
        #expect(try evaluate(dynamic, [1, 2, 3]) == [1, 4, 27])
    }

    @Test("Reshape: 0 copies a dimension, -1 is inferred, data order is kept")
    func reshape() throws {
        func reshape(_ shape: [Int64], raw: Bool = false, attributes: [Onnx_AttributeProto] = []) -> Onnx_ModelProto {
            singleNode("Reshape", inputShape: [2, 3], extraInputs: ["s"],
                       initializers: [int64Tensor("s", [Int64(shape.count)], shape, raw: raw)], attributes: attributes)
        }
        #expect(try load(reshape([3, -1])).outputs[0].shape == [3, 2])
        #expect(try load(reshape([0, -1])).outputs[0].shape == [2, 3])
        #expect(try load(reshape([-1])).outputs[0].shape == [6])
        #expect(try load(reshape([2, 0], raw: true)).outputs[0].shape == [2, 3])
        #expect(try load(reshape([1, -1, 3, 1], raw: true)).outputs[0].shape == [1, 2, 3, 1])
        #expect(try load(reshape([3, 2], attributes: [attribute("allowzero", int: 1)])).outputs[0].shape == [3, 2])
        #expect(try evaluate(reshape([3, 2]), Self.a) == Self.a)

        for bad in [[-1, -1], [4, -1], [5], [1, 0, 3], [0, 0, 0, 0], [-2, 3], [1 << 40, 1 << 40]] as [[Int64]] {
            guard case .shapeMismatch("n0", "Reshape", [2, 3], _, _)? = loadError(reshape(bad)) else {
                Issue.record("shape \(bad) must be refused")
                continue
            }
        }
        guard case .shapeMismatch? = loadError(reshape([0, 3], attributes: [attribute("allowzero", int: 1)])) else {
            Issue.record("allowzero with a 0 asks for an empty tensor, which is unsupported")
            return
        }
    }

    @Test("Reshape needs its shape at load and in integers")
    func reshapeOperand() {
        let computed = modelProto(nodes: [node("Reshape", ["x", "x"], ["y"], name: "r")],
                                  inputs: [valueInfo("x", [2])], outputs: [valueInfo("y", nil)])
        #expect(loadError(computed) == .notConstant(node: "r", opType: "Reshape", tensor: "x"))
        let floats = singleNode("Reshape", inputShape: [2, 3], extraInputs: ["s"],
                                initializers: [floatTensor("s", [2], [3, 2])])
        #expect(loadError(floats) == .unsupportedDataType(tensor: "s", dataType: "FLOAT", node: "n0"))
        let allowZeroTooEarly = singleNode("Reshape", inputShape: [2, 3], extraInputs: ["s"],
                                           initializers: [int64Tensor("s", [1], [6])],
                                           attributes: [attribute("allowzero", int: 0)], opset: 13)
        guard case .badAttribute("n0", "Reshape", "allowzero", _)? = loadError(allowZeroTooEarly) else {
            Issue.record("allowzero does not exist before opset 14")
            return
        }
    }

    @Test("Flatten: axis splits the shape into [before, from], negative axes count from the end")
    func flatten() throws {
        func flatten(_ axis: Int64?) -> Onnx_ModelProto {
            singleNode("Flatten", inputShape: [2, 3, 4], attributes: axis.map { [attribute("axis", int: $0)] } ?? [])
        }
        #expect(try load(flatten(nil)).outputs[0].shape == [2, 12])
        #expect(try load(flatten(0)).outputs[0].shape == [1, 24])
        #expect(try load(flatten(2)).outputs[0].shape == [6, 4])
        #expect(try load(flatten(3)).outputs[0].shape == [24, 1])
        #expect(try load(flatten(-1)).outputs[0].shape == [6, 4])
        #expect(try load(flatten(-3)).outputs[0].shape == [1, 24])
        let values = (0..<24).map(Float.init)
        #expect(try evaluate(flatten(1), values) == values)
        for axis: Int64 in [4, -4, .max, .min] {
            guard case .badAttribute("n0", "Flatten", "axis", _)? = loadError(flatten(axis)) else {
                Issue.record("axis \(axis) must be refused")
                continue
            }
        }
    }

    @Test("Concat: along any axis, negative axes, mixing inputs and constants")
    func concat() throws {
        func concat(_ axis: Int64, _ inputs: [String], _ initializers: [Onnx_TensorProto]) -> Onnx_ModelProto {
            modelProto(nodes: [node("Concat", inputs, ["y"], name: "cat", [attribute("axis", int: axis)])],
                       initializers: initializers, inputs: [valueInfo("x", [2, 2])], outputs: [valueInfo("y", nil)])
        }
        let column = floatTensor("k", [2, 1], [9, 8])
        let row = floatTensor("r", [1, 2], [5, 6])
        let x: [Float] = [1, 2, 3, 4]
        #expect(try load(concat(1, ["x", "k"], [column])).outputs[0].shape == [2, 3])
        #expect(try evaluate(concat(1, ["x", "k"], [column]), x) == [1, 2, 9, 3, 4, 8])
        #expect(try evaluate(concat(-1, ["k", "x"], [column]), x) == [9, 1, 2, 8, 3, 4])
        #expect(try evaluate(concat(0, ["x", "r"], [row]), x) == [1, 2, 3, 4, 5, 6])
        #expect(try evaluate(concat(0, ["x", "x", "r"], [row]), x) == [1, 2, 3, 4, 1, 2, 3, 4, 5, 6])
        #expect(try evaluate(concat(1, ["x"], []), x) == x)

        guard case .shapeMismatch("cat", "Concat", [2, 2], [2, 1], _)? = loadError(concat(0, ["x", "k"], [column])) else {
            Issue.record("axis-0 concat of [2, 2] and [2, 1] must be refused")
            return
        }
        guard case .badAttribute("cat", "Concat", "axis", _)? = loadError(concat(2, ["x"], [])) else {
            Issue.record("axis 2 of a rank-2 input must be refused")
            return
        }
        let noAxis = modelProto(nodes: [node("Concat", ["x"], ["y"], name: "cat")],
                                inputs: [valueInfo("x", [2])], outputs: [valueInfo("y", nil)])
        #expect(loadError(noAxis) == .badAttribute(node: "cat", opType: "Concat", attribute: "axis", reason: "is required"))
    }

    @Test("ReduceMean: axes attribute (opset < 18) with and without keepdims")
    func reduceMeanAttribute() throws {
        func mean(_ attributes: [Onnx_AttributeProto], shape: [Dim] = [2, 3]) -> Onnx_ModelProto {
            singleNode("ReduceMean", inputShape: shape, attributes: attributes, opset: 13)
        }
        let rows = mean([attribute("axes", ints: [1])])
        #expect(try load(rows).outputs[0].shape == [2, 1])
        #expect(try evaluate(rows, Self.a) == [2, 5])
        let columns = mean([attribute("axes", ints: [0]), attribute("keepdims", int: 0)])
        #expect(try load(columns).outputs[0].shape == [3])
        #expect(try evaluate(columns, Self.a) == [2.5, 3.5, 4.5])
        let all = mean([])
        #expect(try load(all).outputs[0].shape == [1, 1])
        #expect(try evaluate(all, Self.a) == [3.5])
        let allFlat = mean([attribute("keepdims", int: 0)])
        #expect(try load(allFlat).outputs[0].shape == [])
        let middle = mean([attribute("axes", ints: [-2]), attribute("keepdims", int: 0)], shape: [2, 3, 2])
        #expect(try load(middle).outputs[0].shape == [2, 2])
        #expect(try evaluate(middle, (1...12).map(Float.init)) == [3, 4, 9, 10])
        let outer = mean([attribute("axes", ints: [0, 2])], shape: [2, 3, 2])
        #expect(try load(outer).outputs[0].shape == [1, 3, 1])
        #expect(try evaluate(outer, (1...12).map(Float.init)) == [4.5, 6.5, 8.5])

        guard case .badAttribute("n0", "ReduceMean", "axes", _)? = loadError(mean([attribute("axes", ints: [1, -1])])) else {
            Issue.record("duplicate axes must be refused")
            return
        }
        guard case .badAttribute("n0", "ReduceMean", "axes", _)? = loadError(mean([attribute("axes", ints: [2])])) else {
            Issue.record("axis 2 of a rank-2 input must be refused")
            return
        }
    }

    @Test("ReduceMean: axes input (opset 18) and noop_with_empty_axes")
    func reduceMeanInput() throws {
        let rows = singleNode("ReduceMean", inputShape: [2, 3], extraInputs: ["axes"],
                              initializers: [int64Tensor("axes", [1], [-1])], opset: 18)
        #expect(try load(rows).outputs[0].shape == [2, 1])
        #expect(try evaluate(rows, Self.a) == [2, 5])
        let all = singleNode("ReduceMean", inputShape: [2, 3], attributes: [attribute("keepdims", int: 0)], opset: 18)
        #expect(try evaluate(all, Self.a) == [3.5])
        let noop = singleNode("ReduceMean", inputShape: [2, 3], attributes: [attribute("noop_with_empty_axes", int: 1)], opset: 18)
        #expect(try load(noop).outputs[0].shape == [2, 3])
        #expect(try evaluate(noop, Self.a) == Self.a)
        let emptyAxes = singleNode("ReduceMean", inputShape: [2, 3], extraInputs: ["axes"],
                                   initializers: [int64Tensor("axes", [0], [])], opset: 18)
        #expect(try evaluate(emptyAxes, Self.a) == [3.5], "empty axes reduce everything")
        let emptyNoop = singleNode("ReduceMean", inputShape: [2, 3], extraInputs: ["axes"],
                                   initializers: [int64Tensor("axes", [0], [])],
                                   attributes: [attribute("noop_with_empty_axes", int: 1)], opset: 18)
        #expect(try evaluate(emptyNoop, Self.a) == Self.a)
        let oldStyle = singleNode("ReduceMean", inputShape: [2, 3], attributes: [attribute("axes", ints: [1])], opset: 18)
        guard case .badAttribute("n0", "ReduceMean", "axes", _)? = loadError(oldStyle) else {
            Issue.record("the axes attribute was removed in opset 18")
            return
        }
    }

    @Test("Constant nodes feed other nodes like initializers")
    func constantNode() throws {
        let model = modelProto(nodes: [node("Constant", [], ["c"], [attribute("value", tensor: floatTensor("", [3], [1, 2, 3]))]),
                                       node("Constant", [], ["two"], [attribute("value_float", float: 2)]),
                                       node("Constant", [], ["shape"], [attribute("value_ints", ints: [3, 1])]),
                                       node("Add", ["x", "c"], ["s"]), node("Mul", ["s", "two"], ["m"]),
                                       node("Reshape", ["m", "shape"], ["y"])],
                               inputs: [valueInfo("x", [3])], outputs: [valueInfo("y", [3, 1])])
        #expect(try evaluate(model, [10, 20, 30]) == [22, 44, 66])
        let nan = modelProto(nodes: [node("Constant", [], ["c"], name: "k", [attribute("value_floats", floats: [1, .nan])]),
                                     node("Add", ["x", "c"], ["y"])],
                             inputs: [valueInfo("x", [2])], outputs: [valueInfo("y", nil)])
        #expect(loadError(nan) == .nonFiniteInitializer(name: "c", index: 1))
    }

    @Test("a graph output may be an initializer or the input itself")
    func passThroughOutputs() throws {
        let echo = modelProto(nodes: [], inputs: [valueInfo("x", [2])], outputs: [valueInfo("x", [2])])
        #expect(try evaluate(echo, [3, 4]) == [3, 4])
        let fixed = modelProto(nodes: [], initializers: [floatTensor("k", [2], [7, 8])],
                               inputs: [valueInfo("x", [2])], outputs: [valueInfo("k", [2])])
        #expect(try evaluate(fixed, [3, 4]) == [7, 8])
    }
}
