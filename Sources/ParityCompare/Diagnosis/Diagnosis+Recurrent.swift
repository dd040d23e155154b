import ParityConvert
import ParityKeras

extension Diagnosis {
    /// `gru-reset-after`: a Keras GRU with `reset_after=False` (reset applied before the recurrent matmul,
    /// standalone Keras 2's default) against PyTorch's `nn.GRU`, which always applies it after. A's layer is
    /// rebuilt with `reset_after=True` and B's weights read back through that convention (conventions.md D.14).
    static func gruResetAfter(_ c: Context) throws -> [Hypothesis] {
        guard c.layer.className == "GRU", (c.layer.model as? GRU)?.resetAfter == false, c.node("gru") != nil,
              c.layer.weights.count == 3, c.layer.weights[2].rank == 1 else { return [] }
        var weights = c.layer.weights
        weights[2] = try Tensor.concatenate([weights[2], Tensor.zeros(weights[2].shape, dtype: weights[2].dtype)], axis: 0)
            .reshaped([2, weights[2].count])
        guard var gru = c.layer.model as? GRU else { return [] }
        gru.resetAfter = true
        guard let convention = try WeightConvention.of(className: "GRU", model: gru, weights: weights),
              let fromB = try? convention.kerasWeights(c.parameters.relative(convention.parameters.flatMap(\.names))) else { return [] }
        return [Hypothesis(
            cause: .gruResetAfter, a: "reset_after=False: reset gate applied before the recurrent matmul",
            b: "nn.GRU: reset gate applied after the recurrent matmul (reset_after=True)",
            fix: "nn.GRU cannot express reset_after=False: write the GRU cell by hand (n = tanh(W_in·x + b_in + W_hn·(r ⊙ h))), or retrain with reset_after=True",
            kerasFix: "keras.layers.GRU(..., reset_after=True) with bias = \(ParameterTable.rows("GRU")?.last?.inverseTransform() ?? "rows [b_ih; b_hh]")",
            rerun: try rerunning(c.layer, config: ["reset_after": .bool(true)], weights: fromB))]
    }
}
