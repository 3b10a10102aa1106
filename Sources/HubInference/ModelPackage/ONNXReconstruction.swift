/// The production `ReconstructionModel`: a graph run by the hub's own ONNX runtime.
///
/// The graph must take one float vector and return one of the same length (an
/// autoencoder's reconstruction); the unsafe-buffer entry point keeps the call free of
/// allocation.
public struct ONNXReconstruction: ReconstructionModel {
    public let graph: ONNXModel
    public let inputSize: Int
    public let outputSize: Int

    public init(serialized bytes: [UInt8]) throws(ModelPackageError) {
        let graph: ONNXModel
        do { graph = try ONNXModel(serialized: bytes) } catch { throw .model(reason: error.description) }
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw .model(reason: "has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; a package model has one of each")
        }
        self.graph = graph
        inputSize = graph.inputs[0].count
        outputSize = graph.outputs[0].count
    }

    public func run(_ input: [Float], into output: inout [Float]) throws(ModelPackageError) {
        precondition(input.count == inputSize && output.count == outputSize, "buffers sized by the manifest")
        do {
            try input.withUnsafeBufferPointer { (inputBuffer) throws(ModelError) in
                try output.withUnsafeMutableBufferPointer { (outputBuffer) throws(ModelError) in
                    try graph.run(inputBuffer, into: outputBuffer)
                }
            }
        } catch {
            throw .model(reason: error.description)
        }
    }
}

extension ModelPackage {
    /// Loads a package with the hub's ONNX runtime.
    public static func load(directory: String) throws(ModelPackageError) -> ModelPackage {
        try load(directory: directory) { (bytes) throws(ModelPackageError) in try ONNXReconstruction(serialized: bytes) }
    }
}
