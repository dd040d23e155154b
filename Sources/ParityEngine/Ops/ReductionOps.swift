/// Sum, mean, max or min over axes. VJP: the cotangent broadcast back (divided by the count for a
/// mean; for max/min shared equally among the elements that attain the extremum, as `torch.amax`).
public struct Reduce: Op {
    /// Sum, mean, maximum or minimum.
    public var kind: ReductionKind
    /// The axes reduced (every axis when empty).
    public var axes: [Int]
    /// Whether the reduced axes stay as size-1 axes.
    public var keepDims: Bool
    /// How the sum rounds.
    public var numerics: Numerics
    /// Who gets a max/min's gradient where several elements attain it (``TieRule``; `.first` means the
    /// first in row-major order over the reduced axes).
    public var ties: TieRule

    /// The op; the parameters are the properties of the same names.
    public init(kind: ReductionKind, axes: [Int], keepDims: Bool = false, numerics: Numerics = .reductionDefault, ties: TieRule = .split) {
        self.ties = ties
        self.kind = kind
        self.axes = axes
        self.keepDims = keepDims
        self.numerics = numerics
    }

    public var name: String { "reduce \(kind)" }

    func resolvedAxes(rank: Int) throws -> Set<Int> {
        try Set((axes.isEmpty ? Array(0..<rank) : axes).map { try Shape.axis($0, rank: rank, op: name) })
    }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let dtype = try expectSameFloat(inputs)
        let shape = inputs[0].shape
        let reduced = try resolvedAxes(rank: shape.count)
        let out = shape.enumerated().compactMap { reduced.contains($0.offset) ? (keepDims ? 1 : nil) : $0.element }
        return TensorType(dtype, out)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].reduce(kind, axes: axes, keepDims: keepDims, numerics: numerics)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let x = inputs[0]
        let shape = b.shape(of: x)
        let reduced = try resolvedAxes(rank: shape.count)
        let kept = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let spread = try b.broadcast(b.reshape(g, kept), to: shape)
        switch kind {
        case .sum:
            return [spread]
        case .mean:
            let count = reduced.reduce(1) { $0 * shape[$1] }
            return [try b.divide(spread, b.scalar(Double(count), like: g))]
        case .max, .min:
            let extremum = try b.broadcast(b.reshape(output, kept), to: shape)
            let mask = try b.binary(.equal, x, extremum)
            if ties == .first {
                return [try b.multiply(spread, b.apply(FirstAlongAxes(axes: reduced.sorted()), [mask]))]
            }
            let ties = try b.broadcast(b.reduce(.sum, mask, axes: axes, keepDims: true), to: shape)
            return [try b.divide(b.multiply(spread, mask), ties)]
        }
    }
}

/// Keeps only the first non-zero element of each slice over `axes` (row-major order over those axes),
/// zeroing the rest: the mask that sends a tied maximum's gradient to its first position. No gradient.
public struct FirstAlongAxes: Op {
    /// The axes each slice spans.
    public var axes: [Int]
    /// The op; the parameters are the properties of the same names.
    public init(axes: [Int]) { self.axes = axes }

    public var name: String { "first along \(axes)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        for axis in axes { _ = try Shape.axis(axis, rank: inputs[0].shape.count, op: name) }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0], shape = x.shape
        let reduced = Set(try axes.map { try Shape.axis($0, rank: shape.count, op: name) })
        var values = x.doubles
        var seen = Set<Int>()
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<values.count {
            // The slice key: the position along the kept axes.
            var key = 0
            for (axis, size) in shape.enumerated() where !reduced.contains(axis) { key = key * size + index[axis] }
            if values[flat] != 0 {
                if seen.contains(key) { values[flat] = 0 } else { seen.insert(key) }
            }
            Shape.advance(&index, within: shape)
        }
        return Tensor(shape: shape, values: values).cast(to: x.dtype)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] { [nil] }
}

/// Softmax or log-softmax along one axis, max-shifted. VJP: `y·(g − Σ g·y)` for softmax,
/// `g − eʸ·Σ g` for log-softmax.
public struct Softmax: Op {
    /// The axis normalised over.
    public var axis: Int
    /// Whether the result is the log-softmax.
    public var logarithm: Bool

    /// The op; the parameters are the properties of the same names.
    public init(axis: Int, logarithm: Bool) {
        self.axis = axis
        self.logarithm = logarithm
    }

    public var name: String { logarithm ? "log softmax" : "softmax" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        _ = try Shape.axis(axis, rank: inputs[0].shape.count, op: name)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].softmax(axis: axis, logarithm: logarithm) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output y: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let shape = b.shape(of: y)
        if logarithm {
            let total = try b.broadcast(b.reduce(.sum, g, axes: [axis], keepDims: true), to: shape)
            return [try b.subtract(g, b.multiply(b.unary(.exp, y), total))]
        }
        let dot = try b.broadcast(b.reduce(.sum, b.multiply(g, y), axes: [axis], keepDims: true), to: shape)
        return [try b.multiply(y, b.subtract(g, dot))]
    }
}
