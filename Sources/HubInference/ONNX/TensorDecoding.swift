import Foundation

/// Caps that keep a hostile or broken model from asking for unbounded memory.
///
/// The hub's models are a few thousand weights; a model that needs more than this is a
/// mistake, and refusing it at load beats exhausting a Raspberry Pi's memory mid-run.
enum Limits {
    /// Elements in any one tensor (16 MiB of floats).
    static let maxElements = 1 << 22
    /// Floats of scratch for all intermediates together.
    static let maxScratch = 1 << 24
}

/// An initializer or Constant, decoded and checked.
struct ConstantTensor {
    enum Elements {
        case float([Float])
        /// Shapes, axes and integer exponents: only ever read at load.
        case integer([Int64])
    }

    var shape: [Int]
    var elements: Elements
    /// The ONNX name of the element type, for errors about using it where floats are needed.
    var dataType: String
}

/// The element count of `shape`, refusing negative, overflowing or oversized shapes, and
/// empty ones unless `allowEmpty` (an empty list of axes is meaningful; an empty float
/// tensor never is in an MLP, and refusing it spares every kernel a zero-size case).
func elementCount(_ shape: [Int], tensor: String, allowEmpty: Bool = false) throws(ModelError) -> Int {
    if allowEmpty, shape.contains(0), shape.allSatisfy({ $0 >= 0 }) { return 0 }
    var count = 1
    for dim in shape {
        guard dim > 0 else {
            throw .unsupportedShape(tensor: tensor, shape: shape, detail: "dimensions must be positive")
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow, product <= Limits.maxElements else {
            throw .unsupportedShape(tensor: tensor, shape: shape,
                                    detail: "more than \(Limits.maxElements) elements")
        }
        count = product
    }
    return count
}

/// The ONNX spelling of a `TensorProto.DataType` number, for messages.
func dataTypeName(_ raw: Int32) -> String {
    guard let known = Onnx_TensorProto.DataType(rawValue: Int(raw)) else { return "type \(raw)" }
    return "\(known)".uppercased()
}

extension ConstantTensor {
    /// Decodes a `TensorProto` whose name (or, for a Constant node, output) is `name`.
    ///
    /// Float data must be finite: a NaN weight would silently turn every score into NaN,
    /// and NaN compares false against any threshold, so the detector would never alarm.
    init(_ proto: Onnx_TensorProto, name: String) throws(ModelError) {
        if proto.dataLocation == .external || !proto.externalData.isEmpty {
            throw .malformedTensor(name: name, reason: "data stored outside the model file is not supported")
        }
        if proto.hasSegment {
            throw .malformedTensor(name: name, reason: "segmented tensors are not supported")
        }
        var shape: [Int] = []
        shape.reserveCapacity(proto.dims.count)
        for dim in proto.dims {
            guard dim >= 0 else { throw .malformedTensor(name: name, reason: "negative dimension \(dim)") }
            shape.append(Int(dim))
        }
        let type = Onnx_TensorProto.DataType(rawValue: Int(proto.dataType))
        let count = try elementCount(shape, tensor: name, allowEmpty: type == .int64 || type == .int32)
        let typeName = dataTypeName(proto.dataType)
        let raw: Data? = proto.hasRawData ? proto.rawData : nil

        switch type {
        case .float:
            let floats: [Float]
            if let raw {
                guard proto.floatData.isEmpty else {
                    throw .malformedTensor(name: name, reason: "both raw_data and float_data are set")
                }
                floats = try Self.littleEndian(raw, count: count, width: 4, name: name)
                    .map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
            } else {
                guard proto.floatData.count == count else {
                    throw .malformedTensor(name: name,
                                           reason: "dims \(shape) need \(count) values, float_data has \(proto.floatData.count)")
                }
                floats = proto.floatData
            }
            if let index = floats.firstIndex(where: { !$0.isFinite }) {
                throw .nonFiniteInitializer(name: name, index: index)
            }
            self.init(shape: shape, elements: .float(floats), dataType: typeName)
        case .int64:
            let ints: [Int64]
            if let raw {
                guard proto.int64Data.isEmpty else {
                    throw .malformedTensor(name: name, reason: "both raw_data and int64_data are set")
                }
                ints = try Self.littleEndian(raw, count: count, width: 8, name: name)
                    .map { Int64(bitPattern: $0) }
            } else {
                guard proto.int64Data.count == count else {
                    throw .malformedTensor(name: name,
                                           reason: "dims \(shape) need \(count) values, int64_data has \(proto.int64Data.count)")
                }
                ints = proto.int64Data
            }
            self.init(shape: shape, elements: .integer(ints), dataType: typeName)
        case .int32:
            let ints: [Int64]
            if let raw {
                guard proto.int32Data.isEmpty else {
                    throw .malformedTensor(name: name, reason: "both raw_data and int32_data are set")
                }
                ints = try Self.littleEndian(raw, count: count, width: 4, name: name)
                    .map { Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }
            } else {
                guard proto.int32Data.count == count else {
                    throw .malformedTensor(name: name,
                                           reason: "dims \(shape) need \(count) values, int32_data has \(proto.int32Data.count)")
                }
                ints = proto.int32Data.map { Int64($0) }
            }
            self.init(shape: shape, elements: .integer(ints), dataType: typeName)
        default:
            throw .unsupportedDataType(tensor: name, dataType: typeName, node: nil)
        }
    }

    /// `count` unsigned little-endian words of `width` bytes from `raw` (ONNX stores raw_data
    /// little-endian whatever the host).
    private static func littleEndian(_ raw: Data, count: Int, width: Int, name: String) throws(ModelError) -> [UInt64] {
        guard raw.count == count * width else {
            throw .malformedTensor(name: name,
                                   reason: "dims need \(count) values (\(count * width) bytes), raw_data has \(raw.count) bytes")
        }
        var words = [UInt64](repeating: 0, count: count)
        raw.withUnsafeBytes { bytes in
            for i in 0..<count {
                var word: UInt64 = 0
                for byte in 0..<width {
                    word |= UInt64(bytes[i * width + byte]) << (8 * byte)
                }
                words[i] = word
            }
        }
        return words
    }

    var floats: [Float]? {
        if case .float(let values) = elements { values } else { nil }
    }

    var integers: [Int64]? {
        if case .integer(let values) = elements { values } else { nil }
    }
}
