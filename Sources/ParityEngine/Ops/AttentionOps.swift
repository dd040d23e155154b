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
        let shapes = inputs.prefix(3).map(\.shape)
        return try forward(inputs, operands: shapes.map { OperandLayout(shape: $0) }, output: Array(shapes[0].dropLast()) + [shapes[2].last!])
    }

    /// Where an operand of the kernel is in its input's storage: element `[h…, i, j]` of the logical
    /// `shape` at `offset + Σ index·strides` (a view through reshapes, permutes and slices, read in place).
    public struct OperandLayout: Sendable, Hashable {
        /// The operand's logical shape (`[…, L, E]` for q).
        public var shape: [Int]
        /// The storage index of element `[0, …, 0]`.
        public var offset: Int
        /// One per axis of `shape`.
        public var strides: [Int]

        /// The layout; the parameters are the properties of the same names.
        public init(shape: [Int], offset: Int, strides: [Int]) {
            self.shape = shape
            self.offset = offset
            self.strides = strides
        }

        /// A contiguous row-major tensor of `shape`.
        public init(shape: [Int]) { self.init(shape: shape, offset: 0, strides: Shape.strides(shape)) }

        /// Whether `self` and `other` place every element alike: the same shape and offset, the same
        /// strides on every axis longer than 1 (a size-1 axis's stride is never stepped).
        func reads(as other: OperandLayout) -> Bool {
            shape == other.shape && offset == other.offset && strides.count == other.strides.count
                && zip(shape, zip(strides, other.strides)).allSatisfy { $0 <= 1 || $1.0 == $1.1 }
        }
    }

    /// The forward on operands read in place: q, k and v are `inputs[0...2]` seen through `operands`
    /// (the same tensor may serve several), the mask (if any) is `inputs[3]` as it is; the result is
    /// `[…, L, Ev]` written into a tensor of shape `output` whose element `[h…, i, j]` sits at
    /// `Σ index·outputStrides` (`nil`: contiguous; the last stride must be 1). Same sums, same bits as
    /// ``forward(_:)`` on the operands materialised.
    /// Throws unless `operands` and `output` describe this attention within `inputs` (see ``checkLayouts(_:operands:output:outputStrides:)``).
    public func forward(_ inputs: [Tensor], operands: [OperandLayout], output: [Int], outputStrides: [Int]? = nil) throws -> Tensor {
        try checkLayouts(inputs, operands: operands, output: output, outputStrides: outputStrides)
        let (qv, kv, vv) = (operands[0], operands[1], operands[2])
        let rank = qv.shape.count
        let (l, e, s, ev) = (qv.shape[rank - 2], qv.shape[rank - 1], kv.shape[rank - 2], vv.shape[rank - 1])
        let leading = Array(qv.shape.dropLast(2))
        let outStrides = outputStrides ?? Shape.strides(leading + [l, ev])
        guard l > 0, s > 0, e > 0, case .sequential = numerics.accumulation else {
            let eager = EagerContext()
            var materialised = try (0..<3).map { try Self.materialise(inputs[$0], operands[$0]) }
            if mask != .none { materialised.append(inputs[3]) }
            let y = try definition(eager, materialised.map(eager.constant)).tensor
            guard outputStrides != nil else { return try y.reshaped(output) }
            return try Self.scatter(y, into: output, strides: outStrides)
        }
        let heads = Shape.count(leading)
        let maskValues = mask == .none ? [] : inputs[3].doubles
        let maskStrides = mask == .none ? [] : Shape.broadcastStrides(inputs[3].shape, to: leading + [l, s])
        // Storage offset of each head's first element, per operand and for the output.
        func headOffsets(_ base: Int, _ strides: [Int]) -> [Int] {
            (0..<heads).map { Shape.offset(ofFlat: $0, in: leading, strides: strides, base: base) }
        }
        let (qHeads, kHeads, vHeads) = (headOffsets(qv.offset, qv.strides), headOffsets(kv.offset, kv.strides), headOffsets(vv.offset, vv.strides))
        let (outHeads, maskHeads) = (headOffsets(0, outStrides), mask == .none ? [] : headOffsets(0, maskStrides))
        let fused = numerics.fusedMultiplyAdd
        func run<T: FloatElement>(_ type: T.Type) -> [T] {
            let (qs, ks, vs) = (inputs[0].values(T.self)!, inputs[1].values(T.self)!, inputs[2].values(T.self)!)
            let maskT = mask == .additive ? maskValues.map { T($0) } : []
            var (fill, zeroMasked): (T, Bool) = (0, false)
            if case .keep(let f, let z) = mask { (fill, zeroMasked) = (T(f), z) }
            let scaleT = scale.map { T($0) }
            // Every element is written by its head's product.
            let count = Shape.count(output)
            var out = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
            let plain = mask == .none && !causal
            let (qi, qe) = (qv.strides[rank - 2], qv.strides[rank - 1])
            let (kj, ke) = (kv.strides[rank - 2], kv.strides[rank - 1])
            let (vj, vd) = (vv.strides[rank - 2], vv.strides[rank - 1])
            let ldo = outStrides[rank - 2]
            qs.withUnsafeBufferPointer { qp in
                ks.withUnsafeBufferPointer { kp in
                    vs.withUnsafeBufferPointer { vp in
                        out.withUnsafeMutableBufferPointer { op in
                            let (q0, k0, v0, o0) = (qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, op.baseAddress!)
                            KernelThreads.forEach(heads) { head in
                                // Per head: the scores [l, s] and the rows' totals.
                                let scratch = UnsafeMutablePointer<T>.allocate(capacity: l * s + l)
                                defer { scratch.deallocate() }
                                let (sc, totals) = (scratch, scratch + l * s)
                                // q·kᵀ with k read where it is (b[p, j] = k[j, p]).
                                MatMulKernel.setProducts(a: q0 + qHeads[head], aRows: qi, aColumns: qe, b: k0 + kHeads[head], bRows: ke, bColumns: kj,
                                                         c: sc, ldc: s, m: l, n: s, k: e, fused: fused)
                                if !plain {
                                    let maskBase = mask == .none ? 0 : maskHeads[head]
                                    for i in 0..<l {
                                        let row = sc + i * s
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
                                }
                                switch normalization {
                                case .softmaxFirst:
                                    for i in 0..<l {
                                        let row = sc + i * s
                                        if plain, let scaleT { for j in 0..<s { row[j] = row[j] * scaleT } }
                                        SoftmaxKernel.row(row, stride: 1, length: s, into: row, logarithm: false)
                                        if zeroMasked {
                                            let maskBase = maskHeads[head]
                                            for j in 0..<s where maskValues[maskBase + i * maskStrides[rank - 2] + j * maskStrides[rank - 1]] == 0 { row[j] = 0 }
                                        }
                                    }
                                case .afterProduct:
                                    // exp(s − max s) and each row's Σ from 0 in order (the scale first when plain).
                                    SoftmaxKernel.attentionExpRows(sc, rows: l, length: s, rowStride: s, scale: plain ? scaleT : nil, totals: totals)
                                }
                                let outHead = o0 + outHeads[head]
                                MatMulKernel.setProducts(a: UnsafePointer(sc), aRows: s, aColumns: 1, b: v0 + vHeads[head], bRows: vj, bColumns: vd,
                                                         c: outHead, ldc: ldo, m: l, n: ev, k: s, fused: fused)
                                if normalization == .afterProduct {
                                    for i in 0..<l {
                                        let (row, total) = (outHead + i * ldo, totals[i])
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
        switch inputs[0].dtype {
        case .float32: return Tensor(shape: output, values: run(Float.self))
        case .float64: return Tensor(shape: output, values: run(Double.self))
        default: throw TensorError.unsupportedDType(op: name, dtype: inputs[0].dtype)
        }
    }

    /// What ``forward(_:operands:output:outputStrides:)`` reads and writes through raw offsets, checked
    /// before any element is: the operands' shapes form this attention (``outputType(_:)`` with the
    /// inputs' dtypes and the mask as it is), every element each layout reaches lies inside its input,
    /// and `output` holds the result exactly once: as many elements, and `outputStrides` (one per axis)
    /// a permutation of a contiguous layout whose last axis, when longer than 1, has stride 1.
    func checkLayouts(_ inputs: [Tensor], operands: [OperandLayout], output: [Int], outputStrides: [Int]?) throws {
        guard operands.count == 3, inputs.count == (mask == .none ? 3 : 4) else {
            throw TensorError.invalidArgument(op: name, message: "takes \(mask == .none ? 3 : 4) inputs and 3 operand layouts; received \(inputs.count) and \(operands.count)")
        }
        var types = (0..<3).map { TensorType(inputs[$0].dtype, operands[$0].shape) }
        if mask != .none { types.append(TensorType(of: inputs[3])) }
        let result = try outputType(types).shape
        for (input, layout) in zip(inputs, operands) {
            guard layout.strides.count == layout.shape.count else {
                throw TensorError.invalidArgument(op: name, message: "operand layout \(layout) has \(layout.strides.count) strides for \(layout.shape.count) axes")
            }
            guard Shape.count(layout.shape) > 0 else { continue }
            var (low, high) = (layout.offset, layout.offset)
            for (size, stride) in zip(layout.shape, layout.strides) {
                let reach = (size - 1) * stride
                if reach < 0 { low += reach } else { high += reach }
            }
            guard low >= 0, high < input.count else {
                throw TensorError.invalidArgument(op: name, message: "operand layout \(layout) reaches elements \(low)...\(high) of an input of shape \(input.shape)")
            }
        }
        guard Shape.count(output) == Shape.count(result) else {
            throw TensorError.shapeMismatch(op: name, expected: "an output of \(Shape.count(result)) elements (\(result))", received: [output])
        }
        guard let outputStrides else { return }
        // Axes longer than 1 by decreasing stride must step over each other exactly, down to stride 1.
        var steps = zip(result, outputStrides).filter { $0.0 > 1 }.sorted { $0.1 > $1.1 }
        var contiguous = outputStrides.count == result.count && (result.last! <= 1 || outputStrides.last == 1)
        var inner = 1
        while contiguous, let (size, stride) = steps.popLast() {
            contiguous = stride == inner
            inner *= size
        }
        guard contiguous else {
            throw TensorError.invalidArgument(op: name, message: "output strides \(outputStrides) do not place a \(result) result once each in \(output) with unit-stride rows")
        }
    }

    /// The operand `layout` reads from `tensor`, as a contiguous tensor.
    static func materialise(_ tensor: Tensor, _ layout: OperandLayout) throws -> Tensor {
        let count = Shape.count(layout.shape)
        let index = (0..<count).map { Shape.offset(ofFlat: $0, in: layout.shape, strides: layout.strides, base: layout.offset) }
        switch tensor.storage {
        case .float32(let v): return Tensor(shape: layout.shape, values: index.map { v[$0] })
        case .float64(let v): return Tensor(shape: layout.shape, values: index.map { v[$0] })
        default: throw TensorError.unsupportedDType(op: "attention", dtype: tensor.dtype)
        }
    }

    /// `y` (contiguous) written into a tensor of shape `shape` at the storage positions `strides` give.
    static func scatter(_ y: Tensor, into shape: [Int], strides: [Int]) throws -> Tensor {
        let dims = y.shape
        func place<T: FloatElement>(_ v: [T]) -> [T] {
            var out = [T](repeating: 0, count: Shape.count(shape))
            for flat in 0..<v.count { out[Shape.offset(ofFlat: flat, in: dims, strides: strides)] = v[flat] }
            return out
        }
        switch y.storage {
        case .float32(let v): return Tensor(shape: shape, values: place(v))
        case .float64(let v): return Tensor(shape: shape, values: place(v))
        default: throw TensorError.unsupportedDType(op: "attention", dtype: y.dtype)
        }
    }
}
