/// An elementwise function of two tensors, broadcast NumPy-style. Comparisons return 1 or 0 in the
/// inputs' float dtype (a mask that can multiply a gradient).
public enum BinaryFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case add, subtract, multiply, divide, maximum, minimum, power
    case greater, greaterEqual, less, lessEqual, equal

    public var description: String { rawValue }

    public var isComparison: Bool {
        switch self {
        case .greater, .greaterEqual, .less, .lessEqual, .equal: return true
        default: return false
        }
    }

    @inline(__always)
    public func apply<T: FloatElement>(_ a: T, _ b: T) -> T {
        switch self {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        // NaN propagates, as torch.maximum / torch.minimum do.
        case .maximum: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        // C's pow (TensorFlow's and PyTorch's kernels): RealModule's real-exponent pow returns NaN for a
        // negative base and for 0⁰, so whole exponents go through its integer form (libm powf/pow).
        case .power: return Int(exactly: b).map { T.pow(a, $0) } ?? T.pow(a, b)
        case .greater: return a > b ? 1 : 0
        case .greaterEqual: return a >= b ? 1 : 0
        case .less: return a < b ? 1 : 0
        case .lessEqual: return a <= b ? 1 : 0
        case .equal: return a == b ? 1 : 0
        }
    }
}

/// Iterates a broadcast result row by row: each call covers `length` consecutive output elements
/// along the last axis, with every input's start offset and its step along that axis (0 or 1).
@inline(__always)
func forEachBroadcastRow(
    _ outShape: [Int], inputs: [[Int]],
    _ body: (_ outStart: Int, _ offsets: [Int], _ steps: [Int], _ length: Int) -> Void
) {
    let count = Shape.count(outShape)
    guard count > 0 else { return }
    let rank = outShape.count
    let strides = inputs.map { Shape.broadcastStrides($0, to: outShape) }
    let length = rank == 0 ? 1 : outShape[rank - 1]
    let steps = strides.map { rank == 0 ? 0 : $0[rank - 1] }
    var index = [Int](repeating: 0, count: max(rank - 1, 0))
    var offsets = [Int](repeating: 0, count: inputs.count)
    var outStart = 0
    while outStart < count {
        body(outStart, offsets, steps, length)
        outStart += length
        // Advance the multi-index over all axes but the last.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            for i in 0..<offsets.count { offsets[i] += strides[i][axis] }
            if index[axis] < outShape[axis] { break }
            for i in 0..<offsets.count { offsets[i] -= strides[i][axis] * index[axis] }
            index[axis] = 0
            axis -= 1
        }
    }
}

extension Tensor {
    /// `function(self, other)` elementwise with broadcasting.
    public func combining(_ other: Tensor, _ function: BinaryFunction) throws -> Tensor {
        let op = "\(function)"
        let outShape = try Shape.broadcast(shape, other.shape, op: op)
        func run<T: FloatElement>(_ a: [T], _ b: [T]) -> [T] {
            var out = [T](repeating: 0, count: Shape.count(outShape))
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        if a.count == b.count && shape == other.shape {
                            for i in 0..<a.count { op[i] = function.apply(ap[i], bp[i]) }
                            return
                        }
                        forEachBroadcastRow(outShape, inputs: [shape, other.shape]) { start, offsets, steps, length in
                            let (pa, pb, o) = (ap.baseAddress! + offsets[0], bp.baseAddress! + offsets[1], op.baseAddress! + start)
                            switch (steps[0], steps[1]) {
                            case (1, 1): for j in 0..<length { o[j] = function.apply(pa[j], pb[j]) }
                            case (1, 0): let y = pb[0]; for j in 0..<length { o[j] = function.apply(pa[j], y) }
                            case (0, 1): let x = pa[0]; for j in 0..<length { o[j] = function.apply(x, pb[j]) }
                            default: let v = function.apply(pa[0], pb[0]); for j in 0..<length { o[j] = v }
                            }
                        }
                    }
                }
            }
            return out
        }
        switch (storage, other.storage) {
        case let (.float32(a), .float32(b)): return Tensor(shape: outShape, storage: .float32(run(a, b)))
        case let (.float64(a), .float64(b)): return Tensor(shape: outShape, storage: .float64(run(a, b)))
        default:
            if dtype != other.dtype { throw TensorError.dtypeMismatch(op: op, received: [dtype, other.dtype]) }
            throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }

    /// `a·b + c` elementwise with broadcasting, rounded once when `fused` (a fused multiply-add, as a
    /// graph compiler's fused elementwise kernel emits on FMA hardware) or twice when not.
    public static func multiplyAdd(_ a: Tensor, _ b: Tensor, _ c: Tensor, fused: Bool) throws -> Tensor {
        try ternary(a, b, c, op: fused ? "fusedMultiplyAdd" : "multiplyAdd") { (x: Float, y: Float, z: Float) in
            fused ? z.addingProduct(x, y) : x * y + z
        } double: { x, y, z in fused ? z.addingProduct(x, y) : x * y + z }
    }

    /// `condition ≠ 0 ? a : b` elementwise with broadcasting (`torch.where`, `tf.where`).
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try ternary(condition, a, b, op: "where") { (c: Float, x: Float, y: Float) in c != 0 ? x : y }
            double: { c, x, y in c != 0 ? x : y }
    }

    static func ternary(_ a: Tensor, _ b: Tensor, _ c: Tensor, op: String,
                        float: (Float, Float, Float) -> Float, double: (Double, Double, Double) -> Double) throws -> Tensor {
        let outShape = try Shape.broadcast(Shape.broadcast(a.shape, b.shape, op: op), c.shape, op: op)
        func run<T: FloatElement>(_ x: [T], _ y: [T], _ z: [T], _ f: (T, T, T) -> T) -> [T] {
            var out = [T](repeating: 0, count: Shape.count(outShape))
            out.withUnsafeMutableBufferPointer { op in
                forEachBroadcastRow(outShape, inputs: [a.shape, b.shape, c.shape]) { start, offsets, steps, length in
                    for j in 0..<length {
                        op[start + j] = f(x[offsets[0] + j * steps[0]], y[offsets[1] + j * steps[1]], z[offsets[2] + j * steps[2]])
                    }
                }
            }
            return out
        }
        switch (a.storage, b.storage, c.storage) {
        case let (.float32(x), .float32(y), .float32(z)): return Tensor(shape: outShape, storage: .float32(run(x, y, z, float)))
        case let (.float64(x), .float64(y), .float64(z)): return Tensor(shape: outShape, storage: .float64(run(x, y, z, double)))
        default: throw TensorError.dtypeMismatch(op: op, received: [a.dtype, b.dtype, c.dtype])
        }
    }
}
