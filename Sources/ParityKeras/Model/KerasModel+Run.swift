extension KerasModel {
    /// Runs the model on concrete inputs (one per model input, in `input_layers` order) and returns
    /// every output. Float64 inputs give the Float64 reference run with the same weights.
    public func run(_ inputs: [Tensor], mode: ExecutionMode) throws -> [Tensor] {
        try network.runOutputs(inputs, mode: mode)
    }
}
