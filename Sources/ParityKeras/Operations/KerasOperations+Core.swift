import ParityNN

/// Dtype conversions, tensors made like another (`ones_like`, the padding mask of a one-input wrapper
/// around a KerasHub backbone), gathers (`take`, `take_along_axis`, `one_hot`) and static slices
/// (`keras/src/ops/core.py`, `numpy.py`, `nn.py`).
extension KerasOperations {
    static let core: [String: Factory] = [
        "Cast": { layer in CastOperation(op: "Cast", dtype: try layer.string("dtype"), saturate: false) },
        "SaturateCast": { layer in CastOperation(op: "SaturateCast", dtype: try layer.string("dtype"), saturate: true) },
        "ConvertToTensor": { layer in try castOrIdentity(layer) },
        "Array": { layer in try castOrIdentity(layer) },
        "OnesLike": { layer in FillOperation(op: "OnesLike", fill: .int(1), dtype: try layer.optionalDType()) },
        "ZerosLike": { layer in FillOperation(op: "ZerosLike", fill: .int(0), dtype: try layer.optionalDType()) },
        // Keras's `empty_like` returns zeros on TensorFlow (`tf.zeros_like`).
        "EmptyLike": { layer in FillOperation(op: "EmptyLike", fill: .int(0), dtype: try layer.optionalDType()) },
        "FullLike": { layer in FillOperation(op: "FullLike", fill: nil, dtype: try layer.optionalDType()) },
    ]

    static func castOrIdentity(_ layer: KerasLayerConfig) throws -> any KerasCallable {
        guard let dtype = try layer.optionalDType() else { return UnaryOperation(op: layer.className, kind: .identity) }
        return CastOperation(op: layer.className, dtype: dtype, saturate: false)
    }

    static let indexing: [String: Factory] = [
        "Take": { layer in TakeOperation(axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil, alongAxis: false) },
        "TakeAlongAxis": { layer in TakeOperation(axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil, alongAxis: true) },
        "OneHot": { layer in
            if try layer.has("sparse") && layer.bool("sparse") { throw KerasError.unsupportedSetting(layer: layer.name, key: "sparse", value: "true") }
            return OneHotOperation(classes: try layer.int("num_classes"), axis: try layer.has("axis") ? layer.int("axis") : -1,
                                   dtype: try layer.optionalDType(), multi: false)
        },
        "MultiHot": { layer in
            if try layer.has("sparse") && layer.bool("sparse") { throw KerasError.unsupportedSetting(layer: layer.name, key: "sparse", value: "true") }
            return OneHotOperation(classes: try layer.int("num_classes"), axis: try layer.has("axis") ? layer.int("axis") : -1,
                                   dtype: try layer.optionalDType(), multi: true)
        },
        "Slice": { layer in StaticSliceOperation(shape: try layer.ints("shape")) },
    ]
}

extension KerasLayerConfig {
    /// A `dtype` entry: a dtype name, or a serialised `DTypePolicy` (its `config.name`); `nil` when missing.
    func optionalDType(_ key: String = "dtype") throws -> String? {
        guard has(key) else { return nil }
        let v = try value(key)
        if let name = v.string ?? v["config"]?["name"]?.string { return name }
        throw KerasError.badConfig(layer: name, key: key, found: "\(v)")
    }
}

/// How a Keras dtype name is held in Parity: floats in the run's float dtype (float16 and bfloat16
/// values rounded to their precision), integers and bools as int64.
enum KerasDType {
    case float, float16, bfloat16, integer(bits: Int, signed: Bool), bool

