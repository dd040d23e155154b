import CParityKernels

/// What a reduction computes over its axes.
public enum ReductionKind: String, Sendable, Hashable, CustomStringConvertible {
    /// Σ, in the order of the reduction's ``Numerics``.
    case sum
    /// Σ / n, the sum rounded first and then divided (as `torch.mean` and `tf.reduce_mean` do).
    case mean
    /// Largest element; NaN propagates (`torch.amax`).
    case max
    /// Smallest element; NaN propagates (`torch.amin`).
    case min

    public var description: String { rawValue }
}

extension Tensor {
    /// Reduces over `axes` (negative axes count from the end; empty means all axes).
    ///
    /// The reduced axes are brought together (permuting when they are not adjacent) and each output
    /// element accumulates its terms in the order `numerics.accumulation` prescribes; max and min are
    /// exact in any order.
    public func reduce(_ kind: ReductionKind, axes: [Int], keepDims: Bool = false,
                       numerics: Numerics = .reductionDefault) throws -> Tensor {
        let op = "reduce \(kind)"
        var resolved = try Set((axes.isEmpty ? Array(0..<rank) : axes).map { try Shape.axis($0, rank: rank, op: op) })
        if rank == 0 { resolved = [] }
        let sorted = resolved.sorted()
        let keptShape = shape.enumerated().map { resolved.contains($0.offset) ? 1 : $0.element }
        let outShape = keepDims ? keptShape : shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
        // Lay the input out as [outer, reduced, inner].
        var source = self
        var (outer, reduced, inner) = (1, 1, 1)
        if let first = sorted.first, sorted.last! - first + 1 == sorted.count {
            outer = Shape.count(Array(shape[..<first]))
            reduced = Shape.count(Array(shape[first...sorted.last!]))
            inner = Shape.count(Array(shape[(sorted.last! + 1)...]))
        } else if !sorted.isEmpty {
            let kept = (0..<rank).filter { !resolved.contains($0) }
            source = try permuted(kept + sorted)
            outer = Shape.count(kept.map { shape[$0] })
            reduced = Shape.count(sorted.map { shape[$0] })
        } else {
            outer = count
        }
        if kind != .sum && kind != .mean && reduced == 0 {
            throw TensorError.invalidArgument(op: op, message: "cannot reduce an empty axis of shape \(shape)")
        }
        // Tasks: (outer index, chunk of the inner axis), grouped so that each carries ~16K terms. Every
        // output element is reduced whole inside one task, so the split never changes its sum.
        let innerChunk = Swift.min(Swift.max(inner, 1), 4096)
        let innerTasks = (inner + innerChunk - 1) / innerChunk
        let perTask = Swift.max(reduced, 1) * innerChunk
        func run<T: FloatElement>(_ x: [T]) -> [T] {
            var out = [T](repeating: 0, count: outer * inner)
            if out.isEmpty { return out }
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    let (x0, o0) = (xp.baseAddress, op.baseAddress!)
                    parallelChunks(outer * innerTasks, chunk: Swift.max(1, elementwiseChunk / perTask)) { items in
                        var items = items[...]
                        if inner == 1, reduced > 0, kind == .sum || kind == .mean, let x0, case .pairwise(let leaf) = numerics.accumulation {
                            // Rows of one pairwise sum each (layer norm's statistics): four rows' trees side by
                            // side in vector lanes, each lane the one-row tree (the same bits, four chains at once).
                            while items.count >= 4 {
                                let o = items.first!
                                let sums = pairwiseTotals4(x0 + o * reduced, rowStride: reduced, 0, reduced, leaf: Swift.max(leaf, 1))
                                for lane in 0..<4 { o0[o + lane] = kind == .mean ? sums[lane] / T(reduced) : sums[lane] }
                                items = items.dropFirst(4)
                            }
                        }
                        for item in items {
                            let (o, j0) = (item / innerTasks, (item % innerTasks) * innerChunk)
                            let width = Swift.min(innerChunk, inner - j0)
                            reduceBlock(kind, x0.map { $0 + o * reduced * inner + j0 }, into: o0 + o * inner + j0,
                                        reduced: reduced, inner: inner, width: width, numerics: numerics)
                        }
                    }
                }
            }
            return out
        }
        switch source.storage {
        case .float32(let v): return Tensor(shape: outShape, storage: .float32(run(v)))
        case .float64(let v): return Tensor(shape: outShape, storage: .float64(run(v)))
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }

    /// Sums over the axes that broadcasting added or stretched so that the result has `target`
    /// shape: the adjoint of broadcasting `target` to this tensor's shape.
    public func sum(toShape target: [Int], numerics: Numerics = .reductionDefault) throws -> Tensor {
        if target == shape { return self }
        // A complex sum is the sums of the parts.
        if dtype.isComplex { return try realPairs().sum(toShape: target + [2], numerics: numerics).complexFromPairs() }
        let offset = rank - target.count
        guard offset >= 0 else {
            throw TensorError.shapeMismatch(op: "sumToShape", expected: "a target of rank ≤ \(rank)", received: [shape, target])
        }
        var axes = Array(0..<offset)
        for (i, size) in target.enumerated() where size != shape[offset + i] {
            guard size == 1 else {
                throw TensorError.shapeMismatch(op: "sumToShape", expected: "a shape \(shape) broadcasts from", received: [shape, target])
            }
            axes.append(offset + i)
        }
        return try reduce(.sum, axes: axes, keepDims: true, numerics: numerics).reshaped(target)
    }
}

