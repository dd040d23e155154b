extension Graph {
    /// Gives an LSTM its input projection (``GraphPass/recurrentProjection``): a ``RecurrentSequence``
    /// whose `x` is `reshape(matmul(reshape(input [batch, time, F], [batch·time, F]), W), [batch, time, 4u])`
    /// (ParityNN's and Keras's LSTM), or the same with a ``FusedLinear`` without activation (PyTorch's
    /// `x·W_ihᵀ + b_ih` after ``GraphPass/fusion``), read by nothing else, becomes one op with
    /// ``RecurrentSequence/projection`` that takes `input`, `W` (and the bias) and projects each step's
    /// rows inside its loop (the product's sums, each from +0 or from the bias in `p` order), so the
    /// projection of every step is never written out and read back. The product stays in the op's
    /// definition, so its VJP is unchanged; no value changes.
    func projectingRecurrences() -> Graph {
        var graph = self
        var uses = readCounts()
        func op(_ index: Int) -> (any Op)? { graph.op(at: index) }

        for index in graph.nodes.indices {
            guard var recurrence = op(index) as? RecurrentSequence, recurrence.isLSTM, recurrence.projection == nil else { continue }
            let outer = graph.nodes[index].inputs[0]
            guard uses[outer] == 1, op(outer) is Reshape, case let product = graph.nodes[outer].inputs[0], uses[product] == 1 else { continue }
            let numerics: Numerics, bias: Int?
            if let matmul = op(product) as? MatMul {
                (numerics, bias) = (matmul.numerics, nil)
            } else if let linear = op(product) as? FusedLinear, linear.activation == nil {
                (numerics, bias) = (linear.numerics, graph.nodes[product].inputs[2])
            } else {
                continue
            }
            let (flat, weights) = (graph.nodes[product].inputs[0], graph.nodes[product].inputs[1])
            guard op(flat) is Reshape, case let input = graph.nodes[flat].inputs[0] else { continue }
            let (shape, projected, w) = (graph.nodes[input].type.shape, graph.nodes[outer].type.shape, graph.nodes[weights].type.shape)
            guard shape.count == 3, projected.count == 3, projected[0] == shape[0], projected[1] == shape[1],
                  graph.nodes[flat].type.shape == [shape[0] * shape[1], shape[2]], w == [shape[2], projected[2]],
                  graph.nodes[input].type.dtype == graph.nodes[index].type.dtype else { continue }
            recurrence.projection = numerics
            recurrence.projectionBias = bias != nil
            graph.nodes[index].operation = .op(recurrence)
            graph.nodes[index].inputs = [input] + graph.nodes[index].inputs.dropFirst() + [weights] + (bias.map { [$0] } ?? [])
            uses[outer] = 0
            uses[product] = 0
        }
        return graph
    }
}
