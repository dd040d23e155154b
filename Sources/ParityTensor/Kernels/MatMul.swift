/// Dense matrix multiplication: a register-tiled, cache-blocked GEMM whose rounding is fixed by a
/// ``Numerics`` value.
///
/// Within one accumulation range every output element adds its products in index order, so the
/// result depends only on `numerics` (and, for a fused bias, on starting from the bias) and never on
/// the blocking or tile sizes chosen for speed.
enum MatMulKernel {
    static let tileRows = 4
    static let tileColumns = 16
    static let depthBlock = 256
    static let columnBlock = 512

    /// `c[m×n] = start + Σₖ a[m×k]·b[k×n]`, all row-major and contiguous; `start` is `bias[n]` broadcast
    /// over rows, or zero.
    static func gemm<T: FloatElement>(
        a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
        m: Int, n: Int, k: Int, numerics: Numerics, bias: UnsafePointer<T>? = nil
    ) {
        for i in 0..<m {
            for j in 0..<n { c[i * n + j] = bias?[j] ?? 0 }
        }
        guard m > 0, n > 0, k > 0 else { return }
        accumulate(0..<k, order: numerics.accumulation, width: m * n, into: c) { range, acc in
            if numerics.fusedMultiplyAdd {
                addProducts(a: a, b: b, c: acc, m: m, n: n, lda: k, depth: range, fused: true)
            } else {
                addProducts(a: a, b: b, c: acc, m: m, n: n, lda: k, depth: range, fused: false)
            }
        }
    }

    /// Adds `Σ_{kk ∈ depth} a[:, kk]·b[kk, :]` to `c`, one term at a time in `kk` order.
    @inline(__always)
    static func addProducts<T: FloatElement>(
        a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
        m: Int, n: Int, lda: Int, depth: Range<Int>, fused: Bool
    ) {
        let nr = tileColumns
        let packed = UnsafeMutablePointer<T>.allocate(capacity: depthBlock * columnBlock)
        defer { packed.deallocate() }
        for jc in stride(from: 0, to: n, by: columnBlock) {
            let nc = min(columnBlock, n - jc)
            let strips = (nc + nr - 1) / nr
            for kc in stride(from: depth.lowerBound, to: depth.upperBound, by: depthBlock) {
                let kcLength = min(depthBlock, depth.upperBound - kc)
                // Pack b[kc..<kc+kcLength, jc..<jc+nc] into strips of 16 columns, zero-padded.
                for s in 0..<strips {
                    for kk in 0..<kcLength {
                        let row = b + (kc + kk) * n
                        let dst = packed + (s * kcLength + kk) * nr
                        for jj in 0..<nr {
                            let col = jc + s * nr + jj
                            dst[jj] = col < n ? row[col] : 0
                        }
                    }
                }
                for s in 0..<strips {
                    let j0 = jc + s * nr
                    let columns = min(nr, n - j0)
                    let panel = UnsafePointer(packed + s * kcLength * nr)
                    var i = 0
                    while i + tileRows <= m {
                        tile4(a: a + i * lda + kc, lda: lda, panel: panel, depth: kcLength,
                              c: c + i * n + j0, ldc: n, columns: columns, fused: fused)
                        i += tileRows
                    }
                    while i < m {
                        tile1(a: a + i * lda + kc, panel: panel, depth: kcLength,
                              c: c + i * n + j0, columns: columns, fused: fused)
                        i += 1
                    }
                }
            }
        }
    }

    @inline(__always)
    static func load<T: FloatElement>(_ p: UnsafePointer<T>, _ columns: Int, _ offset: Int) -> SIMD8<T> {
        if columns >= offset + 8 { return UnsafeRawPointer(p + offset).loadUnaligned(as: SIMD8<T>.self) }
        var v = SIMD8<T>(repeating: 0)
        for j in 0..<max(0, min(8, columns - offset)) { v[j] = p[offset + j] }
        return v
    }

