/// What a model or a gradient rule is written against: something that applies ops to values.
///
/// Two builders implement it, one per execution mode: ``EagerContext`` computes each op at once
/// (define-by-run, like PyTorch) and ``GraphBuilder`` adds a node to a static graph (like Keras on
/// TensorFlow's graph). Code written once against `Builder` runs in both, which is what lets Parity
/// put a framework's two execution styles side by side with identical math.
public protocol Builder: AnyObject {
    /// A value of this mode: a computed tensor (eager) or a graph symbol.
    associatedtype Value
    /// Applies `op` to `inputs`: computes it now (eager) or adds its node (graph).
    func apply(_ op: any Op, _ inputs: [Value]) throws -> Value
    /// The dtype and shape of `value`.
    func type(of value: Value) -> TensorType
    /// A value that is fixed when the model is built (a weight, a constant).
    func constant(_ tensor: Tensor) -> Value
    /// A data-dependent branch: `then` when the one-element `predicate` is non-zero, else `else`.
    /// Eagerly it is a plain Swift `if` (only the taken branch runs, like Python's `if` in PyTorch);
    /// in a graph both branches are traced into a `cond` node (like `tf.cond`). Branches receive the
    /// `operands` and must not use other values of the enclosing model.
    func cond(_ predicate: Value, operands: [Value],
              then thenBranch: (Self, [Value]) throws -> Value,
              else elseBranch: (Self, [Value]) throws -> Value) throws -> Value
}

/// Named calls for the ops, shared by models and gradient rules in both modes.
extension Builder {
    /// The shape of `value`.
    public func shape(of value: Value) -> [Int] { type(of: value).shape }

    /// A scalar constant in `value`'s float dtype.
    public func scalar(_ number: Double, like value: Value) -> Value {
        constant(Tensor(repeating: number, shape: [], dtype: type(of: value).dtype))
    }

    /// `function(x)` elementwise (``Unary``).
    public func unary(_ function: UnaryFunction, _ x: Value) throws -> Value { try apply(Unary(function), [x]) }
    /// `function(a, b)` elementwise with broadcasting (``Binary``).
    public func binary(_ function: BinaryFunction, _ a: Value, _ b: Value) throws -> Value { try apply(Binary(function), [a, b]) }
    /// `a + b` with broadcasting.
    public func add(_ a: Value, _ b: Value) throws -> Value { try binary(.add, a, b) }
    /// `a − b` with broadcasting.
    public func subtract(_ a: Value, _ b: Value) throws -> Value { try binary(.subtract, a, b) }
    /// `a·b` elementwise with broadcasting.
    public func multiply(_ a: Value, _ b: Value) throws -> Value { try binary(.multiply, a, b) }
    /// `a / b` with broadcasting.
    public func divide(_ a: Value, _ b: Value) throws -> Value { try binary(.divide, a, b) }
    /// `−x`.
    public func negate(_ x: Value) throws -> Value { try unary(.negate, x) }

    /// The matrix product (``MatMul``), rounding as `numerics` says.
    public func matmul(_ a: Value, _ b: Value, numerics: Numerics = .matmulDefault) throws -> Value {
        try apply(MatMul(numerics: numerics), [a, b])
    }

    /// A sum, mean, maximum or minimum over `axes` (``Reduce``).
    public func reduce(_ kind: ReductionKind, _ x: Value, axes: [Int], keepDims: Bool = false,
                       numerics: Numerics = .reductionDefault, ties: TieRule = .split) throws -> Value {
        try apply(Reduce(kind: kind, axes: axes, keepDims: keepDims, numerics: numerics, ties: ties), [x])
    }

    /// `x` reshaped to `shape` (one `-1` inferred).
    public func reshape(_ x: Value, _ shape: [Int]) throws -> Value { try apply(Reshape(shape: shape), [x]) }
    /// `x` with its axes reordered: result axis `i` is axis `order[i]`.
    public func permute(_ x: Value, _ order: [Int]) throws -> Value { try apply(Permute(order: order), [x]) }

    /// Swaps the last two axes.
    public func transposeMatrix(_ x: Value) throws -> Value {
        let rank = shape(of: x).count
        var order = Array(0..<rank)
        if rank >= 2 { order.swapAt(rank - 1, rank - 2) }
        return try permute(x, order)
    }

    /// `x` broadcast to `shape` (itself when it already has it).
    public func broadcast(_ x: Value, to shape: [Int]) throws -> Value {
        self.shape(of: x) == shape ? x : try apply(BroadcastTo(shape: shape), [x])
    }

    /// Sums broadcast axes away so the result has `shape` (the adjoint of broadcasting).
    public func sum(_ x: Value, toShape shape: [Int]) throws -> Value {
        self.shape(of: x) == shape ? x : try apply(SumToShape(shape: shape), [x])
    }

    /// Python-style basic slicing, one `SliceAxis` per leading axis (the others taken whole).
    public func slice(_ x: Value, _ axes: [SliceAxis]) throws -> Value { try apply(Slice(axes: axes), [x]) }
    /// `parts` joined along `axis`.
    public func concat(_ parts: [Value], axis: Int) throws -> Value { try apply(Concat(axis: axis), parts) }

    /// Splits along `axis` into pieces of `sizes` (a slice each).
    public func split(_ x: Value, sizes: [Int], axis: Int) throws -> [Value] {
        let rank = shape(of: x).count
        let axis = try Shape.axis(axis, rank: rank, op: "split")
        guard sizes.reduce(0, +) == shape(of: x)[axis] else {
            throw TensorError.invalidArgument(op: "split", message: "sizes \(sizes) do not add up to \(shape(of: x)[axis]) along axis \(axis)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(x, Array(repeating: .all, count: axis) + [SliceAxis(start: start, end: start + size)])
        }
    }

    /// The softmax along `axis`.
    public func softmax(_ x: Value, axis: Int) throws -> Value { try apply(Softmax(axis: axis, logarithm: false), [x]) }
    /// `x` converted to `dtype` (itself when it already has it).
    public func cast(_ x: Value, to dtype: DType) throws -> Value {
        type(of: x).dtype == dtype ? x : try apply(Cast(dtype: dtype), [x])
    }

    /// `a + b` where either may be missing (gradient accumulation); complex gradients add by their parts.
    func accumulate(_ a: Value?, _ b: Value?) throws -> Value? {
        guard let a else { return b }
        guard let b else { return a }
        if type(of: a).dtype.isComplex { return try viewAsComplex(add(viewAsReal(a), viewAsReal(b))) }
        return try add(a, b)
    }
}
