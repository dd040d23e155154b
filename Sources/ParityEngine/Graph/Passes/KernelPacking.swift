extension Graph {
    /// Gives every convolution whose kernel is a constant node a ``KeptConvolutionKernel`` of that
    /// constant, and every ``FusedLinear`` whose weight is one a ``KeptWeightMatrix``
    /// (``GraphPass/kernelPacking``). The op still reads the kernel as its input; the pack serves only
    /// that tensor.
    func keepingKernelsPacked() -> Graph {
        var graph = self
        for index in graph.nodes.indices {
            guard case .op(let op) = graph.nodes[index].operation, graph.nodes[index].inputs.count >= 2,
                  case .constant(let kernel) = graph.nodes[graph.nodes[index].inputs[1]].operation,
                  kernel.dtype == .float32 || kernel.dtype == .float64, kernel.count > 0 else { continue }
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
