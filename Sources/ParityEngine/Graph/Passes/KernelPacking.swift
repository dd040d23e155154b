extension Graph {
    /// Gives every convolution whose kernel is a constant node a ``KeptConvolutionKernel`` of that
    /// constant, every ``FusedLinear`` whose weight is one a ``KeptWeightMatrix``, and an LSTM's
    /// constant `U` and projection `W` a ``KeptRecurrentMatrix`` each (``GraphPass/kernelPacking``). The
    /// op still reads the kernel as its input; the pack serves only that tensor.
    func keepingKernelsPacked() -> Graph {
        var graph = self
        func constant(_ node: Int) -> Tensor? {
            guard case .constant(let t) = graph.nodes[node].operation, t.dtype == .float32 || t.dtype == .float64, t.count > 0 else { return nil }
            return t
        }
        for index in graph.nodes.indices {
            if case .op(var recurrence as RecurrentSequence) = graph.nodes[index].operation, recurrence.isLSTM {
                let inputs = graph.nodes[index].inputs
                if recurrence.keptMatrix == nil, let u = constant(inputs[recurrence.matrixIndex]) { recurrence.keptMatrix = KeptRecurrentMatrix(u) }
                if recurrence.keptProjection == nil, let w = recurrence.projectionIndex.flatMap({ constant(inputs[$0]) }) {
                    recurrence.keptProjection = KeptRecurrentMatrix(w)
                }
                graph.nodes[index].operation = .op(recurrence)
                continue
            }
            guard let op = graph.op(at: index), graph.nodes[index].inputs.count >= 2,
                  let kernel = constant(graph.nodes[index].inputs[1]) else { continue }
            if var product = op as? CrossCorrelation, product.runsDirectly, product.kept == nil {
                product.kept = KeptConvolutionKernel(kernel)
                graph.nodes[index].operation = .op(product)
            } else if var fused = op as? FusedConvolution, fused.product.runsDirectly, fused.product.kept == nil {
                fused.product.kept = KeptConvolutionKernel(kernel)
                graph.nodes[index].operation = .op(fused)
            } else if var linear = op as? FusedLinear, linear.kept == nil, kernel.rank == 2 {
                linear.kept = KeptWeightMatrix(kernel)
                graph.nodes[index].operation = .op(linear)
            }
        }
        return graph
    }
}
