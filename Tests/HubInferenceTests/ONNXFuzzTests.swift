import Foundation
import HubCore
@testable import HubInference
import Testing

// Models arrive over the air; whatever the bytes, loading must end in a model or a
// ModelError, and a model that loads must run. These tests throw garbage at both the
// protobuf layer (random bytes, byte flips, truncations, the committed packages' models
// through the shared mutator) and the graph compiler (valid protobufs with structurally
// wrong graphs). The fuzzing convention (docs/fuzzing.md): fixed seeds so failures replay,
// `Fuzzing.cases(ci:)` cases in `swift test`, HUBRIG_FUZZ_CASES for the long run.

@Suite("ONNX loader fuzzing")
struct ONNXFuzzTests {
    /// Outcome counts, so each test can also assert that it exercised both paths.
    struct Tally {
        var loaded = 0
        var refused = 0
    }

    /// Loads `bytes`; if that works, runs the model on `random` input and checks the output size.
    static func exercise(_ bytes: [UInt8], _ random: inout SeededRandom, _ tally: inout Tally) {
        let model: ONNXModel
        do {
            model = try ONNXModel(serialized: bytes)
        } catch {
            #expect(!error.description.isEmpty)
            tally.refused += 1
            return
        }
        tally.loaded += 1
        #expect(!model.outputs.isEmpty && !model.inputs.isEmpty)
        guard model.inputs.count == 1, model.outputs.count == 1, model.inputs[0].count <= 4096 else { return }
        let input = (0..<model.inputs[0].count).map { _ in Float(random.nextGaussian()) }
        do {
            let output = try model.run(input)
            #expect(output.count == model.outputs[0].count)
        } catch {
            Issue.record("a loaded single-input model refused a correctly sized input: \(error)")
        }
    }

    static let base = serialize(gemmAutoencoder(autoencoderLayers(seed: 7)))

    @Test("random byte strings never crash the loader")
    func randomBytes() {
        var random = SeededRandom(seed: Fuzzing.seed(1))
        var tally = Tally()
        for _ in 0..<Fuzzing.cases(ci: 3_000) {
            let count = random.nextInt(in: 0...300)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            Self.exercise(bytes, &random, &tally)
        }
        #expect(tally.refused > 0)
    }

    @Test("every truncation of a valid model loads or is refused")
    func truncations() {
        var random = SeededRandom(seed: 2)
        var tally = Tally()
        for length in 0...Self.base.count {
            Self.exercise(Array(Self.base.prefix(length)), &random, &tally)
        }
        #expect(tally.loaded >= 1, "the whole model loads")
        #expect(tally.refused > Self.base.count / 2)
    }

    @Test("random byte flips, insertions and deletions in a valid model never crash")
    func byteMutations() {
        var random = SeededRandom(seed: Fuzzing.seed(3))
        var tally = Tally()
        for _ in 0..<Fuzzing.cases(ci: 3_000) {
            var bytes = Self.base
            for _ in 0..<random.nextInt(in: 1...4) {
                let position = random.nextInt(in: 0...(bytes.count - 1))
                switch random.nextInt(in: 0...3) {
                case 0: bytes[position] ^= UInt8(1 << random.nextInt(in: 0...7))
                case 1: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
                default: if bytes.count > 1 { bytes.remove(at: position) }
                }
            }
            Self.exercise(bytes, &random, &tally)
        }
        #expect(tally.loaded > 0, "flips inside float payloads leave a loadable model")
        #expect(tally.refused > 0)
    }

    /// The package root, from this file's path (Tests/HubInferenceTests/<file>).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("the committed packages' models, mutated by the shared fuzz operators, load or are refused")
    func committedModelMutations() throws {
        let seeds = try ["furnace", "fridge", "washer"].map { kind in
            try FileContents.bytes(atPath: "\(Self.packageRoot)/fixtures/models/\(kind)/model.onnx")
        }
        var random = SeededRandom(seed: Fuzzing.seed(5))
        var tally = Tally()
        for number in 0..<Fuzzing.cases(ci: 500) {
            Self.exercise(Fuzzing.mutate(seeds[number % seeds.count], &random), &random, &tally)
        }
        #expect(tally.loaded > 0 && tally.refused > 0, "\(tally)")
    }

    /// Values chosen to hit boundaries: signs, zero, one, overflow.
    static let awkwardIntegers: [Int64] = [.min, -1_000_000, -3, -2, -1, 0, 1, 2, 3, 4, 16, 1 << 31, .max]

