import Foundation
import Testing
import ParityTensor
import ParityTestSupport

/// The kernels' rounding is exactly what their ``Numerics`` say, whatever the blocking: each
/// accumulation order is checked bit for bit against a plain scalar loop that adds in that order.
@Suite("Kernels")
struct KernelTests {
    /// Scalar reference: `Σₖ a[i,k]·b[k,j]` in the given order (fma or not), one element at a time.
    static func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, numerics: Numerics, bias: [Float]? = nil) -> [Float] {
        func terms(_ i: Int, _ j: Int, _ range: Range<Int>, start: Float) -> Float {
            var acc = start
            for kk in range {
                acc = numerics.fusedMultiplyAdd ? acc.addingProduct(a[i * k + kk], b[kk * n + j]) : acc + a[i * k + kk] * b[kk * n + j]
            }
            return acc
        }
        func pairwise(_ i: Int, _ j: Int, _ range: Range<Int>, leaf: Int) -> Float {
            if range.count <= leaf { return terms(i, j, range, start: 0) }
            let mid = range.lowerBound + range.count / 2
            return pairwise(i, j, range.lowerBound..<mid, leaf: leaf) + pairwise(i, j, mid..<range.upperBound, leaf: leaf)
        }
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                let start = bias?[j] ?? 0
                switch numerics.accumulation {
                case .sequential: out[i * n + j] = terms(i, j, 0..<k, start: start)
                case .blocked(let size):
                    var acc = start
                    for s in stride(from: 0, to: k, by: size) { acc += terms(i, j, s..<min(s + size, k), start: 0) }
                    out[i * n + j] = acc
                case .pairwise(let leaf):
                    out[i * n + j] = k <= leaf ? terms(i, j, 0..<k, start: start) : start + pairwise(i, j, 0..<k, leaf: leaf)
                }
            }
        }
        return out
    }

    static let orders: [Numerics] = [
        Numerics(accumulation: .sequential, fusedMultiplyAdd: true),
        Numerics(accumulation: .sequential, fusedMultiplyAdd: false),
        Numerics(accumulation: .blocked(size: 64), fusedMultiplyAdd: true),
        Numerics(accumulation: .pairwise(leaf: 8), fusedMultiplyAdd: false),
    ]

    /// 37×300 · 300×45: row and column remainders, K crossing the 256-deep cache block, B packed;
    /// 5×300 · 300×21: few rows, B read in place.
    static let shapes = [(37, 300, 45), (5, 300, 21)]

    @Test("matmul equals a scalar loop in the same order, across tile and block edges", arguments: orders, shapes)
    func matmulOrder(_ numerics: Numerics, _ shape: (Int, Int, Int)) throws {
        var rng = SeededGenerator(seed: 7)
        let (m, k, n) = shape
        let a = Tensor.uniform([m, k], generator: &rng), b = Tensor.uniform([k, n], generator: &rng)
        let bias = Tensor.uniform([n], generator: &rng)
        let expected = Self.naiveMatmul(a.values()!, b.values()!, m: m, n: n, k: k, numerics: numerics)
        #expect(try a.matmul(b, numerics: numerics).values(Float.self)! == expected)
        let fused = Self.naiveMatmul(a.values()!, b.values()!, m: m, n: n, k: k, numerics: numerics, bias: bias.values()!)
        #expect(try a.matmul(b, numerics: numerics, bias: bias).values(Float.self)! == fused)
    }

    @Test("accumulation orders give different, documented results")
    func orderMatters() throws {
        // 1 + 2⁻²⁴ + … : sequentially each tiny term is lost; pairwise sums the tiny terms first.
        let values: [Float] = [1] + Array(repeating: 0x1p-24, count: 15)
        let x = Tensor(shape: [16], values: values)
        let sequential = try x.reduce(.sum, axes: [0]).values(Float.self)![0]
        let pairwise = try x.reduce(.sum, axes: [0], numerics: Numerics(accumulation: .pairwise(leaf: 2), fusedMultiplyAdd: false)).values(Float.self)![0]
        let blocked = try x.reduce(.sum, axes: [0], numerics: Numerics(accumulation: .blocked(size: 4), fusedMultiplyAdd: false)).values(Float.self)![0]
        #expect(sequential == 1)
        #expect(pairwise == 1 + 15 * 0x1p-24 - 0x1p-24 || pairwise > 1)
        #expect(blocked > 1)
        let exact = try x.cast(to: .float64).reduce(.sum, axes: [0]).doubles[0]
        #expect(abs(Double(pairwise) - exact) < abs(Double(sequential) - exact))
    }

    @Test("pairwise sums of one row (in registers) and of many columns (through buffers) are the same tree")
    func pairwiseRowsAndColumns() throws {
        var rng = SeededGenerator(seed: 12)
        for length in [1, 2, 16, 17, 100, 257] {
            var values = Tensor.uniform([9, length], in: -1...1, generator: &rng).values(Float.self)!
            values[0] = -0.0
            if length > 1 { values[1] = 1e30; values[length - 1] = -1e30 }
            let x = Tensor(shape: [9, length], values: values)
            for leaf in [1, 3, 8, 16] {
                for kind in [ReductionKind.sum, .mean] {
                    let numerics = Numerics(accumulation: .pairwise(leaf: leaf), fusedMultiplyAdd: false)
                    let rows = try x.reduce(kind, axes: [1], numerics: numerics)
                    let columns = try x.permuted([1, 0]).reduce(kind, axes: [0], numerics: numerics)
                    #expect(rows.values(Float.self)!.map(\.bitPattern) == columns.values(Float.self)!.map(\.bitPattern), "\(length) leaf \(leaf) \(kind)")
                }
            }
        }
    }

    @Test("fused multiply-add rounds once")
    func fmaRoundsOnce() throws {
        // (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴: the last term is lost when the product is rounded first.
        let a = Tensor(shape: [1, 1], values: [Float(1) + 0x1p-12])
        let c = Tensor(shape: [1], values: [Float(-1)])
        let fused = try a.matmul(a, numerics: Numerics(accumulation: .sequential, fusedMultiplyAdd: true), bias: c)
        let unfused = try a.matmul(a, numerics: Numerics(accumulation: .sequential, fusedMultiplyAdd: false), bias: c)
        #expect(fused.values(Float.self)! == [0x1p-11 + 0x1p-24])
        #expect(unfused.values(Float.self)! == [0x1p-11])
        let elementwise = try Tensor.multiplyAdd(a, a, c, fused: true)
        #expect(elementwise.values(Float.self)! == [0x1p-11 + 0x1p-24])
        #expect(try Tensor.multiplyAdd(a, a, c, fused: false).values(Float.self)! == [0x1p-11])
    }

    @Test("select (torch.where) broadcasts its three operands row by row, as multiplyAdd does")
    func selectBroadcasts() throws {
        // condition [2, 1, 3], a [3], b [2, 4, 1] → [2, 4, 3].
        let condition = Tensor(shape: [2, 1, 3], values: [1, 0, 1, 0, 0, 1] as [Double])
        let a = Tensor(shape: [3], values: [10, 20, 30] as [Double]), b = Tensor(shape: [2, 4, 1], values: (0..<8).map(Double.init))
        var expected: [Double] = []
        for i in 0..<2 { for j in 0..<4 { for k in 0..<3 { expected.append(condition.doubles[i * 3 + k] != 0 ? a.doubles[k] : b.doubles[i * 4 + j]) } } }
        let y = try Tensor.select(condition, a, b)
        #expect(y.shape == [2, 4, 3] && y.doubles == expected, "\(y.doubles)")
        #expect(try Tensor.select(condition.cast(to: .float32), a.cast(to: .float32), b.cast(to: .float32)).doubles == expected)
    }

    @Test("batched matmul broadcasts batch axes and handles vectors like torch.matmul")
    func batchedMatmul() throws {
        let a = Tensor(shape: [2, 1, 2, 3], values: (0..<12).map(Double.init))
        let b = Tensor(shape: [3, 3, 1], values: (0..<9).map(Double.init))
        let y = try a.matmul(b)
        #expect(y.shape == [2, 3, 2, 1])
        // batch (1, 2): a[1] rows [6,7,8],[9,10,11] · b[2] = [6,7,8]ᵀ
        let last: [Double] = [149, 212]
        #expect(Array(y.doubles[10..<12]) == last)
        let v = Tensor(shape: [3], values: [1.0, 2, 3])
        #expect(try v.matmul(Tensor(shape: [3, 2], values: [1.0, 0, 0, 1, 1, 1])).doubles == [4, 5])
        #expect(try Tensor(shape: [2, 3], values: [1.0, 2, 3, 4, 5, 6]).matmul(v).doubles == [14, 32])
    }

    @Test("reductions over non-adjacent axes and keepDims")
    func reductions() throws {
        let x = Tensor(shape: [2, 3, 2], values: (1...12).map(Double.init))
        let expected: [Double] = [18, 26, 34]
        #expect(try x.reduce(.sum, axes: [0, 2]).doubles == expected)
        #expect(try x.reduce(.max, axes: [1], keepDims: true).shape == [2, 1, 2])
        #expect(try x.reduce(.mean, axes: []).doubles == [6.5])
        #expect(try x.reduce(.min, axes: [-1]).doubles == [1, 3, 5, 7, 9, 11])
        let nan = Tensor(shape: [3], values: [1.0, .nan, 2])
        #expect(try nan.reduce(.max, axes: [0]).doubles[0].isNaN)
    }

    @Test("layout kernels")
    func layout() throws {
        let x = Tensor(shape: [2, 3], values: (0..<6).map(Double.init))
        #expect(try x.permuted([1, 0]).doubles == [0, 3, 1, 4, 2, 5])
        #expect(try x.sliced([.all, SliceAxis(start: nil, end: nil, step: -2)]).doubles == [2, 0, 5, 3])
        #expect(try x.padded(before: [0, 1], after: [1, 0], value: -1).doubles == [-1, 0, 1, 2, -1, 3, 4, 5, -1, -1, -1, -1])
        #expect(try Tensor.concatenate([x, x], axis: 1).shape == [2, 6])
        #expect(try x.split(sizes: [1, 2], axis: 1).map(\.shape) == [[2, 1], [2, 2]])
        let idx = Tensor(shape: [2], int64: [2, 0])
        #expect(try x.gathering(idx, axis: 1).doubles == [2, 0, 5, 3])
        #expect(try x.broadcast(to: [2, 2, 3]).count == 12)
        #expect(try x.sum(toShape: [1, 3]).doubles == [3, 5, 7])
    }

    /// The fidelity contract of the Float32 vector functions (docs/performance.md): at most 1, 2 and 1
    /// Float32 steps from the correctly rounded value (Double libm, rounded) for exp, sigmoid and tanh
    /// where the result is a normal Float32 (the maxima over every 7th Float32, scripts/vmath_accuracy.c); below that, sigmoid's `1/(1 + e^(−x))` flushes to 0 once `e^(−x)`
    /// overflows (as PyTorch's formula does), an absolute error under 3·10⁻³⁹. Float64 stays libm.
    @Test("Float32 exp, sigmoid and tanh stay within their ULP bounds of Double; Float64 is libm")
    func transcendentalAccuracy() throws {
        var rng = SeededGenerator(seed: 5)
        var values: [Float] = [0, -0.0, 0.55, -0.55, Float(0.55).nextDown, 88.72283, -87.33654, -103.9, 1e-30, -1e-30, 20, -20]
        for _ in 0..<200_000 { values.append(Float.random(in: -104...89, using: &rng)) }
        for _ in 0..<50_000 { values.append(Float.random(in: -2...2, using: &rng)) }
        let x = Tensor(shape: [values.count], values: values)
        let cases: [(UnaryFunction, UInt64, (Double) -> Double)] = [
            (.exp, 1, { Foundation.exp($0) }), (.sigmoid, 2, { 1 / (1 + Foundation.exp(-$0)) }), (.tanh, 1, { Foundation.tanh($0) }),
        ]
        for (function, bound, exact) in cases {
            let y = try x.map(function).values(Float.self)!
            var worst: UInt64 = 0
            for (v, r) in zip(values, y) {
                let reference = Float(exact(Double(v)))
                if reference.isNormal || reference == 0 && v == 0 {
                    worst = max(worst, Ulp.distance(r, reference))
                } else if reference.isSubnormal || reference == 0 {
                    #expect(abs(Double(r) - exact(Double(v))) < 3e-39, "\(function)(\(v)) = \(r)")
                } else {
                    #expect(r == reference, "\(function)(\(v)) = \(r)")
                }
            }
            #expect(worst <= bound, "\(function): \(worst) ULPs")
            #expect(worst >= 1, "\(function) rounds like libm everywhere: the vector kernel is not in use")
            let doubles = try x.cast(to: .float64).map(function).values(Double.self)!
            #expect(zip(values, doubles).allSatisfy { v, d in
                let e = exact(Double(v)); return d == e || d.isNaN && e.isNaN
            }, "\(function) in Float64 is libm's formula")
        }
        #expect(try Tensor(shape: [3], values: [Float.nan, .infinity, -.infinity]).map(.exp).values(Float.self)!.map(\.description) == ["nan", "inf", "0.0"])
        #expect(try Tensor(shape: [3], values: [Float.nan, .infinity, -.infinity]).map(.tanh).values(Float.self)! .dropFirst() == [1, -1])
    }

    @Test("bad arguments are errors that echo the values")
    func errors() throws {
        let x = Tensor(shape: [2, 3], values: [Float](repeating: 1, count: 6))
        #expect(throws: TensorError.self) { try x.matmul(x) }
        #expect(throws: TensorError.self) { try x.reshaped([4]) }
        #expect(throws: TensorError.self) { try x.permuted([0, 0]) }
        #expect(throws: TensorError.self) { try x.gathering(Tensor(shape: [1], int64: [3]), axis: 1) }
        #expect(throws: TensorError.self) { try x.combining(Tensor(shape: [4], values: [Float](repeating: 0, count: 4)), .add) }
        #expect(throws: TensorError.self) { try x.combining(x.cast(to: .float64), .add) }
        do {
            _ = try x.reduce(.sum, axes: [5])
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("axis 5 is out of range for rank 2"))
        }
    }
}

