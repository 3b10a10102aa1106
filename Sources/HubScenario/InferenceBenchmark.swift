import Foundation
import HubCore
import HubInference

/// `hubrig bench inference`: the hub's ONNX runtime against onnxruntime on the same model.
///
/// Inputs are the package's golden windows (normalised) and seeded perturbations of
/// them. The hub's figure is one model call through the allocation-free entry point, as
/// the detector makes it; onnxruntime's is one `session.run` on one input in the same run
/// (single-threaded session), measured by `training/ort_bench.py`. Outputs of the two are
/// compared element by element.
public enum InferenceBenchmark {
    public struct Result: Sendable {
        public let model: String
        public let medianMicroseconds: Double
        public let p99Microseconds: Double
        public let windowMedianMicroseconds: Double
        public let onnxruntimeMedianMicroseconds: Double
        public let maxAbsDiff: Double
        public var ratio: Double { medianMicroseconds / onnxruntimeMedianMicroseconds }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(package directory: String, python: String, script: String, calls: Int = 20_000) throws -> Result {
        let package = try ModelPackage.load(directory: directory)
        guard let onnx = package.model as? ONNXReconstruction else { throw Failure(description: "not an ONNX package") }
        let golden = try goldenInputs(directory)
        var random = SeededRandom(seed: 5)
        var inputs = golden
        while inputs.count < 256 {
            let base = golden[inputs.count % golden.count]
            inputs.append(base.map { $0 + Float(0.1 * random.nextGaussian()) })
        }
        var output = [Float](repeating: 0, count: onnx.outputSize)
        for input in inputs { try onnx.run(input, into: &output) }
        var samples: [Double] = []
        samples.reserveCapacity(calls)
        let clock = ContinuousClock()
        for index in 0..<calls {
            let input = inputs[index % inputs.count]
            let start = clock.now
            try onnx.run(input, into: &output)
            samples.append((clock.now - start).secondsValue * 1e6)
        }
        samples.sort()
        let windowMedian = try windowLatency(package: package)
        let reference = try onnxruntime(python: python, script: script, model: (directory as NSString).appendingPathComponent(package.manifest.modelFile),
                                        inputs: inputs, calls: calls)
        var maxDiff = 0.0
        for (input, expected) in zip(inputs, reference.outputs) {
            try onnx.run(input, into: &output)
            for (a, b) in zip(output, expected) { maxDiff = max(maxDiff, abs(Double(a) - b)) }
        }
        return Result(model: package.manifest.identifier, medianMicroseconds: samples[samples.count / 2],
                      p99Microseconds: samples[Int(Double(samples.count) * 0.99)], windowMedianMicroseconds: windowMedian,
                      onnxruntimeMedianMicroseconds: reference.median, maxAbsDiff: maxDiff)
    }

    /// A whole scored window as the detector does it: features, normalisation, model, score.
    static func windowLatency(package: ModelPackage) throws -> Double {
        var detector = PackageDetector(package: package)
        let manifest = package.manifest
        var random = SeededRandom(seed: 9)
        var samples: [Double] = []
        let clock = ContinuousClock()
        var time = Instant(secondsSinceEpoch: 1_768_435_200)
        for _ in 0..<(manifest.windowLength + manifest.windowStride * 2_000) {
            var values = ChannelValues()
            for channel in manifest.inputChannels { values[channel] = 20 + random.nextGaussian() }
            let reading = Reading(timestamp: time, device: "bench", values: values)
            time = time + manifest.pollInterval
            let start = clock.now
            if detector.observe(reading) != nil { samples.append((clock.now - start).secondsValue * 1e6) }
        }
        guard !samples.isEmpty else { throw Failure(description: "the detector never scored a window") }
        samples.sort()
        return samples[samples.count / 2]
    }

    static func goldenInputs(_ directory: String) throws -> [[Float]] {
        let path = (directory as NSString).appendingPathComponent("golden.json")
        guard let data = FileManager.default.contents(atPath: path),
              case .object(let root) = try JSONValue.parse(data),
              case .array(let windows)? = root["windows"] else { throw Failure(description: "\(path): no golden windows") }
        return windows.compactMap { window -> [Float]? in
            guard case .object(let members) = window, case .array(let values)? = members["normalised"] else { return nil }
            return values.compactMap { if case .number(let v) = $0 { Float(v) } else { nil } }
        }
    }

    static func onnxruntime(python: String, script: String, model: String, inputs: [[Float]], calls: Int) throws -> (median: Double, outputs: [[Double]]) {
        var request = JSONWriter()
        request.beginObject()
        request.field("model", model)
        request.field("calls", calls)
        request.key("inputs")
        request.beginArray()
        for input in inputs {
            request.beginArray()
            for value in input { request.double(Double(value)) }
            request.endArray()
        }
        request.endArray()
        request.endObject()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(request.bytes))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              case .object(let root) = try JSONValue.parse(data),
              case .number(let median)? = root["median_us"], case .array(let outputs)? = root["outputs"] else {
            throw Failure(description: "onnxruntime helper failed (exit \(process.terminationStatus))")
        }
        let parsed = outputs.map { row -> [Double] in
            guard case .array(let values) = row else { return [] }
            return values.compactMap { if case .number(let v) = $0 { v } else { nil } }
        }
        return (median, parsed)
    }
}