    init(_ name: String, layer: String) throws {
        switch name {
        case "float32", "float64", "float": self = .float
        case "float16", "half": self = .float16
        case "bfloat16": self = .bfloat16
        case "bool": self = .bool
        case "int8": self = .integer(bits: 8, signed: true)
        case "int16": self = .integer(bits: 16, signed: true)
        case "int32", "int": self = .integer(bits: 32, signed: true)
        case "int64": self = .integer(bits: 64, signed: true)
        case "uint8": self = .integer(bits: 8, signed: false)
        case "uint16": self = .integer(bits: 16, signed: false)
        case "uint32": self = .integer(bits: 32, signed: false)
        case "uint64": self = .integer(bits: 64, signed: false)
        default: throw KerasError.unsupportedSetting(layer: layer, key: "dtype", value: name)
        }
    }

    var isFloat: Bool {
        switch self {
        case .float, .float16, .bfloat16: return true
        default: return false
        }
    }
}

/// `cast(x, dtype)` as `tf.cast`: floats to integers truncate toward zero (wrapping into the type's
/// range; `saturate_cast` clamps instead), anything to bool is `x ≠ 0`, integers to floats convert,
/// float16 / bfloat16 round to nearest even in that precision.
struct CastOperation: KerasCallable {
    var op: String
    var dtype: String
    var saturate: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let x = try o.value(0, "x")
        switch try KerasDType(dtype, layer: context.layer) {
        case .float: return [try o.float(x)]
        case .float16: return [try b.apply(RoundToPrecision(format: .float16), [o.float(x)])]
        case .bfloat16: return [try b.apply(RoundToPrecision(format: .bfloat16), [o.float(x)])]
        case .bool:
            let v = try b.cast(x, to: .float64)
            return [try b.cast(b.subtract(b.scalar(1, like: v), b.binary(.equal, v, b.scalar(0, like: v))), to: .int64)]
        case let .integer(bits, signed):
            var v = try b.cast(x, to: .float64)
            if o.isFloat(x) { v = try b.apply(ElementwiseMath(.trunc), [v]) }
            if bits < 64 {
                let low = signed ? -pow2(bits - 1) : 0, high = signed ? pow2(bits - 1) - 1 : pow2(bits) - 1
                if saturate {
                    v = try b.binary(.minimum, b.binary(.maximum, v, b.scalar(low, like: v)), b.scalar(high, like: v))
                } else {
                    // Two's-complement wrap into [low, high].
                    let span = b.scalar(pow2(bits), like: v)
                    v = try b.add(b.apply(BinaryMath(.floorMod), [b.subtract(v, b.scalar(low, like: v)), span]), b.scalar(low, like: v))
                }
            }
            return [try b.cast(v, to: .int64)]
        }
    }

    func pow2(_ n: Int) -> Double { Double(sign: .plus, exponent: n, significand: 1) }
}

/// Rounds each element to float16 or bfloat16 precision (nearest even) and back: a Keras cast to a
/// half-precision dtype, held in the run's float dtype. VJP: the cotangent rounded the same way.
public struct RoundToPrecision: Op {
    /// The half-precision format rounded to.
    public enum Format: String, Sendable, Hashable {
        /// IEEE binary16.
        case float16
        /// bfloat16.
        case bfloat16
    }
    /// The format rounded to.
    public var format: Format
    /// The op rounding to `format`.
    public init(format: Format) { self.format = format }

    public var name: String { "round to \(format.rawValue)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 1)
        _ = try sameFloat(inputs)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let rounded = x.doubles.map { value -> Double in
            let f = Float(value)
            switch format {
            case .float16: return Double(HalfPrecision.float(fromFloat16: HalfPrecision.float16Bits(from: f)))
            case .bfloat16: return Double(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16Bits(from: f)))
            }
        }
        return Tensor(shape: x.shape, values: rounded).cast(to: x.dtype)
    }

    /// The gradient of a half-precision tensor is a half-precision tensor (TensorFlow's `Cast` gradient casts the
    /// incoming float16 gradient back to the source dtype): the cotangent is rounded to `format` too.
    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.apply(self, [cotangent])]
    }
}

