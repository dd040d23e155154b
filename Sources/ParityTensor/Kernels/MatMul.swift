import CParityKernels

/// Dense matrix multiplication: a packed, cache-blocked GEMM (`Sources/CParityKernels/gemm_template.h`)
/// on the best instruction set the CPU has, whose rounding is fixed by a ``Numerics`` value.
///
/// Within one accumulation range every output element adds its products in index order, each a fused
/// multiply-add or a rounded product then a rounded sum, so the result depends only on `numerics`
/// (and, for a fused bias, on starting from the bias), never on the instruction set, the blocking,
/// the tile sizes or the thread count.
public enum MatMulKernel {
    /// `c[m×n] = start + Σₖ a[m×k]·b[k×n]`, all row-major and contiguous; `start` is `bias[n]` broadcast
    /// over rows, or zero. Writes every element of `c` (which may be uninitialised).
    /// With `relu`, each output then goes through ReLU (`v ≤ 0 ? 0 : v`, NaN kept: ``UnaryFunction/relu``'s
    /// bits) while its tile is in registers, when the kernel can (``appliesReLU(bias:k:numerics:)``).
    /// With `kept` (a weight matrix `b` kept packed: ``KeptWeightMatrix``; the caller checks it holds `b`),
    /// the bias-start GEMM reads `b`'s pack instead of packing it (the same bits).
    public static func gemm<T: FloatElement>(
        a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
        m: Int, n: Int, k: Int, numerics: Numerics, bias: UnsafePointer<T>? = nil, relu: Bool = false, kept: KeptWeightMatrix? = nil
    ) {
        if let bias, appliesReLU(bias: true, k: k, numerics: numerics) {
            // Each tile's rows set to the bias just before its products (in cache), ReLU in the registers.
            let fused: Int32 = numerics.fusedMultiplyAdd ? 1 : 0
            var epilogue = parity_epilogue()
            epilogue.activation = PARITY_ACTIVATION_RELU
            withUnsafePointer(to: &epilogue) { e in
                let epi = relu ? e : nil
                if T.self == Float.self {
                    parity_gemm_bias_kept_f32(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), k, 1,
                                              UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), n, 1, kept?.packs,
                                              UnsafeRawPointer(bias).assumingMemoryBound(to: Float.self),
                                              UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), n, fused, epi)
                } else if T.self == Double.self {
                    parity_gemm_bias_kept_f64(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), k, 1,
                                              UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), n, 1, kept?.packs,
                                              UnsafeRawPointer(bias).assumingMemoryBound(to: Double.self),
                                              UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), n, fused, epi)
                } else {
                    gemmUnfused(a: a, b: b, c: c, m: m, n: n, k: k, numerics: numerics, bias: bias)
                }
            }
            return
        }
        gemmUnfused(a: a, b: b, c: c, m: m, n: n, k: k, numerics: numerics, bias: bias)
    }

    /// Whether ``gemm(a:b:c:m:n:k:numerics:bias:relu:)`` applies a requested ReLU itself: with a bias, a
    /// non-empty depth and sequential accumulation (the bias-start kernel); otherwise the caller maps it.
    public static func appliesReLU(bias: Bool, k: Int, numerics: Numerics) -> Bool {
        guard bias, k > 0, case .sequential = numerics.accumulation else { return false }
        return true
    }

    private static func gemmUnfused<T: FloatElement>(
        a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
        m: Int, n: Int, k: Int, numerics: Numerics, bias: UnsafePointer<T>?
    ) {
        if bias == nil, case .sequential = numerics.accumulation {
            // From +0 in the micro-kernel's registers: no pass zeroing c, no load of it.
            let fused: Int32 = numerics.fusedMultiplyAdd ? 1 : 0
            if T.self == Float.self {
                parity_gemm_set_f32(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), k, 1,
                                    UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), n, 1,
                                    UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), n, fused)
                return
            } else if T.self == Double.self {
                parity_gemm_set_f64(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), k, 1,
                                    UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), n, 1,
                                    UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), n, fused)
                return
            }
        }
        for i in 0..<m {
            for j in 0..<n { c[i &* n &+ j] = bias?[j] ?? 0 }
        }
        guard m > 0, n > 0, k > 0 else { return }
        accumulate(0..<k, order: numerics.accumulation, width: m * n, into: c) { range, acc in
            addProducts(a: a + range.lowerBound, aRows: k, aColumns: 1, b: b + range.lowerBound * n, bRows: n, bColumns: 1,
                        c: acc, ldc: n, m: m, n: n, k: range.count, fused: numerics.fusedMultiplyAdd)
        }
    }

    /// `c[i, j] = Σ_{p<k} a[i, p]·b[p, j]` from +0 (`c` need not be initialised), each output's products
    /// added in `p` order: the bits of ``addProducts(a:aRows:aColumns:b:bRows:bColumns:c:ldc:m:n:k:fused:)``
    /// on a zeroed `c`. `a[i, p]` is `a[i·aRows + p·aColumns]`, likewise `b` (so a transposed operand is
    /// read where it is); `c` rows are `ldc` apart.
    public static func setProducts<T: FloatElement>(
        a: UnsafePointer<T>, aRows: Int, aColumns: Int, b: UnsafePointer<T>, bRows: Int, bColumns: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, m: Int, n: Int, k: Int, fused: Bool
    ) {
        if T.self == Float.self {
            parity_gemm_set_f32(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), aRows, aColumns,
                                UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), bRows, bColumns,
                                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, fused ? 1 : 0)
        } else if T.self == Double.self {
            parity_gemm_set_f64(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), aRows, aColumns,
                                UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), bRows, bColumns,
                                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc, fused ? 1 : 0)
        } else {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = 0 } }
            addProducts(a: a, aRows: aRows, aColumns: aColumns, b: b, bRows: bRows, bColumns: bColumns, c: c, ldc: ldc,
                        m: m, n: n, k: k, fused: fused)
        }
    }

    /// `c[i, j] += Σ_{p<k} a[i, p]·b[p, j]`, each output's products added in `p` order (sequential
    /// accumulation, for fused kernels that call the GEMM inside their own loops); `a[i, p]` is
    /// `a[i·aRows + p·aColumns]`, likewise `b`; `c` rows are `ldc` apart.
    public static func addProducts<T: FloatElement>(
        a: UnsafePointer<T>, aRows: Int, aColumns: Int, b: UnsafePointer<T>, bRows: Int, bColumns: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, m: Int, n: Int, k: Int, fused: Bool
    ) {
        if T.self == Float.self {
            parity_gemm_f32(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), aRows, aColumns,
                            UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), bRows, bColumns,
                            UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, fused ? 1 : 0)
        } else if T.self == Double.self {
            parity_gemm_f64(m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), aRows, aColumns,
                            UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), bRows, bColumns,
                            UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc, fused ? 1 : 0)
        } else {
            for i in 0..<m {
                for j in 0..<n {
                    var acc = c[i * ldc + j]
                    for p in 0..<k {
                        let (x, y) = (a[i * aRows + p * aColumns], b[p * bRows + j * bColumns])
                        acc = fused ? acc.addingProduct(x, y) : acc + x * y
                    }
                    c[i * ldc + j] = acc
                }
            }
        }
    }

    /// The strip width of ``packStrips(k:n:b:ldb:into:)`` for `T` (`PARITY_STRIP_*`).
    public static func stripWidth<T: FloatElement>(_ type: T.Type) -> Int {
        T.self == Float.self ? Int(PARITY_STRIP_F32) : Int(PARITY_STRIP_F64)
    }

    /// Packs `b[p, j]` = `b[p·ldb + j]` (`k` × `n`) into strips of ``stripWidth(_:)`` columns (strip `s`:
    /// rows `p < k` of columns `[s·W, (s+1)·W)`, zero past `n`), `ceil(n / W)·k·W` values at `out`: weights
    /// packed once for ``stripProducts(m:strips:k:a:lda:packed:c:ldc:fused:zero:)``.
    public static func packStrips<T: FloatElement>(k: Int, n: Int, b: UnsafePointer<T>, ldb: Int, into out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            parity_pack_strips_f32(k, n, UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb,
                                   UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
        } else {
            parity_pack_strips_f64(k, n, UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb,
                                   UnsafeMutableRawPointer(out).assumingMemoryBound(to: Double.self))
        }
    }

    /// `c[i, j] = (zero ? 0 : c[i, j]) + Σ_{p<k} a[i·lda + p]·b[p, j]` for `i < m`, `j < strips·W`, `b`
    /// packed by ``packStrips(k:n:b:ldb:into:)``, each output's products added in `p` order (sequential
    /// accumulation, fused or not): the bits of ``addProducts(a:aRows:aColumns:b:bRows:bColumns:c:ldc:m:n:k:fused:)``.
    /// On the calling thread, for a fused kernel's own parallel loop (a recurrent step).
    public static func stripProducts<T: FloatElement>(m: Int, strips: Int, k: Int, a: UnsafePointer<T>, lda: Int, packed: UnsafePointer<T>,
                                                      c: UnsafeMutablePointer<T>, ldc: Int, fused: Bool, zero: Bool) {
        if T.self == Float.self {
            parity_gemm_strips_f32(m, strips, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                                   UnsafeRawPointer(packed).assumingMemoryBound(to: Float.self),
                                   UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, fused ? 1 : 0, zero ? 1 : 0)
        } else {
            parity_gemm_strips_f64(m, strips, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                                   UnsafeRawPointer(packed).assumingMemoryBound(to: Double.self),
                                   UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc, fused ? 1 : 0, zero ? 1 : 0)
        }
    }
}

