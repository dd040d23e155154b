/// Scaled dot-product attention as one op, one head at a time: the scores of a head are computed,
/// normalised and multiplied by its values before the next head's exist, heads split across the
/// kernel threads.
///
/// Its ``definition(_:_:)`` is the ops both frameworks' formulas are made of, with the differences
/// as values: `s = q·kᵀ (·scale) (+ mask | where the mask is non-zero, else a fill) (+ causal −∞ above the diagonal)`, then
///
/// - ``Normalization/softmaxFirst``: `softmax(s)·v` (Keras's `MultiHeadAttention`, `Tensor/softmax(axis:logarithm:)`);
/// - ``Normalization/afterProduct``: `(exp(s − max s)·v) / Σ exp(s − max s)` (PyTorch's CPU
///   `scaled_dot_product_attention`, `aten/src/ATen/native/cpu/FlashAttentionKernel.cpp`).
///
/// The forward computes the same roundings in the same order (bit for bit, tested); the VJP is the
/// definition's. Inputs: `q` `[…, L, E]`, `k` `[…, S, E]`, `v` `[…, S, Ev]` (equal leading axes), then
/// the mask (broadcastable to `[…, L, S]`) when there is one. Output `[…, L, Ev]`.
public struct Attention: CompositeOp {
    /// Where the softmax's division happens (the two forms above).
    public enum Normalization: Sendable, Hashable {
        /// `softmax(s)·v`: Keras's.
        case softmaxFirst
        /// `(exp(s − max s)·v) / Σ exp(s − max s)`: PyTorch's CPU kernel.
        case afterProduct
    }

    /// How the mask input applies to the scores.
    public enum Mask: Sendable, Hashable {
        /// No mask input.
        case none
        /// Added to the scores (a float mask).
        case additive
        /// Scores kept where the mask is non-zero, `fill` elsewhere (−∞ for PyTorch's boolean mask; Keras
        /// fills with finite values); with `zeroProbabilities` the softmax's output is then set to 0 where
        /// the mask is zero (Keras's `Softmax` layer; ``Normalization/softmaxFirst`` only).
        case keep(fill: Double, zeroProbabilities: Bool)
    }

    /// Multiplies the scores (`nil`: the caller scaled `q`, or no scale).
    public var scale: Double?
    /// Where the softmax divides.
    public var normalization: Normalization
    /// How the mask applies.
    public var mask: Mask
    /// Adds −∞ to the scores of keys after the query (`is_causal`).
    public var causal: Bool
    /// How the two matrix products round.
    public var numerics: Numerics

    /// The op; the parameters are the properties of the same names.
    public init(scale: Double?, normalization: Normalization, mask: Mask = .none, causal: Bool = false,
                numerics: Numerics = .matmulDefault) {
        self.scale = scale
        self.normalization = normalization
        self.mask = mask
        self.causal = causal
        self.numerics = numerics
    }

