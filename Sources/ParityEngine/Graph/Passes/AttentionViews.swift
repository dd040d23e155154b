extension Graph {
    /// Lets ``Attention`` read q, k and v where they are: a chain of reshapes, permutes and slices
    /// between a tensor and an attention operand (PyTorch's `MultiheadAttention` splits its packed
    /// projection into heads with six of them per operand, each a copy) becomes a strided view the
    /// kernel reads in place, and a permute reading the attention's output (the heads merged back) is
    /// written directly by the kernel. The chains stay in ``ViewedAttention``'s definition, so its VJP
    /// is unchanged, and every sum is the same: no value changes.
    func viewingAttentionOperands() -> Graph {
        var graph = self
        var readers = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() { for input in node.inputs { readers[input].append(index) } }
        let outputs = Set(self.outputs)

        func op(_ index: Int) -> (any Op)? { graph.op(at: index) }

        // The longest view chain ending at `node`: its source node, the chain's ops and the layout.
        func view(of node: Int) -> (source: Int, chain: [any Op], layout: Attention.OperandLayout) {
            var chain: [(node: Int, op: any Op)] = []
            var current = node
            while let step = op(current), step is Reshape || step is Permute || step is Slice {
                chain.insert((current, step), at: 0)
                current = graph.nodes[current].inputs[0]
            }
            // From the farthest source that every step can follow.
            for start in chain.indices {
                let source = graph.nodes[chain[start].node].inputs[0]
                var strided = StridedView(shape: graph.nodes[source].type.shape)
                if chain[start...].allSatisfy({ strided.apply($0.op) }), let strides = strided.strides {
                    return (source, chain[start...].map(\.op),
                            Attention.OperandLayout(shape: strided.shape, offset: strided.offset, strides: strides))
                }
            }
            return (node, [], Attention.OperandLayout(shape: graph.nodes[node].type.shape))
        }

        for index in graph.nodes.indices {
            guard let attention = op(index) as? Attention else { continue }
            let inputs = graph.nodes[index].inputs
            let operands = inputs.prefix(3).map(view(of:))
            var order: [Int]?
            var target = index
            let rank = graph.nodes[index].type.shape.count
            if !outputs.contains(index), readers[index].count == 1, let permute = op(readers[index][0]) as? Permute,
               permute.order.last == rank - 1 {
                order = permute.order
                target = readers[index][0]
            }
            guard order != nil || operands.contains(where: { !$0.chain.isEmpty }) else { continue }
            let fused = ViewedAttention(attention: attention, views: operands.map(\.chain), layouts: operands.map(\.layout),
                                        outputOrder: order)
            graph.nodes[target].operation = .op(fused)
            graph.nodes[target].inputs = operands.map(\.source) + inputs.dropFirst(3)
        }
        return graph
    }
}

/// A tensor's elements seen through reshapes, permutes and slices without moving them: each axis is a
/// list of factors (size, stride), outermost first, so that a reshape that splits and merges axes
/// across a permute (heads split from a packed projection, then moved in front) stays exact. The
/// view has plain strides when every axis's factors merge into one.
struct StridedView {
    /// The storage index of element `[0, …]`.
    private(set) var offset = 0
    private var axes: [[(size: Int, stride: Int)]]

    init(shape: [Int]) {
        axes = zip(shape, Shape.strides(shape)).map { [($0, $1)] }
        axes = axes.map(Self.merged)
    }

    var shape: [Int] { axes.map { $0.reduce(1) { $0 * $1.size } } }

    /// One stride per axis, or nil when an axis's factors do not merge into one.
    var strides: [Int]? {
        var result: [Int] = []
        for factors in axes {
            switch factors.count {
            case 0: result.append(0)
            case 1: result.append(factors[0].stride)
            default: return nil
            }
        }
        return result
    }

    /// Size-1 factors dropped; neighbours merged where the outer one steps over the inner one exactly.
    private static func merged(_ factors: [(size: Int, stride: Int)]) -> [(size: Int, stride: Int)] {
        var result: [(size: Int, stride: Int)] = []
        for factor in factors where factor.size != 1 {
            if let last = result.last, last.stride == factor.stride * factor.size {
                result[result.count - 1] = (last.size * factor.size, factor.stride)
            } else {
                result.append(factor)
            }
        }
        return result
    }

    /// Follows `op` (a reshape, permute or slice); false when the view cannot express it.
    mutating func apply(_ op: any Op) -> Bool {
        if let reshape = op as? Reshape { return reshaped(reshape.shape) }
        if let permute = op as? Permute {
            guard permute.order.count == axes.count else { return false }
            axes = permute.order.map { axes[$0] }
            return true
        }
        if let slice = op as? Slice { return sliced(slice.axes) }
        return false
    }