    /// One structural change to a valid graph, of the kinds an exporter bug or a hostile
    /// file could produce.
    static func mutate(_ model: inout Onnx_ModelProto, _ random: inout SeededRandom) {
        var graph = model.graph
        let names = ["x", "recon", "ghost", ""] + graph.initializer.map(\.name) + graph.node.flatMap(\.output)
        func pick<T>(_ items: [T]) -> T { items[random.nextInt(in: 0...(items.count - 1))] }
        let operators = ["Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Pow", "Relu", "Sigmoid", "Tanh", "Sqrt",
                         "Identity", "Reshape", "Flatten", "Concat", "ReduceMean", "Constant", "Conv", ""]
        let attributeNames = ["alpha", "beta", "transA", "transB", "axis", "axes", "keepdims", "allowzero",
                              "noop_with_empty_axes", "value", "value_float", "value_ints", "bogus"]
        let n = graph.node.isEmpty ? 0 : random.nextInt(in: 0...(graph.node.count - 1))
        switch random.nextInt(in: 0...13) {
        case 0 where !graph.node.isEmpty:
            graph.node[n].opType = pick(operators)
        case 1 where !graph.node.isEmpty:
            if graph.node[n].input.isEmpty { graph.node[n].input = [pick(names)] }
            graph.node[n].input[random.nextInt(in: 0...(graph.node[n].input.count - 1))] = pick(names)
        case 2 where !graph.node.isEmpty:
            if !graph.node[n].input.isEmpty { graph.node[n].input.removeLast() } else { graph.node[n].input = ["x"] }
        case 3 where !graph.node.isEmpty:
            graph.node[n].input.append(pick(names))
        case 4 where !graph.node.isEmpty:
            let name = pick(attributeNames)
            let value = pick(awkwardIntegers)
            switch random.nextInt(in: 0...4) {
            case 0: graph.node[n].attribute.append(attribute(name, int: value))
            case 1: graph.node[n].attribute.append(attribute(name, float: pick([Float.nan, -1, 0, 0.5, 2, .infinity])))
            case 2: graph.node[n].attribute.append(attribute(name, ints: (0..<random.nextInt(in: 0...3)).map { _ in pick(awkwardIntegers) }))
            case 3: graph.node[n].attribute.append(attribute(name, tensor: int64Tensor("", [2], [value, -1])))
            default: graph.node[n].attribute.removeAll()
            }
        case 5 where !graph.initializer.isEmpty:
            let i = random.nextInt(in: 0...(graph.initializer.count - 1))
            graph.initializer[i].dims = (0..<random.nextInt(in: 0...3)).map { _ in pick(awkwardIntegers) }
        case 6 where !graph.initializer.isEmpty:
            let i = random.nextInt(in: 0...(graph.initializer.count - 1))
            graph.initializer[i].dataType = Int32(random.nextInt(in: 0...30))
        case 7:
            let dims: [Dim] = (0..<random.nextInt(in: 0...4)).map { _ in
                pick([.size(pick(awkwardIntegers)), .size(Int64(random.nextInt(in: 1...64))), .symbol("N"), .unknown])
            }
            graph.input = [valueInfo("x", dims)]
        case 8:
            graph.output = [valueInfo(pick(names), random.chance(0.5) ? nil : [pick([1, 16, .symbol("N")]), 16])]
        case 9 where !graph.node.isEmpty:
            graph.node.swapAt(n, random.nextInt(in: 0...(graph.node.count - 1)))
        case 10:
            // A new node reading and writing existing names, with an axis-like attribute.
            var extra = node(pick(operators), (0..<random.nextInt(in: 0...3)).map { _ in pick(names) },
                             [pick(names + ["fresh"])])
            if random.chance(0.5) { extra.attribute = [attribute(pick(attributeNames), int: pick(awkwardIntegers))] }
            graph.node.insert(extra, at: random.nextInt(in: 0...graph.node.count))
        case 11:
            graph.initializer.append(int64Tensor(pick(["shape", "axes", "W0", "x"]), [2],
                                                 [pick(awkwardIntegers), pick(awkwardIntegers)], raw: random.chance(0.5)))
        case 12:
            model.opsetImport[0].version = pick([1, 6, 7, 11, 13, 17, 18, 28, 29])
        default:
            if !graph.node.isEmpty { graph.node[n].output = random.chance(0.5) ? [] : [pick(names), pick(names)] }
        }
        model.graph = graph
    }

    @Test("structurally mutated graphs load or are refused with a typed error, and loaded ones run")
    func graphMutations() {
        var random = SeededRandom(seed: Fuzzing.seed(4))
        var tally = Tally()
        let valid = gemmAutoencoder(autoencoderLayers(seed: 7))
        var reasons: Set<String> = []
        for _ in 0..<Fuzzing.cases(ci: 4_000) {
            var model = valid
            for _ in 0..<random.nextInt(in: 1...3) { Self.mutate(&model, &random) }
            let bytes = serialize(model)
            if case .some(let error) = loadErrorOf(bytes) {
                reasons.insert(Mirror(reflecting: error).children.first?.label ?? error.description)
            }
            Self.exercise(bytes, &random, &tally)
        }
        #expect(tally.loaded > 100)
        #expect(tally.refused > 1_000)
        // The mutations reach most of the compiler's refusals, not one shallow check.
        #expect(reasons.count >= 12, "reached: \(reasons.sorted())")
    }
}
