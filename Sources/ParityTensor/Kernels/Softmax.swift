import CParityKernels
import RealModule

/// The softmax of one row, exposed for fused kernels (attention) that must round exactly as
/// ``Tensor/softmax(axis:logarithm:)`` does.
public enum SoftmaxKernel {
    /// `exp(x − max) / Σ exp(x − max)` over `length` elements `stride` apart (a non-finite max shifts by
    /// 0), the sum sequential; or `x − max − log Σ` when `logarithm` is set. `out` may be `x`. exp is
    /// ``UnaryFunction/exp`` (in Float32 Parity's vector exp, over contiguous rows in one call).
    @inlinable @inline(__always)
    public static func row<T: FloatElement>(_ x: UnsafePointer<T>, stride: Int, length: Int, into out: UnsafeMutablePointer<T>,
                                            logarithm: Bool) {
        var peak = -T.infinity
        for r in 0..<length { peak = Swift.max(peak, x[r * stride]) }
        if !peak.isFinite { peak = 0 }
        var total: T = 0
        if logarithm {
            if stride == 1 {
                // exp(x − max) in blocks on the stack (x may be out and is still needed).
                withUnsafeTemporaryAllocation(of: T.self, capacity: 256) { block in
                    let b = block.baseAddress!
                    var start = 0
                    while start < length {
                        let n = Swift.min(256, length - start)
                        for r in 0..<n { b[r] = x[start + r] - peak }
                        UnaryFunction.exp.applyRow(b, b, count: n)
                        for r in 0..<n { total += b[r] }
                        start += n
                    }
                }
            } else {
                for r in 0..<length { total += UnaryFunction.exp.apply(x[r * stride] - peak) }
            }
            let logTotal = T.log(total)
            for r in 0..<length { out[r * stride] = (x[r * stride] - peak) - logTotal }
        } else {
            // exp once per element, kept in `out` (exp is a function: the same bits as recomputing it).
            if stride == 1 {
                for r in 0..<length { out[r] = x[r] - peak }
                UnaryFunction.exp.applyRow(out, out, count: length)
                for r in 0..<length { total += out[r] }
            } else {
                for r in 0..<length {
                    let e = UnaryFunction.exp.apply(x[r * stride] - peak)
                    out[r * stride] = e
                    total += e
                }
            }
            for r in 0..<length { out[r * stride] = out[r * stride] / total }
        }
    }

    /// Attention scores normalised after the product, as PyTorch's CPU `scaled_dot_product_attention`
    /// does before dividing by the totals: for each of `rows` rows of `length` scores at `x + i·rowStride`
    /// (with `scale`, each score first rounded to `x·scale`), `x = exp(x − max)` in place, `max` the row's
    /// maximum (NaN when the row holds one; which of two equal zeros is kept cannot change `exp(x − max)`),
    /// and `totals[i]` = the row's sum from 0 in index order: the bits of `Reduce .max`, `subtract`,
    /// `unary(.exp)` and `Reduce .sum` over the rows. Float32: `parity_attention_exp_rows_f32` (Parity's vector
    /// exp, the same bits on every level); Float64: libm's exp.
    public static func attentionExpRows<T: FloatElement>(_ x: UnsafeMutablePointer<T>, rows: Int, length: Int, rowStride: Int,
                                                         scale: T?, totals: UnsafeMutablePointer<T>) {
        guard rows > 0, length > 0 else { return }
        if T.self == Float.self {
            let s = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            let t = UnsafeMutableRawPointer(totals).assumingMemoryBound(to: Float.self)
            if let scale {
                var c = scale as! Float
                parity_attention_exp_rows_f32(rows, length, s, rowStride, &c, t)
            } else {
                parity_attention_exp_rows_f32(rows, length, s, rowStride, nil, t)
            }
            return
        }
        for i in 0..<rows {
            let row = x + i * rowStride
            if let scale { for j in 0..<length { row[j] = row[j] * scale } }
            var peak = row[0], nan = false
            for j in 0..<length {
                nan = nan || row[j].isNaN
                if row[j] > peak { peak = row[j] }
            }
            if nan { peak = .nan }
            for j in 0..<length { row[j] = row[j] - peak }
            UnaryFunction.exp.applyRow(row, row, count: length)
        }
        // Sixteen rows' totals side by side, each in its own order.
        for i0 in stride(from: 0, to: rows, by: 16) {
            let block = Swift.min(16, rows - i0)
            for i in 0..<block { totals[i0 + i] = 0 }
            for j in 0..<length {
                for i in 0..<block { totals[i0 + i] += x[(i0 + i) * rowStride + j] }
            }
        }
    }
}

extension Tensor {
    /// `exp(x − max) / Σ exp(x − max)` along `axis`, the max-shifted form both frameworks use; or its
    /// logarithm `x − max − log Σ exp(x − max)` when `logarithm` is set. The sum is sequential.
    public func softmax(axis: Int, logarithm: Bool = false) throws -> Tensor {
        let op = logarithm ? "logSoftmax" : "softmax"
        let axis = try Shape.axis(axis, rank: rank, op: op)
        let (length, inner) = rank == 0 ? (1, 1) : (shape[axis], Shape.count(Array(shape[(axis + 1)...])))
        let outer = rank == 0 ? 1 : Shape.count(Array(shape[..<axis]))
        func run<T: FloatElement>(_ x: [T]) -> [T] {
            var out = x
            if x.isEmpty { return out }
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    let (x0, o0) = (xp.baseAddress!, op.baseAddress!)
                    // One task per group of rows; each row's sum stays sequential inside its task.
                    parallelChunks(outer * inner, chunk: Swift.max(1, elementwiseChunk / Swift.max(length, 1))) { rows in
                        for row in rows {
                            let base = (row / inner) * length * inner + row % inner
                            SoftmaxKernel.row(x0 + base, stride: inner, length: length, into: o0 + base, logarithm: logarithm)
                        }
                    }
                }
            }
            return out
        }
        switch storage {
        case .float32(let v): return Tensor(shape: shape, storage: .float32(run(v)))
        case .float64(let v): return Tensor(shape: shape, storage: .float64(run(v)))
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }
}
