#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The compiled form of a graph and the loop that runs it.
//
// Everything a run touches is decided at load: each step is a plain value holding offsets
// and sizes (no references, so running the steps retains nothing), constants sit in one
// contiguous array in the layout the kernel wants (B of a Gemm pre-transposed and
// pre-scaled), and every intermediate has a fixed place in a scratch area that lives on
// the stack for the length of one run (`withUnsafeTemporaryAllocation`; the runtime only
// moves it to the heap if the thread's stack could not hold it, far beyond the few hundred
// bytes an MLP needs). The hot path therefore does no dictionary lookups, no dynamic
// dispatch and no heap allocation. Intermediates do not share scratch: liveness-based
// reuse would save little at these sizes and cost clarity.

/// Where an operand's floats are during a run: in the model's constants or in scratch.
struct Slot: Equatable, Sendable {
    var constant: Bool
    var offset: Int
}

/// y = alpha · A·B + beta · C (+ ReLU), A and B read through strides so transposes cost nothing.
struct GemmStep: Sendable {
    var a: Slot
    /// Element (m, k) of A is at `a + m * aRow + k * aCol`.
    var aRow: Int
    var aCol: Int
    var b: Slot
    /// Element (k, n) of B is at `b + k * bRow + n * bCol`.
    var bRow: Int
    var bCol: Int
    /// nil when there is no C (or it was folded away because beta is 0).
    var c: Slot?
    /// Element (m, n) of C is at `c + m * cRow + n * cCol`; a zero stride broadcasts.
    var cRow: Int
    var cCol: Int
    var alpha: Float
    var beta: Float
    var y: Int
    var m: Int
    var n: Int
    var k: Int
    /// A following Relu folded into this step.
    var relu: Bool
}

enum UnaryOp: Sendable {
    case relu, sigmoid, tanh, sqrt, square
}

struct UnaryStep: Sendable {
    var op: UnaryOp
    var x: Slot
    var y: Int
    var count: Int
}

enum BinaryOp: Sendable {
    case add, sub, mul, div, pow
}

/// How two operands line up with the output of a broadcasting binary operator.
enum BroadcastLayout: Sendable {
    /// Both operands have the output's shape.
    case same
    /// A has the output's shape; B repeats every `period` elements (a suffix of the
    /// output's shape, a row, or a scalar when `period` is 1).
    case bRepeats(period: Int)
    /// B has the output's shape; A repeats every `period` elements.
    case aRepeats(period: Int)
    /// Anything else: `rank` output dims, then A's and B's strides (0 where broadcast),
    /// stored consecutively in the plan's integer pool from `pool`.
    case general(rank: Int, pool: Int)
}

struct BinaryStep: Sendable {
    var op: BinaryOp
    var a: Slot
    var b: Slot
    var y: Int
    var count: Int
    var layout: BroadcastLayout
}

/// `blocks` blocks of `block` floats from x (every `xStride`) to y (every `yStride`):
/// one Concat operand, or a plain copy when `blocks` is 1.
struct CopyStep: Sendable {
    var x: Slot
    var y: Int
    var blocks: Int
    var block: Int
    var xStride: Int
    var yStride: Int
}

enum ReduceLayout: Sendable {
    /// The reduced axes are the last ones: output i is the mean of the i-th run of `inner` inputs.
    case trailing(inner: Int)
    /// `rank` input dims, then for each input axis the output stride (0 on reduced axes),
    /// in the plan's integer pool from `pool`.
    case general(rank: Int, pool: Int)
}

struct ReduceMeanStep: Sendable {
    var x: Slot
    var y: Int
    var inputCount: Int
    var outputCount: Int
    /// 1 / number of inputs averaged into each output.
    var scale: Float
    var layout: ReduceLayout
}

/// One step of a plan: which kind, and its index in that kind's array.
///
/// The parameters live in one array per kind rather than as enum payloads: copying a
/// large multi-payload enum out of an array costs an outlined copy and a memcpy per step,
/// which for a small MLP was a fifth of the run time.
enum Step: Sendable {
    case gemm(Int)
    case unary(Int)
    case binary(Int)
    case copy(Int)
    case reduceMean(Int)
}