    @inline(__always)
    static func store<T: FloatElement>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ columns: Int, _ offset: Int) {
        if columns >= offset + 8 {
            UnsafeMutableRawPointer(p + offset).storeBytes(of: v, as: SIMD8<T>.self)
            return
        }
        for j in 0..<max(0, min(8, columns - offset)) { p[offset + j] = v[j] }
    }

    @inline(__always)
    static func step<T: FloatElement>(_ acc: inout SIMD8<T>, _ a: T, _ b: SIMD8<T>, _ fused: Bool) {
        if fused { acc.addProduct(a, b) } else { acc += SIMD8(repeating: a) * b }
    }

    /// A 4×16 tile of `c` accumulated over `depth` products, eight SIMD accumulators in registers.
    @inline(__always)
    static func tile4<T: FloatElement>(
        a: UnsafePointer<T>, lda: Int, panel: UnsafePointer<T>, depth: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, columns: Int, fused: Bool
    ) {
        var c00 = load(c, columns, 0), c01 = load(c, columns, 8)
        var c10 = load(c + ldc, columns, 0), c11 = load(c + ldc, columns, 8)
        var c20 = load(c + 2 * ldc, columns, 0), c21 = load(c + 2 * ldc, columns, 8)
        var c30 = load(c + 3 * ldc, columns, 0), c31 = load(c + 3 * ldc, columns, 8)
        for kk in 0..<depth {
            let b0 = UnsafeRawPointer(panel + kk * 16).loadUnaligned(as: SIMD8<T>.self)
            let b1 = UnsafeRawPointer(panel + kk * 16 + 8).loadUnaligned(as: SIMD8<T>.self)
            let a0 = a[kk], a1 = a[lda + kk], a2 = a[2 * lda + kk], a3 = a[3 * lda + kk]
            step(&c00, a0, b0, fused); step(&c01, a0, b1, fused)
            step(&c10, a1, b0, fused); step(&c11, a1, b1, fused)
            step(&c20, a2, b0, fused); step(&c21, a2, b1, fused)
            step(&c30, a3, b0, fused); step(&c31, a3, b1, fused)
        }
        store(c00, c, columns, 0); store(c01, c, columns, 8)
        store(c10, c + ldc, columns, 0); store(c11, c + ldc, columns, 8)
        store(c20, c + 2 * ldc, columns, 0); store(c21, c + 2 * ldc, columns, 8)
        store(c30, c + 3 * ldc, columns, 0); store(c31, c + 3 * ldc, columns, 8)
    }

    /// A 1×16 tile, for the rows left over below a multiple of four.
    @inline(__always)
    static func tile1<T: FloatElement>(
        a: UnsafePointer<T>, panel: UnsafePointer<T>, depth: Int,
        c: UnsafeMutablePointer<T>, columns: Int, fused: Bool
    ) {
        var c0 = load(c, columns, 0), c1 = load(c, columns, 8)
        for kk in 0..<depth {
            let b0 = UnsafeRawPointer(panel + kk * 16).loadUnaligned(as: SIMD8<T>.self)
            let b1 = UnsafeRawPointer(panel + kk * 16 + 8).loadUnaligned(as: SIMD8<T>.self)
            step(&c0, a[kk], b0, fused); step(&c1, a[kk], b1, fused)
        }
        store(c0, c, columns, 0); store(c1, c, columns, 8)
    }
}

extension Tensor {
    /// Matrix product with `torch.matmul` / `np.matmul` semantics: both operands of rank ≥ 2 multiply
    /// their last two axes and broadcast the leading (batch) axes; a rank-1 operand is a vector
    /// (a row on the left, a column on the right) whose axis is dropped from the result.
    ///
    /// - Parameters:
    ///   - bias: optional `[n]` vector the accumulators start from (a fused bias, as a graph
    ///     compiler's GEMM epilogue or a fused linear kernel does); `nil` starts from zero.
    public func matmul(_ other: Tensor, numerics: Numerics = .matmulDefault, bias: Tensor? = nil) throws -> Tensor {
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
        func run<T: FloatElement>(_ x: [T], _ y: [T], _ bias: [T]?) -> [T] {
            var out = [T](repeating: 0, count: batchCount * m * n)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { yp in
                    out.withUnsafeMutableBufferPointer { op in
                        for index in 0..<batchCount {
                            var (offA, offB, rest) = (0, 0, index)
                            for axis in stride(from: batch.count - 1, through: 0, by: -1) {
                                let coordinate = rest % batch[axis]
                                rest /= batch[axis]
                                offA += coordinate * stridesA[axis]
                                offB += coordinate * stridesB[axis]
                            }
                            let c = op.baseAddress! + index * m * n
                            if let bias {
                                bias.withUnsafeBufferPointer { bp in
                                    MatMulKernel.gemm(a: xp.baseAddress! + offA * m * k, b: yp.baseAddress! + offB * k * n,
                                                      c: c, m: m, n: n, k: k, numerics: numerics, bias: bp.baseAddress!)
                                }
                            } else {
                                MatMulKernel.gemm(a: xp.baseAddress! + offA * m * k, b: yp.baseAddress! + offB * k * n,
                                                  c: c, m: m, n: n, k: k, numerics: numerics)
                            }
                        }
                    }
                }
            }
            return out
        }
        let storage: Storage
        switch (a.storage, b.storage) {
        case let (.float32(x), .float32(y)): storage = .float32(run(x, y, bias?.values(Float.self)))
        case let (.float64(x), .float64(y)): storage = .float64(run(x, y, bias?.values(Double.self)))
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
        if rank == 1 { outShape.remove(at: outShape.count - 2) }
        if other.rank == 1 { outShape.removeLast() }
        return Tensor(shape: outShape, storage: storage)
    }
}