    public var name: String { "attention" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: mask == .none ? 3 : 4)
        let dtype = try expectSameFloat(Array(inputs.prefix(3)))
        let (q, k, v) = (inputs[0].shape, inputs[1].shape, inputs[2].shape)
        let rank = q.count
        guard rank >= 2, k.count == rank, v.count == rank, q.dropLast(2) == k.dropLast(2), k.dropLast(2) == v.dropLast(2),
              q[rank - 1] == k[rank - 1], k[rank - 2] == v[rank - 2] else {
            throw TensorError.shapeMismatch(op: name, expected: "q […, L, E], k […, S, E], v […, S, Ev] with equal leading axes",
                                            received: inputs.map(\.shape))
        }
        let scores = Array(q.dropLast()) + [k[rank - 2]]
        if mask != .none { _ = try Shape.broadcast(inputs[3].shape, scores, op: name) }
        if case .keep(_, true) = mask, normalization != .softmaxFirst {
            throw TensorError.invalidArgument(op: name, message: "zeroing masked probabilities needs the softmax first; normalization is \(normalization)")
        }
        return TensorType(dtype, Array(q.dropLast()) + [v[rank - 1]])
    }

    public func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value {
        let (q, k, v) = (inputs[0], inputs[1], inputs[2])
        var logits = try b.matmul(q, b.transposeMatrix(k), numerics: numerics)
        if let scale { logits = try b.multiply(logits, b.scalar(scale, like: q)) }
        let dtype = b.type(of: q).dtype
        switch mask {
        case .none: break
        case .additive: logits = try b.add(logits, inputs[3])
        case .keep(let fill, _):
            logits = try b.apply(Select(), [b.cast(inputs[3], to: dtype), logits, b.scalar(fill, like: q)])
        }
        if causal {
            let (l, s) = (b.shape(of: q).dropLast().last!, b.shape(of: k).dropLast().last!)
            let above = (0..<l).flatMap { i in (0..<s).map { j in j > i ? -Double.infinity : 0 } }
            logits = try b.add(logits, b.constant(Tensor(shape: [l, s], values: above).cast(to: dtype)))
        }
        switch normalization {
        case .softmaxFirst:
            var probabilities = try b.softmax(logits, axis: -1)
            if case .keep(_, true) = mask {
                probabilities = try b.apply(Select(), [b.cast(inputs[3], to: dtype), probabilities, b.scalar(0, like: q)])
            }
            return try b.matmul(probabilities, v, numerics: numerics)
        case .afterProduct:
            let shifted = try b.subtract(logits, b.reduce(.max, logits, axes: [-1], keepDims: true))
            let weights = try b.unary(.exp, shifted)
            let total = try b.reduce(.sum, weights, axes: [-1], keepDims: true)
            return try b.divide(b.matmul(weights, v, numerics: numerics), total)
        }
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let (q, k, v) = (inputs[0], inputs[1], inputs[2])
        let rank = q.rank
        let (l, e, s, ev) = (q.shape[rank - 2], q.shape[rank - 1], k.shape[rank - 2], v.shape[rank - 1])
        let leading = Array(q.shape.dropLast(2))
        guard l > 0, s > 0, e > 0, case .sequential = numerics.accumulation else {
            let eager = EagerContext()
            return try definition(eager, inputs.map(eager.constant)).tensor
        }
        let heads = Shape.count(leading)
        let maskValues = mask == .none ? [] : inputs[3].doubles
        let maskStrides = mask == .none ? [] : Shape.broadcastStrides(inputs[3].shape, to: leading + [l, s])
        func run<T: FloatElement>(_ type: T.Type) -> [T] {
            let (qs, ks, vs) = (q.values(T.self)!, k.values(T.self)!, v.values(T.self)!)
            let maskT = mask == .additive ? maskValues.map { T($0) } : []
            var (fill, zeroMasked): (T, Bool) = (0, false)
            if case .keep(let f, let z) = mask { (fill, zeroMasked) = (T(f), z) }
            let scaleT = scale.map { T($0) }
            // Every element is written by its head's product.
            var out = [T](unsafeUninitializedCapacity: heads * l * ev) { _, initialized in initialized = heads * l * ev }
            let plain = mask == .none && !causal
            qs.withUnsafeBufferPointer { qp in
                ks.withUnsafeBufferPointer { kp in
                    vs.withUnsafeBufferPointer { vp in
                        out.withUnsafeMutableBufferPointer { op in
                            let (q0, k0, v0, o0) = (qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, op.baseAddress!)
                            KernelThreads.forEach(heads) { head in
                                // Per head: kᵀ [e, s] (so the product reads its rows in place), the scores [l, s],
                                // and the rows' totals.
                                let scratch = UnsafeMutablePointer<T>.allocate(capacity: e * s + l * s + l + 8)
                                defer { scratch.deallocate() }
                                let (kt, sc, totals, m) = (scratch, scratch + e * s, scratch + e * s + l * s, scratch + e * s + l * s + l)
                                let kHead = k0 + head * s * e
                                for j in 0..<s { for p in 0..<e { kt[p * s + j] = kHead[j * e + p] } }
                                MatMulKernel.gemm(a: q0 + head * l * e, b: UnsafePointer(kt), c: sc, m: l, n: s, k: e, numerics: numerics)
                                // Mask offset of this head: the leading coordinates through the broadcast strides.
                                var maskBase = 0
                                if mask != .none {
                                    var rest = head
                                    for axis in stride(from: leading.count - 1, through: 0, by: -1) {
                                        maskBase += (rest % leading[axis]) * maskStrides[axis]
                                        rest /= leading[axis]
                                    }
                                }
                                for i in 0..<l {
                                    let row = sc + i * s
                                    if plain {
                                        if let scaleT { for j in 0..<s { row[j] = row[j] * scaleT } }
                                    } else {
                                        for j in 0..<s {
                                            var x = row[j]
                                            if let scaleT { x = x * scaleT }
                                            switch mask {
                                            case .none: break
                                            case .additive: x = x + maskT[maskBase + i * maskStrides[rank - 2] + j * maskStrides[rank - 1]]
                                            case .keep: if maskValues[maskBase + i * maskStrides[rank - 2] + j * maskStrides[rank - 1]] == 0 { x = fill }
                                            }
                                            if causal { x = x + (j > i ? -T.infinity : 0) }
                                            row[j] = x
                                        }
                                    }
                                    if normalization == .softmaxFirst {
                                        SoftmaxKernel.row(row, stride: 1, length: s, into: row, logarithm: false)
                                        if zeroMasked {
                                            for j in 0..<s where maskValues[maskBase + i * maskStrides[rank - 2] + j * maskStrides[rank - 1]] == 0 { row[j] = 0 }
                                        }
                                    }
                                }
                                if normalization == .afterProduct {
                                    // max with NaN propagating (Reduce .max: NaN if the row has one, else the
                                    // maximum; which of equal zeros is taken does not change exp(s − max)),
                                    // exp(s − max), each row's Σ from 0 in order (sixteen rows' sums side by side).
                                    for i in 0..<l {
                                        let row = sc + i * s
                                        // Eight running maxima (independent, so not one long dependency chain).
                                        for t in 0..<8 { m[t] = row[0] }
                                        var nan = false
                                        var j = 0
                                        while j + 8 <= s {
                                            for t in 0..<8 {
                                                let x = row[j + t]
                                                nan = nan || x.isNaN
                                                m[t] = x > m[t] ? x : m[t]
                                            }
                                            j += 8
                                        }
                                        while j < s {
                                            let x = row[j]
                                            nan = nan || x.isNaN
                                            m[0] = x > m[0] ? x : m[0]
                                            j += 1
                                        }
                                        var peak = m[0]
                                        for t in 1..<8 where m[t] > peak { peak = m[t] }
                                        if nan { peak = .nan }
                                        // The definition's `unary(.exp)` over the row (Parity's vector exp in Float32).
                                        for j in 0..<s { row[j] = row[j] - peak }
                                        UnaryFunction.exp.applyRow(row, row, count: s)
                                    }
                                    for i0 in stride(from: 0, to: l, by: 16) {
                                        let rows = Swift.min(16, l - i0)
                                        for i in 0..<rows { totals[i0 + i] = 0 }
                                        for j in 0..<s {
                                            for i in 0..<rows { totals[i0 + i] += sc[(i0 + i) * s + j] }
                                        }
                                    }
                                }
                                let outHead = o0 + head * l * ev
                                MatMulKernel.gemm(a: UnsafePointer(sc), b: v0 + head * s * ev, c: outHead, m: l, n: ev, k: s, numerics: numerics)
                                if normalization == .afterProduct {
                                    for i in 0..<l {
                                        let (row, total) = (outHead + i * ev, totals[i])
                                        for j in 0..<ev { row[j] = row[j] / total }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return out
        }
        let shape = leading + [l, ev]
        switch q.dtype {
        case .float32: return Tensor(shape: shape, values: run(Float.self))
        case .float64: return Tensor(shape: shape, values: run(Double.self))
        default: throw TensorError.unsupportedDType(op: name, dtype: q.dtype)
        }
    }
}
