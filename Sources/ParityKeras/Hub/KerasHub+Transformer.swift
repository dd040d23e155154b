import ParityNN

/// KerasHub's `TransformerEncoder` and `TransformerDecoder` (`keras_hub/src/layers/modeling/`), built on
/// Keras's `MultiHeadAttention` (`CachedMultiHeadAttention` computes the same without a cache) with
/// `key_dim = hidden_dim / num_heads`, `LayerNormalization` and `Dense` sub-layers.
extension KerasHub {
    static let transformerLayers: [String: KerasLayers.Factory] = [
        "TransformerEncoder": { layer in TransformerBlock(parts: try TransformerBlock.Parts(layer, crossAttention: false), decoder: false) },
        "TransformerDecoder": { layer in
            TransformerBlock(parts: try TransformerBlock.Parts(layer, crossAttention: !layer.variables["_cross_attention_layer"].isEmpty), decoder: true)
        },
    ]

    /// A Keras `MultiHeadAttention` sub-layer's weights at `path`: query, key, value kernels `[d, H, k]`
    /// (biases `[H, k]`), output kernel `[H, k, d]` (bias `[d]`). `dropout` > 0 selects Keras's einsum path.
    static func multiHeadAttention(_ layer: KerasLayerConfig, at path: String, dropout: Double) throws -> MultiHeadAttention {
        func projection(_ name: String) throws -> (Tensor, Tensor?) {
            let v = try layer.hubVariables("\(path)/\(name)")
            guard v.count <= 2, v[0].rank == 3 else {
                throw KerasError.weightMismatch(layer: layer.name, message: "\(path)/\(name): expects an EinsumDense kernel (and bias); the file has \(v.map(\.shape))")
            }
            return (v[0], v.count == 2 ? v[1] : nil)
        }
        let (q, qb) = try projection("query_dense"), (k, kb) = try projection("key_dense")
        let (v, vb) = try projection("value_dense"), (o, ob) = try projection("output_dense")
        return MultiHeadAttention(queryKernel: q, queryBias: qb, keyKernel: k, keyBias: kb, valueKernel: v, valueBias: vb,
                                  outputKernel: o, outputBias: ob, scale: layer.constant(1 / Double(q.shape[2]).squareRoot()),
                                  scaleStage: dropout > 0 ? .query : .logits)
    }

    /// A Keras `LayerNormalization` sub-layer (gamma, beta) over the last axis.
    static func layerNorm(_ layer: KerasLayerConfig, at path: String, epsilon: Double) throws -> LayerNorm {
        let v = try layer.hubVariables(path, count: 2)
        return LayerNorm(axes: [-1], epsilon: epsilon, gamma: v[0], beta: v[1])
    }

    /// A Keras `Dense` sub-layer (kernel, optional bias).
    static func dense(_ layer: KerasLayerConfig, at path: String, activation: Activation? = nil) throws -> Dense {
        let v = try layer.hubVariables(path)
        guard v.count <= 2, v[0].rank == 2 else { throw KerasError.weightMismatch(layer: layer.name, message: "\(path): expects a Dense kernel (and bias); the file has \(v.map(\.shape))") }
        return Dense(kernel: v[0], bias: v.count == 2 ? v[1] : nil, activation: activation)
    }
}

/// `TransformerEncoder` / `TransformerDecoder`: self-attention (`padding_mask` / `attention_mask`; a
/// decoder adds the causal mask), optional cross-attention on `encoder_sequence`, and the feed-forward
/// `Dense(intermediate, activation) → Dense(hidden)`, each with a residual and a `LayerNormalization`
/// before (`normalize_first`) or after it.
struct TransformerBlock: KerasCallable {
    struct Parts: Sendable {
        var selfAttention: MultiHeadAttention
        var selfAttentionNorm: LayerNorm
        var crossAttention: MultiHeadAttention?
        var crossAttentionNorm: LayerNorm?
        var intermediate: Dense
        var output: Dense
        var feedforwardNorm: LayerNorm
        var normalizeFirst: Bool

        init(_ layer: KerasLayerConfig, crossAttention: Bool) throws {
            let epsilon = try layer.optionalDouble("layer_norm_epsilon") ?? HubEpsilon.transformer
            let dropout = try layer.optionalDouble("dropout") ?? 0
            normalizeFirst = try layer.has("normalize_first") ? layer.bool("normalize_first") : false
            selfAttention = try KerasHub.multiHeadAttention(layer, at: "_self_attention_layer", dropout: dropout)
            selfAttentionNorm = try KerasHub.layerNorm(layer, at: "_self_attention_layer_norm", epsilon: epsilon)
            if crossAttention {
                self.crossAttention = try KerasHub.multiHeadAttention(layer, at: "_cross_attention_layer", dropout: dropout)
                crossAttentionNorm = try KerasHub.layerNorm(layer, at: "_cross_attention_layer_norm", epsilon: epsilon)
            }
            intermediate = try KerasHub.dense(layer, at: "_feedforward_intermediate_dense", activation: KerasHub.activation(layer) ?? .unary(.relu))
            output = try KerasHub.dense(layer, at: "_feedforward_output_dense")
            feedforwardNorm = try KerasHub.layerNorm(layer, at: "_feedforward_layer_norm", epsilon: epsilon)
        }
    }

    var parts: Parts
    var decoder: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        func tensor(_ index: Int, _ name: String) -> B.Value? { call.argument(index, name)?.tensor }
        guard let input = tensor(0, decoder ? "decoder_sequence" : "inputs") else {
            throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without an input sequence")
        }
        let p = parts
        var x = input
        func residual(_ norm: LayerNorm, _ body: (B.Value) throws -> B.Value) throws {
            let saved = x
            if p.normalizeFirst { x = try norm([x], in: b) }
            x = try b.add(body(x), saved)
            if !p.normalizeFirst { x = try norm([x], in: b) }
        }
        if decoder {
            // call(decoder_sequence, encoder_sequence, decoder_padding_mask, decoder_attention_mask,
            //      encoder_padding_mask, encoder_attention_mask, …, use_causal_mask=True)
            let causal = call.argument(10, "use_causal_mask")?.constant?.bool ?? true
            let padding = tensor(2, "decoder_padding_mask"), attention = tensor(3, "decoder_attention_mask")
            let mask = causal ? try HubMasks.decoder(padding: padding, attention: attention, like: x, in: b)
                : try HubMasks.merge(padding: padding, attention: attention, like: x, in: b)
            try residual(p.selfAttentionNorm) { try p.selfAttention.attend(query: $0, value: $0, key: nil, mask: mask, in: b).output }
            if let encoder = tensor(1, "encoder_sequence") {
                guard let cross = p.crossAttention, let norm = p.crossAttentionNorm else {
                    throw KerasError.weightMismatch(layer: context.layer, message: "is called with an encoder sequence but has no cross-attention weights")
                }
                let crossMask = try HubMasks.merge(padding: tensor(4, "encoder_padding_mask"), attention: tensor(5, "encoder_attention_mask"), like: x, in: b)
                try residual(norm) { try cross.attend(query: $0, value: encoder, key: nil, mask: crossMask, in: b).output }
            }
        } else {
            let mask = try HubMasks.merge(padding: tensor(1, "padding_mask"), attention: tensor(2, "attention_mask"), like: x, in: b)
            try residual(p.selfAttentionNorm) { try p.selfAttention.attend(query: $0, value: $0, key: nil, mask: mask, in: b).output }
        }
        try residual(p.feedforwardNorm) { try p.output([p.intermediate([$0], in: b)], in: b) }
        return [x]
    }
}
