extension Graph {
    /// Replaces each layer-norm chain (PyTorch's `layer_norm` as Parity lowers it: a pairwise mean over
    /// the trailing axes, `x − mean`, the mean of its squares, `+ ε`, sqrt, reciprocal, `·rstd`, then an
    /// optional `·γ` and `+ β`, the last two possibly contracted by ``GraphPass/fusion`` into a
    /// ``MultiplyAdd``) by one ``LayerNormRows`` computing the same bits in one pass over each row
    /// group. Only a chain whose intermediate values nothing else reads is replaced; the chain stays the
    /// op's definition, so its VJP is unchanged. Never changes a value.
    func fusingLayerNorms() -> Graph {
        var graph = self
        // Readers among the nodes the outputs depend on (a pass before may leave dead readers behind).
        let live = reachedFromOutputs
        let uses = readCounts(among: live)
        func op<O>(_ index: Int, _ type: O.Type) -> O? { graph.op(at: index) as? O }
        func binary(_ index: Int, _ function: BinaryFunction) -> [Int]? {
            guard let op = op(index, Binary.self), op.function == function else { return nil }
            return graph.nodes[index].inputs
        }
        func unary(_ index: Int, _ function: UnaryFunction) -> Int? {
            guard let op = op(index, Unary.self), op.function == function else { return nil }
            return graph.nodes[index].inputs[0]
        }
        /// The mean over trailing axes of `index` (kept as size-1 axes): its input, axis count and rounding.
        func trailingMean(_ index: Int) -> (input: Int, axes: Int, numerics: Numerics)? {
            guard let reduce = op(index, Reduce.self), reduce.kind == .mean, reduce.keepDims,
                  case .pairwise = reduce.numerics.accumulation else { return nil }
            let input = graph.nodes[index].inputs[0]
            let rank = graph.nodes[input].type.shape.count
            guard let axes = try? reduce.resolvedAxes(rank: rank).sorted(), !axes.isEmpty,
                  axes == Array((rank - axes.count)..<rank) else { return nil }
            return (input, axes.count, reduce.numerics)
        }
        /// The chain from `x` to `c` and `rstd` (`c·rstd` is their product): the op without its affine
        /// part, `x`, and each intermediate node with the number of reads the chain makes of it.
        func normalized(centred c: Int, rstd r: Int) -> (op: LayerNormRows, x: Int, interior: [Int: Int])? {
            guard let centred = binary(c, .subtract), let mean = trailingMean(centred[1]), mean.input == centred[0],
                  let root = unary(r, .reciprocal), let shifted = unary(root, .sqrt), let sum = binary(shifted, .add),
                  let variance = trailingMean(sum[0]), variance.axes == mean.axes, variance.numerics == mean.numerics,
                  binary(variance.input, .multiply) == [c, c],
                  case .constant(let epsilon) = graph.nodes[sum[1]].operation, epsilon.shape.isEmpty else { return nil }
            let x = centred[0]
            let dtype = graph.nodes[x].type.dtype
            guard dtype == .float32 || dtype == .float64, epsilon.dtype == dtype else { return nil }
            // c is read twice by the square and once by the product (or the multiply-add) with rstd.
            let interior = [centred[1]: 1, c: 3, variance.input: 1, sum[0]: 1, shifted: 1, root: 1, r: 1]
            return (LayerNormRows(axes: mean.axes, numerics: mean.numerics, epsilon: epsilon.doubles[0]), x, interior)
        }
        /// `c·rstd` at `index`.
        func normalized(_ index: Int) -> (op: LayerNormRows, x: Int, interior: [Int: Int])? {
            guard let product = binary(index, .multiply) else { return nil }
            return normalized(centred: product[0], rstd: product[1])
        }
        /// Whether `index` holds one value per element of the normalised axes of `x`.
        func perElement(_ index: Int, of x: Int, axes: Int) -> Bool {
            let shape = graph.nodes[x].type.shape, rows = LayerNormRows.rowShape(graph.nodes[index].type.shape)
            return graph.nodes[index].type.dtype == graph.nodes[x].type.dtype && rows.count <= axes
                && Array(shape.suffix(rows.count)) == rows && Shape.count(rows) == Shape.count(Array(shape.suffix(axes)))
        }

        var absorbed = [Bool](repeating: false, count: nodes.count)
        for index in graph.nodes.indices.reversed() where live[index] && !absorbed[index] {
            let inputs = graph.nodes[index].inputs
            var match: (op: LayerNormRows, x: Int, interior: [Int: Int])?
            var affine: [Int] = []
            if let add = op(index, MultiplyAdd.self) {
                // (c·rstd)·γ + β or c·rstd + β, as the fusion pass contracted them.
                if var inner = normalized(inputs[0]) {
                    inner.op.scaled = true
                    inner.interior[inputs[0]] = 1
                    (match, affine) = (inner, [inputs[1], inputs[2]])
                } else if let inner = normalized(centred: inputs[0], rstd: inputs[1]) {
                    (match, affine) = (inner, [inputs[2]])
                }
                match?.op.shifted = true
                match?.op.fusedShift = add.fused
            } else if let sum = binary(index, .add) {
                if let product = binary(sum[0], .multiply), var inner = normalized(product[0]) {
                    inner.op.scaled = true
                    inner.interior[product[0]] = 1
                    inner.interior[sum[0]] = 1
                    (match, affine) = (inner, [product[1], sum[1]])
                } else if var inner = normalized(sum[0]) {
                    inner.interior[sum[0]] = 1
                    (match, affine) = (inner, [sum[1]])
                }
                match?.op.shifted = true
            } else if let product = binary(index, .multiply) {
                if var inner = normalized(product[0]) {
                    inner.op.scaled = true
                    inner.interior[product[0]] = 1
                    (match, affine) = (inner, [product[1]])
                } else if let inner = normalized(index) {
                    (match, affine) = (inner, [])
                }
            }
            guard let match, affine.allSatisfy({ perElement($0, of: match.x, axes: match.op.axes) }),
                  graph.nodes[index].type == graph.nodes[match.x].type,
                  match.interior.allSatisfy({ uses[$0.key] == $0.value && !absorbed[$0.key] }) else { continue }
            for node in match.interior.keys { absorbed[node] = true }
            graph.nodes[index].operation = .op(match.op)
            graph.nodes[index].inputs = [match.x] + affine
        }
        return graph
    }
}

