/// Combines several same-shaped (broadcastable) inputs elementwise, left to right, as Keras's merge
/// layers do (`keras/src/layers/merging/`): `Add`, `Subtract` (exactly two), `Multiply`, `Maximum`,
/// `Minimum`, and `Average` = the left-to-right sum divided by the count.
public struct Merge: Model {
    /// The Keras merge layer.
    public enum Kind: String, Sendable, Hashable {
        /// `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`.
        case add, subtract, multiply, average, maximum, minimum
    }

    /// Which merge.
    public var kind: Kind
    /// A merge layer of `kind`.
    public init(_ kind: Kind) { self.kind = kind }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        guard let first = inputs.first, inputs.count >= 2, kind != .subtract || inputs.count == 2 else {
            throw TensorError.invalidArgument(op: "Merge \(kind)", message: "needs \(kind == .subtract ? "exactly 2" : "at least 2") inputs; received \(inputs.count)")
        }
        let function: BinaryFunction
        switch kind {
        case .add, .average: function = .add
        case .subtract: function = .subtract
        case .multiply: function = .multiply
        case .maximum: function = .maximum
        case .minimum: function = .minimum
        }
        var y = first
        for x in inputs.dropFirst() { y = try b.binary(function, y, x) }
        if kind == .average { y = try b.divide(y, b.scalar(Double(inputs.count), like: y)) }
        return y
    }
}

/// Joins the inputs along `axis` (Keras `Concatenate`, default −1).
public struct Concatenate: Model {
    /// The axis joined along (negative counts from the end).
    public var axis: Int
    /// A layer joining along `axis`.
    public init(axis: Int = -1) { self.axis = axis }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.concat(inputs, axis: axis)
    }
}

/// A batchwise dot product of two inputs over one axis each (Keras `Dot`, `keras/src/layers/merging/dot.py`,
/// `batch_dot`): the result has `x`'s other non-batch axes then `y`'s, or shape `[batch, 1]` when
/// none are left. With `normalize`, both are first L2-normalised along their axis as
/// `x·min(rsqrt(Σx²), 1/ε)`, ε = 1e-7 (`keras/src/ops/nn.py`, `_normalize`).
public struct Dot: Model {
    /// The axis of `x` and the axis of `y` the product sums over.
    public var axes: (Int, Int)
    /// Whether both inputs are L2-normalised first (cosine proximity).
    public var normalize: Bool

    /// A layer; the parameters are the properties of the same names.
    public init(axes: (Int, Int), normalize: Bool = false) {
        self.axes = axes
        self.normalize = normalize
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        guard inputs.count == 2 else { throw TensorError.invalidArgument(op: "Dot", message: "takes 2 inputs; received \(inputs.count)") }
        var (x, y) = (inputs[0], inputs[1])
        let (xs, ys) = (b.shape(of: x), b.shape(of: y))
        let a0 = try Shape.axis(axes.0, rank: xs.count, op: "Dot"), a1 = try Shape.axis(axes.1, rank: ys.count, op: "Dot")
        guard a0 > 0, a1 > 0, xs[0] == ys[0], xs[a0] == ys[a1] else {
            throw TensorError.shapeMismatch(op: "Dot", expected: "equal batch sizes and sizes along axes (\(a0), \(a1)), not the batch axis", received: [xs, ys])
        }
        if normalize {
            func l2(_ v: B.Value, _ axis: Int) throws -> B.Value {
                let inv = try b.unary(.reciprocal, b.unary(.sqrt, b.reduce(.sum, b.unary(.square, v), axes: [axis], keepDims: true)))
                return try b.multiply(v, b.binary(.minimum, inv, b.scalar(1 / NormalizationDefaults.kerasBackendEpsilon, like: v)))
            }
            x = try l2(x, a0)
            y = try l2(y, a1)
        }
        let xRest = (1..<xs.count).filter { $0 != a0 }, yRest = (1..<ys.count).filter { $0 != a1 }
        let depth = xs[a0]
        x = try b.reshape(b.permute(x, [0] + xRest + [a0]), [xs[0], -1, depth])
        y = try b.reshape(b.permute(y, [0, a1] + yRest), [ys[0], depth, -1])
        let product = try b.matmul(x, y)
        let outShape = [xs[0]] + xRest.map { xs[$0] } + yRest.map { ys[$0] }
        return try b.reshape(product, outShape.count == 1 ? [xs[0], 1] : outShape)
    }
}
