import ParityNN

/// MultiHeadAttention (`keras/src/layers/attention/multi_head_attention.py`).
extension KerasLayers {
    static let attention: [String: Factory] = ["MultiHeadAttention": multiHeadAttention]

    /// Weights: query kernel `[dq, H, dk]` and bias `[H, dk]`, key, value (`[dv_in, H, dv]`), output
    /// kernel `[H, dv, out]` and bias `[out]`; no biases without `use_bias`. Rank-3 inputs with the
    /// default attention axes run Keras's `dot_product_attention` path (scale on the logits), or its
    /// fallback when the config has a `dropout` (scale on the query, masks through the Softmax layer);
    /// other attention axes and gating are not supported.
    @Sendable static func multiHeadAttention(_ layer: KerasLayerConfig) throws -> any Model {
        let heads = try layer.int("num_heads"), dk = try layer.int("key_dim")
        let dv = try layer.has("value_dim") ? layer.int("value_dim") : dk
        let useBias = try layer.has("use_bias") ? layer.bool("use_bias") : true
        if layer.has("attention_axes"), try layer.axes("attention_axes") != [1] {
            throw KerasError.unsupportedSetting(layer: layer.name, key: "attention_axes", value: "\(layer.config["attention_axes"]!)")
        }
        try layer.require("use_gate", in: [.bool(false)])
        try layer.require("sliding_window", in: [.null])
        guard heads >= 1, dk >= 1, dv >= 1 else { throw KerasError.badConfig(layer: layer.name, key: "num_heads/key_dim/value_dim", found: "\(heads), \(dk), \(dv)") }
        let perProjection = useBias ? 2 : 1
        guard layer.weights.count == 4 * perProjection else {
            throw KerasError.weightMismatch(layer: layer.name, message: "expects \(4 * perProjection) weight arrays; the file has \(layer.weights.count) \(layer.weights.map(\.shape))")
        }
        let w = layer.weights
        let dq = dimension(layer, weight: 0, axis: 0), dkIn = dimension(layer, weight: perProjection, axis: 0)
        let dvIn = dimension(layer, weight: 2 * perProjection, axis: 0), out = dimension(layer, weight: 3 * perProjection, axis: 2)
        var shapes: [[Int]] = []
        for (inputs, dim) in [(dq, dk), (dkIn, dk), (dvIn, dv)] { shapes += [[inputs, heads, dim]] + (useBias ? [[heads, dim]] : []) }
        shapes += [[heads, dv, out]] + (useBias ? [[out]] : [])
        _ = try layer.weights(shapes: shapes)
        func bias(_ i: Int) -> Tensor? { useBias ? w[i * 2 + 1] : nil }
        let dropout = try layer.optionalDouble("dropout") ?? 0
        return MultiHeadAttention(queryKernel: w[0], queryBias: bias(0), keyKernel: w[perProjection], keyBias: bias(1),
                                  valueKernel: w[2 * perProjection], valueBias: bias(2), outputKernel: w[3 * perProjection], outputBias: bias(3),
                                  scale: layer.constant(1 / Double(dk).squareRoot()), scaleStage: dropout > 0 ? .query : .logits, dropout: dropout)
    }
}

/// Keras's `MultiHeadAttention` called as a functional model records it: `(query, value, key=None,
/// attention_mask=None, return_attention_scores=False, use_causal_mask=False)`; with
/// `return_attention_scores` it has two outputs (the output, then the probabilities `[B, H, T, S]`).
extension MultiHeadAttention: KerasCallable {
    public func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        var call = call
        // A list of tensors as the one positional argument (as a merge layer is called) is read as the positional tensors.
        if call.args.count == 1, case .list(let items) = call.args[0], items.allSatisfy({ $0.tensor != nil }) { call.args = items }
        func tensor(_ index: Int, _ name: String) -> B.Value? { call.argument(index, name)?.tensor }
        func flag(_ index: Int, _ name: String) -> Bool { call.argument(index, name)?.constant?.bool ?? false }
        guard let query = tensor(0, "query"), let value = tensor(1, "value") else {
            throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without query and value tensors")
        }
        let returnScores = flag(7, "return_attention_scores")
        var attention = self
        // Returning the scores takes Keras's einsum path (query scaled first), as a dropout does.
        if returnScores { attention.scaleStage = .query }
        let (output, scores) = try attention.attend(query: query, value: value, key: tensor(2, "key"), mask: tensor(6, "attention_mask"),
                                                    causal: flag(9, "use_causal_mask"), returningScores: returnScores, in: b)
        return scores.map { [output, $0] } ?? [output]
    }
}