/// Reduces `width` adjacent columns of a `[reduced, inner]` block starting at `base` into `acc`
/// (zeroed by the caller): each column's terms in the order `numerics.accumulation` gives.
@inline(__always)
func reduceBlock<T: FloatElement>(_ kind: ReductionKind, _ base: UnsafePointer<T>?, into acc: UnsafeMutablePointer<T>,
                                  reduced: Int, inner: Int, width: Int, numerics: Numerics) {
    switch kind {
    case .sum, .mean:
        if let base, reduced > 0, width == 1, case .pairwise(let leaf) = numerics.accumulation {
            // One column (a row's sum, PyTorch's layer norm): the same tree in registers, no buffers.
            acc[0] += pairwiseTotal(base, stride: inner, 0, reduced, leaf: Swift.max(leaf, 1))
        } else if let base, reduced > 0 {
            accumulate(0..<reduced, order: numerics.accumulation, width: width, into: acc) { range, acc in
                if width == 1 {
                    var s = acc[0]
                    for r in range { s += base[r * inner] }
                    acc[0] = s
                } else {
                    for r in range {
                        let row = base + r * inner
                        for j in 0..<width { acc[j] += row[j] }
                    }
                }
            }
        }
        if kind == .mean {
            let n = T(reduced)
            for j in 0..<width { acc[j] /= n }
        }
    case .max, .min:
        guard let base else { return }
        for j in 0..<width { acc[j] = base[j] }
        for r in 1..<Swift.max(reduced, 1) {
            let row = base + r * inner
            for j in 0..<width {
                let v = row[j]
                if v.isNaN || acc[j].isNaN { acc[j] = .nan } else if kind == .max ? v > acc[j] : v < acc[j] { acc[j] = v }
            }
        }
    }
}

/// `Σ base[r·stride]` for `r` in `lo..<hi` as ``AccumulationOrder/pairwise(leaf:)`` adds it for one
/// column: leaves of at most `leaf` terms summed in order from +0, halves (the lower one `count / 2`
/// terms) each from +0, then added. The bits of `accumulate(_:order:width:into:addRange:)` with width 1.
@inline(__always)
func pairwiseTotal<T: FloatElement>(_ base: UnsafePointer<T>, stride: Int, _ lo: Int, _ hi: Int, leaf: Int) -> T {
    if hi - lo <= leaf {
        var s: T = 0
        for r in lo..<hi { s += base[r * stride] }
        return s
    }
    let mid = lo + (hi - lo) / 2
    return pairwiseTotal(base, stride: stride, lo, mid, leaf: leaf) + pairwiseTotal(base, stride: stride, mid, hi, leaf: leaf)
}

/// ``pairwiseTotal(_:stride:_:_:leaf:)`` of four rows `rowStride` apart (unit stride within a row), lane
/// `l` the row at `base + l·rowStride`: each lane adds exactly the one-row tree's terms in its order.
/// The mean's `0 + total` of the one-row path is `total` (a sum from +0 is never −0).
func pairwiseTotals4<T: FloatElement>(_ base: UnsafePointer<T>, rowStride: Int, _ lo: Int, _ hi: Int, leaf: Int) -> SIMD4<T> {
    if hi - lo <= leaf {
        var s = SIMD4<T>(repeating: 0)
        for r in lo..<hi { s += SIMD4(base[r], base[rowStride + r], base[2 * rowStride + r], base[3 * rowStride + r]) }
        return s
    }
    let mid = lo + (hi - lo) / 2
    return pairwiseTotals4(base, rowStride: rowStride, lo, mid, leaf: leaf) + pairwiseTotals4(base, rowStride: rowStride, mid, hi, leaf: leaf)
}

/// `argmax` (`maximum`) or `argmin` of each of `lines` contiguous lines of `length` values (≥ 1) into
/// `out`: the index of the first extremum, or of the first NaN when the line has one. Float32 and
/// Float64 run the C scan (`parity_arg_extremum_*`, branch-free); false for other element types,
/// with nothing written.
public func firstExtremumIndices<T: FloatElement>(_ values: UnsafePointer<T>, lines: Int, length: Int, maximum: Bool,
                                                  into out: UnsafeMutablePointer<Int64>) -> Bool {
    let raw = UnsafeRawPointer(values)
    if T.self == Float.self {
        parity_arg_extremum_f32(lines, length, raw.assumingMemoryBound(to: Float.self), maximum ? 1 : 0, out)
        return true
    }
    if T.self == Double.self {
        parity_arg_extremum_f64(lines, length, raw.assumingMemoryBound(to: Double.self), maximum ? 1 : 0, out)
        return true
    }
    return false
}
