extension Graph {
    /// Gives an LSTM its input projection (``GraphPass/recurrentProjection``): a ``RecurrentSequence``
    /// whose `x` is `reshape(matmul(reshape(input [batch, time, F], [batch·time, F]), W), [batch, time, 4u])`,
    /// read by nothing else, becomes one op with ``RecurrentSequence/projection`` that takes `input` and
    /// `W` and projects each step's rows inside its loop (the matmul's sums, each from +0 in `p` order),
    /// so the projection of every step is never written out and read back. The matmul stays in the op's
    /// definition, so its VJP is unchanged; no value changes.
    func projectingRecurrences() -> Graph {
        var graph = self
        var uses = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for input in node.inputs { uses[input] += 1 } }
        for output in outputs { uses[output] += 1 }

        func op(_ index: Int) -> (any Op)? {
            if case .op(let op) = graph.nodes[index].operation { return op }
            return nil
        }

        for index in graph.nodes.indices {
            guard var recurrence = op(index) as? RecurrentSequence, recurrence.isLSTM, recurrence.projection == nil else { continue }
            let outer = graph.nodes[index].inputs[0]
            guard uses[outer] == 1, op(outer) is Reshape, case let product = graph.nodes[outer].inputs[0], uses[product] == 1,
                  let matmul = op(product) as? MatMul else { continue }
            let (flat, weights) = (graph.nodes[product].inputs[0], graph.nodes[product].inputs[1])
            guard op(flat) is Reshape, case let input = graph.nodes[flat].inputs[0] else { continue }
            let (shape, projected, w) = (graph.nodes[input].type.shape, graph.nodes[outer].type.shape, graph.nodes[weights].type.shape)
            guard shape.count == 3, projected.count == 3, projected[0] == shape[0], projected[1] == shape[1],
                  graph.nodes[flat].type.shape == [shape[0] * shape[1], shape[2]], w == [shape[2], projected[2]],
                  graph.nodes[input].type.dtype == graph.nodes[index].type.dtype else { continue }
            recurrence.projection = matmul.numerics
            graph.nodes[index].operation = .op(recurrence)
            graph.nodes[index].inputs = [input] + graph.nodes[index].inputs.dropFirst() + [weights]
            uses[outer] = 0
            uses[product] = 0
        }
        return graph
    }
}