    private mutating func reshaped(_ target: [Int]) -> Bool {
        var sizes = target
        let total = Shape.count(shape)
        if let unknown = sizes.firstIndex(of: -1) {
            let known = sizes.enumerated().reduce(1) { $1.offset == unknown ? $0 : $0 * $1.element }
            guard known > 0, total % known == 0 else { return false }
            sizes[unknown] = total / known
        }
        guard sizes.allSatisfy({ $0 >= 0 }), Shape.count(sizes) == total, total > 0 else { return false }
        var flat = Self.merged(axes.flatMap { $0 })
        var next = 0
        var result: [[(size: Int, stride: Int)]] = []
        for size in sizes {
            var factors: [(size: Int, stride: Int)] = []
            var rest = size
            while rest > 1 {
                guard next < flat.count else { return false }
                let factor = flat[next]
                if factor.size <= rest {
                    guard rest % factor.size == 0 else { return false }
                    factors.append(factor)
                    rest /= factor.size
                    next += 1
                } else {
                    // Split the factor: its outer `rest` steps go to this axis, the inner ones stay.
                    guard factor.size % rest == 0 else { return false }
                    let inner = factor.size / rest
                    factors.append((rest, factor.stride * inner))
                    flat[next] = (inner, factor.stride)
                    rest = 1
                }
            }
            result.append(Self.merged(factors))
        }
        guard next == flat.count else { return false }
        axes = result
        return true
    }

    private mutating func sliced(_ slices: [SliceAxis]) -> Bool {
        guard slices.count <= axes.count else { return false }
        let sizes = shape
        for (axis, slice) in slices.enumerated() {
            guard let (first, count) = try? slice.resolve(size: sizes[axis]) else { return false }
            if slice.step == 1, first == 0, count == sizes[axis] { continue }
            guard slice.step > 0 else { return false }
            if count <= 1 {
                // One element (or none): only its position matters.
                guard count == 0 || first < sizes[axis] else { return false }
                if count == 1 {
                    var rest = first
                    for factor in axes[axis].reversed() {
                        offset += (rest % factor.size) * factor.stride
                        rest /= factor.size
                    }
                }
                axes[axis] = count == 0 ? [(0, 1)] : []
                continue
            }
            guard axes[axis].count == 1 else { return false }
            let stride = axes[axis][0].stride
            offset += first * stride
            axes[axis] = [(count, stride * slice.step)]
        }
        return true
    }
}

/// ``Attention`` reading q, k and v in place through views (the reshapes, permutes and slices in
/// ``views``, which ``layouts`` express as strides) and writing its output permuted by
/// ``outputOrder``: what ``GraphPass/attentionViews`` makes of a framework's head split and merge.
/// Inputs: the tensors the views start from (q's, k's, v's; one tensor may serve several), then the
/// mask when the attention has one. Its definition is the views, the attention and the permute, so its
/// forward has their bits and its VJP is theirs.
public struct ViewedAttention: CompositeOp {
    /// The attention.
    public var attention: Attention
    /// For q, k and v: the ops from the input to the operand, in order (empty: the input itself).
    public var views: [[any Op]]
    /// For q, k and v: where the operand's elements are in the input.
    public var layouts: [Attention.OperandLayout]
    /// The permute applied to the attention's output, or nil.
    public var outputOrder: [Int]?

    /// The op; the parameters are the properties of the same names.
    public init(attention: Attention, views: [[any Op]], layouts: [Attention.OperandLayout], outputOrder: [Int]?) {
        self.attention = attention
        self.views = views
        self.layouts = layouts
        self.outputOrder = outputOrder
    }

    public var name: String { "attention (operands in place)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        var types = inputs
        for operand in 0..<3 {
            for op in views[operand] { types[operand] = try op.checkedOutputType([types[operand]]) }
        }
        let y = try attention.outputType(types)
        guard let outputOrder else { return y }
        return try Permute(order: outputOrder).outputType([y])
    }

    public func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value {
        var operands = inputs
        for operand in 0..<3 {
            for op in views[operand] { operands[operand] = try b.apply(op, [operands[operand]]) }
        }
        let y = try b.apply(attention, operands)
        guard let outputOrder else { return y }
        return try b.apply(Permute(order: outputOrder), [y])
    }

    /// Throws when an input's shape is not the one ``layouts`` were planned for (the views of that
    /// shape would read other elements).
    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        for operand in 0..<3 {
            var view = StridedView(shape: inputs[operand].shape)
            guard views[operand].allSatisfy({ view.apply($0) }), let strides = view.strides,
                  Attention.OperandLayout(shape: view.shape, offset: view.offset, strides: strides).reads(as: layouts[operand]) else {
                throw TensorError.invalidArgument(op: name, message: "operand \(operand)'s views of an input of shape \(inputs[operand].shape) are not its planned layout \(layouts[operand])")
            }
        }
        let (q, v) = (layouts[0].shape, layouts[2].shape)
        let logical = Array(q.dropLast()) + [v.last!]
        guard let outputOrder else { return try attention.forward(inputs, operands: layouts, output: logical) }
        // The permuted output is contiguous; the attention's element [h…, i, j] sits at the permuted strides.
        let output = outputOrder.map { logical[$0] }
        let permutedStrides = Shape.strides(output)
        var strides = [Int](repeating: 0, count: logical.count)
        for (position, axis) in outputOrder.enumerated() { strides[axis] = permutedStrides[position] }
        return try attention.forward(inputs, operands: layouts, output: output, outputStrides: strides)
    }
}
