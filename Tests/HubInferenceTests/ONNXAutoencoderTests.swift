import Foundation
import HubCore
@testable import HubInference
import Testing

/// A dense layer of the reference autoencoder: y = W·x + b with W stored [out, in].
struct DenseLayer {
    var weights: [Float]
    var bias: [Float]
    var inputs: Int
    var outputs: Int
    var relu: Bool

    init(inputs: Int, outputs: Int, relu: Bool, random: inout SeededRandom) {
        self.inputs = inputs
        self.outputs = outputs
        self.relu = relu
        let scale = 1 / Double(inputs).squareRoot()
        weights = (0..<(inputs * outputs)).map { _ in Float(random.nextGaussian() * scale) }
        bias = (0..<outputs).map { _ in Float(random.nextGaussian() * 0.1) }
    }

    /// The weights transposed to [in, out], as a MatMul or a transB = 0 Gemm wants them.
    var transposed: [Float] {
        var t = [Float](repeating: 0, count: weights.count)
        for o in 0..<outputs {
            for i in 0..<inputs { t[i * outputs + o] = weights[o * inputs + i] }
        }
        return t
    }

    /// The straightforward computation, in Double, that the runtime must match.
    func reference(_ x: [Double]) -> [Double] {
        (0..<outputs).map { o in
            var sum = Double(bias[o])
            for i in 0..<inputs { sum += Double(weights[o * inputs + i]) * x[i] }
            return relu ? max(0, sum) : sum
        }
    }
}

/// 16-8-4-8-16 with ReLU on the hidden layers, random weights from `seed`.
func autoencoderLayers(seed: UInt64) -> [DenseLayer] {
    var random = SeededRandom(seed: seed)
    let sizes = [16, 8, 4, 8, 16]
    return (0..<4).map { DenseLayer(inputs: sizes[$0], outputs: sizes[$0 + 1], relu: $0 < 3, random: &random) }
}

/// The layers as Gemm (transB = 1, as PyTorch exports Linear) + Relu; output = reconstruction.
func gemmAutoencoder(_ layers: [DenseLayer], batch: Dim = .symbol("N")) -> Onnx_ModelProto {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var current = "x"
    for (index, layer) in layers.enumerated() {
        let last = index == layers.count - 1
        initializers.append(floatTensor("W\(index)", [Int64(layer.outputs), Int64(layer.inputs)], layer.weights))
        initializers.append(floatTensor("b\(index)", [Int64(layer.outputs)], layer.bias, raw: index % 2 == 0))
        let linear = last ? "recon" : "linear\(index)"
        nodes.append(node("Gemm", [current, "W\(index)", "b\(index)"], [linear], name: "fc\(index)",
                          [attribute("transB", int: 1)]))
        if layer.relu {
            nodes.append(node("Relu", [linear], ["act\(index)"], name: "relu\(index)"))
            current = "act\(index)"
        } else {
            current = linear
        }
    }
    return modelProto(nodes: nodes, initializers: initializers,
                      inputs: [valueInfo("x", [batch, 16])], outputs: [valueInfo("recon", [batch, 16])])
}

@Suite("ONNX autoencoder and run API")
struct ONNXAutoencoderTests {
    let layers = autoencoderLayers(seed: 42)

    func sample(_ seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        return (0..<16).map { _ in Float(random.nextGaussian()) }
    }

    func reference(_ x: [Float]) -> [Float] {
        layers.reduce(x.map(Double.init)) { $1.reference($0) }.map(Float.init)
    }

    @Test("a 16-8-4-8-16 Gemm+Relu autoencoder matches a plain reference computation")
    func gemmAutoencoderMatches() throws {
        let model = try load(gemmAutoencoder(layers))
        #expect(model.inputs == [ONNXModel.TensorInfo(name: "x", shape: [1, 16])])
        #expect(model.outputs == [ONNXModel.TensorInfo(name: "recon", shape: [1, 16])])
        #expect(model.opset == 17)
        for seed in 1...50 as ClosedRange<UInt64> {
            let x = sample(seed)
            #expect(close(try model.run(x), reference(x), tolerance: 1e-5), "sample \(seed)")
        }
    }

