import CParityKernels

/// An elementwise function of two tensors, broadcast NumPy-style. Comparisons return 1 or 0 in the
/// inputs' float dtype (a mask that can multiply a gradient).
public enum BinaryFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The arithmetic its name says: `a + b`, `a − b`, `a·b`, `a / b`, `max(a, b)`, `min(a, b)`, `aᵇ`.
    case add, subtract, multiply, divide, maximum, minimum, power
    /// The comparison its name says: `a > b`, `a ≥ b`, `a < b`, `a ≤ b`, `a = b`, as 1 or 0.
    case greater, greaterEqual, less, lessEqual, equal

    public var description: String { rawValue }

    /// Whether the function is a comparison (its result is 1 or 0).
    public var isComparison: Bool {
        switch self {
        case .greater, .greaterEqual, .less, .lessEqual, .equal: return true
        default: return false
        }
    }

    /// The function of two scalars.
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

/// Iterates a broadcast result row by row: each call covers `length` consecutive output elements,
/// with every input's start offset and its step along the row (0 or 1). Trailing axes that every
/// input walks as one (a per-channel scale over `[h, w]`, two contiguous axes) are merged first, so
/// rows are as long as the broadcast allows. Large results are split into chunks of rows on the
/// kernel threads (each output element is written by one call, so the split never changes a value).
@inline(__always)
func forEachBroadcastRow(
    _ fullShape: [Int], inputs: [[Int]],
    _ body: (_ outStart: Int, _ offsets: [Int], _ steps: [Int], _ length: Int) -> Void
) {
    let count = Shape.count(fullShape)
    guard count > 0 else { return }
    var outShape = fullShape
    var strides = inputs.map { Shape.broadcastStrides($0, to: fullShape) }
    // Axis a merges into a + 1 when, for every input, one step along a is a whole run along a + 1
    // (rows stay within one parallel chunk, so that large results still split across threads).
    var axis = outShape.count - 2
    while axis >= 0 {
        let intoRow = axis + 1 == outShape.count - 1
        if strides.allSatisfy({ $0[axis] == $0[axis + 1] * outShape[axis + 1] })
            && (!intoRow || outShape[axis] * outShape[axis + 1] <= elementwiseChunk) {
            outShape[axis + 1] *= outShape[axis]
            outShape.remove(at: axis)
            for i in strides.indices { strides[i].remove(at: axis) }
        }
        axis -= 1
    }
    let rank = outShape.count
    let length = rank == 0 ? 1 : outShape[rank - 1]
    let steps = strides.map { rank == 0 ? 0 : $0[rank - 1] }
    let rows = count / length
    let rowsPerChunk = max(1, elementwiseChunk / max(length, 1))
    parallelChunks(rows, chunk: count < elementwiseChunk * 2 ? rows : rowsPerChunk) { chunk in
        // The multi-index of the chunk's first row, then advanced row by row.
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var offsets = [Int](repeating: 0, count: inputs.count)
        var rest = chunk.lowerBound
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            index[axis] = rest % outShape[axis]
            rest /= outShape[axis]
            for i in 0..<offsets.count { offsets[i] += index[axis] * strides[i][axis] }
        }
        for row in chunk {
            body(row * length, offsets, steps, length)
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
}

/// Elements per task of a parallel elementwise kernel (fixed, so the split never depends on the
/// thread count).
let elementwiseChunk = 1 << 14

/// `out[i] = f(a[i], b[i])` over `count` elements, in parallel chunks.
@inline(__always)
func zipElements<T>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, count: Int, _ f: (T, T) -> T) {
    parallelChunks(count, chunk: elementwiseChunk) { range in
        for i in range { out[i] = f(a[i], b[i]) }
    }
}

extension BinaryFunction {
    /// The C row kernel's operation for the four arithmetic functions (Float32 and Float64 rows run
    /// there as one vector loop instead of a closure call per element).
    var rowOperation: parity_binary_op? {
        switch self {
        case .add: return PARITY_ADD
        case .subtract: return PARITY_SUBTRACT
        case .multiply: return PARITY_MULTIPLY
        case .divide: return PARITY_DIVIDE
        default: return nil
        }
    }