@Suite("ULP distance and error metrics")
struct UlpTests {
    @Test func distances() throws {
        #expect(Ulp.distance(Float(1), Float(1).nextUp) == 1)
        #expect(Ulp.distance(Float(0), -Float(0)) == 0)
        #expect(Ulp.distance(-Float.leastNonzeroMagnitude, Float.leastNonzeroMagnitude) == 2)
        #expect(Ulp.distance(Double(1), Double(1).nextDown.nextDown) == 2)
        #expect(Ulp.distance(Float.nan, 1) == .max)
        let a = Tensor(shape: [3], values: [Float(1), 2, 3])
        let b = Tensor(shape: [3], values: [Float(1), Float(2).nextUp, Float(3).nextUp.nextUp])
        let m = try ErrorMetrics(a, b)
        #expect(m.maxUlps == 2 && m.medianUlps == 1 && !m.isBitIdentical)
        #expect(m.maxAbsolute == Double(Float(3).nextUp.nextUp) - 3)
    }

    /// The median ULP is found by selection, not a sort: the same element as `sorted()[k]`, duplicates included.
    @Test func selectionIsTheSortedElement() {
        var generator = SystemRandomNumberGenerator()
        for count in [1, 2, 3, 7, 100, 1001] {
            for spread in [UInt64(3), 1 << 40] {
                let values = (0..<count).map { _ in UInt64.random(in: 0...spread, using: &generator) }
                let sorted = values.sorted()
                for k in Set([0, count / 2, count - 1]) {
                    var copy = values
                    #expect(ErrorMetrics.select(&copy, k) == sorted[k], "count \(count), k \(k)")
                }
            }
        }
    }
}