/// Layer norm over the trailing `axes` of `x` in one kernel (``Tensor/layerNormRows(_:rowLength:leaf:epsilon:scale:shift:fusedShift:)``):
/// the bits of its ``definition(_:_:)``, the chain ``GraphPass/layerNorm`` finds. Inputs: `x`, then
/// `γ` when ``scaled``, then `β` when ``shifted`` (each one value per element of the normalised axes).
public struct LayerNormRows: CompositeOp {
    /// How many trailing axes are normalised.
    public var axes: Int
    /// How the two means add their terms (``AccumulationOrder/pairwise(leaf:)``).
    public var numerics: Numerics
    /// ε, added to the variance in the input's dtype.
    public var epsilon: Double
    /// Whether the result is multiplied by `γ`.
    public var scaled: Bool
    /// Whether `β` is added to the result.
    public var shifted: Bool
    /// Whether the last product and `+ β` are one fused multiply-add (``MultiplyAdd``, as ``GraphPass/fusion`` leaves them).
    public var fusedShift: Bool

    /// The op; the parameters are the properties of the same names.
    public init(axes: Int, numerics: Numerics, epsilon: Double, scaled: Bool = false, shifted: Bool = false, fusedShift: Bool = false) {
        self.axes = axes
        self.numerics = numerics
        self.epsilon = epsilon
        self.scaled = scaled
        self.shifted = shifted
        self.fusedShift = fusedShift
    }

    public var name: String { "layer norm" }

    /// `shape` without its leading size-1 axes.
    static func rowShape(_ shape: [Int]) -> [Int] { Array(shape.drop { $0 == 1 }) }

    var leaf: Int? {
        if case .pairwise(let leaf) = numerics.accumulation { return leaf }
        return nil
    }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1 + (scaled ? 1 : 0) + (shifted ? 1 : 0))
        let x = inputs[0]
        guard x.dtype == .float32 || x.dtype == .float64 else {
            throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
        guard axes >= 1, axes <= x.shape.count, leaf != nil else {
            throw TensorError.invalidArgument(op: name, message: "normalises \(axes) trailing axes with \(numerics) sums; needs 1…\(x.shape.count) axes and pairwise sums")
        }
        for parameter in inputs.dropFirst() {
            let rows = Self.rowShape(parameter.shape)
            guard parameter.dtype == x.dtype, rows.count <= axes, Array(x.shape.suffix(rows.count)) == rows,
                  Shape.count(rows) == Shape.count(Array(x.shape.suffix(axes))) else {
                throw TensorError.shapeMismatch(op: name, expected: "one \(x.dtype) per element of the trailing \(x.shape.suffix(axes))",
                                                received: [x.shape, parameter.shape])
            }
        }
        return x
    }

    public func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value {
        let x = inputs[0]
        let rank = b.shape(of: x).count
        let trailing = Array((rank - axes)..<rank)
        let mean = try b.reduce(.mean, x, axes: trailing, keepDims: true, numerics: numerics)
        let centred = try b.subtract(x, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: trailing, keepDims: true, numerics: numerics)
        let rstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(epsilon, like: x))))
        let (gamma, beta) = (scaled ? inputs[1] : nil, shifted ? inputs.last : nil)
        if let beta, fusedShift {
            if let gamma { return try b.apply(MultiplyAdd(fused: true), [b.multiply(centred, rstd), gamma, beta]) }
            return try b.apply(MultiplyAdd(fused: true), [centred, rstd, beta])
        }
        var y = try b.multiply(centred, rstd)
        if let gamma { y = try b.multiply(y, gamma) }
        if let beta { y = try b.add(y, beta) }
        return y
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        _ = try outputType(inputs.map(TensorType.init(of:)))
        return try Tensor.layerNormRows(x, rowLength: Shape.count(Array(x.shape.suffix(axes))), leaf: leaf ?? 1, epsilon: epsilon,
                                        scale: scaled ? inputs[1] : nil, shift: shifted ? inputs.last : nil, fusedShift: fusedShift)
    }
}