extension Tensor {
    /// Matrix product with `torch.matmul` / `np.matmul` semantics: both operands of rank ≥ 2 multiply
    /// their last two axes and broadcast the leading (batch) axes; a rank-1 operand is a vector
    /// (a row on the left, a column on the right) whose axis is dropped from the result.
    ///
    /// - Parameters:
    ///   - other: The right operand, of this tensor's dtype.
    ///   - numerics: How the dot products round: accumulation order and FMA contraction.
    ///   - bias: optional `[n]` vector the accumulators start from (a fused bias, as a graph
    ///     compiler's GEMM epilogue or a fused linear kernel does); `nil` starts from zero.
    ///   - activation: applied to the result (`nil`: none); ReLU after a bias runs inside the GEMM on each
    ///     tile while it is in registers (the same bits as ``map(_:)`` afterwards).
    ///   - kept: `other` kept packed (``KeptWeightMatrix``); read when it holds `other`
    ///     (``KeptWeightMatrix/holds(_:)``) and a bias starts the sums: the same bits, without packing `other`.
    public func matmul(_ other: Tensor, numerics: Numerics = .matmulDefault, bias: Tensor? = nil, activation: UnaryFunction? = nil,
                       kept: KeptWeightMatrix? = nil) throws -> Tensor {
        let op = "matmul"
        guard dtype == other.dtype, dtype.isFloatingPoint else {
            throw TensorError.dtypeMismatch(op: op, received: [dtype, other.dtype])
        }
        guard rank >= 1, other.rank >= 1 else {
            throw TensorError.shapeMismatch(op: op, expected: "operands of rank ≥ 1", received: [shape, other.shape])
        }
        let a = rank == 1 ? try reshaped([1] + shape) : self
        let b = other.rank == 1 ? try other.reshaped(other.shape + [1]) : other
        let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (k2, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        guard k == k2 else {
            throw TensorError.shapeMismatch(op: op, expected: "inner dimensions to agree (\(k) vs \(k2))", received: [shape, other.shape])
        }
        if let bias, bias.shape != [n] || bias.dtype != dtype {
            throw TensorError.shapeMismatch(op: op, expected: "bias of shape [\(n)] and dtype \(dtype)", received: [bias.shape])
        }
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = try Shape.broadcast(batchA, batchB, op: op)
        let batchCount = Shape.count(batch)
        let stridesA = Shape.broadcastStrides(batchA, to: batch), stridesB = Shape.broadcastStrides(batchB, to: batch)
        var outShape = batch + [m, n]
        let reluInside = activation == .relu && MatMulKernel.appliesReLU(bias: bias != nil, k: k, numerics: numerics)
        let keptWeights = kept.flatMap { batchCount == 1 && $0.holds(other) ? $0 : nil }
        func run<T: FloatElement>(_ xp: UnsafeBufferPointer<T>, _ yp: UnsafeBufferPointer<T>, _ bias: UnsafeBufferPointer<T>?) -> [T] {
            let count = batchCount * m * n
            // Every element is written by its product's gemm.
            var out = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
            out.withUnsafeMutableBufferPointer { op in
                // Many small products (attention heads): one per task, each serial inside.
                let perProduct = Double(m) * Double(n) * Double(k)
                let split = batchCount > 1 && perProduct < 4_194_304
                let (outBase, aBase, bBase, biasBase) = (op.baseAddress!, xp.baseAddress!, yp.baseAddress!, bias?.baseAddress)
                func product(_ index: Int) {
                    var (offA, offB, rest) = (0, 0, index)
                    for axis in stride(from: batch.count - 1, through: 0, by: -1) {
                        let coordinate = rest % batch[axis]
                        rest /= batch[axis]
                        offA += coordinate * stridesA[axis]
                        offB += coordinate * stridesB[axis]
                    }
                    let c = outBase + index * m * n
                    if let biasBase {
                        MatMulKernel.gemm(a: aBase + offA * m * k, b: bBase + offB * k * n,
                                          c: c, m: m, n: n, k: k, numerics: numerics, bias: biasBase, relu: reluInside,
                                          kept: keptWeights)
                    } else {
                        MatMulKernel.gemm(a: aBase + offA * m * k, b: bBase + offB * k * n,
                                          c: c, m: m, n: n, k: k, numerics: numerics)
                    }
                }
                if split {
                    parallelFor(batchCount, product)
                } else {
                    for index in 0..<batchCount { product(index) }
                }
            }
            return out
        }
        // The operands and the bias in place (a weight read from a file stays in its mapping).
        func multiplied<T: FloatElement>(_: T.Type) -> [T]? {
            Tensor.withUnsafeElements(of: a, b, as: T.self) { x, y in Tensor.withUnsafeElements(of: bias, as: T.self) { run(x, y, $0) } }
        }
        let storage: Storage
        if let values = multiplied(Float.self) {
            storage = .float32(values)
        } else if let values = multiplied(Double.self) {
            storage = .float64(values)
        } else {
            throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
        if rank == 1 { outShape.remove(at: outShape.count - 2) }
        if other.rank == 1 { outShape.removeLast() }
        let result = Tensor(shape: outShape, storage: storage)
        guard let activation, !reluInside else { return result }
        return try result.map(activation)
    }
}

/// A weight matrix (`[k, n]`, a linear layer's constant in graph mode) kept packed for the GEMM
/// (``KeptPacks``): ``Tensor/matmul(_:numerics:bias:activation:kept:)`` reads it instead of packing it.
public final class KeptWeightMatrix: KeptPacks, @unchecked Sendable {
    /// Whether `other` is the kept matrix itself, a matrix (``KeptPacks/holds(_:)``).
    override public func holds(_ other: Tensor) -> Bool { tensor.rank == 2 && super.holds(other) }
}
