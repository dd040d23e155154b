/// Batched matrix product of two operands of rank ≥ 2 (`torch.matmul`, `tf.linalg.matmul`), with
/// its rounding fixed by `Numerics`. VJP: `g·bᵀ` and `aᵀ·g`, summed over broadcast batch axes.
public struct MatMul: Op {
    /// How the dot products round.
    public var numerics: Numerics
    /// The op; the parameters are the properties of the same names.
    public init(numerics: Numerics = .matmulDefault) { self.numerics = numerics }

    public var name: String { "matmul" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        let dtype = try expectSameFloat(inputs)
        let (a, b) = (inputs[0].shape, inputs[1].shape)
        guard a.count >= 2, b.count >= 2, a[a.count - 1] == b[b.count - 2] else {
            throw TensorError.shapeMismatch(op: name, expected: "[…, m, k] × [k, n] (rank ≥ 2, inner sizes equal)", received: [a, b])
        }
        let batch = try Shape.broadcast(Array(a.dropLast(2)), Array(b.dropLast(2)), op: name)
        return TensorType(dtype, batch + [a[a.count - 2], b[b.count - 1]])
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].matmul(inputs[1], numerics: numerics) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (x, w) = (inputs[0], inputs[1])
        return [try b.sum(b.matmul(g, b.transposeMatrix(w), numerics: numerics), toShape: b.shape(of: x)),
                try b.sum(b.matmul(b.transposeMatrix(x), g, numerics: numerics), toShape: b.shape(of: w))]
    }
}

/// `activation(x·w + bias)` in one kernel, the accumulators starting from the bias: what a graph
/// compiler makes of MatMul → BiasAdd → activation (XLA, Grappler's remapper, oneDNN post-ops).
/// Starting from the bias instead of adding it last changes the rounding of every output.
///
/// Inputs: `x` `[…, k]`, `w` `[k, n]`, `bias` `[n]`.
public struct FusedLinear: Op {
    /// How the dot products round.
    public var numerics: Numerics
    /// Applied to the result, or `nil` for none.
    public var activation: UnaryFunction?
    /// The weight kept packed across runs when it is a graph constant (``GraphPass/kernelPacking``); read
    /// only for that very weight (``KeptWeightMatrix/holds(_:)``), never changes a value.
    public var kept: KeptWeightMatrix?

    /// The op; the parameters are the properties of the same names.
    public init(numerics: Numerics = .matmulDefault, activation: UnaryFunction? = nil) {
        self.numerics = numerics
        self.activation = activation
    }

    public var name: String { "fused linear" + (activation.map { " + \($0)" } ?? "") }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 3)
        let dtype = try expectSameFloat(inputs)
        let (x, w, bias) = (inputs[0].shape, inputs[1].shape, inputs[2].shape)
        guard x.count >= 1, w.count == 2, x.last == w[0], bias == [w[1]] else {
            throw TensorError.shapeMismatch(op: name, expected: "x […, k], w [k, n], bias [n]", received: [x, w, bias])
        }
        return TensorType(dtype, x.dropLast() + [w[1]])
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let rows = try x.reshaped([x.count / max(x.shape.last!, 1), x.shape.last!])
        let y = try rows.matmul(inputs[1], numerics: numerics, bias: inputs[2], activation: activation, kept: kept)
        return try y.reshaped(x.shape.dropLast() + [inputs[1].shape[1]])
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (x, w, bias) = (inputs[0], inputs[1], inputs[2])
        var delta = g
        if let activation {
            let preActivation = try b.apply(FusedLinear(numerics: numerics), inputs)
            delta = try b.multiply(g, b.apply(UnaryDerivative(activation), [preActivation, output]))
        }
        let (k, n) = (b.shape(of: w)[0], b.shape(of: w)[1])
        let rows = try b.reshape(x, [-1, k]), deltaRows = try b.reshape(delta, [-1, n])
        return [try b.reshape(b.matmul(deltaRows, b.transposeMatrix(w), numerics: numerics), b.shape(of: x)),
                try b.matmul(b.transposeMatrix(rows), deltaRows, numerics: numerics),
                try b.sum(delta, toShape: b.shape(of: bias))]
    }
}
