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
                            let (o, j) = (row / inner, row % inner)
                            let base = o * length * inner + j
                            var peak = -T.infinity
                            for r in 0..<length { peak = Swift.max(peak, x0[base + r * inner]) }
                            if !peak.isFinite { peak = 0 }
                            var total: T = 0
                            for r in 0..<length { total += T.exp(x0[base + r * inner] - peak) }
                            let logTotal = T.log(total)
                            for r in 0..<length {
                                let shifted = x0[base + r * inner] - peak
                                o0[base + r * inner] = logarithm ? shifted - logTotal : T.exp(shifted) / total
                            }
                        }
                    }
                }
            }
            return out
        }
        switch storage {
        case .float32(let v): return Tensor(shape: shape, storage: .float32(run(v)))
        case .float64(let v): return Tensor(shape: shape, storage: .float64(run(v)))
        case .int64: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }
}
