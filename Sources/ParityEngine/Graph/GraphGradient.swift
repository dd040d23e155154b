extension Graph {
    /// The gradient graph (TensorFlow's `tf.gradients`): inputs are this graph's inputs plus a
    /// cotangent for its single output; outputs are that output followed by the gradient with respect
    /// to each input in `inputIndices` (zeros where the output does not depend on it).
    ///
    /// Each op's VJP rule adds nodes; a `cond` gets a `cond` of its branches' gradient graphs, so the
    /// gradient of a data-dependent branch is again a data-dependent branch.
    public func gradient(withRespectTo inputIndices: [Int]) throws -> Graph {
        guard outputs.count == 1 else {
            throw TensorError.invalidArgument(op: "gradient", message: "needs a graph with one output; this one has \(outputs.count)")
        }
        return try gradient(ofOutput: 0, withRespectTo: inputIndices)
    }

    /// The gradient graph of output `position` of a graph with several outputs (a training step's loss
    /// among the running statistics it assigns): inputs are this graph's inputs plus a cotangent for that
    /// output; outputs are every output of this graph, in order, followed by the gradients.
    public func gradient(ofOutput position: Int, withRespectTo inputIndices: [Int]) throws -> Graph {
        guard outputs.indices.contains(position) else {
            throw TensorError.invalidArgument(op: "gradient", message: "the graph has no output \(position); it has \(outputs.count)")
        }
        let output = nodes[outputs[position]]
        let b = GraphBuilder(extending: self, extraInputs: [output.type])
        var adjoints: [Int: Symbol] = [outputs[position]: b.inputs.last!]
        for index in stride(from: nodes.count - 1, through: 0, by: -1) {
            guard let g = adjoints.removeValue(forKey: index) else { continue }
            let node = nodes[index]
            let args = node.inputs.map(b.symbol)
            var grads: [Symbol?]
            switch node.operation {
            case .input:
                adjoints[index] = g
                continue
            case .constant:
                continue
            case .op(let op):
                grads = try op.vjp(b, inputs: args, output: b.symbol(index), cotangent: g)
            case .cond(let thenGraph, let elseGraph):
                grads = [nil]
                let operands = Array(args.dropFirst())
                for (position, operand) in operands.enumerated() {
                    guard operand.type.dtype.isFloatingPoint else { grads.append(nil); continue }
                    let thenGrad = try thenGraph.gradient(withRespectTo: [position]).keepingOutputs([1])
                    let elseGrad = try elseGraph.gradient(withRespectTo: [position]).keepingOutputs([1])
                    grads.append(b.append(.cond(then: thenGrad, else: elseGrad), inputs: node.inputs + [g.node], type: operand.type))
                }
            }
            for (input, grad) in zip(node.inputs, grads) {
                guard let grad else { continue }
                adjoints[input] = try b.accumulate(adjoints[input], grad)
            }
        }
        let inputNodes = nodes.indices.reduce(into: [Int: Int]()) { map, index in
            if case .input(let n) = nodes[index].operation { map[n] = index }
        }
        var gradientOutputs: [Symbol] = []
        for n in inputIndices {
            guard let node = inputNodes[n] else {
                throw TensorError.invalidArgument(op: "gradient", message: "the graph has no input \(n)")
            }
            gradientOutputs.append(adjoints[node] ?? b.constant(Tensor.zeros(nodes[node].type.shape, dtype: nodes[node].type.dtype)))
        }
        return try b.finish(outputs: outputs.map(b.symbol) + gradientOutputs)
    }

    /// The same graph returning only the outputs at `positions`, with unused nodes removed.
    public func keepingOutputs(_ positions: [Int]) -> Graph {
        var copy = self
        copy.outputs = positions.map { outputs[$0] }
        return copy.eliminatingDeadCode()
    }
}
