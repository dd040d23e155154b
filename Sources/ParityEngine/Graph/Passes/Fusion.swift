extension Graph {
    /// One forward sweep of pattern rewrites; producers that become unused are left for dead-code
    /// elimination. A producer is only absorbed when nothing else reads it.
    func fusingOps() -> Graph {
        var graph = self
        var uses = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for input in node.inputs { uses[input] += 1 } }
        for output in outputs { uses[output] += 1 }

        func op(_ index: Int) -> (any Op)? {
            if case .op(let op) = graph.nodes[index].operation { return op }
            return nil
        }

        for index in graph.nodes.indices {
            guard let consumer = op(index) else { continue }
            let inputs = graph.nodes[index].inputs
            let type = graph.nodes[index].type

            // MatMul(x, w[k, n]) + bias[n]  →  FusedLinear(x, w, bias)
            if let add = consumer as? Binary, add.function == .add {
                for (product, bias) in [(inputs[0], inputs[1]), (inputs[1], inputs[0])] {
                    guard uses[product] == 1, let matmul = op(product) as? MatMul,
                          graph.nodes[product].type == type,
                          graph.nodes[bias].type.shape == [type.shape.last ?? -1] else { continue }
                    let (x, w) = (graph.nodes[product].inputs[0], graph.nodes[product].inputs[1])
                    guard graph.nodes[w].type.shape.count == 2 else { continue }
                    graph.nodes[index].operation = .op(FusedLinear(numerics: matmul.numerics))
                    graph.nodes[index].inputs = [x, w, bias]
                    uses[product] = 0
                    break
                }
                if op(index) is FusedLinear { continue }
                // a·b + c  →  fused multiply-add
                for (product, addend) in [(inputs[0], inputs[1]), (inputs[1], inputs[0])] {
                    guard uses[product] == 1, let multiply = op(product) as? Binary, multiply.function == .multiply else { continue }
                    graph.nodes[index].operation = .op(MultiplyAdd(fused: true))
                    graph.nodes[index].inputs = graph.nodes[product].inputs + [addend]
                    uses[product] = 0
                    break
                }
            }

            // FusedLinear → activation  →  FusedLinear with the activation
            if let activation = consumer as? Unary, uses[inputs[0]] == 1,
               let linear = op(inputs[0]) as? FusedLinear, linear.activation == nil {
                graph.nodes[index].operation = .op(FusedLinear(numerics: linear.numerics, activation: activation.function))
                graph.nodes[index].inputs = graph.nodes[inputs[0]].inputs
                uses[inputs[0]] = 0
            }
        }
        return graph
    }
}
