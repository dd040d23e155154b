/// The order in which a kernel adds up many terms (the K terms of a dot product, the elements of a
/// sum). Float addition is not associative, so the order decides the last bits of the result;
/// making it a value lets Parity reproduce a framework's rounding on purpose and explain it.
public enum AccumulationOrder: Sendable, Hashable, CustomStringConvertible {
    /// `((t0 + t1) + t2) + …`: one running total in index order (a naive loop, Eigen's and
    /// TensorFlow's inner GEBP loop within one K block).
    case sequential
    /// Sequential partial sums over consecutive blocks of `size` terms, each started from zero and
    /// then added to the running total (BLAS-style K blocking: OpenBLAS, MKL, oneDNN).
    case blocked(size: Int)
    /// Sequential leaves of at most `leaf` terms, combined as a balanced binary tree (NumPy's
    /// pairwise summation; error grows as O(log n) instead of O(n)).
    case pairwise(leaf: Int)

    public var description: String {
        switch self {
        case .sequential: return "sequential"
        case .blocked(let size): return "blocked(\(size))"
        case .pairwise(let leaf): return "pairwise(\(leaf))"
        }
    }
}

/// How a kernel rounds: its accumulation order and whether a product and a sum are contracted into
/// one fused multiply-add (one rounding) or rounded twice.
///
/// The defaults of each kernel are stated where the kernel is: see ``Numerics/matmulDefault`` and
/// ``Numerics/reductionDefault``.
public struct Numerics: Sendable, Hashable, CustomStringConvertible {
    /// The order in which the terms are added.
    public var accumulation: AccumulationOrder
    /// Whether each product and the sum it is added to round once (an FMA) rather than twice.
    public var fusedMultiplyAdd: Bool

    /// A rounding; the parameters are the properties of the same names.
    public init(accumulation: AccumulationOrder, fusedMultiplyAdd: Bool) {
        self.accumulation = accumulation
        self.fusedMultiplyAdd = fusedMultiplyAdd
    }

    /// Matmul default: each output element accumulates its K products in index order, every
    /// product contracted into an FMA, as a register-tiled GEMM micro-kernel on an FMA machine
    /// (x86-64 AVX2, AArch64) does within one K block. Cache blocking stores and reloads the
    /// accumulator, which does not change its rounding.
    public static let matmulDefault = Numerics(accumulation: .sequential, fusedMultiplyAdd: true)

    /// Reduction (sum, mean) default: sequential over the reduced axis, no products to contract.
    public static let reductionDefault = Numerics(accumulation: .sequential, fusedMultiplyAdd: false)

    public var description: String {
        "\(accumulation)\(fusedMultiplyAdd ? ", fma" : ", no fma")"
    }
}

/// Runs an accumulation of terms `range` in a given ``AccumulationOrder``.
///
/// `addRange(r, acc)` must add terms `r` to the `width`-long accumulator `acc` sequentially in index
/// order; this function only decides how the ranges are split and how partial sums are combined.
/// The accumulator must be initialised by the caller (zero, or a bias for fused kernels).
@inline(__always)
func accumulate<T: FloatElement>(
    _ range: Range<Int>, order: AccumulationOrder, width: Int,
    into acc: UnsafeMutablePointer<T>,
    addRange: (Range<Int>, UnsafeMutablePointer<T>) -> Void
) {
    switch order {
    case .sequential:
        addRange(range, acc)
    case .blocked(let size):
        let size = max(size, 1)
        let partial = UnsafeMutablePointer<T>.allocate(capacity: width)
        defer { partial.deallocate() }
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + size, range.upperBound)
            partial.initialize(repeating: 0, count: width)
            addRange(start..<end, partial)
            for i in 0..<width { acc[i] += partial[i] }
            start = end
        }
    case .pairwise(let leaf):
        pairwise(range, leaf: max(leaf, 1), width: width, into: acc, addRange: addRange)
    }
}

private func pairwise<T: FloatElement>(
    _ range: Range<Int>, leaf: Int, width: Int, into acc: UnsafeMutablePointer<T>,
    addRange: (Range<Int>, UnsafeMutablePointer<T>) -> Void
) {
    if range.count <= leaf {
        addRange(range, acc)
        return
    }
    let mid = range.lowerBound + range.count / 2
    let left = UnsafeMutablePointer<T>.allocate(capacity: width)
    let right = UnsafeMutablePointer<T>.allocate(capacity: width)
    defer { left.deallocate(); right.deallocate() }
    left.initialize(repeating: 0, count: width)
    right.initialize(repeating: 0, count: width)
    pairwise(range.lowerBound..<mid, leaf: leaf, width: width, into: left, addRange: addRange)
    pairwise(mid..<range.upperBound, leaf: leaf, width: width, into: right, addRange: addRange)
    for i in 0..<width { acc[i] += left[i] + right[i] }
}
