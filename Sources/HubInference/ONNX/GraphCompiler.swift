/// Validates a parsed ONNX graph and turns it into an `ExecutionPlan`.
///
/// It walks the nodes once, in file order (ONNX requires topological order, so a node
/// reading something not yet defined is an error, not something to sort out). For each
/// node it checks attributes and operand types, infers the output shape from the static
/// input shapes, and emits the step that computes it. Reshape, Flatten and Identity emit
/// nothing: the output shares the input's floats under a new shape.
struct GraphCompiler {
    let opset: Int
    private(set) var plan = ExecutionPlan()
    private var values: [String: Value] = [:]
    private var constantTensors: [ConstantTensor] = []
    /// Offset in `plan.constants` of each constant tensor already copied there.
    private var placed: [Int: Int] = [:]
    /// How many node inputs read each tensor, to know when a Relu may be folded into its producer.
    private var uses: [String: Int] = [:]
    private var graphOutputNames: Set<String> = []
    /// The step index and output name of the last Gemm/MatMul emitted, for Relu folding.
    private var lastGemm: (step: Int, output: String)?

    struct Value {
        var shape: [Int]
        var storage: Storage
        /// The producing node's label and operator, for errors about graph outputs.
        var producer: (label: String, opType: String)?
    }

    enum Storage {
        case scratch(Int)
        case constant(Int)
    }

    /// Facts about the node being compiled, threaded into every error.
    struct NodeContext {
        let label: String
        let opType: String
        let proto: Onnx_NodeProto
    }

    /// The result of compiling a model.
    struct Compiled {
        var plan: ExecutionPlan
        var inputs: [ONNXModel.TensorInfo]
        var outputs: [ONNXModel.TensorInfo]
        var opset: Int
    }

    private init(opset: Int) {
        self.opset = opset
    }

