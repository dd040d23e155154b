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
        func run<T: FloatElement>(_ x: [T]) -> [T] {
            var out = [T](repeating: 0, count: outer * inner)
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { op in
                    for o in 0..<outer {
                        let base = xp.baseAddress! + o * reduced * inner
                        let acc = op.baseAddress! + o * inner
                        switch kind {
                        case .sum, .mean:
                            accumulate(0..<reduced, order: numerics.accumulation, width: inner, into: acc) { range, acc in
                                if inner == 1 {
                                    var s = acc[0]
                                    for r in range { s += base[r] }
                                    acc[0] = s
                                } else {
                                    for r in range {
                                        let row = base + r * inner
                                        for j in 0..<inner { acc[j] += row[j] }
                                    }
                                }
                            }
                            if kind == .mean {
                                let n = T(reduced)
                                for j in 0..<inner { acc[j] /= n }
                            }
                        case .max, .min:
                            for j in 0..<inner { acc[j] = base[j] }
                            for r in 1..<max(reduced, 1) {
                                let row = base + r * inner
                                for j in 0..<inner {
                                    let v = row[j]
                                    if v.isNaN || acc[j].isNaN { acc[j] = .nan } else if kind == .max ? v > acc[j] : v < acc[j] { acc[j] = v }
                                }
                            }
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
