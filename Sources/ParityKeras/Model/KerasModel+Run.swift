extension KerasModel {
    /// Runs the model on concrete inputs (one per model input, in `input_layers` order) and returns
    /// every output. It computes in `dtype`, by default its float inputs' dtype: Float64 inputs give
    /// the Float64 reference run with the same weights; a model fed only token ids needs `dtype`.
    /// `workingSet` meters the intermediate values an eager run holds (and stops it past its limit).
    public func run(_ inputs: [Tensor], mode: ExecutionMode, dtype: DType? = nil, workingSet: WorkingSet? = nil) throws -> [Tensor] {
        // Float inputs in `dtype` from the start (the first layers would otherwise compute in theirs).
        let inputs = dtype.map { dtype in inputs.map { $0.dtype.isFloatingPoint && !$0.dtype.isComplex ? $0.cast(to: dtype) : $0 } } ?? inputs
        var network = self.network
        network.computeDType = dtype
        guard let workingSet, case .eager = mode else { return try network.runOutputs(inputs, mode: mode) }
        let context = EagerContext()
        return try network.outputs(inputs.map(context.constant), in: context, workingSet: workingSet).map(\.tensor)
    }
}