    static func compile(_ model: Onnx_ModelProto) throws(ModelError) -> Compiled {
        guard model.irVersion >= 3 else { throw .unsupportedIRVersion(model.irVersion) }
        guard let imported = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
            throw .missingOpsetImport
        }
        guard ONNXModel.supportedOpsets.contains(Int(imported.version)) else {
            throw .unsupportedOpset(imported.version)
        }
        guard model.hasGraph else { throw .missingGraph }
        var compiler = GraphCompiler(opset: Int(imported.version))
        return try compiler.compile(model.graph)
    }

    private mutating func compile(_ graph: Onnx_GraphProto) throws(ModelError) -> Compiled {
        if let sparse = graph.sparseInitializer.first {
            throw .malformedTensor(name: sparse.values.name, reason: "sparse initializers are not supported")
        }
        for (index, initializer) in graph.initializer.enumerated() {
            guard !initializer.name.isEmpty else {
                throw .malformedTensor(name: "", reason: "initializer #\(index) has no name")
            }
            let tensor = try ConstantTensor(initializer, name: initializer.name)
            try define(initializer.name, Value(shape: tensor.shape, storage: .constant(constantTensors.count)))
            constantTensors.append(tensor)
        }

        var inputs: [ONNXModel.TensorInfo] = []
        for (index, input) in graph.input.enumerated() {
            guard !input.name.isEmpty else {
                throw .malformedTensor(name: "", reason: "graph input #\(index) has no name")
            }
            // Before IR 4 every initializer was also listed as an input; it stays a constant.
            if case .constant? = values[input.name]?.storage { continue }
            let shape = try Self.staticInputShape(input)
            let offset = try allocate(shape, tensor: input.name)
            try define(input.name, Value(shape: shape, storage: .scratch(offset)))
            plan.inputOffsets.append(offset)
            inputs.append(ONNXModel.TensorInfo(name: input.name, shape: shape))
        }
        guard !inputs.isEmpty else { throw .missingInput }
        guard !graph.output.isEmpty else { throw .missingOutput }

        graphOutputNames = Set(graph.output.map(\.name))
        for node in graph.node {
            for name in node.input where !name.isEmpty { uses[name, default: 0] += 1 }
        }
        for (index, node) in graph.node.enumerated() {
            try compile(node, index: index)
        }

        var outputs: [ONNXModel.TensorInfo] = []
        for output in graph.output {
            let info = try resolveOutput(output)
            outputs.append(info)
        }
        return Compiled(plan: plan, inputs: inputs, outputs: outputs, opset: opset)
    }

    /// A graph input's shape, with a symbolic or missing leading (batch) dimension read as 1.
    private static func staticInputShape(_ input: Onnx_ValueInfoProto) throws(ModelError) -> [Int] {
        guard input.hasType, let kind = input.type.value else {
            throw .unsupportedDataType(tensor: input.name, dataType: "no type", node: nil)
        }
        guard case .tensorType(let tensorType) = kind else {
            throw .unsupportedDataType(tensor: input.name, dataType: Self.kindName(kind), node: nil)
        }
        guard tensorType.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
            throw .unsupportedDataType(tensor: input.name, dataType: dataTypeName(tensorType.elemType), node: nil)
        }
        guard tensorType.hasShape else {
            throw .dynamicShape(tensor: input.name, dimension: nil, detail: "no shape is declared")
        }
        var shape: [Int] = []
        for (index, dim) in tensorType.shape.dim.enumerated() {
            switch dim.value {
            case .dimValue(let value)?:
                guard value >= 0 else {
                    throw .dynamicShape(tensor: input.name, dimension: index, detail: "negative size \(value)")
                }
                shape.append(Int(value))
            case .dimParam(let symbol)?:
                guard index == 0 else {
                    throw .dynamicShape(tensor: input.name, dimension: index,
                                        detail: "symbolic size \"\(symbol)\"; only the batch dimension may be symbolic")
                }
                shape.append(1)
            case nil:
                guard index == 0 else {
                    throw .dynamicShape(tensor: input.name, dimension: index,
                                        detail: "unknown size; only the batch dimension may be unknown")
                }
                shape.append(1)
            }
        }
        _ = try elementCount(shape, tensor: input.name)
        return shape
    }

    private static func kindName(_ kind: Onnx_TypeProto.OneOf_Value) -> String {
        switch kind {
        case .tensorType: "tensor"
        case .sequenceType: "sequence"
        case .mapType: "map"
        case .optionalType: "optional"
        case .sparseTensorType: "sparse tensor"
        case .opaqueType: "opaque"
        }
    }

    private mutating func resolveOutput(_ output: Onnx_ValueInfoProto) throws(ModelError) -> ONNXModel.TensorInfo {
        guard let value = values[output.name] else {
            throw .missingTensor(node: "graph output", opType: "Graph", tensor: output.name)
        }
        let slot: Slot
        switch value.storage {
        case .scratch(let offset):
            slot = Slot(constant: false, offset: offset)
        case .constant(let index):
            guard let floats = constantTensors[index].floats else {
                throw .unsupportedDataType(tensor: output.name, dataType: constantTensors[index].dataType, node: nil)
            }
            slot = Slot(constant: true, offset: place(index, floats))
        }
        if output.hasType, case .tensorType(let declared)? = output.type.value {
            if declared.hasElemType, declared.elemType != Int32(Onnx_TensorProto.DataType.float.rawValue) {
                throw .unsupportedDataType(tensor: output.name, dataType: dataTypeName(declared.elemType), node: nil)
            }
            if declared.hasShape {
                // -1 marks a symbolic or unknown dimension, which matches anything.
                let declaredShape = declared.shape.dim.map { dim -> Int in
                    if case .dimValue(let size)? = dim.value { Int(size) } else { -1 }
                }
                let fits = declaredShape.count == value.shape.count
                    && zip(declaredShape, value.shape).allSatisfy { $0 == -1 || $0 == $1 }
                if !fits {
                    throw .shapeMismatch(node: value.producer?.label ?? "graph output",
                                         opType: value.producer?.opType ?? "Graph",
                                         first: declaredShape, second: value.shape,
                                         detail: "graph output \"\(output.name)\" is declared \(declaredShape) but computes \(value.shape)")
                }
            }
        }
        plan.outputSlots.append(slot)
        return ONNXModel.TensorInfo(name: output.name, shape: value.shape)
    }

    // MARK: - Values

    private mutating func define(_ name: String, _ value: Value) throws(ModelError) {
        guard values[name] == nil else { throw .duplicateTensor(name: name) }
        values[name] = value
    }

    private mutating func allocate(_ shape: [Int], tensor: String) throws(ModelError) -> Int {
        let count = try elementCount(shape, tensor: tensor)
        guard plan.scratchCount + count <= Limits.maxScratch else {
            throw .unsupportedShape(tensor: tensor, shape: shape,
                                    detail: "the graph's intermediates would need more than \(Limits.maxScratch) floats")
        }
        defer { plan.scratchCount += count }
        return plan.scratchCount
    }

    /// Copies a constant into the plan once and returns its offset.
    private mutating func place(_ index: Int, _ floats: [Float]) -> Int {
        if let offset = placed[index] { return offset }
        let offset = append(floats)
        placed[index] = offset
        return offset
    }

    private mutating func append(_ floats: [Float]) -> Int {
        defer { plan.constants.append(contentsOf: floats) }
        return plan.constants.count
    }

    private func value(_ name: String, _ node: NodeContext) throws(ModelError) -> Value {
        guard let value = values[name] else {
            throw .missingTensor(node: node.label, opType: node.opType, tensor: name)
        }
        return value
    }

    /// A float operand: its shape and where its floats will be.
    private mutating func floatOperand(_ name: String, _ node: NodeContext) throws(ModelError) -> (shape: [Int], slot: Slot) {
        let value = try value(name, node)
        switch value.storage {
        case .scratch(let offset):
            return (value.shape, Slot(constant: false, offset: offset))
        case .constant(let index):
            guard let floats = constantTensors[index].floats else {
                throw .unsupportedDataType(tensor: name, dataType: constantTensors[index].dataType, node: node.label)
            }
            return (value.shape, Slot(constant: true, offset: place(index, floats)))
        }
    }

    /// A constant operand's floats (nil when the operand is computed at run time).
    private func constantFloats(_ name: String, _ node: NodeContext) throws(ModelError) -> [Float]? {
        let value = try value(name, node)
        guard case .constant(let index) = value.storage else { return nil }
        guard let floats = constantTensors[index].floats else {
            throw .unsupportedDataType(tensor: name, dataType: constantTensors[index].dataType, node: node.label)
        }
        return floats
    }

    /// An operand that must be an integer tensor known at load (a shape, a list of axes).
    private func constantIntegers(_ name: String, _ node: NodeContext) throws(ModelError) -> (shape: [Int], values: [Int64]) {
        let value = try value(name, node)
        guard case .constant(let index) = value.storage else {
            throw .notConstant(node: node.label, opType: node.opType, tensor: name)
        }
        guard let integers = constantTensors[index].integers else {
            throw .unsupportedDataType(tensor: name, dataType: constantTensors[index].dataType, node: node.label)
        }
        return (value.shape, integers)
    }

    private mutating func defineOutput(_ node: NodeContext, shape: [Int], storage: Storage) throws(ModelError) {
        try define(node.proto.output[0], Value(shape: shape, storage: storage, producer: (node.label, node.opType)))
    }

    /// Allocates scratch for the node's single output and defines it.
    private mutating func allocateOutput(_ node: NodeContext, shape: [Int]) throws(ModelError) -> Int {
        let offset = try allocate(shape, tensor: node.proto.output[0])
        try defineOutput(node, shape: shape, storage: .scratch(offset))
        return offset
    }

    // MARK: - Nodes

    private mutating func compile(_ proto: Onnx_NodeProto, index: Int) throws(ModelError) {
        let node = NodeContext(label: proto.name.isEmpty ? "#\(index)" : proto.name, opType: proto.opType, proto: proto)
        guard proto.domain.isEmpty || proto.domain == "ai.onnx" else {
            throw .unsupportedOperator(node: node.label, opType: proto.opType, domain: proto.domain)
        }
        switch proto.opType {
        case "Gemm": try gemm(node)
        case "MatMul": try matMul(node)
        case "Add": try binary(node, .add)
        case "Sub": try binary(node, .sub)
        case "Mul": try binary(node, .mul)
        case "Div": try binary(node, .div)
        case "Pow": try pow(node)
        case "Relu": try relu(node)
        case "Sigmoid": try unary(node, .sigmoid)
        case "Tanh": try unary(node, .tanh)
        case "Sqrt": try unary(node, .sqrt)
        case "Identity": try identity(node)
        case "Reshape": try reshape(node)
        case "Flatten": try flatten(node)
        case "Concat": try concat(node)
        case "ReduceMean": try reduceMean(node)
        case "Constant": try constant(node)
        default:
            throw .unsupportedOperator(node: node.label, opType: proto.opType, domain: proto.domain)
        }
    }

    /// A node's input names: the required ones, then the optional ones (nil when omitted).
    struct Operands {
        var required: [String]
        var optional: [String?]
    }

    /// The node's inputs, after checking that it has `required` non-empty inputs, at most
    /// `optional` more, and exactly one named output.
    private func operands(_ node: NodeContext, required: Int, optional: Int = 0) throws(ModelError) -> Operands {
        let given = node.proto.input
        guard given.count >= required, given.count <= required + optional else {
            let expected = optional == 0 ? "\(required)" : "\(required) to \(required + optional)"
            throw .wrongArity(node: node.label, opType: node.opType,
                              detail: "takes \(expected) inputs, has \(given.count)")
        }
        for (position, name) in given.prefix(required).enumerated() where name.isEmpty {
            throw .wrongArity(node: node.label, opType: node.opType, detail: "required input \(position) is empty")
        }
        guard node.proto.output.count == 1, !node.proto.output[0].isEmpty else {
            throw .wrongArity(node: node.label, opType: node.opType,
                              detail: "must have exactly one named output, has \(node.proto.output.count)")
        }
        var optionalNames: [String?] = given.dropFirst(required).map { $0.isEmpty ? nil : $0 }
        while optionalNames.count < optional { optionalNames.append(nil) }
        return Operands(required: Array(given.prefix(required)), optional: optionalNames)
    }

    private func attributes(_ node: NodeContext,
                            _ allowed: [String: Onnx_AttributeProto.AttributeType]) throws(ModelError) -> Attributes {
        try Attributes(node, allowed: allowed, opset: opset)
    }

    private mutating func gemm(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: opset < 11 ? 3 : 2, optional: opset < 11 ? 0 : 1)
        let attributes = try attributes(node, ["alpha": .float, "beta": .float, "transA": .int, "transB": .int])
        var alpha = attributes.float("alpha") ?? 1
        var beta = attributes.float("beta") ?? 1
        guard alpha.isFinite else {
            throw .badAttribute(node: node.label, opType: node.opType, attribute: "alpha", reason: "must be finite")
        }
        guard beta.isFinite else {
            throw .badAttribute(node: node.label, opType: node.opType, attribute: "beta", reason: "must be finite")
        }
        let transA = (attributes.int("transA") ?? 0) != 0
        let transB = (attributes.int("transB") ?? 0) != 0
        let aName = names.required[0], bName = names.required[1]
        let a = try floatOperand(aName, node)
        let bValue = try value(bName, node)
        guard a.shape.count == 2, bValue.shape.count == 2 else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: a.shape, second: bValue.shape,
                                 detail: "A and B must both be 2-D")
        }
        let m = transA ? a.shape[1] : a.shape[0]
        let k = transA ? a.shape[0] : a.shape[1]
        let bK = transB ? bValue.shape[1] : bValue.shape[0]
        let n = transB ? bValue.shape[0] : bValue.shape[1]
        guard k == bK else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: a.shape, second: bValue.shape,
                                 detail: "A\(transA ? "ᵀ" : "") has \(k) columns but B\(transB ? "ᵀ" : "") has \(bK) rows")
        }

        var b: Slot
        var bRow = transB ? 1 : n
        var bCol = transB ? k : 1
        if let constantB = try constantFloats(bName, node), transB || alpha != 1 {
            // Stored as [K, N] row-major with alpha folded in: the kernel's fast loop.
            var folded = [Float](repeating: 0, count: k * n)
            for row in 0..<k {
                for column in 0..<n { folded[row * n + column] = alpha * constantB[row * bRow + column * bCol] }
            }
            b = Slot(constant: true, offset: append(folded))
            alpha = 1
            bRow = n
            bCol = 1
        } else {
            b = try floatOperand(bName, node).slot
        }

        var c: Slot?
        var cRow = 0
        var cCol = 0
        if let cName = opset < 11 ? names.required[2] : names.optional[0] {
            let cValue = try value(cName, node)
            let shape = cValue.shape
            let fits = shape.count <= 2
                && (shape.count < 1 || shape[shape.count - 1] == n || shape[shape.count - 1] == 1)
                && (shape.count < 2 || shape[0] == m || shape[0] == 1)
            guard fits else {
                throw .shapeMismatch(node: node.label, opType: node.opType, first: shape, second: [m, n],
                                     detail: "C must broadcast to the output shape")
            }
            let columns = shape.last ?? 1
            cCol = columns == 1 ? 0 : 1
            cRow = shape.count == 2 && shape[0] != 1 ? columns : 0
            if let constantC = try constantFloats(cName, node) {
                if beta != 0 {
                    let scaled = beta == 1 ? constantC : constantC.map { beta * $0 }
                    c = Slot(constant: true, offset: append(scaled))
                }
                beta = 1
            } else {
                c = try floatOperand(cName, node).slot
            }
        }
        if c == nil { beta = 1 }
        let y = try allocateOutput(node, shape: [m, n])
        lastGemm = (plan.steps.count, node.proto.output[0])
        plan.append(GemmStep(
            a: a.slot, aRow: transA ? 1 : k, aCol: transA ? m : 1,
            b: b, bRow: bRow, bCol: bCol,
            c: c, cRow: cRow, cCol: cCol, alpha: alpha, beta: beta,
            y: y, m: m, n: n, k: k, relu: false))
    }

    private mutating func matMul(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: 2)
        _ = try attributes(node, [:])
        let aName = names.required[0], bName = names.required[1]
        let a = try floatOperand(aName, node)
        let b = try floatOperand(bName, node)
        guard !a.shape.isEmpty, !b.shape.isEmpty else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: a.shape, second: b.shape,
                                 detail: "MatMul operands must have at least one dimension")
        }
        guard b.shape.count <= 2 else {
            throw .unsupportedShape(tensor: bName, shape: b.shape,
                                    detail: "node \"\(node.label)\" (MatMul): a batched right-hand side is not supported")
        }
        let k = a.shape[a.shape.count - 1]
        let bK = b.shape[0]
        guard k == bK else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: a.shape, second: b.shape,
                                 detail: "A has \(k) columns but B has \(bK) rows")
        }
        let n = b.shape.count == 2 ? b.shape[1] : 1
        // Leading dims of A are batch: [..., M, K] is the same product as [(... · M), K].
        let m = a.shape.dropLast().reduce(1, *)
        var shape = Array(a.shape.dropLast())
        if b.shape.count == 2 { shape.append(n) }
        let y = try allocateOutput(node, shape: shape)
        lastGemm = (plan.steps.count, node.proto.output[0])
        plan.append(GemmStep(
            a: a.slot, aRow: k, aCol: 1, b: b.slot, bRow: n, bCol: 1,
            c: nil, cRow: 0, cCol: 0, alpha: 1, beta: 1,
            y: y, m: m, n: n, k: k, relu: false))
    }

    /// numpy-style broadcast of two shapes.
    private func broadcastShape(_ a: [Int], _ b: [Int], _ node: NodeContext) throws(ModelError) -> [Int] {
        let rank = max(a.count, b.count)
        let paddedA = Array(repeating: 1, count: rank - a.count) + a
        let paddedB = Array(repeating: 1, count: rank - b.count) + b
        var shape: [Int] = []
        for axis in 0..<rank {
            let x = paddedA[axis]
            let y = paddedB[axis]
            guard x == y || x == 1 || y == 1 else {
                throw .shapeMismatch(node: node.label, opType: node.opType, first: a, second: b,
                                     detail: "axis \(axis) (aligned from the right) is \(x) against \(y); broadcasting needs equal sizes or 1")
            }
            shape.append(max(x, y))
        }
        return shape
    }

    private mutating func binary(_ node: NodeContext, _ op: BinaryOp) throws(ModelError) {
        let names = try operands(node, required: 2)
        _ = try attributes(node, [:])
        let aName = names.required[0], bName = names.required[1]
        let a = try floatOperand(aName, node)
        let b = try floatOperand(bName, node)
        try emitBinary(node, op, a: a, b: b)
    }

    private mutating func emitBinary(_ node: NodeContext, _ op: BinaryOp,
                                     a: (shape: [Int], slot: Slot), b: (shape: [Int], slot: Slot)) throws(ModelError) {
        let shape = try broadcastShape(a.shape, b.shape, node)
        let y = try allocateOutput(node, shape: shape)
        let count = shape.reduce(1, *)
        let rank = shape.count
        let paddedA = Array(repeating: 1, count: rank - a.shape.count) + a.shape
        let paddedB = Array(repeating: 1, count: rank - b.shape.count) + b.shape
        let layout: BroadcastLayout
        if paddedA == shape && paddedB == shape {
            layout = .same
        } else if paddedA == shape && Self.repeats(paddedB, within: shape) {
            layout = .bRepeats(period: paddedB.reduce(1, *))
        } else if paddedB == shape && Self.repeats(paddedA, within: shape) {
            layout = .aRepeats(period: paddedA.reduce(1, *))
        } else {
            let start = plan.pool.count
            plan.pool.append(contentsOf: shape)
            plan.pool.append(contentsOf: Self.broadcastStrides(paddedA))
            plan.pool.append(contentsOf: Self.broadcastStrides(paddedB))
            layout = .general(rank: rank, pool: start)
        }
        plan.append(BinaryStep(op: op, a: a.slot, b: b.slot, y: y, count: count, layout: layout))
    }

    /// True when `operand` is 1s followed by the output's trailing dims, so its flat index
    /// is the output's flat index modulo its size.
    private static func repeats(_ operand: [Int], within shape: [Int]) -> Bool {
        let first = operand.firstIndex(where: { $0 != 1 }) ?? operand.count
        return operand[first...].elementsEqual(shape[first...])
    }

    /// Row-major strides, with 0 on broadcast (size-1) axes.
    private static func broadcastStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = shape[axis] == 1 ? 0 : stride
            stride *= shape[axis]
        }
        return strides
    }

    private mutating func pow(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: 2)
        _ = try attributes(node, [:])
        let xName = names.required[0], exponentName = names.required[1]
        let x = try floatOperand(xName, node)
        let exponentValue = try value(exponentName, node)
        var exponent: (shape: [Int], slot: Slot)
        var constantExponent: [Float]?
        if case .constant(let index) = exponentValue.storage, let integers = constantTensors[index].integers {
            // Pow-12 allows integer exponents; convert once here so the kernel stays float-only.
            let floats = integers.map { Float($0) }
            exponent = (exponentValue.shape, Slot(constant: true, offset: append(floats)))
            constantExponent = floats
        } else {
            exponent = try floatOperand(exponentName, node)
            constantExponent = try constantFloats(exponentName, node)
        }
        // x² is by far the common case (variance, squared error) and x * x is exact; a
        // scalar exponent that does not change the shape needs no broadcasting at all.
        if let constantExponent, constantExponent.count == 1,
           try broadcastShape(x.shape, exponent.shape, node) == x.shape {
            if constantExponent[0] == 2 {
                let y = try allocateOutput(node, shape: x.shape)
                plan.append(UnaryStep(op: .square, x: x.slot, y: y, count: x.shape.reduce(1, *)))
                return
            }
            if constantExponent[0] == 1 {
                try defineAlias(node, of: xName, shape: x.shape)
                return
            }
        }
        try emitBinary(node, .pow, a: x, b: exponent)
    }

    private mutating func unary(_ node: NodeContext, _ op: UnaryOp) throws(ModelError) {
        let names = try operands(node, required: 1)
        _ = try attributes(node, [:])
        let xName = names.required[0]
        let x = try floatOperand(xName, node)
        let y = try allocateOutput(node, shape: x.shape)
        plan.append(UnaryStep(op: op, x: x.slot, y: y, count: x.shape.reduce(1, *)))
    }

    private mutating func relu(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: 1)
        _ = try attributes(node, [:])
        let xName = names.required[0]
        // Fold into the Gemm/MatMul just emitted when this Relu is the only reader of its
        // output: nothing else can see the unclamped values, and it saves a pass and a region.
        if let lastGemm, lastGemm.step == plan.steps.count - 1, lastGemm.output == xName,
           uses[xName] == 1, !graphOutputNames.contains(xName),
           case .gemm(let index) = plan.steps[lastGemm.step], !plan.gemms[index].relu {
            plan.gemms[index].relu = true
            try defineAlias(node, of: xName, shape: try value(xName, node).shape)
            return
        }
        try unary(node, .relu)
    }

    /// Defines the node's output as the same floats as `source` under `shape`.
    private mutating func defineAlias(_ node: NodeContext, of source: String, shape: [Int]) throws(ModelError) {
        let storage = try value(source, node).storage
        try defineOutput(node, shape: shape, storage: storage)
    }

    private mutating func identity(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: 1)
        _ = try attributes(node, [:])
        let xName = names.required[0]
        try defineAlias(node, of: xName, shape: try value(xName, node).shape)
    }

    private mutating func reshape(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: 2)
        let attributes = try attributes(node, opset >= 14 ? ["allowzero": .int] : [:])
        let allowZero = (attributes.int("allowzero") ?? 0) != 0
        let dataName = names.required[0], shapeName = names.required[1]
        let data = try value(dataName, node)
        let requested = try constantIntegers(shapeName, node)
        guard requested.shape.count == 1 else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape, second: requested.shape,
                                 detail: "the shape operand \"\(shapeName)\" must be 1-D")
        }
        let count = data.shape.reduce(1, *)
        var shape: [Int] = []
        var inferred: Int?
        for (axis, size) in requested.values.enumerated() {
            switch size {
            case -1:
                guard inferred == nil else {
                    throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape,
                                         second: requested.values.map { Int($0) }, detail: "more than one -1")
                }
                inferred = axis
                shape.append(1)
            case 0 where !allowZero:
                guard axis < data.shape.count else {
                    throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape,
                                         second: requested.values.map { Int($0) },
                                         detail: "0 at axis \(axis) copies an input dimension that does not exist")
                }
                shape.append(data.shape[axis])
            case 1...Int64(Limits.maxElements):
                shape.append(Int(size))
            default:
                throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape,
                                     second: requested.values.map { Int($0) },
                                     detail: "size \(size) at axis \(axis) is not supported")
            }
        }
        // All sizes are at most maxElements, but their product may still overflow.
        var known = 1
        for size in shape {
            let (product, overflow) = known.multipliedReportingOverflow(by: size)
            guard !overflow, product <= count else {
                throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape,
                                     second: requested.values.map { Int($0) },
                                     detail: "asks for more than the input's \(count) elements")
            }
            known = product
        }
        if let inferred {
            guard count % known == 0 else {
                throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape,
                                     second: requested.values.map { Int($0) },
                                     detail: "\(count) elements do not divide into the known sizes")
            }
            shape[inferred] = count / known
        }
        guard shape.reduce(1, *) == count else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: data.shape, second: shape,
                                 detail: "element counts differ")
        }
        try defineAlias(node, of: dataName, shape: shape)
    }

    private mutating func flatten(_ node: NodeContext) throws(ModelError) {
        let names = try operands(node, required: 1)
        let attributes = try attributes(node, ["axis": .int])
        let xName = names.required[0]
        let x = try value(xName, node)
        let rank = x.shape.count
        let axis = try normalizedAxis(attributes.int("axis") ?? 1, rank: rank, allowEnd: true, node, "axis")
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[axis...].reduce(1, *)
        try defineAlias(node, of: xName, shape: [outer, inner])
    }

    /// `axis` counted from the front, accepting negative axes; `allowEnd` admits `rank` itself.
    private func normalizedAxis(_ axis: Int64, rank: Int, allowEnd: Bool,
                                _ node: NodeContext, _ attribute: String) throws(ModelError) -> Int {
        let upper = Int64(allowEnd ? rank : rank - 1)
        guard axis >= -Int64(rank), axis <= upper else {
            throw .badAttribute(node: node.label, opType: node.opType, attribute: attribute,
                                reason: "\(axis) is outside [\(-rank), \(upper)] for a rank-\(rank) input")
        }
        return Int(axis < 0 ? axis + Int64(rank) : axis)
    }

    private mutating func concat(_ node: NodeContext) throws(ModelError) {
        let given = node.proto.input.count
        let names = try operands(node, required: max(given, 1))
        let attributes = try attributes(node, ["axis": .int])
        guard let rawAxis = attributes.int("axis") else {
            throw .badAttribute(node: node.label, opType: node.opType, attribute: "axis", reason: "is required")
        }
        var parts: [(shape: [Int], slot: Slot)] = []
        for name in names.required {
            parts.append(try floatOperand(name, node))
        }
        let first = parts[0].shape
        let rank = first.count
        guard rank >= 1 else {
            throw .shapeMismatch(node: node.label, opType: node.opType, first: first, second: first,
                                 detail: "cannot concatenate scalars")
        }
        let axis = try normalizedAxis(rawAxis, rank: rank, allowEnd: false, node, "axis")
        var total = 0
        for part in parts {
            let sameOtherwise = part.shape.count == rank
                && part.shape.indices.allSatisfy { $0 == axis || part.shape[$0] == first[$0] }
            guard sameOtherwise else {
                throw .shapeMismatch(node: node.label, opType: node.opType, first: first, second: part.shape,
                                     detail: "inputs must agree on every axis but \(axis)")
            }
            total += part.shape[axis]
        }
        var shape = first
        shape[axis] = total
        let y = try allocateOutput(node, shape: shape)
        let outer = first[..<axis].reduce(1, *)
        let inner = first[(axis + 1)...].reduce(1, *)
        var along = 0
        for part in parts {
            let block = part.shape[axis] * inner
            plan.append(CopyStep(x: part.slot, y: y + along * inner, blocks: outer, block: block,
                                             xStride: block, yStride: total * inner))
            along += part.shape[axis]
        }
    }

    private mutating func reduceMean(_ node: NodeContext) throws(ModelError) {
        let names: Operands
        let attributes: Attributes
        var axes: [Int64]?
        var noopWithEmptyAxes = false
        if opset >= 18 {
            names = try operands(node, required: 1, optional: 1)
            attributes = try self.attributes(node, ["keepdims": .int, "noop_with_empty_axes": .int])
            noopWithEmptyAxes = (attributes.int("noop_with_empty_axes") ?? 0) != 0
            if let axesName = names.optional[0] {
                let given = try constantIntegers(axesName, node)
                guard given.shape.count <= 1 else {
                    throw .badAttribute(node: node.label, opType: node.opType, attribute: "axes",
                                        reason: "the axes input \"\(axesName)\" must be 1-D")
                }
                axes = given.values
            }
        } else {
            names = try operands(node, required: 1)
            attributes = try self.attributes(node, ["axes": .ints, "keepdims": .int])
            axes = attributes.ints("axes")
        }
        let keepDims = (attributes.int("keepdims") ?? 1) != 0
        let xName = names.required[0]
        let x = try floatOperand(xName, node)
        let rank = x.shape.count

        var reduced = [Bool](repeating: false, count: rank)
        if let axes, !axes.isEmpty {
            for raw in axes {
                let axis = try normalizedAxis(raw, rank: rank, allowEnd: false, node, "axes")
                guard !reduced[axis] else {
                    throw .badAttribute(node: node.label, opType: node.opType, attribute: "axes",
                                        reason: "axis \(raw) is listed twice")
                }
                reduced[axis] = true
            }
        } else if noopWithEmptyAxes {
            try defineAlias(node, of: xName, shape: x.shape)
            return
        } else {
            reduced = [Bool](repeating: true, count: rank)
        }

        var shape: [Int] = []
        for axis in 0..<rank {
            if !reduced[axis] {
                shape.append(x.shape[axis])
            } else if keepDims {
                shape.append(1)
            }
        }
        let inputCount = x.shape.reduce(1, *)
        let outputCount = shape.reduce(1, *)
        let y = try allocateOutput(node, shape: shape)
        let layout: ReduceLayout
        let firstReduced = reduced.firstIndex(of: true) ?? rank
        if reduced[firstReduced...].allSatisfy({ $0 }) {
            layout = .trailing(inner: x.shape[firstReduced...].reduce(1, *))
        } else {
            // Output strides over the kept axes, in input-axis order (0 on reduced axes).
            var strides = [Int](repeating: 0, count: rank)
            var stride = 1
            for axis in (0..<rank).reversed() where !reduced[axis] {
                strides[axis] = stride
                stride *= x.shape[axis]
            }
            let start = plan.pool.count
            plan.pool.append(contentsOf: x.shape)
            plan.pool.append(contentsOf: strides)
            layout = .general(rank: rank, pool: start)
        }
        plan.append(ReduceMeanStep(
            x: x.slot, y: y, inputCount: inputCount, outputCount: outputCount,
            scale: 1 / Float(inputCount / outputCount), layout: layout))
    }

    private mutating func constant(_ node: NodeContext) throws(ModelError) {
        _ = try operands(node, required: 0)
        var allowed: [String: Onnx_AttributeProto.AttributeType] = ["value": .tensor]
        if opset >= 12 {
            allowed["value_float"] = .float
            allowed["value_floats"] = .floats
            allowed["value_int"] = .int
            allowed["value_ints"] = .ints
        }
        let attributes = try attributes(node, allowed)
        guard attributes.count == 1 else {
            throw .badAttribute(node: node.label, opType: node.opType, attribute: "value",
                                reason: "exactly one value attribute is needed, found \(attributes.count)")
        }
        let name = node.proto.output[0]
        let tensor: ConstantTensor
        if let proto = attributes.tensor("value") {
            tensor = try ConstantTensor(proto, name: name)
        } else if let value = attributes.float("value_float") {
            guard value.isFinite else { throw .nonFiniteInitializer(name: name, index: 0) }
            tensor = ConstantTensor(shape: [], elements: .float([value]), dataType: "FLOAT")
        } else if let values = attributes.floats("value_floats") {
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw .nonFiniteInitializer(name: name, index: index)
            }
            _ = try elementCount([values.count], tensor: name)
            tensor = ConstantTensor(shape: [values.count], elements: .float(values), dataType: "FLOAT")
        } else if let value = attributes.int("value_int") {
            tensor = ConstantTensor(shape: [], elements: .integer([value]), dataType: "INT64")
        } else if let values = attributes.ints("value_ints") {
            _ = try elementCount([values.count], tensor: name, allowEmpty: true)
            tensor = ConstantTensor(shape: [values.count], elements: .integer(values), dataType: "INT64")
        } else {
            return
        }
        try defineOutput(node, shape: tensor.shape, storage: .constant(constantTensors.count))
        constantTensors.append(tensor)
    }
}

