import Foundation
import HubInference
import Testing

/// The committed real-world model: written by the Python onnx helper API, its expected
/// output computed by onnxruntime (see fixtures/onnx/make_tiny_mlp.py).
@Suite("ONNX fixture from onnx + onnxruntime")
struct ONNXFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/onnx")

    struct Expected: Decodable {
        var input: [Float]
        var output: [Float]
        var inputShape: [Int]
        var outputShape: [Int]

        enum CodingKeys: String, CodingKey {
            case input, output
            case inputShape = "input_shape"
            case outputShape = "output_shape"
        }
    }

    @Test("tiny-mlp.onnx loads with its declared signature and matches onnxruntime within 1e-5")
    func tinyMLP() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent("tiny-mlp.onnx")))
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: Self.directory.appendingPathComponent("tiny-mlp.expected.json")))
        let model = try ONNXModel(serialized: bytes)
        #expect(model.opset == 17)
        #expect(model.inputs.map(\.name) == ["x"])
        #expect(model.inputs[0].shape == expected.inputShape)
        #expect(model.outputs.map(\.name) == ["y"])
        #expect(model.outputs[0].shape == expected.outputShape)

        let output = try model.run(expected.input)
        #expect(output.count == expected.output.count)
        for (got, want) in zip(output, expected.output) {
            #expect(abs(got - want) <= 1e-5, "got \(output), onnxruntime \(expected.output)")
        }
    }
}