/// A compiled graph: steps, constants and the scratch layout.
struct ExecutionPlan: Sendable {
    var steps: [Step] = []
    var gemms: [GemmStep] = []
    var unaries: [UnaryStep] = []
    var binaries: [BinaryStep] = []
    var copies: [CopyStep] = []
    var reductions: [ReduceMeanStep] = []
    /// Never empty (a sentinel first element), so its base address always exists.
    var constants: [Float] = [0]
    /// Never empty, for the same reason.
    var pool: [Int] = [0]
    var scratchCount = 0
    /// Scratch offset of each graph input, in graph order.
    var inputOffsets: [Int] = []
    /// Where each graph output ends up, in graph order.
    var outputSlots: [Slot] = []

    mutating func append(_ step: GemmStep) {
        steps.append(.gemm(gemms.count))
        gemms.append(step)
    }

    mutating func append(_ step: UnaryStep) {
        steps.append(.unary(unaries.count))
        unaries.append(step)
    }

    mutating func append(_ step: BinaryStep) {
        steps.append(.binary(binaries.count))
        binaries.append(step)
    }

    mutating func append(_ step: CopyStep) {
        steps.append(.copy(copies.count))
        copies.append(step)
    }

    mutating func append(_ step: ReduceMeanStep) {
        steps.append(.reduceMean(reductions.count))
        reductions.append(step)
    }

    /// Runs the plan with the first input from `input` and the first output into `output`.
    ///
    /// The caller has checked both lengths against the model's shapes.
    func execute(input: UnsafePointer<Float>, inputCount: Int,
                 output: UnsafeMutablePointer<Float>, outputCount: Int) {
        precondition(!inputOffsets.isEmpty && !outputSlots.isEmpty, "a compiled plan has an input and an output")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(scratchCount, 1)) { scratch in
            constants.withUnsafeBufferPointer { constantBuffer in
                pool.withUnsafeBufferPointer { poolBuffer in
                    steps.withUnsafeBufferPointer { stepBuffer in
                        guard let scratchBase = scratch.baseAddress, let constantBase = constantBuffer.baseAddress,
                              let poolBase = poolBuffer.baseAddress else { return }
                        let frame = Frame(constants: constantBase, scratch: scratchBase, pool: poolBase)
                        (scratchBase + inputOffsets[0]).update(from: input, count: inputCount)
                        for step in stepBuffer {
                            switch step {
                            case .gemm(let index): frame.gemm(gemms[index])
                            case .unary(let index): frame.unary(unaries[index])
                            case .binary(let index): frame.binary(binaries[index])
                            case .copy(let index): frame.copy(copies[index])
                            case .reduceMean(let index): frame.reduceMean(reductions[index])
                            }
                        }
                        output.update(from: frame.read(outputSlots[0]), count: outputCount)
                    }
                }
            }
        }
    }
}

/// The base pointers of one run.
struct Frame {
    let constants: UnsafePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    let pool: UnsafePointer<Int>

    @inline(__always)
    func read(_ slot: Slot) -> UnsafePointer<Float> {
        slot.constant ? constants + slot.offset : UnsafePointer(scratch + slot.offset)
    }

