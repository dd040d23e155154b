extension Graph {
    /// Moves permutes below elementwise ops (``Unary``, ``Binary``, ``MultiplyAdd``), where they meet
    /// the next permute and compose, often into the identity. PyTorch's NCHW graphs permute to
    /// channels-last around every convolution, so `conv → permute → batch norm → ReLU → permute → conv`
    /// becomes `conv → batch norm → ReLU → conv` in one layout. An elementwise op computes each element
    /// from the same elements whatever the layout, so no value changes.
    ///
    /// A permute is carried as a pending order on its value and emitted (once per value and order)
    /// only where an op that is not elementwise, or a graph output, reads it. An elementwise op moves
    /// above a pending permute when every permuted operand has the output's shape and one pending
    /// order; a constant operand is permuted once here, any other operand of the output's shape gets
    /// the inverse permute (in a residual block, the very permute its convolution already reads).
    /// A max pool moves too, into the channels-last layout (`sunkPool`).
    func sinkingPermutes() throws -> Graph {
        var result: [Node] = []
        // Old node → (new node, pending order): old value = permute(new node, order).
        var values: [(node: Int, order: [Int]?)] = []
        var emitted: [[Int]: Int] = [:]

        func materialize(_ value: (node: Int, order: [Int]?)) -> Int {
            guard let order = value.order else { return value.node }
            let key = [value.node] + order
            if let node = emitted[key] { return node }
            let type = result[value.node].type
            result.append(Node(operation: .op(Permute(order: order)), inputs: [value.node], type: TensorType(type.dtype, order.map { type.shape[$0] })))
            emitted[key] = result.count - 1
            return result.count - 1
        }

        // The elementwise op `node` on the unpermuted values, or nil when it cannot move.
        func sunk(_ node: Node, _ op: any Op) throws -> (node: Int, order: [Int])? {
            guard op is Unary || op is Binary || op is MultiplyAdd else { return nil }
            let shape = node.type.shape
            var order: [Int]?
            for input in node.inputs {
                guard let pending = values[input].order else { continue }
                guard nodes[input].type.shape == shape, order == nil || order == pending else { return nil }
                order = pending
            }
            guard let order else { return nil }
            let inverse = Permute(order: order).inverse
            for input in node.inputs where values[input].order == nil && nodes[input].type.shape != shape {
                guard case .constant(let tensor) = nodes[input].operation, tensor.rank <= shape.count else { return nil }
            }
            var inputs: [Int] = []
            for input in node.inputs {
                if values[input].order != nil {
                    inputs.append(values[input].node)
                    continue
                }
                if nodes[input].type.shape == shape {
                    // A value in the output's layout: permuted back (shared with any other reader of that permute).
                    inputs.append(materialize((values[input].node, inverse)))
                    continue
                }
                guard case .constant(let tensor) = nodes[input].operation else { return nil }
                let aligned = try tensor.reshaped(Array(repeating: 1, count: shape.count - tensor.rank) + tensor.shape).permuted(inverse)
                result.append(Node(operation: .constant(aligned), inputs: [], type: TensorType(of: aligned)))
                inputs.append(result.count - 1)
            }
            result.append(Node(operation: node.operation, inputs: inputs, type: TensorType(node.type.dtype, inverse.map { shape[$0] })))
            return (result.count - 1, order)
        }

        // An NCHW max pool (``WindowMax`` over the trailing axes) of a permuted value whose pooled
        // axes are consecutive, in order, in the unpermuted value: the same windows pooled there, the
        // axes after them read as a group (the NHWC channels), or nil when it cannot move. Each
        // output is the maximum of the same input elements in the same cell order: the same bits.
        func sunkPool(_ node: Node, _ op: any Op) -> (node: Int, order: [Int])? {
            guard let pool = op as? WindowMax, !pool.grouped, pool.windowAxis == pool.patchShape.count - 1,
                  let order = values[node.inputs[0]].order else { return nil }
            let source = values[node.inputs[0]].node, shape = result[source].type.shape
            let batch = pool.batchRank, pooled = order.count - batch
            guard pooled >= 1, let first = order.dropFirst(batch).first,
                  order[batch...].elementsEqual(first..<(first + pooled)) else { return nil }
            let trailing = Array(shape[(first + pooled)...])
            guard Shape.count(trailing) > 0 else { return nil }
            let positions = pool.patchShape.count - 1
            let moved = WindowMax(indices: pool.indices, patchShape: pool.patchShape + trailing, windowAxis: pool.windowAxis,
                                  batchRank: first, grouped: true)
            let outShape = Array(shape[..<first]) + pool.patchShape.dropLast() + trailing
            result.append(Node(operation: .op(moved), inputs: [source], type: TensorType(node.type.dtype, outShape)))
            let moves = order[..<batch].map { $0 < first ? $0 : $0 - pooled + positions } + (0..<positions).map { first + $0 }
            return (result.count - 1, moves)
        }

        for node in nodes {
            if case .op(let op) = node.operation {
                if let permute = op as? Permute {
                    let input = values[node.inputs[0]]
                    let order = input.order.map { pending in permute.order.map { pending[$0] } } ?? permute.order
                    values.append((input.node, order == Array(order.indices) ? nil : order))
                    continue
                }
                if let moved = try sunk(node, op) ?? sunkPool(node, op) {
                    values.append((moved.node, moved.order == Array(moved.order.indices) ? nil : moved.order))
                    continue
                }
            }
            var copy = node
            copy.inputs = node.inputs.map { materialize(values[$0]) }
            result.append(copy)
            values.append((result.count - 1, nil))
        }
        let outputs = outputs.map { materialize(values[$0]) }
        return Graph(nodes: result, inputTypes: inputTypes, outputs: outputs)
    }
}