    /// `out[j] = a[j·sa] ∘ b[j·sb]` for `j < n` through the C row kernel; false (nothing written) for a
    /// function or element type it does not take.
    @inline(__always)
    func row<T: FloatElement>(_ n: Int, _ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                              _ out: UnsafeMutablePointer<T>) -> Bool {
        guard let op = rowOperation else { return false }
        if T.self == Float.self {
            parity_binary_f32(op, n, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), sa,
                              UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), sb,
                              UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
            return true
        }
        if T.self == Double.self {
            parity_binary_f64(op, n, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), sa,
                              UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), sb,
                              UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
            return true
        }
        return false
    }

    /// Runs `body` with this function as a closure the optimiser sees whole (a tight loop per case,
    /// no switch per element).
    @inline(__always)
    func withKernel<T: FloatElement, R>(_ type: T.Type, _ body: ((T, T) -> T) -> R) -> R {
        switch self {
        case .add: return body { $0 + $1 }
        case .subtract: return body { $0 - $1 }
        case .multiply: return body { $0 * $1 }
        case .divide: return body { $0 / $1 }
        default: return body { self.apply($0, $1) }
        }
    }
}

extension Tensor {
    /// `function(self, other)` elementwise with broadcasting.
    public func combining(_ other: Tensor, _ function: BinaryFunction) throws -> Tensor {
        let op = "\(function)"
        let outShape = try Shape.broadcast(shape, other.shape, op: op)
        func run<T: FloatElement>(_ a: UnsafeBufferPointer<T>, _ b: UnsafeBufferPointer<T>) -> [T] {
            let count = Shape.count(outShape)
            if count == 0 { return [] }
            return [T](unsafeUninitializedCapacity: count) { out, initialized in
                let (pa0, pb0, o0) = (a.baseAddress!, b.baseAddress!, out.baseAddress!)
                if function.rowOperation != nil && (T.self == Float.self || T.self == Double.self) {
                    if a.count == b.count && shape == other.shape {
                        parallelChunks(count, chunk: elementwiseChunk) { range in
                            let i = range.lowerBound
                            _ = function.row(range.count, pa0 + i, 1, pb0 + i, 1, o0 + i)
                        }
                    } else {
                        forEachBroadcastRow(outShape, inputs: [shape, other.shape]) { start, offsets, steps, length in
                            _ = function.row(length, pa0 + offsets[0], steps[0], pb0 + offsets[1], steps[1], o0 + start)
                        }
                    }
                    initialized = count
                    return
                }
                function.withKernel(T.self) { f in
                    if a.count == b.count && shape == other.shape {
                        zipElements(pa0, pb0, o0, count: count, f)
                        return
                    }
                    forEachBroadcastRow(outShape, inputs: [shape, other.shape]) { start, offsets, steps, length in
                        let (pa, pb, o) = (pa0 + offsets[0], pb0 + offsets[1], o0 + start)
                        switch (steps[0], steps[1]) {
                        case (1, 1): for j in 0..<length { o[j] = f(pa[j], pb[j]) }
                        case (1, 0): let y = pb[0]; for j in 0..<length { o[j] = f(pa[j], y) }
                        case (0, 1): let x = pa[0]; for j in 0..<length { o[j] = f(x, pb[j]) }
                        default: let v = f(pa[0], pb[0]); for j in 0..<length { o[j] = v }
                        }
                    }
                }
                initialized = count
            }
        }
        // The operands in place (a constant read from a file stays in its mapping).
        func combined<T: FloatElement>(_: T.Type) -> [T]? {
            Tensor.withUnsafeElements(of: self, other, as: T.self, run)
        }
        if let values = combined(Float.self) { return Tensor(shape: outShape, values: values) }
        if let values = combined(Double.self) { return Tensor(shape: outShape, values: values) }
        if dtype != other.dtype { throw TensorError.dtypeMismatch(op: op, received: [dtype, other.dtype]) }
        throw TensorError.unsupportedDType(op: op, dtype: dtype)
    }