/// A node's attributes, checked against what its operator accepts in the model's opset.
struct Attributes {
    private var byName: [String: Onnx_AttributeProto] = [:]

    init(_ node: GraphCompiler.NodeContext, allowed: [String: Onnx_AttributeProto.AttributeType],
         opset: Int) throws(ModelError) {
        for attribute in node.proto.attribute {
            guard let expected = allowed[attribute.name] else {
                throw .badAttribute(node: node.label, opType: node.opType, attribute: attribute.name,
                                    reason: "\(node.opType) in opset \(opset) has no such attribute")
            }
            guard !attribute.hasRefAttrName else {
                throw .badAttribute(node: node.label, opType: node.opType, attribute: attribute.name,
                                    reason: "refers to a function attribute outside a function")
            }
            guard attribute.type == expected else {
                throw .badAttribute(node: node.label, opType: node.opType, attribute: attribute.name,
                                    reason: "has type \("\(attribute.type)".uppercased()), needs \("\(expected)".uppercased())")
            }
            guard byName[attribute.name] == nil else {
                throw .badAttribute(node: node.label, opType: node.opType, attribute: attribute.name,
                                    reason: "is given more than once")
            }
            byName[attribute.name] = attribute
        }
    }

    var count: Int { byName.count }

    func int(_ name: String) -> Int64? { byName[name]?.i }
    func float(_ name: String) -> Float? { byName[name]?.f }
    func ints(_ name: String) -> [Int64]? { byName[name]?.ints }
    func floats(_ name: String) -> [Float]? { byName[name]?.floats }
    func tensor(_ name: String) -> Onnx_TensorProto? { byName[name]?.t }
}
