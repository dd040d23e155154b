import Testing
import ParityTensor
import CParityKernels
import Foundation
import ParityTestSupport

/// The instruction set and the thread count are speed choices only: every kernel gives the same bits
/// on every level this machine has and at any thread count.
@Suite("Kernel dispatch: instruction sets and threads")
struct KernelDispatchTests {
    static let numerics: [Numerics] = [
        .matmulDefault,
        Numerics(accumulation: .sequential, fusedMultiplyAdd: false),
        Numerics(accumulation: .blocked(size: 100), fusedMultiplyAdd: true),
        Numerics(accumulation: .pairwise(leaf: 16), fusedMultiplyAdd: false),
    ]

    /// Tile, strip and cache-block edges of every level (tiles 4×8 … 12×32, depth blocks of 256),
    /// few rows (B read in place), one column, and enough work to split across threads.
    static let shapes: [(m: Int, k: Int, n: Int)] = [(1, 1, 1), (3, 5, 7), (13, 300, 37), (5, 257, 21), (1, 70, 100),
                                                     (64, 33, 130), (130, 520, 70), (200, 64, 16)]

    /// Uniform values with zeros of both signs, subnormals, infinities and NaN sprinkled in.
    static func operand<T: FloatElement>(_ shape: [Int], _ type: T.Type, seed: UInt64, special: Bool) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var values = Tensor.uniform(shape, in: -1...1, generator: &rng).cast(to: T.dtype).values(T.self)!
        if special, values.count > 8 {
            let specials: [T] = [0, -0.0, T.leastNonzeroMagnitude, -T.leastNormalMagnitude, .infinity, -.infinity, .nan, T.greatestFiniteMagnitude]
            for (i, v) in specials.enumerated() { values[(i * 7919) % values.count] = v }
        }
        return Tensor(shape: shape, values: values)
    }

    /// The values' bits, every NaN as one canonical NaN: IEEE 754 leaves the sign and payload of a NaN
    /// from two NaN operands unspecified (x86 returns the first operand's), and an optimising C compiler
    /// may commute `a + b`, so release and debug builds of one kernel can differ there and only there.
    static func bits(_ t: Tensor) -> [UInt64] {
        switch t.storage {
        case .float32(let v): return v.map { $0.isNaN ? UInt64(Float.nan.bitPattern) : UInt64($0.bitPattern) }
        case .float64(let v): return v.map { $0.isNaN ? Double.nan.bitPattern : $0.bitPattern }
        default: return []
        }
    }

    @Test("matmul: the same bits on every instruction set", arguments: numerics)
    func matmulLevels(_ numerics: Numerics) throws {
        for (index, shape) in Self.shapes.enumerated() {
            for dtype in [DType.float32, .float64] {
                let special = index % 2 == 1
                let a = dtype == .float32 ? Self.operand([shape.m, shape.k], Float.self, seed: 1, special: special)
                                          : Self.operand([shape.m, shape.k], Double.self, seed: 1, special: special)
                let b = dtype == .float32 ? Self.operand([shape.k, shape.n], Float.self, seed: 2, special: special)
                                          : Self.operand([shape.k, shape.n], Double.self, seed: 2, special: special)
                let bias = dtype == .float32 ? Self.operand([shape.n], Float.self, seed: 3, special: false)
                                             : Self.operand([shape.n], Double.self, seed: 3, special: false)
                let reference = try InstructionSet.forcing(.portable) { try a.matmul(b, numerics: numerics, bias: bias) }
                for level in InstructionSet.available {
                    let result = try InstructionSet.forcing(level) { try a.matmul(b, numerics: numerics, bias: bias) }
                    #expect(Self.bits(result) == Self.bits(reference), "\(level) \(dtype) \(shape)")
                }
            }
        }
    }

    /// Each output's products added in `p` order to +0 (sequential numerics), the definition the GEMM
    /// without a bias computes from registers set to +0 (never reading the output).
    static func definitionProduct<T: FloatElement>(_ a: [T], _ b: [T], m: Int, k: Int, n: Int, fused: Bool) -> [T] {
        var c = [T](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc: T = 0
                for p in 0..<k { acc = fused ? acc.addingProduct(a[i * k + p], b[p * n + j]) : acc + a[i * k + p] * b[p * n + j] }
                c[i * n + j] = acc
            }
        }
        return c
    }

    @Test("matmul without a bias: each output from +0 in k order (-0 products give +0), on every level and at 1 and 3 threads")
    func matmulFromZero() throws {
        func run<T: FloatElement>(_: T.Type) throws {
            for (index, shape) in (Self.shapes + [(m: 4, k: 3, n: 40), (m: 300, k: 40, n: 90)]).enumerated() {
                for fused in [true, false] {
                    let numerics = Numerics(accumulation: .sequential, fusedMultiplyAdd: fused)
                    let a = Self.operand([shape.m, shape.k], T.self, seed: 7, special: index % 2 == 1)
                    var bValues = Self.operand([shape.k, shape.n], T.self, seed: 8, special: index % 2 == 1).values(T.self)!
                    // Row 0, column 0: every product -0 (a[0, p] times a zero of the opposite sign).
                    let aValues = a.values(T.self)!
                    for p in 0..<shape.k { bValues[p * shape.n] = (aValues[p] < 0 ? 0 : -0.0) }
                    let b = Tensor(shape: [shape.k, shape.n], values: bValues)
                    let expected = Tensor(shape: [shape.m, shape.n], values: Self.definitionProduct(aValues, bValues, m: shape.m, k: shape.k,
                                                                                                    n: shape.n, fused: fused))
                    for level in InstructionSet.available {
                        for threads in [1, 3] {
                            let result = try InstructionSet.forcing(level) { try KernelThreads.forcing(threads) { try a.matmul(b, numerics: numerics) } }
                            #expect(Self.bits(result) == Self.bits(expected), "\(level) \(threads) threads \(T.self) \(shape) fused \(fused)")
                        }
                    }
                }
            }
        }
        try run(Float.self)
        try run(Double.self)
    }

    /// Attention's products read their operands where they are: a transposed b (k of q·kᵀ, its rows
    /// padded), a strided a and c (heads inside a packed projection).
    @Test("strided products from +0: a and b in every transposition (b transposed packed by 4 × 4 blocks), c with a row stride; every level, 1 and 3 threads",
          arguments: [DType.float32, .float64])
    func stridedProductsFromZero(_ dtype: DType) throws {
        func run<T: FloatElement>(_: T.Type) throws {
            for (index, shape) in (Self.shapes + [(m: 128, k: 64, n: 128), (m: 7, k: 6, n: 35)]).enumerated() {
                let (m, k, n) = (shape.m, shape.k, shape.n)
                let a = Self.operand([m, k], T.self, seed: 21, special: index % 2 == 0).values(T.self)!
                let b = Self.operand([k, n], T.self, seed: 22, special: index % 2 == 0).values(T.self)!
                // a stored column-major or row-major with 2 spare columns; b likewise (transposed: rows of k + 3).
                let (lda, ldbT, ldc) = (k + 2, k + 3, n + 5)
                var aRowMajor = [T](repeating: .nan, count: m * lda), aColumnMajor = [T](repeating: .nan, count: k * (m + 1))
                let bRowMajor = b
                var bTransposed = [T](repeating: .nan, count: n * ldbT)
                for i in 0..<m { for p in 0..<k { aRowMajor[i * lda + p] = a[i * k + p]; aColumnMajor[p * (m + 1) + i] = a[i * k + p] } }
                for p in 0..<k { for j in 0..<n { bTransposed[j * ldbT + p] = b[p * n + j] } }
                for fused in [true, false] {
                    let expected = Self.bits(Tensor(shape: [m, n], values: Self.definitionProduct(a, b, m: m, k: k, n: n, fused: fused)))
                    for (aStore, aRows, aColumns) in [(aRowMajor, lda, 1), (aColumnMajor, 1, m + 1)] {
                        for (bStore, bRows, bColumns) in [(bRowMajor, n, 1), (bTransposed, 1, ldbT)] {
                            for level in InstructionSet.available {
                                for threads in [1, 3] {
                                    var c = [T](repeating: .nan, count: m * ldc)
                                    InstructionSet.forcing(level) { KernelThreads.forcing(threads) {
                                        aStore.withUnsafeBufferPointer { ap in bStore.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                                            MatMulKernel.setProducts(a: ap.baseAddress!, aRows: aRows, aColumns: aColumns, b: bp.baseAddress!, bRows: bRows,
                                                                     bColumns: bColumns, c: cp.baseAddress!, ldc: ldc, m: m, n: n, k: k, fused: fused)
                                        } } }
                                    } }
                                    let got = (0..<m).flatMap { i in c[(i * ldc)..<(i * ldc + n)] }
                                    #expect(Self.bits(Tensor(shape: [m, n], values: got)) == expected,
                                            "\(level) \(threads) threads \(T.self) \(shape) a \(aRows)/\(aColumns) b \(bRows)/\(bColumns) fused \(fused)")
                                    #expect((0..<m).allSatisfy { i in (n..<ldc).allSatisfy { c[i * ldc + $0].isNaN } }, "columns past n untouched")
                                }
                            }
                        }
                    }
                }
            }
        }
        if dtype == .float32 { try run(Float.self) } else { try run(Double.self) }
    }

    @Test("products against weights packed in strips: the GEMM's bits, from +0 or from c, on every level", arguments: [DType.float32, .float64])
    func stripProducts(_ dtype: DType) throws {
        func run<T: FloatElement>(_: T.Type) throws {
            let width = MatMulKernel.stripWidth(T.self)
            for (m, k, n) in [(1, 1, 1), (8, 256, 1024), (3, 70, 280), (13, 5, 24), (5, 300, 33)] {
                let a = Self.operand([m, k], T.self, seed: 9, special: true).values(T.self)!
                let b = Self.operand([k, n], T.self, seed: 10, special: true).values(T.self)!
                let start = Self.operand([m, n], T.self, seed: 11, special: false).values(T.self)!
                let strips = (n + width - 1) / width, ldc = strips * width
                var packed = [T](repeating: 0, count: strips * k * width)
                b.withUnsafeBufferPointer { bp in packed.withUnsafeMutableBufferPointer { MatMulKernel.packStrips(k: k, n: n, b: bp.baseAddress!, ldb: n, into: $0.baseAddress!) } }
                for fused in [true, false] {
                    for zero in [true, false] {
                        var expected = zero ? [T](repeating: 0, count: m * n) : start
                        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in expected.withUnsafeMutableBufferPointer { cp in
                            MatMulKernel.addProducts(a: ap.baseAddress!, aRows: k, aColumns: 1, b: bp.baseAddress!, bRows: n, bColumns: 1,
                                                     c: cp.baseAddress!, ldc: n, m: m, n: n, k: k, fused: fused)
                        } } }
                        for level in InstructionSet.available {
                            // Garbage where the start is ignored; c's padding columns are computed and dropped.
                            var c = [T](repeating: zero ? .nan : 0, count: m * ldc)
                            if !zero { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = start[i * n + j] } } }
                            InstructionSet.forcing(level) {
                                a.withUnsafeBufferPointer { ap in packed.withUnsafeBufferPointer { pp in c.withUnsafeMutableBufferPointer { cp in
                                    MatMulKernel.stripProducts(m: m, strips: strips, k: k, a: ap.baseAddress!, lda: k, packed: pp.baseAddress!,
                                                               c: cp.baseAddress!, ldc: ldc, fused: fused, zero: zero)
                                } } }
                            }
                            let got = (0..<m).flatMap { i in c[(i * ldc)..<(i * ldc + n)] }
                            #expect(Self.bits(Tensor(shape: [m, n], values: got)) == Self.bits(Tensor(shape: [m, n], values: expected)),
                                    "\(level) \(T.self) \(m)×\(k)×\(n) fused \(fused) zero \(zero)")
                        }
                    }
                }
            }
        }
        if dtype == .float32 { try run(Float.self) } else { try run(Double.self) }
    }

    @Test("matmul with a bias and ReLU in the GEMM: the bits of the bias-started product then map(.relu), every level, 1 and 3 threads")
    func matmulBiasReLU() throws {
        func run<T: FloatElement>(_: T.Type) throws {
            for (index, shape) in Self.shapes.enumerated() {
                for fused in [true, false] {
                    let numerics = Numerics(accumulation: .sequential, fusedMultiplyAdd: fused)
                    let a = Self.operand([shape.m, shape.k], T.self, seed: 12, special: index % 2 == 1)
                    let b = Self.operand([shape.k, shape.n], T.self, seed: 13, special: index % 2 == 1)
                    let bias = Self.operand([shape.n], T.self, seed: 14, special: index % 2 == 1)
                    let expected = try InstructionSet.forcing(.portable) { try a.matmul(b, numerics: numerics, bias: bias).map(.relu) }
                    for level in InstructionSet.available {
                        for threads in [1, 3] {
                            let result = try InstructionSet.forcing(level) {
                                try KernelThreads.forcing(threads) { try a.matmul(b, numerics: numerics, bias: bias, activation: .relu) }
                            }
                            #expect(Self.bits(result) == Self.bits(expected), "\(level) \(threads) threads \(T.self) \(shape) fused \(fused)")
                        }
                    }
                }
            }
        }
        try run(Float.self)
        try run(Double.self)
    }

    @Test("matmul: the same bits at 1, 2 and 3 threads")
    func matmulThreads() throws {
        let a = Self.operand([300, 200], Float.self, seed: 4, special: true)
        let b = Self.operand([200, 150], Float.self, seed: 5, special: true)
        let batched = Self.operand([6, 40, 30], Float.self, seed: 6, special: false)
        let one = try KernelThreads.forcing(1) { (try a.matmul(b), try batched.matmul(batched.permuted([0, 2, 1]))) }
        for threads in [2, 3] {
            let many = try KernelThreads.forcing(threads) { (try a.matmul(b), try batched.matmul(batched.permuted([0, 2, 1]))) }
            #expect(Self.bits(many.0) == Self.bits(one.0))
            #expect(Self.bits(many.1) == Self.bits(one.1))
        }
    }

    @Test("elementwise, broadcasting, reductions and softmax: the same bits at 1 and 3 threads")
    func elementwiseThreads() throws {
        let x = Self.operand([16, 50, 130], Float.self, seed: 7, special: true)
        let y = Self.operand([50, 1], Float.self, seed: 8, special: false)
        let z = Self.operand([16, 50, 130], Float.self, seed: 9, special: false)
        func all() throws -> [Tensor] {
            [try x.combining(z, .add), try x.combining(y, .multiply), try x.combining(y, .power), try x.map(.tanh),
             try x.map(.gelu(approximate: false)), try Tensor.multiplyAdd(x, y, z, fused: true),
             try x.reduce(.sum, axes: [1]), try x.reduce(.mean, axes: [0, 2]), try x.reduce(.max, axes: [2]),
             try z.reduce(.sum, axes: [1], numerics: Numerics(accumulation: .pairwise(leaf: 8), fusedMultiplyAdd: false)),
             try z.softmax(axis: 2), try z.softmax(axis: 1, logarithm: true), try x.permuted([2, 0, 1])]
        }
        let one = try KernelThreads.forcing(1) { try all() }
        let three = try KernelThreads.forcing(3) { try all() }
        for (a, b) in zip(one, three) { #expect(Self.bits(a) == Self.bits(b)) }
    }

    @Test("multiply-add (the C FMA row), ReLU, clip and padding: the per-element formulas on every level", arguments: [DType.float32, .float64])
    func elementwiseFastPaths(_ dtype: DType) throws {
        func run<T: FloatElement>(_: T.Type) throws {
            let x = Self.operand([4, 6, 5, 7], T.self, seed: 11, special: true)
            let y = Self.operand([7], T.self, seed: 12, special: false), z = Self.operand([6, 1, 7], T.self, seed: 13, special: true)
            let (xs, ys, zs) = (x.values(T.self)!, y.values(T.self)!, z.values(T.self)!)
            // Broadcast by hand: y along the last axis, z over axes 0 and 2.
            let fused = (0..<xs.count).map { i -> T in
                let (c, h) = (i % 7, (i / 35) % 6)
                return zs[h * 7 + c].addingProduct(xs[i], ys[c])
            }
            let plain = (0..<xs.count).map { i -> T in xs[i] * ys[i % 7] + zs[((i / 35) % 6) * 7 + i % 7] }
            let relu = xs.map { UnaryFunction.relu.apply($0) }, clip = xs.map { UnaryFunction.clip(lower: 0, upper: 0.5).apply($0) }
            // A per-channel scale and shift (batch norm in NCHW): rows with both constant.
            let scale = Self.operand([6, 1, 1], T.self, seed: 14, special: false), shift = Self.operand([6, 1, 1], T.self, seed: 15, special: true)
            let (ss, ts) = (scale.values(T.self)!, shift.values(T.self)!)
            let affine = (0..<xs.count).map { i -> T in ts[(i / 35) % 6].addingProduct(xs[i], ss[(i / 35) % 6]) }
            for level in InstructionSet.available {
                let results = try InstructionSet.forcing(level) { () throws -> [Tensor] in
                    [try Tensor.multiplyAdd(x, y, z, fused: true), try Tensor.multiplyAdd(x, y, z, fused: false),
                     try x.map(.relu), try x.map(.clip(lower: 0, upper: 0.5)), try Tensor.multiplyAdd(x, scale, shift, fused: true)]
                }
                for (result, expected) in zip(results, [fused, plain, relu, clip, affine]) {
                    #expect(Self.bits(result) == Self.bits(Tensor(shape: x.shape, values: expected)), "\(level)")
                }
            }
            // Padding as runs (trailing axes unpadded, or the last one padded) against the element rule.
            for (before, after) in [([0, 1, 2, 0], [1, 0, 1, 0]), ([1, 0, 0, 2], [0, 2, 1, 1]), ([0, 0, 0, 0], [0, 0, 0, 0])] {
                let padded = try x.padded(before: before, after: after, value: -3)
                let shape = (0..<4).map { x.shape[$0] + before[$0] + after[$0] }
                let expected = (0..<Shape.count(shape)).map { i -> T in
                    var rest = i, offset = 0, inside = true
                    for axis in (0..<4).reversed() {
                        let source = rest % shape[axis] - before[axis]
                        rest /= shape[axis]
                        if source < 0 || source >= x.shape[axis] { inside = false }
                        offset += source * Shape.strides(x.shape)[axis]
                    }
                    return inside ? xs[offset] : -3
                }
                #expect(padded.shape == shape)
                #expect(Self.bits(padded) == Self.bits(Tensor(shape: shape, values: expected)), "\(before) \(after)")
            }
        }
        if dtype == .float32 { try run(Float.self) } else { try run(Double.self) }
    }

    @Test("add, subtract, multiply, divide (the C rows): the per-element formula on every level, for every broadcast pattern", arguments: [DType.float32, .float64])
    func binaryRows(_ dtype: DType) throws {
        func run<T: FloatElement>(_: T.Type) throws {
            let x = Self.operand([3, 5, 37], T.self, seed: 16, special: true)
            // Same shape, a row (stride 1, 0 along the last axis), a column (0, 1), a scalar (0, 0), and
            // broadcasting on both sides.
            let others = [Self.operand([3, 5, 37], T.self, seed: 17, special: true), Self.operand([37], T.self, seed: 18, special: true),
                          Self.operand([5, 1], T.self, seed: 19, special: true), Self.operand([1], T.self, seed: 20, special: false),
                          Self.operand([3, 1, 1], T.self, seed: 21, special: false)]
            for other in others {
                let shape = try Shape.broadcast(x.shape, other.shape, op: "test")
                let (xs, os) = (x.values(T.self)!, other.values(T.self)!)
                let (xStrides, oStrides) = (Shape.broadcastStrides(x.shape, to: shape), Shape.broadcastStrides(other.shape, to: shape))
                func element(_ values: [T], _ strides: [Int], _ i: Int) -> T {
                    var rest = i, offset = 0
                    for axis in (0..<shape.count).reversed() {
                        offset += rest % shape[axis] * strides[axis]
                        rest /= shape[axis]
                    }
                    return values[offset]
                }
                for function in [BinaryFunction.add, .subtract, .multiply, .divide] {
                    let expected = (0..<Shape.count(shape)).map { function.apply(element(xs, xStrides, $0), element(os, oStrides, $0)) }
                    let swapped = (0..<Shape.count(shape)).map { function.apply(element(os, oStrides, $0), element(xs, xStrides, $0)) }
                    for level in InstructionSet.available {
                        let (forward, backward) = try InstructionSet.forcing(level) { (try x.combining(other, function), try other.combining(x, function)) }
                        #expect(Self.bits(forward) == Self.bits(Tensor(shape: shape, values: expected)), "\(level) \(function) \(other.shape)")
                        #expect(Self.bits(backward) == Self.bits(Tensor(shape: shape, values: swapped)), "\(level) \(function) \(other.shape)")
                    }
                }
            }
        }
        if dtype == .float32 { try run(Float.self) } else { try run(Double.self) }
    }

    @Test("convolution (im2col packed into the GEMM): the definition's sum order on every level and at 1 and 3 threads")
    func convolutionLevels() throws {
        // (batch, size, channels, out channels, kernel, stride, pad, dilation, groups): tile edges
        // (rows not a multiple of 4 or 12), channel runs not a multiple of 4, depth over one 256 block;
        // few rows and many columns (tasks split the columns and share the im2col packed once), alone
        // and with the rows split too.
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [(2, 7, 6, 10, 3, 1, 1, 1, 1), (1, 9, 33, 9, 3, 2, 1, 1, 1),
                                                                      (2, 6, 5, 7, 3, 1, 0, 2, 1), (1, 6, 12, 6, 3, 1, 1, 1, 3),
                                                                      (2, 3, 40, 100, 3, 1, 1, 1, 1), (2, 8, 20, 130, 3, 1, 1, 1, 1)]
        for (n, size, cIn, cOut, k, stride, pad, dilation, groups) in cases {
            let out = (size + 2 * pad - dilation * (k - 1) - 1) / stride + 1
            let geometry = ConvolutionShape(input: [size, size], output: [out, out], kernel: [k, k], strides: [stride, stride],
                                            dilations: [dilation, dilation], padBefore: [pad, pad])
            let x = Self.operand([n, size, size, cIn], Float.self, seed: 30, special: false)
            let w = Self.operand([k, k, cIn / groups, cOut], Float.self, seed: 31, special: false)
            let (xs, ws) = (x.values(Float.self)!, w.values(Float.self)!)
            let (perGroup, outPerGroup, window) = (cIn / groups, cOut / groups, k * k)
            for channelsThenWindow in [false, true] {
                for fused in [true, false] {
                    var expected = [Float](repeating: 0, count: n * out * out * cOut)
                    for b in 0..<n { for oy in 0..<out { for ox in 0..<out { for o in 0..<cOut {
                        var sum: Float = 0
                        for term in 0..<(window * perGroup) {
                            let (cell, c) = channelsThenWindow ? (term % window, term / window) : (term / perGroup, term % perGroup)
                            let (iy, ix) = (oy * stride + (cell / k) * dilation - pad, ox * stride + (cell % k) * dilation - pad)
                            let inside = iy >= 0 && iy < size && ix >= 0 && ix < size
                            let xv = inside ? xs[((b * size + iy) * size + ix) * cIn + (o / outPerGroup) * perGroup + c] : 0
                            let wv = ws[(cell * perGroup + c) * cOut + o]
                            sum = fused ? sum.addingProduct(xv, wv) : sum + xv * wv
                        }
                        expected[((b * out + oy) * out + ox) * cOut + o] = sum
                    } } } }
                    let reference = Self.bits(Tensor(shape: [n, out, out, cOut], values: expected))
                    // The kernel packed per call, and kept packed (each level's pack made on its first
                    // call, then read by the later calls at every thread count).
                    let kept = KeptConvolutionKernel(w)
                    for level in InstructionSet.available {
                        for threads in [1, 3] {
                            for pack in [nil, kept, kept] {
                                let y = try KernelThreads.forcing(threads) {
                                    try InstructionSet.forcing(level) {
                                        try x.convolved(with: w, shape: geometry, groups: groups, channelsThenWindow: channelsThenWindow, fused: fused, kept: pack)
                                    }
                                }
                                #expect(Self.bits(y) == reference, "\(level) \(threads) threads, \(n) \(size) \(cIn) \(cOut) \(k) order \(channelsThenWindow) fused \(fused) kept \(pack != nil)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("convolution epilogue (per-channel multiply-add or add, residual, ReLU/clip): the separate ops' bits on every level and at 1 and 3 threads",
          arguments: [DType.float32, .float64])
    func convolutionEpilogue(_ dtype: DType) throws {
        // (batch, size, channels, out channels, kernel, stride, pad, groups): 3×3 through the GEMM
        // (tile edges, two depth blocks), a 1×1 plain GEMM, a depthwise, a grouped one.
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [(2, 7, 6, 37, 3, 1, 1, 1), (1, 9, 40, 9, 3, 2, 1, 1),
                                                                 (2, 5, 13, 48, 1, 1, 0, 1), (2, 6, 70, 70, 3, 2, 1, 70),
                                                                 (1, 6, 12, 6, 3, 1, 1, 3)]
        func operand(_ shape: [Int], seed: UInt64, special: Bool) -> Tensor {
            dtype == .float32 ? Self.operand(shape, Float.self, seed: seed, special: special) : Self.operand(shape, Double.self, seed: seed, special: special)
        }
        for (n, size, cIn, cOut, k, stride, pad, groups) in cases {
            let out = (size + 2 * pad - k) / stride + 1
            let geometry = ConvolutionShape(input: [size, size], output: [out, out], kernel: [k, k], strides: [stride, stride],
                                            dilations: [1, 1], padBefore: [pad, pad])
            let x = operand([n, size, size, cIn], seed: 40, special: true)
            let w = operand([k, k, cIn / groups, cOut], seed: 41, special: false)
            // Scales around ±4 so that the clip's bounds and ReLU's zero are crossed both ways.
            let scale = try operand([1, 1, 1, cOut], seed: 42, special: false).combining(Tensor(repeating: 4, shape: [], dtype: dtype), .multiply)
            let shift = operand([cOut], seed: 43, special: false)
            let residual = operand([n, out, out, cOut], seed: 44, special: true)
            let epilogues: [ConvolutionEpilogue] = [
                ConvolutionEpilogue(scale: scale, shift: shift, fusedScale: true, activation: .relu),
                ConvolutionEpilogue(scale: scale, shift: shift, fusedScale: false, residual: residual, activation: .clip(lower: 0, upper: 6)),
                ConvolutionEpilogue(shift: shift, residual: residual),
                ConvolutionEpilogue(scale: scale, shift: shift, fusedScale: true, residual: residual, activation: .relu),
                ConvolutionEpilogue(activation: .clip(lower: -0.5, upper: 0.25)),
            ]
            for fused in [true, false] {
                let y = try x.convolved(with: w, shape: geometry, groups: groups, channelsThenWindow: true, fused: fused)
                for epilogue in epilogues {
                    // The separate ops: multiply-add (or add), add, the activation's map.
                    var expected = y
                    if let s = epilogue.shift {
                        expected = try epilogue.scale.map { try Tensor.multiplyAdd(expected, $0, s, fused: epilogue.fusedScale) } ?? expected.combining(s, .add)
                    }
                    if let r = epilogue.residual { expected = try expected.combining(r, .add) }
                    if let f = epilogue.activation { expected = try expected.map(f) }
                    let reference = Self.bits(expected)
                    let kept = KeptConvolutionKernel(w)
                    for level in InstructionSet.available {
                        for threads in [1, 3] {
                            for pack in [nil, kept, kept] {
                                let result = try KernelThreads.forcing(threads) {
                                    try InstructionSet.forcing(level) {
                                        try x.convolved(with: w, shape: geometry, groups: groups, channelsThenWindow: true, fused: fused, epilogue: epilogue, kept: pack)
                                    }
                                }
                                #expect(Self.bits(result) == reference, "\(dtype) \(level) \(threads) threads, case \(n) \(size) \(cIn) \(cOut) \(k) groups \(groups), fused \(fused), \(epilogue.activation.map { "\($0)" } ?? "-") residual \(epilogue.residual != nil) kept \(pack != nil)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("a kept kernel pack serves only its own kernel: a changed kernel, another geometry or term order is packed per call",
          arguments: [DType.float32, .float64])
    func keptKernelIsNeverStale(_ dtype: DType) throws {
        func operand(_ shape: [Int], seed: UInt64) -> Tensor {
            dtype == .float32 ? Self.operand(shape, Float.self, seed: seed, special: false) : Self.operand(shape, Double.self, seed: seed, special: false)
        }
        let geometry = ConvolutionShape(input: [6, 6], output: [6, 6], kernel: [3, 3], strides: [1, 1], dilations: [1, 1], padBefore: [1, 1])
        let x = operand([2, 6, 6, 12], seed: 50)
        let w = operand([3, 3, 12, 40], seed: 51)
        let kept = KeptConvolutionKernel(w)
        let x24 = operand([1, 6, 6, 24], seed: 52)
        func conv(_ kernel: Tensor, groups: Int = 1, order: Bool = true, kept: KeptConvolutionKernel?) throws -> [UInt64] {
            try Self.bits((groups == 1 ? x : x24).convolved(with: kernel, shape: geometry, groups: groups, channelsThenWindow: order, fused: true, kept: kept))
        }
        for level in InstructionSet.available {
            try InstructionSet.forcing(level) {
                #expect(try conv(w, kept: kept) == conv(w, kept: nil), "\(level)")
                // One weight changed after the pack was made (as a training step changes weights): a new
                // storage, so the pack is not read; the result is the changed kernel's.
                var values = w.cast(to: .float64).values(Double.self)!
                values[7] += 0.5
                let changed = Tensor(shape: w.shape, values: values).cast(to: dtype)
                #expect(kept.holds(w) && !kept.holds(changed))
                let fresh = try conv(changed, kept: nil)
                #expect(try conv(changed, kept: kept) == fresh, "\(level)")
                #expect(fresh != (try conv(w, kept: nil)))
                // Equal values in another storage: not the kept tensor either (same bits anyway).
                let copy = Tensor(shape: w.shape, values: w.cast(to: .float64).values(Double.self)!.map { $0 }).cast(to: dtype)
                #expect(!kept.holds(copy))
                // The pack's own tensor in another geometry (2 groups of 12 channels, 20 outputs each)
                // or the other term order: packed per call, the definition's bits.
                #expect(try conv(w, groups: 2, kept: kept) == conv(w, groups: 2, kept: nil), "\(level)")
                #expect(try conv(w, order: false, kept: kept) == conv(w, order: false, kept: nil), "\(level)")
                #expect(try conv(w, kept: kept) == conv(w, kept: nil), "\(level)")
            }
        }
    }

    @Test("window maximum (max pooling in place): reduce(.max) of the gathered patches bit for bit, NaN, signed zeros and padding included, on every level at 1 and 3 threads",
          arguments: [DType.float32, .float64])
    func windowMaximum(_ dtype: DType) throws {
        // 3×3 windows, stride 2, one cell of padding on a [2, 3, 9, 9] input, over the last two axes
        // (PyTorch's NCHW layout: window last) and, transposed, over [9, 9, 3] (channels-last: window
        // between the positions and the channels), with the per-channel map and with the grouped one
        // (one index per cell); ties of −0 and +0 in every window.
        var values: [Double] = (0..<(2 * 3 * 81)).map { (i: Int) -> Double in Double((i * 7919) % 13) - 6 }
        for i in stride(from: 0, to: values.count, by: 10) { values[i] = -0.0 }
        for i in stride(from: 5, to: values.count, by: 10) { values[i] = 0.0 }
        let specials: [(Int, Double)] = [(17, .nan), (100, .infinity), (101, -.infinity), (300, -Double.nan), (301, .nan)]
        for (i, v) in specials { values[i] = v }
        let x = Tensor(shape: [2, 3, 9, 9], values: values).cast(to: dtype)
        let out = 5
        var indices: [Int] = []
        for oy in 0..<out { for ox in 0..<out { for ky in 0..<3 { for kx in 0..<3 {
            let (iy, ix) = (oy * 2 + ky - 1, ox * 2 + kx - 1)
            indices.append(iy >= 0 && iy < 9 && ix >= 0 && ix < 9 ? iy * 9 + ix : -1)
        } } } }
        let lastAxis = (x: x, indices: indices, patch: [out, out, 9], axis: 2, batch: 2, grouped: false)
        let channelsLast = try x.permuted([0, 2, 3, 1]).reshaped([2, 9, 9, 3])
        let perChannel = indices.flatMap { i in (0..<3).map { c in i < 0 ? -1 : i * 3 + c } }
        #expect(Tensor.groupedWindowIndices(indices, inner: 3) == perChannel)
        let middleAxis = (x: channelsLast, indices: perChannel, patch: [out, out, 9, 3], axis: 2, batch: 1, grouped: false)
        let grouped = (x: channelsLast, indices: indices, patch: [out, out, 9, 3], axis: 2, batch: 1, grouped: true)
        // The channels-last pool is the NCHW pool's values, permuted.
        let pooledLast = try channelsLast.windowMaximum(indices, patchShape: [out, out, 9, 3], windowAxis: 2, batchRank: 1, grouped: true).permuted([0, 3, 1, 2])
        let pooled = try x.windowMaximum(indices, patchShape: [out, out, 9], windowAxis: 2, batchRank: 2)
        #expect(pooledLast.shape == pooled.shape && Self.bits(pooledLast) == Self.bits(pooled))
        #expect(throws: TensorError.self) { try channelsLast.windowMaximum(perChannel, patchShape: [out, out, 9, 3], windowAxis: 2, batchRank: 1, grouped: true) }
        for c in [lastAxis, middleAxis, grouped] {
            let map = c.grouped ? perChannel : c.indices
            let patches = try c.x.remapped(map, innerShape: c.patch, batchRank: c.batch, fill: -Double.infinity)
            let expected = try patches.reduce(ReductionKind.max, axes: [c.batch + c.axis])
            let exact: [UInt64]
            switch expected.storage {
            case .float32(let v): exact = v.map { UInt64($0.bitPattern) }
            case .float64(let v): exact = v.map(\.bitPattern)
            default: exact = []
            }
            for level in InstructionSet.available {
                for threads in [1, 3] {
                    let result = try InstructionSet.forcing(level) {
                        try KernelThreads.forcing(threads) {
                            try c.x.windowMaximum(c.indices, patchShape: c.patch, windowAxis: c.axis, batchRank: c.batch, grouped: c.grouped)
                        }
                    }
                    #expect(result.shape == expected.shape)
                    let context = "\(dtype) \(level) \(threads) threads \(c.patch) grouped \(c.grouped)"
                    switch result.storage {
                    case .float32(let v): #expect(v.map { UInt64($0.bitPattern) } == exact, "\(context)")
                    case .float64(let v): #expect(v.map(\.bitPattern) == exact, "\(context)")
                    default: Issue.record("unexpected storage")
                    }
                }
            }
        }
    }

    @Test("remapped (a window gather): each batch slice read through the index map, fill where negative, at 1 and 3 threads", arguments: [DType.float32, .float64])
    func remapGather(_ dtype: DType) throws {
        func run<T: FloatElement>(_: T.Type) throws {
            let x = Self.operand([3, 4, 5, 6], T.self, seed: 22, special: true)
            let xs = x.values(T.self)!
            for batchRank in [0, 1, 2] {
                let innerCount = Shape.count(Array(x.shape[batchRank...])), outer = xs.count / innerCount
                var rng = SeededGenerator(seed: UInt64(23 + batchRank))
                // Sizes past one parallel chunk of slices when the batch is 12.
                let indices = (0..<(batchRank == 2 ? 1500 : 77)).map { _ in Int.random(in: -3..<innerCount, using: &rng) }
                let expected = (0..<(outer * indices.count)).map { e -> T in
                    let (o, i) = (e / indices.count, indices[e % indices.count])
                    return i >= 0 ? xs[o * innerCount + i] : -2.5
                }
                let shape = Array(x.shape[..<batchRank]) + [indices.count]
                for threads in [1, 3] {
                    let y = try KernelThreads.forcing(threads) { try x.remapped(indices, innerShape: [indices.count], batchRank: batchRank, fill: -2.5) }
                    #expect(y.shape == shape)
                    #expect(Self.bits(y) == Self.bits(Tensor(shape: shape, values: expected)), "batch rank \(batchRank), \(threads) threads")
                }
            }
        }
        if dtype == .float32 { try run(Float.self) } else { try run(Double.self) }
    }

    /// Float32 values across every binade that matters for exp, sigmoid and tanh (|x| from 2⁻³⁰ to 128,
    /// both signs), the vector functions' branch and clamp edges, and the special values.
    static func transcendentalInputs() -> [Float] {
        var rng = SeededGenerator(seed: 21)
        var values: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                               0.55, -0.55, Float(0.55).nextDown, 88.72283, 88.72284, 89, -87.33655, -103.97, -104, -150, 9.01, -9.01]
        for _ in 0..<20_000 {
            let magnitude = Float(sign: .plus, exponent: Int.random(in: -30...6, using: &rng), significand: Float.random(in: 1..<2, using: &rng))
            values.append(Bool.random(using: &rng) ? magnitude : -magnitude)
        }
        return values
    }

    @Test("Float32 exp, sigmoid and tanh: the same bits on every level, over whole tensors, per element and per row")
    func transcendentalLevels() throws {
        let values = Self.transcendentalInputs()
        let x = Tensor(shape: [values.count], values: values)
        for function in [UnaryFunction.exp, .sigmoid, .tanh] {
            let reference = try InstructionSet.forcing(.portable) { try x.map(function) }
            for level in InstructionSet.available {
                let (whole, single) = try InstructionSet.forcing(level) { () throws -> (Tensor, [Float]) in
                    (try x.map(function), values.map { function.apply($0) })
                }
                var rows = values
                rows.withUnsafeMutableBufferPointer { p in
                    // Rows of 1…37 values: every tail length of every vector width.
                    var start = 0, length = 1
                    while start < p.count {
                        let n = min(length, p.count - start)
                        InstructionSet.forcing(level) { function.applyRow(p.baseAddress! + start, p.baseAddress! + start, count: n) }
                        start += n
                        length = length % 37 + 1
                    }
                }
                #expect(Self.bits(whole) == Self.bits(reference), "\(function) \(level)")
                #expect(Self.bits(Tensor(shape: x.shape, values: single)) == Self.bits(reference), "\(function) \(level), per element")
                #expect(Self.bits(Tensor(shape: x.shape, values: rows)) == Self.bits(reference), "\(function) \(level), rows")
            }
        }
    }

    @Test("LSTM cell in C (parity_lstm_cell_f32): the per-element formula on every level, every bias combination, units 1…37, ±∞, NaN, ±0")
    func lstmCellLevels() throws {
        var rng = SeededGenerator(seed: 21)
        let specials: [Float] = [.infinity, -.infinity, .nan, 0, -0.0, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, 88.8, -104.5, 0.55]
        func values(_ count: Int, _ seed: Int) -> [Float] {
            var v = Tensor.uniform([count], in: -4...4, generator: &rng).values(Float.self)!
            for i in stride(from: seed % 7, to: count, by: 11) { v[i] = specials[(i + seed) % specials.count] }
            return v
        }
        let (sigmoid, tanh) = (UnaryFunction.sigmoid, UnaryFunction.tanh)
        for n in 1...37 {
            let rows = 3
            // Row strides and gate strides of every array differ (padding between rows and gates).
            let (ldz, ldx, xGate, biasGate, ldc, ldh, ldo) = (4 * n + 3, 8 * n + 5, 2 * n, n + 1, n + 2, n + 1, 2 * n + 7)
            let pre = values(rows * ldz, n), x = values(rows * ldx, n + 1)
            let recurrentBias = values(4 * biasGate, n + 2), outputBias = values(4 * biasGate, n + 3), c0 = values(rows * ldc, n + 4)
            for (useRecurrent, useOutput) in [(false, false), (true, false), (false, true), (true, true)] {
                var (expectedC, expectedH) = ([Float](repeating: 0, count: rows * n), [Float](repeating: 0, count: rows * n))
                for r in 0..<rows {
                    for j in 0..<n {
                        let v = (0..<4).map { q -> Float in
                            var v = pre[r * ldz + q * n + j]
                            if useRecurrent { v = v + recurrentBias[q * biasGate + j] }
                            v = x[r * ldx + q * xGate + j] + v
                            if useOutput { v = v + outputBias[q * biasGate + j] }
                            return v
                        }
                        let kept = sigmoid.apply(v[1]) * c0[r * ldc + j], added = sigmoid.apply(v[0]) * tanh.apply(v[2])
                        let cell = kept + added
                        expectedC[r * n + j] = cell
                        expectedH[r * n + j] = sigmoid.apply(v[3]) * tanh.apply(cell)
                    }
                }
                for level in InstructionSet.available {
                    var (c, h, out) = (c0, [Float](repeating: 7, count: rows * ldh), [Float](repeating: 7, count: rows * ldo))
                    pre.withUnsafeBufferPointer { pp in x.withUnsafeBufferPointer { xp in
                    recurrentBias.withUnsafeBufferPointer { rb in outputBias.withUnsafeBufferPointer { ob in
                    c.withUnsafeMutableBufferPointer { cp in h.withUnsafeMutableBufferPointer { hp in out.withUnsafeMutableBufferPointer { op in
                        InstructionSet.forcing(level) {
                            RecurrentCellKernel.lstmStep(rows: rows, units: n, pre: pp.baseAddress!, ldz: ldz, x: xp.baseAddress!, ldx: ldx, xGate: xGate,
                                                         recurrentBias: useRecurrent ? rb.baseAddress! : nil, outputBias: useOutput ? ob.baseAddress! : nil,
                                                         biasGate: biasGate, c: cp.baseAddress!, ldc: ldc, h: hp.baseAddress!, ldh: ldh,
                                                         outH: op.baseAddress!, outC: op.baseAddress! + n, ldo: ldo)
                        }
                    }}}}}}}
                    func rowsOf(_ a: [Float], _ ld: Int, from: Int = 0) -> Tensor {
                        Tensor(shape: [rows, n], values: (0..<rows).flatMap { r in a[(r * ld + from)..<(r * ld + from + n)] })
                    }
                    let (wantC, wantH) = (Tensor(shape: [rows, n], values: expectedC), Tensor(shape: [rows, n], values: expectedH))
                    let label = "\(level), \(n) units, biases \(useRecurrent) \(useOutput)"
                    #expect(Self.bits(rowsOf(c, ldc)) == Self.bits(wantC), "c, \(label)")
                    #expect(Self.bits(rowsOf(out, ldo, from: n)) == Self.bits(wantC), "out c, \(label)")
                    #expect(Self.bits(rowsOf(h, ldh)) == Self.bits(wantH), "h, \(label)")
                    #expect(Self.bits(rowsOf(out, ldo)) == Self.bits(wantH), "out h, \(label)")
                    // Nothing written outside the rows' units.
                    #expect((0..<rows).allSatisfy { r in h[(r * ldh + n)..<min(h.count, (r + 1) * ldh)].allSatisfy { $0 == 7 } }, "h padding, \(label)")
                    #expect((0..<rows).allSatisfy { r in out[(r * ldo + 2 * n)..<((r + 1) * ldo)].allSatisfy { $0 == 7 } }, "out padding, \(label)")
                }
            }
        }
    }

    @Test("strided copies (permute, slice, broadcast) match element-by-element indexing", arguments: [DType.float32, .float64, .int64])
    func stridedCopies(_ dtype: DType) throws {
        let shape = [3, 37, 4, 21]
        let values = (0..<Shape.count(shape)).map { Double($0) }
        let x = Tensor(shape: shape, values: values).cast(to: dtype)
        let strides = Shape.strides(shape)
        func element(_ i: [Int]) -> Double { values[zip(i, strides).reduce(0) { $0 + $1.0 * $1.1 }] }
        func coordinates(_ shape: [Int]) -> [[Int]] {
            shape.reduce([[]]) { prefix, size in prefix.flatMap { p in (0..<size).map { p + [$0] } } }
        }
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [0, 3, 1, 2], [1, 0, 3, 2], [2, 1, 0, 3]] {
            let y = try x.permuted(order)
            let expected = coordinates(order.map { shape[$0] }).map { c in
                var source = [Int](repeating: 0, count: 4)
                for (axis, from) in order.enumerated() { source[from] = c[axis] }
                return element(source)
            }
            #expect(y.doubles == expected, "order \(order)")
        }
        let sliced = try x.sliced([SliceAxis(start: 1), SliceAxis(start: 30, end: 2, step: -3), .all, SliceAxis(start: 1, end: 20, step: 2)])
        let sliceExpected = coordinates(sliced.shape).map { c in element([1 + c[0], 30 - 3 * c[1], c[2], 1 + 2 * c[3]]) }
        #expect(sliced.doubles == sliceExpected)
        let column = try x.sliced([.all, .all, SliceAxis(start: 2, end: 3)])
        let broadcast = try column.broadcast(to: [2, 3, 37, 5, 21])
        #expect(broadcast.doubles == coordinates(broadcast.shape).map { c in element([c[1], c[2], 2, c[4]]) })
    }

    // MARK: The thread pool (Sources/CParityKernels/threads.c)

    /// Runs `count` items on the pool at `threads` threads; returns how often each item ran.
    static func visits(_ count: Int, threads: Int, work: Int = 0) -> [Int32] {
        var hits = [Int32](repeating: 0, count: count)
        hits.withUnsafeMutableBufferPointer { h in
            KernelThreads.forcing(threads) {
                KernelThreads.forEach(count) { i in
                    var x = Float(i)
                    for _ in 0..<work { x = x * 0.999 + 1 }
                    h[i] += x.isNaN ? 2 : 1
                }
            }
        }
        return hits
    }

    @Test("the pool runs every item exactly once: many short loops, shares of one and many units, counts past the 16-bit share limit, 1/2/3/8 threads")
    func poolHandsOutEveryItemOnce() {
        for threads in [1, 2, 3, 8] {
            for round in 0..<400 {
                let count = [2, 3, 5, 7, 8, 9, 31, 64, 100, 257][round % 10]
                #expect(Self.visits(count, threads: threads, work: round % 3 == 0 ? 200 : 0).allSatisfy { $0 == 1 })
            }
            // More than 0xffff units per share: several items per unit.
            for count in [131_071, 200_003, 600_001] {
                #expect(Self.visits(count, threads: threads).allSatisfy { $0 == 1 })
            }
        }
    }

    @Test("the pool's job numbers wrap: a share unused for 2^30 jobs (more than half the tag's range) still runs its items")
    func poolJobNumbersWrap() {
        #expect(Self.visits(9, threads: 3).allSatisfy { $0 == 1 })   // the third share tagged now
        // Jump 2^31 + 16 generations past that tag, up to the next job that retags every share (a
        // multiple of 2^28: `parity_pool_skip_jobs` stops there, so that a concurrent test's loop can
        // never run between the jump and the retag), then take that job with two-thread loops, which
        // leave the third share alone.
        let next = parity_pool_skip_jobs((1 << 30) + 8, 2)
        #expect(next % (1 << 28) == 0)
        // Without the retag the third share's tag then reads as a newer job's: its items would never run
        // and the caller would wait forever, so the loops run on a thread watched with a timeout.
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var hits: [Int32] = []
        Thread {
            for _ in 0..<20 where Self.visits(5, threads: 2).contains(where: { $0 != 1 }) { return }
            hits = Self.visits(9, threads: 3)
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 30) == .success, "a three-thread loop never ended after the job numbers wrapped")
        #expect(hits.count == 9 && hits.allSatisfy { $0 == 1 })
    }

    @Test("the pool: a loop started inside an item runs serially and completely")
    func poolNestedLoops() {
        for threads in [2, 3, 8] {
            var sums = [Int](repeating: 0, count: 48)
            sums.withUnsafeMutableBufferPointer { out in
                KernelThreads.forcing(threads) {
                    KernelThreads.forEach(48) { i in
                        var inner = [Int](repeating: 0, count: 37)
                        inner.withUnsafeMutableBufferPointer { v in KernelThreads.forEach(37) { j in v[j] = i * 100 + j } }
                        out[i] = inner.reduce(0, +)
                    }
                }
            }
            #expect(sums == (0..<48).map { i in (0..<37).reduce(0) { $0 + i * 100 + $1 } })
        }
    }

    @Test("the pool under callers from several Swift tasks at 1/2/3/8 threads: every product and reduction the 1-thread bits")
    func poolConcurrentCallers() async throws {
        let a = Self.operand([130, 520], Float.self, seed: 5, special: false)
        let b = Self.operand([520, 70], Float.self, seed: 6, special: false)
        let x = Self.operand([64, 40, 130], Float.self, seed: 7, special: false)
        func run() throws -> [[UInt64]] {
            [Self.bits(try a.matmul(b)), Self.bits(try x.softmax(axis: 2)), Self.bits(try x.reduce(.sum, axes: [1])),
             Self.bits(try x.map(.tanh))]
        }
        let reference = try KernelThreads.forcing(1) { try run() }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var same = true
                    for round in 0..<12 {
                        let threads = [1, 2, 3, 8][(task + round) % 4]
                        same = try same && KernelThreads.forcing(threads) { try run() } == reference
                    }
                    return same
                }
            }
            for try await same in group { #expect(same) }
        }
    }

    @Test("a forced instruction-set level reaches the pool's workers for the loop's items, and ends with the loop")
    func forcedLevelReachesWorkers() {
        for level in InstructionSet.available {
            for threads in [2, 3, 8] {
                for _ in 0..<20 {
                    var seen = [Int](repeating: -1, count: 64)
                    seen.withUnsafeMutableBufferPointer { s in
                        InstructionSet.forcing(level) {
                            KernelThreads.forcing(threads) {
                                KernelThreads.forEach(64) { i in
                                    var x = Float(i)
                                    for _ in 0..<2000 { x = x * 0.999 + 1 }
                                    s[i] = x.isNaN ? -2 : InstructionSet.active.rawValue
                                }
                            }
                        }
                    }
                    #expect(seen.allSatisfy { $0 == level.rawValue })
                }
                var after = [Int](repeating: -1, count: 64)
                after.withUnsafeMutableBufferPointer { s in
                    KernelThreads.forcing(threads) { KernelThreads.forEach(64) { i in s[i] = InstructionSet.active.rawValue } }
                }
                #expect(after.allSatisfy { $0 == InstructionSet.detected.rawValue })
            }
        }
    }

    @Test("the detected level is available and forcing is per thread")
    func levels() {
        #expect(InstructionSet.available.first == .portable)
        #expect(InstructionSet.available.last == InstructionSet.detected)
        InstructionSet.forcing(.portable) { #expect(InstructionSet.active == .portable) }
        #expect(InstructionSet.active == InstructionSet.detected)
        KernelThreads.forcing(3) { #expect(KernelThreads.count == 3) }
        #expect(KernelThreads.count >= 1)
    }
}