    @Test("the same network written with transB = 0, MatMul + Add and Flatten computes the same")
    func mixedOperators() throws {
        var nodes: [Onnx_NodeProto] = [node("Flatten", ["x"], ["flat"])]
        var initializers: [Onnx_TensorProto] = []
        var current = "flat"
        for (index, layer) in layers.enumerated() {
            let w = "W\(index)", b = "b\(index)", linear = "linear\(index)"
            initializers.append(floatTensor(w, [Int64(layer.inputs), Int64(layer.outputs)], layer.transposed))
            initializers.append(floatTensor(b, [1, Int64(layer.outputs)], layer.bias))
            if index % 2 == 0 {
                nodes.append(node("Gemm", [current, w, b], [linear]))
            } else {
                nodes.append(node("MatMul", [current, w], ["product\(index)"]))
                nodes.append(node("Add", ["product\(index)", b], [linear]))
            }
            if layer.relu {
                nodes.append(node("Relu", [linear], ["act\(index)"]))
                current = "act\(index)"
            } else {
                current = linear
            }
        }
        let model = try load(modelProto(nodes: nodes, initializers: initializers,
                                        inputs: [valueInfo("x", [1, 4, 4])], outputs: [valueInfo(current, [1, 16])]))
        for seed in 1...20 as ClosedRange<UInt64> {
            let x = sample(seed)
            #expect(close(try model.run(x), reference(x), tolerance: 1e-5), "sample \(seed)")
        }
    }

    @Test("a graph can score itself: mean squared reconstruction error via Sub, Pow and ReduceMean")
    func reconstructionError() throws {
        var proto = gemmAutoencoder(layers)
        proto.graph.node += [node("Sub", ["x", "recon"], ["error"]),
                             node("Pow", ["error", "two"], ["squared"]),
                             node("ReduceMean", ["squared"], ["score"], [attribute("axes", ints: [1]), attribute("keepdims", int: 0)])]
        proto.graph.initializer.append(floatTensor("two", [], [2]))
        proto.graph.output = [valueInfo("score", [.symbol("N")])]
        let model = try load(proto)
        for seed in 1...20 as ClosedRange<UInt64> {
            let x = sample(seed)
            let recon = reference(x)
            let expected = zip(x, recon).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / 16
            let score = try model.run(x)
            #expect(score.count == 1)
            #expect(abs(Double(score[0]) - expected) <= 1e-5 * max(1, expected))
        }
    }

    @Test("the buffer API writes exactly what the array API returns, run after run")
    func bufferAPI() throws {
        let model = try load(gemmAutoencoder(layers))
        var output = [Float](repeating: .nan, count: 16)
        for seed in 1...10 as ClosedRange<UInt64> {
            let x = sample(seed)
            try x.withUnsafeBufferPointer { input in
                try output.withUnsafeMutableBufferPointer { try model.run(input, into: $0) }
            }
            #expect(output == (try model.run(x)))
        }
    }

    @Test("one loaded model serves concurrent callers (scratch is per call)")
    func concurrentRuns() async throws {
        let model = try load(gemmAutoencoder(layers))
        let samples = (1...8 as ClosedRange<UInt64>).map(sample)
        let expected = try samples.map { try model.run($0) }
        let results = await withTaskGroup(of: (Int, [Float]?).self) { group in
            for (index, x) in samples.enumerated() {
                group.addTask {
                    var last: [Float]?
                    for _ in 0..<200 { last = try? model.run(x) }
                    return (index, last)
                }
            }
            var collected = [[Float]?](repeating: nil, count: samples.count)
            for await (index, output) in group { collected[index] = output }
            return collected
        }
        #expect(results == expected.map { Optional($0) })
    }
}