/// `ones_like`, `zeros_like`, `full_like(x, fill_value)`: a constant of `x`'s shape (known when the graph
/// is built) in `dtype`, else `x`'s dtype.
struct FillOperation: KerasCallable {
    var op: String
    /// The value, or nil to read `fill_value` from the call.
    var fill: KerasJSON?
    var dtype: String?

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let x = try o.value(0, "x")
        let shape = b.shape(of: x)
        let target: DType
        if let dtype { target = try KerasDType(dtype, layer: context.layer).isFloat ? o.floatDType : .int64 } else { target = b.type(of: x).dtype }
        if let fill, let value = fill.double { return [b.constant(Tensor(repeating: value, shape: shape, dtype: target))] }
        let value = try o.value(1, "fill_value")
        let castValue = try b.cast(value, to: target)
        return [try b.broadcast(castValue, to: shape)]
    }
}

/// `take(x, indices, axis)` (`axis=None`: from the flattened tensor) and `take_along_axis`. Negative
/// indices count from the end, as the TensorFlow backend's `fix_negative_indices`.
struct TakeOperation: KerasCallable {
    var axis: Int?
    var alongAxis: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: alongAxis ? "TakeAlongAxis" : "Take")
        var x = try o.value(0, "x")
        let indices = try o.value(1, "indices")
        guard !o.isFloat(indices) else { throw TensorError.unsupportedDType(op: "\(o.op) indices", dtype: b.type(of: indices).dtype) }
        if axis == nil { x = try b.reshape(x, [-1]) }
        let a = try o.axis(axis ?? 0, of: x)
        if alongAxis { return [try takeAlongAxis(x, indices, axis: a, b)] }
        let size = b.shape(of: x)[a]
        let i = try b.cast(indices, to: .float64)
        let wrapped = try b.apply(Select(), [b.binary(.less, i, b.scalar(0, like: i)), b.add(i, b.scalar(Double(size), like: i)), i])
        return [try b.apply(Gather(axis: a), [x, b.cast(wrapped, to: .int64)])]
    }
}

/// `one_hot(x, num_classes, axis)` (`tf.one_hot`: out-of-range indices give a zero row) and
/// `multi_hot` (the one-hot rows of the last axis combined by maximum, that axis removed).
struct OneHotOperation: KerasCallable {
    var classes: Int
    var axis: Int
    var dtype: String?
    var multi: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: multi ? "MultiHot" : "OneHot")
        let x = try b.cast(o.value(0, "x"), to: .float64)
        let shape = b.shape(of: x)
        let classValues = b.constant(Tensor(shape: [classes], values: (0..<classes).map(Double.init)))
        var hot = try b.binary(.equal, b.reshape(x, shape + [1]), classValues)  // [..., classes]
        if multi {
            hot = try b.reduce(.max, hot, axes: [shape.count - 1])
        }
        let rank = b.shape(of: hot).count
        let a = try Shape.axis(axis, rank: rank, op: o.op)
        if a != rank - 1 {
            var order = Array(0..<(rank - 1))
            order.insert(rank - 1, at: a)
            hot = try b.permute(hot, order)
        }
        let floats = try dtype.map { try KerasDType($0, layer: context.layer).isFloat } ?? true
        return [floats ? try b.cast(hot, to: o.floatDType) : try b.cast(hot, to: .int64)]
    }
}

/// `slice(inputs, start_indices, shape)` (`keras.ops.slice`) with constant start indices.
struct StaticSliceOperation: KerasCallable {
    var shape: [Int]

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Slice")
        let x = try o.value(0, "inputs")
        guard let starts = o.constant(1, "start_indices").flatMap({ KerasConstant.nested($0)?.1 }) else {
            throw KerasError.unsupportedOperation(name: context.layer, className: "Slice", module: "keras.src.ops.core",
                                                  reason: "start indices computed from tensors (a dynamic slice) are not supported")
        }
        guard starts.count == shape.count, shape.count == b.shape(of: x).count else { throw o.bad("start_indices", "\(starts) for shape \(shape)") }
        return [try b.slice(x, zip(starts, shape).map { SliceAxis(start: Int($0), end: Int($0) + $1) })]
    }
}
