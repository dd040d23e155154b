extension Graph {
    /// One forward sweep of pattern rewrites; producers that become unused are left for dead-code
    /// elimination. A producer is only absorbed when nothing else reads it.
    func fusingOps() -> Graph {
        var graph = self
        var uses = readCounts()
        func op(_ index: Int) -> (any Op)? { graph.op(at: index) }

        /// The convolution stage node `index` extends, as the extended op and the inputs it adds.
        func convolutionEpilogue(_ index: Int) -> (fused: (op: FusedConvolution, extra: [Int]), producer: Int)? {
            guard let consumer = op(index) else { return nil }
            let inputs = graph.nodes[index].inputs
            let type = graph.nodes[index].type
            func stage(_ node: Int) -> FusedConvolution? {
                guard uses[node] == 1, graph.nodes[node].type == type else { return nil }
                if let product = op(node) as? CrossCorrelation, product.runsDirectly { return FusedConvolution(product: product) }
                return op(node) as? FusedConvolution
            }
            func perChannel(_ node: Int) -> Bool {
                let t = graph.nodes[node].type
                return t.dtype == type.dtype && FusedConvolution.isPerChannel(t.shape, channels: type.shape.last ?? -1, rank: type.shape.count)
            }
            if let multiplyAdd = consumer as? MultiplyAdd {
                for (product, scale) in [(inputs[0], inputs[1]), (inputs[1], inputs[0])] {
                    guard var fused = stage(product), fused.affine == nil, !fused.residual, fused.activation == nil,
                          perChannel(scale), perChannel(inputs[2]) else { continue }
                    fused.affine = .multiplyAdd(fused: multiplyAdd.fused)
                    return ((fused, [scale, inputs[2]]), product)
                }
            }
            if let add = consumer as? Binary, add.function == .add {
                for (product, other) in [(inputs[0], inputs[1]), (inputs[1], inputs[0])] {
                    guard var fused = stage(product), !fused.residual, fused.activation == nil else { continue }
                    if fused.affine == nil, perChannel(other) {
                        fused.affine = .add
                    } else if graph.nodes[other].type == type {
                        fused.residual = true
                    } else {
                        continue
                    }
                    return ((fused, [other]), product)
                }
            }
            if let unary = consumer as? Unary, ConvolutionEpilogue.takes(unary.function), var fused = stage(inputs[0]), fused.activation == nil {
                fused.activation = unary.function
                return ((fused, []), inputs[0])
            }
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

            // Convolution → per-channel multiply-add or add → residual add → ReLU/clip  →  one
            // FusedConvolution (the same bits: each step rounds as its op does).
            if let (fused, producer) = convolutionEpilogue(index) {
                graph.nodes[index].operation = .op(fused.op)
                graph.nodes[index].inputs = graph.nodes[producer].inputs + fused.extra
                uses[producer] = 0
            }
        }
        return graph
    }
}