    func gemm(_ s: GemmStep) {
        let a = read(s.a)
        let b = read(s.b)
        let n = s.n
        let c = s.c.map(read)
        for row in 0..<s.m {
            let y = scratch + s.y + row * n
            let aRow = a + row * s.aRow
            let cRow = c.map { $0 + row * s.cRow }
            // Products summed in double precision, the bias added last, one rounding to float:
            // the result is the float nearest the exact value, so it agrees with any other
            // correct float32 runtime (onnxruntime's FMA kernels) to within their own error,
            // rather than adding an error of its own from a different summation order.
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<s.k { sum += Double(aRow[k * s.aCol]) * Double(b[k * s.bRow + j * s.bCol]) }
                let bias = cRow.map { Double(s.beta) * Double($0[j * s.cCol]) } ?? 0
                y[j] = Float(bias + Double(s.alpha) * sum)
            }
            if s.relu {
                // A select rather than a branch, so it vectorises; NaN < 0 is false, so NaN survives.
                for j in 0..<n { y[j] = y[j] < 0 ? 0 : y[j] }
            }
        }
    }

    func unary(_ s: UnaryStep) {
        let x = read(s.x)
        let y = scratch + s.y
        switch s.op {
        case .relu: map(Relu.self, x, y, s.count)
        case .sigmoid: map(Sigmoid.self, x, y, s.count)
        case .tanh: map(Tanh.self, x, y, s.count)
        case .sqrt: map(SquareRoot.self, x, y, s.count)
        case .square: map(Square.self, x, y, s.count)
        }
    }

    func binary(_ s: BinaryStep) {
        switch s.op {
        case .add: broadcast(Add.self, s)
        case .sub: broadcast(Subtract.self, s)
        case .mul: broadcast(Multiply.self, s)
        case .div: broadcast(Divide.self, s)
        case .pow: broadcast(Power.self, s)
        }
    }

    @inline(__always)
    private func broadcast<F: BinaryFunction>(_: F.Type, _ s: BinaryStep) {
        let a = read(s.a)
        let b = read(s.b)
        let y = scratch + s.y
        switch s.layout {
        case .same:
            for i in 0..<s.count { y[i] = F.apply(a[i], b[i]) }
        case .bRepeats(let period):
            var base = 0
            while base < s.count {
                for j in 0..<period { y[base + j] = F.apply(a[base + j], b[j]) }
                base += period
            }
        case .aRepeats(let period):
            var base = 0
            while base < s.count {
                for j in 0..<period { y[base + j] = F.apply(a[j], b[base + j]) }
                base += period
            }
        case .general(let rank, let p):
            // Walk the output one innermost row at a time; locate each row's operands by
            // decomposing the row number over the outer dims.
            let dims = pool + p
            let aStrides = dims + rank
            let bStrides = aStrides + rank
            let inner = dims[rank - 1]
            let aInner = aStrides[rank - 1]
            let bInner = bStrides[rank - 1]
            for row in 0..<(s.count / inner) {
                var rest = row
                var aOffset = 0
                var bOffset = 0
                var d = rank - 2
                while d >= 0 {
                    let index = rest % dims[d]
                    rest /= dims[d]
                    aOffset += index * aStrides[d]
                    bOffset += index * bStrides[d]
                    d -= 1
                }
                let yRow = y + row * inner
                for j in 0..<inner { yRow[j] = F.apply(a[aOffset + j * aInner], b[bOffset + j * bInner]) }
            }
        }
    }

    func copy(_ s: CopyStep) {
        let x = read(s.x)
        for block in 0..<s.blocks {
            (scratch + s.y + block * s.yStride).update(from: x + block * s.xStride, count: s.block)
        }
    }

    func reduceMean(_ s: ReduceMeanStep) {
        let x = read(s.x)
        let y = scratch + s.y
        switch s.layout {
        case .trailing(let inner):
            for i in 0..<s.outputCount {
                var sum: Float = 0
                let run = x + i * inner
                for j in 0..<inner { sum += run[j] }
                y[i] = sum * s.scale
            }
        case .general(let rank, let p):
            y.update(repeating: 0, count: s.outputCount)
            let dims = pool + p
            let outStrides = dims + rank
            let inner = dims[rank - 1]
            let innerStride = outStrides[rank - 1]
            for row in 0..<(s.inputCount / inner) {
                var rest = row
                var offset = 0
                var d = rank - 2
                while d >= 0 {
                    offset += (rest % dims[d]) * outStrides[d]
                    rest /= dims[d]
                    d -= 1
                }
                let xRow = x + row * inner
                for j in 0..<inner { y[offset + j * innerStride] += xRow[j] }
            }
            for i in 0..<s.outputCount { y[i] *= s.scale }
        }
    }
}

// Element functions as static members of caseless enums, so each loop is specialised for
// its function at compile time instead of calling through a closure per element.

protocol UnaryFunction {
    static func apply(_ x: Float) -> Float
}

protocol BinaryFunction {
    static func apply(_ a: Float, _ b: Float) -> Float
}

@inline(__always)
private func map<F: UnaryFunction>(_: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count { y[i] = F.apply(x[i]) }
}

enum Relu: UnaryFunction {
    // NaN < 0 is false, so NaN passes through rather than turning into a plausible 0.
    @inline(__always) static func apply(_ x: Float) -> Float { x < 0 ? 0 : x }
}

enum Sigmoid: UnaryFunction {
    @inline(__always) static func apply(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}

enum Tanh: UnaryFunction {
    @inline(__always) static func apply(_ x: Float) -> Float { tanhf(x) }
}

enum SquareRoot: UnaryFunction {
    @inline(__always) static func apply(_ x: Float) -> Float { x.squareRoot() }
}

enum Square: UnaryFunction {
    @inline(__always) static func apply(_ x: Float) -> Float { x * x }
}

enum Add: BinaryFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}

enum Subtract: BinaryFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
}

enum Multiply: BinaryFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}

enum Divide: BinaryFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
}

enum Power: BinaryFunction {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { powf(a, b) }
}
