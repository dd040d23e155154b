/// `function(x)` elementwise. VJP: `g · f′(x)`.
public struct Unary: Op {
    /// The function.
    public var function: UnaryFunction
    /// The op for `function`.
    public init(_ function: UnaryFunction) { self.function = function }

    public var name: String { "\(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].map(function) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.multiply(cotangent, b.apply(UnaryDerivative(function), [inputs[0], output]))]
    }
}

/// `f′(x)` elementwise from `(x, f(x))`: the local derivative a ``Unary`` VJP multiplies by.
/// It has no VJP of its own: Parity differentiates once (second derivatives are not needed to
/// compare or convert models).
public struct UnaryDerivative: Op {
    /// The function.
    public var function: UnaryFunction
    /// The op for `function`.
    public init(_ function: UnaryFunction) { self.function = function }

    public var name: String { "d/dx \(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        _ = try expectSameFloat(inputs)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].derivative(function, output: inputs[1]) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        throw TensorError.unsupported(op: name, message: "second derivatives are not supported")
    }
}

/// `function(a, b)` elementwise with NumPy broadcasting. Gradients are summed back over broadcast
/// axes. Where maximum/minimum tie, ``ties`` says who gets the gradient.
public struct Binary: Op {
    /// The function.
    public var function: BinaryFunction
    /// The gradient of maximum/minimum where `a == b` (``TieRule``): split in half by default, as
    /// PyTorch's `aten.maximum` (`tools/autograd/derivatives.yaml`).
    public var ties: TieRule
    /// The op; the parameters are the properties of the same names.
    public init(_ function: BinaryFunction, ties: TieRule = .split) {
        self.function = function
        self.ties = ties
    }

    public var name: String { "\(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        return TensorType(try expectSameFloat(inputs), try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].combining(inputs[1], function) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (x, y) = (inputs[0], inputs[1])
        let (da, db): (B.Value?, B.Value?)
        switch function {
        case .add: (da, db) = (g, g)
        case .subtract: (da, db) = (g, try b.negate(g))
        case .multiply: (da, db) = (try b.multiply(g, y), try b.multiply(g, x))
        case .divide: (da, db) = (try b.divide(g, y), try b.negate(b.divide(b.multiply(g, output), y)))
        case .maximum, .minimum:
            let share: B.Value
            switch ties {
            case .split:
                let wins = try b.binary(function == .maximum ? .greater : .less, x, y)
                share = try b.add(wins, b.multiply(b.binary(.equal, x, y), b.scalar(0.5, like: g)))
            case .first:
                share = try b.binary(function == .maximum ? .greaterEqual : .lessEqual, x, y)
            }
            (da, db) = (try b.multiply(g, share), try b.multiply(g, b.subtract(b.scalar(1, like: g), share)))
        case .power:
            let exponentLessOne = try b.subtract(y, b.scalar(1, like: y))
            da = try b.multiply(g, b.multiply(y, b.binary(.power, x, exponentLessOne)))
            db = try b.multiply(g, b.multiply(output, b.unary(.log, x)))
        case .greater, .greaterEqual, .less, .lessEqual, .equal: return [nil, nil]
        }
        return [try da.map { try b.sum($0, toShape: b.shape(of: x)) }, try db.map { try b.sum($0, toShape: b.shape(of: y)) }]
    }
}

/// Who gets the gradient where a maximum or minimum ties (the derivative is undefined there; each
/// framework picks a subgradient).
public enum TieRule: Sendable, Hashable {
    /// Shared equally among the tied elements: PyTorch's `aten.maximum`/`minimum` (half each) and
    /// `amax`/`amin`, TensorFlow's `Max`/`Min` reductions (`math_grad.py`, `_MinOrMaxGrad`).
    case split
    /// All to the first: TensorFlow's `Maximum`/`Minimum` (`math_grad.py`, `_MaximumMinimumGrad` with
    /// `greater_equal`/`less_equal`: the first argument on a tie), and max pooling in both frameworks
    /// (the first maximum of the window in scan order: TensorFlow's `MaxPoolGrad`, PyTorch's
    /// `max_pool2d_with_indices_backward`).
    case first
}

/// `a·b + c` elementwise with broadcasting; `fused` rounds once (an FMA), as the graph optimiser's
/// elementwise fusion produces.
public struct MultiplyAdd: Op {
    /// Whether `a·b + c` rounds once (an FMA) rather than twice.
    public var fused: Bool
    /// The op; the parameters are the properties of the same names.
    public init(fused: Bool) { self.fused = fused }

    public var name: String { fused ? "fused multiply-add" : "multiply-add" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 3)
        let dtype = try expectSameFloat(inputs)
        return TensorType(dtype, try Shape.broadcast(Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name), inputs[2].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try Tensor.multiplyAdd(inputs[0], inputs[1], inputs[2], fused: fused)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        [try b.sum(b.multiply(g, inputs[1]), toShape: b.shape(of: inputs[0])),
         try b.sum(b.multiply(g, inputs[0]), toShape: b.shape(of: inputs[1])),
         try b.sum(g, toShape: b.shape(of: inputs[2]))]
    }
}

/// `condition ≠ 0 ? a : b` elementwise (`torch.where`). The condition gets no gradient.
public struct Select: Op {
    /// The op.
    public init() {}
    public var name: String { "where" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 3)
        let dtype = try expectSameFloat(inputs)
        return TensorType(dtype, try Shape.broadcast(Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name), inputs[2].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try Tensor.select(inputs[0], inputs[1], inputs[2]) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let zero = b.scalar(0, like: g)
        return [nil,
                try b.sum(b.apply(Select(), [inputs[0], g, zero]), toShape: b.shape(of: inputs[1])),
                try b.sum(b.apply(Select(), [inputs[0], zero, g]), toShape: b.shape(of: inputs[2]))]
    }
}

/// Converts to another dtype (float64 -> float32 rounds to nearest). VJP: cast back.
public struct Cast: Op {
    /// The dtype converted to.
    public var dtype: DType
    /// The op converting to `dtype`.
    public init(dtype: DType) { self.dtype = dtype }

    public var name: String { "cast \(dtype)" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        return TensorType(dtype, inputs[0].shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { inputs[0].cast(to: dtype) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let source = b.type(of: inputs[0]).dtype
        return [source.isFloatingPoint || source.isComplex ? try b.cast(cotangent, to: source) : nil]
    }
}