    /// `a·b + c` elementwise with broadcasting, rounded once when `fused` (a fused multiply-add, as a
    /// graph compiler's fused elementwise kernel emits on FMA hardware) or twice when not.
    public static func multiplyAdd(_ a: Tensor, _ b: Tensor, _ c: Tensor, fused: Bool) throws -> Tensor {
        let op = fused ? "fusedMultiplyAdd" : "multiplyAdd"
        let outShape = try Shape.broadcast(Shape.broadcast(a.shape, b.shape, op: op), c.shape, op: op)
        // The formula written in the row loop (not a closure called per element).
        func run<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ y: UnsafeBufferPointer<T>, _ z: UnsafeBufferPointer<T>) -> [T] {
            broadcastRows(x, y, z, shapes: [a.shape, b.shape, c.shape], outShape: outShape) { bx, sx, by, sy, bz, sz, bo, length in
                if fused {
                    // In C: an FMA instruction where the CPU has one (no compiler flags here).
                    if T.self == Float.self {
                        parity_fma_f32(length, Self.float(bx), sx, Self.float(by), sy, Self.float(bz), sz,
                                       UnsafeMutableRawPointer(bo).assumingMemoryBound(to: Float.self))
                    } else if T.self == Double.self {
                        parity_fma_f64(length, Self.double(bx), sx, Self.double(by), sy, Self.double(bz), sz,
                                       UnsafeMutableRawPointer(bo).assumingMemoryBound(to: Double.self))
                    } else {
                        for j in 0..<length { bo[j] = bz[j * sz].addingProduct(bx[j * sx], by[j * sy]) }
                    }
                } else {
                    for j in 0..<length { bo[j] = bx[j * sx] * by[j * sy] + bz[j * sz] }
                }
            }
        }
        if let values = withUnsafeElements(of: a, b, c, as: Float.self, run) { return Tensor(shape: outShape, values: values) }
        if let values = withUnsafeElements(of: a, b, c, as: Double.self, run) { return Tensor(shape: outShape, values: values) }
        throw TensorError.dtypeMismatch(op: op, received: [a.dtype, b.dtype, c.dtype])
    }

    /// `condition ≠ 0 ? a : b` elementwise with broadcasting (`torch.where`, `tf.where`).
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try ternary(condition, a, b, op: "where") { (c: Float, x: Float, y: Float) in c != 0 ? x : y }
            double: { c, x, y in c != 0 ? x : y }
    }

    private static func float<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
    private static func double<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Double> { UnsafeRawPointer(p).assumingMemoryBound(to: Double.self) }

    static func ternary(_ a: Tensor, _ b: Tensor, _ c: Tensor, op: String,
                        float: (Float, Float, Float) -> Float, double: (Double, Double, Double) -> Double) throws -> Tensor {
        let outShape = try Shape.broadcast(Shape.broadcast(a.shape, b.shape, op: op), c.shape, op: op)
        func run<T: FloatElement>(_ f: (T, T, T) -> T) -> [T]? {
            withUnsafeElements(of: a, b, c, as: T.self) { x, y, z in
                broadcastRows(x, y, z, shapes: [a.shape, b.shape, c.shape], outShape: outShape) { bx, sx, by, sy, bz, sz, bo, length in
                    for j in 0..<length { bo[j] = f(bx[j * sx], by[j * sy], bz[j * sz]) }
                }
            }
        }
        if let values = run(float) { return Tensor(shape: outShape, values: values) }
        if let values = run(double) { return Tensor(shape: outShape, values: values) }
        throw TensorError.dtypeMismatch(op: op, received: [a.dtype, b.dtype, c.dtype])
    }

    /// The `outShape` values of three buffers (of `shapes`) broadcast together, filled row by row:
    /// `row(x, xStep, y, yStep, z, zStep, out, length)` writes `length` outputs at `out` from the
    /// inputs' rows at `x`, `y`, `z` with their element steps (0 along a broadcast axis).
    static func broadcastRows<T: FloatElement>(
        _ x: UnsafeBufferPointer<T>, _ y: UnsafeBufferPointer<T>, _ z: UnsafeBufferPointer<T>, shapes: [[Int]], outShape: [Int],
        _ row: (UnsafePointer<T>, Int, UnsafePointer<T>, Int, UnsafePointer<T>, Int, UnsafeMutablePointer<T>, Int) -> Void
    ) -> [T] {
        let count = Shape.count(outShape)
        if count == 0 { return [] }
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            let (px, py, pz, o) = (x.baseAddress!, y.baseAddress!, z.baseAddress!, out.baseAddress!)
            forEachBroadcastRow(outShape, inputs: shapes) { start, offsets, steps, length in
                row(px + offsets[0], steps[0], py + offsets[1], steps[1], pz + offsets[2], steps[2], o + start, length)
            }
            initialized = count
        }
    }
}
