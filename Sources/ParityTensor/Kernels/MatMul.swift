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
    /// Below this many rows, B is read in place instead of packed: packing costs a pass over B that
    /// a few rows cannot pay back (an RNN step, batch-1 inference).
    static let packingRows = 16

    /// `c[m×n] = start + Σₖ a[m×k]·b[k×n]`, all row-major and contiguous; `start` is `bias[n]` broadcast
    /// over rows, or zero.
    static func gemm<T: FloatElement>(
        a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
        m: Int, n: Int, k: Int, numerics: Numerics, bias: UnsafePointer<T>? = nil
    ) {
        for i in 0..<m {
            for j in 0..<n { c[i &* n &+ j] = bias?[j] ?? 0 }
        }
        guard m > 0, n > 0, k > 0 else { return }
        let packed = m >= packingRows
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: packed ? depthBlock * min(columnBlock, (n + 15) / 16 * 16) : 1)
        defer { buffer.deallocate() }
        accumulate(0..<k, order: numerics.accumulation, width: m * n, into: c) { range, acc in
            if numerics.fusedMultiplyAdd {
                addProducts(FusedContraction<T>.self, a: a, b: b, c: acc, m: m, n: n, lda: k, depth: range, pack: packed ? buffer : nil)
            } else {
                addProducts(SeparateContraction<T>.self, a: a, b: b, c: acc, m: m, n: n, lda: k, depth: range, pack: packed ? buffer : nil)
            }
        }
    }

    /// Adds `Σ_{kk ∈ depth} a[:, kk]·b[kk, :]` to `c`, one term at a time in `kk` order. With a `pack`
    /// buffer, B is copied into 16-column strips first; without, strips are read from B in place.
    @inline(__always)
    static func addProducts<T: FloatElement, C: Contraction<T>>(
        _ contraction: C.Type, a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
        m: Int, n: Int, lda: Int, depth: Range<Int>, pack: UnsafeMutablePointer<T>?
    ) {
        let nr = tileColumns
        for jc in stride(from: 0, to: n, by: columnBlock) {
            let nc = min(columnBlock, n - jc)
            let strips = (nc + nr - 1) / nr
            for kc in stride(from: depth.lowerBound, to: depth.upperBound, by: depthBlock) {
                let kcLength = min(depthBlock, depth.upperBound - kc)
                if let pack { packStrips(b: b, n: n, rows: kc..<(kc + kcLength), columns: jc..<(jc + nc), into: pack) }
                for s in 0..<strips {
                    let j0 = jc &+ s &* nr
                    let columns = min(nr, n - j0)
                    let (panel, panelStride) = pack.map { (UnsafePointer($0 + s * kcLength * nr), nr) } ?? (b + kc * n + j0, n)
                    var i = 0
                    while i + tileRows <= m {
                        tile4(C.self, a: a + i * lda + kc, lda: lda, panel: panel, stride: panelStride, depth: kcLength,
                              c: c + i * n + j0, ldc: n, columns: columns)
                        i += tileRows
                    }
                    while i < m {
                        tile1(C.self, a: a + i * lda + kc, panel: panel, stride: panelStride, depth: kcLength,
                              c: c + i * n + j0, columns: columns)
                        i += 1
                    }
                }
            }
        }
    }

    /// Copies `b[rows, columns]` into strips of 16 columns (`[strip][row][16]`), zero-padding the last.
    @inline(__always)
    static func packStrips<T: FloatElement>(b: UnsafePointer<T>, n: Int, rows: Range<Int>, columns: Range<Int>,
                                            into pack: UnsafeMutablePointer<T>) {
        let nr = tileColumns
        let strips = (columns.count + nr - 1) / nr
        for s in 0..<strips {
            let j0 = columns.lowerBound &+ s &* nr
            let width = min(nr, columns.upperBound - j0)
            var dst = pack + s * rows.count * nr
            for row in rows {
                let src = b + (row &* n &+ j0)
                if width == nr {
                    UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
                    UnsafeMutableRawPointer(dst + 8).storeBytes(of: UnsafeRawPointer(src + 8).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
                } else {
                    for jj in 0..<nr { dst[jj] = jj < width ? src[jj] : 0 }
                }
                dst += nr
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

    /// A 4×16 tile of `c` accumulated over `depth` products, eight SIMD accumulators in registers.
    /// `panel` holds B's 16 columns for each k, `stride` elements apart.
    @inline(__always)
    static func tile4<T: FloatElement, C: Contraction<T>>(
        _ contraction: C.Type, a: UnsafePointer<T>, lda: Int, panel: UnsafePointer<T>, stride: Int, depth: Int,
        c: UnsafeMutablePointer<T>, ldc: Int, columns: Int
    ) {
        var c00 = load(c, columns, 0), c01 = load(c, columns, 8)
        var c10 = load(c + ldc, columns, 0), c11 = load(c + ldc, columns, 8)
        var c20 = load(c + 2 * ldc, columns, 0), c21 = load(c + 2 * ldc, columns, 8)
        var c30 = load(c + 3 * ldc, columns, 0), c31 = load(c + 3 * ldc, columns, 8)
        var (a0, a1, a2, a3) = (a, a + lda, a + 2 * lda, a + 3 * lda)
        var p = panel
        let full = columns == tileColumns || stride == tileColumns
        for _ in 0..<depth {
            let b0 = full ? UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self) : load(p, columns, 0)
            let b1 = full ? UnsafeRawPointer(p + 8).loadUnaligned(as: SIMD8<T>.self) : load(p, columns, 8)
            C.step(&c00, a0.pointee, b0); C.step(&c01, a0.pointee, b1)
            C.step(&c10, a1.pointee, b0); C.step(&c11, a1.pointee, b1)
            C.step(&c20, a2.pointee, b0); C.step(&c21, a2.pointee, b1)
            C.step(&c30, a3.pointee, b0); C.step(&c31, a3.pointee, b1)
            a0 += 1; a1 += 1; a2 += 1; a3 += 1
            p += stride
        }
        store(c00, c, columns, 0); store(c01, c, columns, 8)
        store(c10, c + ldc, columns, 0); store(c11, c + ldc, columns, 8)
        store(c20, c + 2 * ldc, columns, 0); store(c21, c + 2 * ldc, columns, 8)
        store(c30, c + 3 * ldc, columns, 0); store(c31, c + 3 * ldc, columns, 8)
    }

    /// A 1×16 tile, for the rows left over below a multiple of four.
    @inline(__always)
    static func tile1<T: FloatElement, C: Contraction<T>>(
        _ contraction: C.Type, a: UnsafePointer<T>, panel: UnsafePointer<T>, stride: Int, depth: Int,
        c: UnsafeMutablePointer<T>, columns: Int
    ) {
        var c0 = load(c, columns, 0), c1 = load(c, columns, 8)
        var p = panel
        let full = columns == tileColumns || stride == tileColumns
        for kk in 0..<depth {
            let b0 = full ? UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self) : load(p, columns, 0)
            let b1 = full ? UnsafeRawPointer(p + 8).loadUnaligned(as: SIMD8<T>.self) : load(p, columns, 8)
            C.step(&c0, a[kk], b0); C.step(&c1, a[kk], b1)
            p += stride
        }
        store(c0, c, columns, 0); store(c1, c, columns, 8)
    }
}

/// How a kernel's inner step adds a product to an accumulator: contracted into one fused
/// multiply-add (one rounding) or multiplied then added (two roundings). A type, so each choice
/// compiles to its own loop with no test inside it.
protocol Contraction<Element> {
    associatedtype Element: FloatElement
    static func step(_ acc: inout SIMD8<Element>, _ a: Element, _ b: SIMD8<Element>)
}

enum FusedContraction<Element: FloatElement>: Contraction {
    @inline(__always)
    static func step(_ acc: inout SIMD8<Element>, _ a: Element, _ b: SIMD8<Element>) { acc.addProduct(a, b) }
}

enum SeparateContraction<Element: FloatElement>: Contraction {
    @inline(__always)
    static func step(_ acc: inout SIMD8<Element>, _ a: Element, _ b: SIMD8<Element>) { acc += SIMD8(repeating: a) * b }
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
