import SwiftProtobuf

// The Onnx_* protobuf types come from onnx.pb.swift, generated once from the onnx wheel's
// onnx.proto and committed; ci/regenerate-onnx-proto.sh reproduces it byte for byte.

/// A float32 ONNX model (MLP autoencoders, linear models) compiled for the hub's hot path.
///
/// The hub scores every reading window on a Raspberry Pi, so the work is split: loading
/// parses the protobuf, refuses anything outside the supported subset with a `ModelError`
/// that names the culprit, infers every shape statically and compiles the graph into a
/// flat list of steps over preallocated offsets. Running then only does arithmetic — no
/// lookups, no dispatch through existentials, no heap allocation (intermediates live in a
/// scratch area sized at load and placed on the stack for each run). The value is
/// immutable and `Sendable`, so one loaded model can serve every device that uses it,
/// from any thread.
///
/// Supported (default ONNX domain, opsets in `supportedOpsets`): Gemm, MatMul, Add, Sub,
/// Mul, Div, Pow, Relu, Sigmoid, Tanh, Sqrt, Identity, Reshape, Flatten, Concat,
/// ReduceMean and Constant, on float32 tensors whose shapes follow from the graph input's.
public struct ONNXModel: Sendable {
    /// Operator-set versions whose semantics this runtime implements for every supported
    /// operator (before 7 several had `broadcast`/`consumed_inputs` attributes; up to 28
    /// later versions only added element types).
    public static let supportedOpsets: ClosedRange<Int> = 7...28

    /// A graph input or output: its name and static shape.
    ///
    /// Callers size their buffers from `count` and check the shape against the feature
    /// vector the model package's manifest describes.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        /// Static dimensions; a symbolic batch dimension on an input reads as 1.
        public let shape: [Int]

        /// Number of floats in the tensor.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The graph's inputs that are not initializers, in graph order.
    public let inputs: [TensorInfo]
    /// The graph's outputs, in graph order.
    public let outputs: [TensorInfo]
    /// The model's default-domain operator-set version.
    public let opset: Int

    private let plan: ExecutionPlan

    /// Parses, validates and compiles a serialized ONNX `ModelProto`.
    ///
    /// Any byte string is safe to pass: what is not a supported model throws.
    public init(serialized bytes: [UInt8]) throws(ModelError) {
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: bytes)
        } catch let error as BinaryDecodingError {
            throw .unparseable(reason: Self.explain(error))
        } catch {
            throw .unparseable(reason: "\(error)")
        }
        let compiled = try GraphCompiler.compile(proto)
        inputs = compiled.inputs
        outputs = compiled.outputs
        opset = compiled.opset
        plan = compiled.plan
    }

    private static func explain(_ error: BinaryDecodingError) -> String {
        switch error {
        case .truncated: "truncated protobuf"
        case .malformedProtobuf: "malformed protobuf"
        case .invalidUTF8: "a string field is not valid UTF-8"
        case .messageDepthLimit: "messages nested too deeply"
        case .trailingGarbage: "trailing bytes after the message"
        case .missingRequiredFields: "required protobuf fields are missing"
        default: "protobuf decoding failed (\(error))"
        }
    }

    /// Runs a single-input, single-output model on `input` and returns its output.
    ///
    /// Allocates the returned array; the hot path uses `run(_:into:)` instead.
    public func run(_ input: [Float]) throws(ModelError) -> [Float] {
        try checkSignature(inputCount: input.count)
        var output = [Float](repeating: 0, count: outputs[0].count)
        try input.withUnsafeBufferPointer { (inputBuffer) throws(ModelError) in
            try output.withUnsafeMutableBufferPointer { (outputBuffer) throws(ModelError) in
                try run(inputBuffer, into: outputBuffer)
            }
        }
        return output
    }

    /// Runs a single-input, single-output model from `input` into `output` without
    /// allocating on the heap.
    ///
    /// `input.count` must be `inputs[0].count` and `output.count` must be `outputs[0].count`;
    /// otherwise it throws before touching either buffer.
    public func run(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws(ModelError) {
        try checkSignature(inputCount: input.count)
        guard output.count == outputs[0].count else {
            throw .outputCount(expected: outputs[0].count, actual: output.count)
        }
        // Counts are at least 1 and were just checked, so both base addresses exist.
        guard let inputBase = input.baseAddress, let outputBase = output.baseAddress else { return }
        plan.execute(input: inputBase, inputCount: input.count, output: outputBase, outputCount: output.count)
    }

    private func checkSignature(inputCount: Int) throws(ModelError) {
        guard inputs.count == 1, outputs.count == 1 else {
            throw .notSingleInputOutput(inputs: inputs.count, outputs: outputs.count)
        }
        guard inputCount == inputs[0].count else {
            throw .inputCount(expected: inputs[0].count, actual: inputCount)
        }
    }
}
