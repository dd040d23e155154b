import ParityNN

/// The decoder blocks of KerasHub's Llama / Llama 3, Mistral and Gemma backbones
/// (`keras_hub/src/models/{llama,mistral,gemma}/`) and their RMS normalisations, as the TensorFlow
/// backend runs them (no fused attention op: the einsum path with the `Softmax` layer's masking).
extension KerasHub {
    static let decoderLayers: [String: KerasLayers.Factory] = [
        "LlamaTransformerDecoder": { layer in try rotaryDecoder(layer, llama: true) },
        "MistralTransformerDecoder": { layer in try rotaryDecoder(layer, llama: false) },
        "LlamaLayerNorm": { layer in try rmsNorm(layer, at: "", epsilon: layer.optionalDouble("epsilon") ?? HubEpsilon.llamaLayerNorm, offset: false) },
        "MistralLayerNormalization": { layer in try rmsNorm(layer, at: "", epsilon: layer.optionalDouble("epsilon") ?? HubEpsilon.mistralLayerNorm, offset: false) },
        "RMSNormalization": { layer in try rmsNorm(layer, at: "", epsilon: layer.optionalDouble("epsilon") ?? HubEpsilon.gemmaRMSNorm, offset: true) },
        "GemmaDecoderBlock": { layer in try gemmaDecoder(layer) },
    ]

    static func rmsNorm(_ layer: KerasLayerConfig, at path: String, epsilon: Double, offset: Bool) throws -> HubRMSNorm {
        HubRMSNorm(scale: try layer.hubVariables(path, count: 1)[0], epsilon: epsilon, offsetScale: offset)
    }

    /// A `keras.layers.EinsumDense` sub-layer without bias (the attention projections of these models).
    static func einsum(_ layer: KerasLayerConfig, at path: String, _ equation: String) throws -> EinsumDense {
        let v = try layer.hubVariables(path, count: 1)
        return EinsumDense(equation: equation, kernel: v[0])
    }

    /// Llama's and Mistral's decoder: `LlamaAttention` / `CachedMistralAttention` (query `[d, H, h]`,
    /// key and value `[d, K, h]`, output `[H, h, d]`), RMS norms, a SiLU-gated feed-forward of bias-free
    /// `Dense` layers; Mistral adds a sliding window to the causal mask.
    static func rotaryDecoder(_ layer: KerasLayerConfig, llama: Bool) throws -> RotaryDecoder {
        let epsilon = try layer.optionalDouble("layer_norm_epsilon") ?? (llama ? HubEpsilon.llamaDecoder : HubEpsilon.mistralDecoder)
        let attention = "_self_attention_layer"
        let query = try einsum(layer, at: "\(attention)/_query_dense", "bqm,muh->bquh")
        let key = try einsum(layer, at: "\(attention)/_key_dense", "bkm,mvh->bkvh")
        let value = try einsum(layer, at: "\(attention)/_value_dense", "bkm,mvh->bkvh")
        let output = try einsum(layer, at: "\(attention)/_output_dense", "bquh,uhm->bqm")
        guard query.kernel.rank == 3, key.kernel.rank == 3, query.kernel.shape[1] % key.kernel.shape[1] == 0 else {
            throw KerasError.weightMismatch(layer: layer.name, message: "query heads \(query.kernel.shape) are not a multiple of key/value heads \(key.kernel.shape)")
        }
        let headDim = query.kernel.shape[2]
        let wavelength = try layer.optionalDouble("rope_max_wavelength") ?? 10000
        let rope: RotaryEmbedding
        if llama {
            rope = RotaryEmbedding(maxWavelength: wavelength, frequencies: .llama(
                adjustment: try layer.optionalDouble("rope_frequency_adjustment_factor"), lowFactor: try layer.optionalDouble("rope_low_freq_factor"),
                highFactor: try layer.optionalDouble("rope_high_freq_factor"), pretrainingLength: try layer.optionalDouble("rope_pretraining_sequence_length")))
        } else {
            rope = RotaryEmbedding(maxWavelength: wavelength, frequencies: .linear(scaling: try layer.optionalDouble("rope_scaling_factor") ?? 1))
        }
        return RotaryDecoder(attentionNorm: try rmsNorm(layer, at: "_self_attention_layernorm", epsilon: epsilon, offset: false),
                             query: query, key: key, value: value, output: output, rope: rope,
                             scale: Double(Float(1 / Double(headDim).squareRoot())),
                             feedforwardNorm: try rmsNorm(layer, at: "_feedforward_layernorm", epsilon: epsilon, offset: false),
                             gate: try dense(layer, at: "_feedforward_gate_dense"), intermediate: try dense(layer, at: "_feedforward_intermediate_dense"),
                             down: try dense(layer, at: "_feedforward_output_dense"), activation: try activation(layer) ?? .unary(.silu),
                             slidingWindow: llama ? nil : try layer.optionalInt("sliding_window"))
    }

    /// Gemma's decoder block: `CachedGemmaAttention` (query `[H, d, h]`, key and value `[K, d, h]`, output
    /// `[H, h, d]`), Gemma's `RMSNormalization` (`·(1 + scale)`), a gated feed-forward with tanh-gelu.
    static func gemmaDecoder(_ layer: KerasLayerConfig) throws -> GemmaDecoder {
        let epsilon = try layer.optionalDouble("layer_norm_epsilon") ?? HubEpsilon.gemmaDecoder
        let query = try einsum(layer, at: "attention/query_dense", "btd,ndh->btnh")
        let key = try einsum(layer, at: "attention/key_dense", "bsd,kdh->bskh")
        guard query.kernel.rank == 3, key.kernel.rank == 3, query.kernel.shape[0] % key.kernel.shape[0] == 0 else {
            throw KerasError.weightMismatch(layer: layer.name, message: "query heads \(query.kernel.shape) are not a multiple of key/value heads \(key.kernel.shape)")
        }
        func optionalNorm(_ path: String) throws -> HubRMSNorm? {
            layer.variables[path].isEmpty ? nil : try rmsNorm(layer, at: path, epsilon: epsilon, offset: true)
        }
        let headDim = try layer.optionalInt("head_dim") ?? query.kernel.shape[2]
        let slidingWindow = try layer.has("use_sliding_window_attention") && layer.bool("use_sliding_window_attention")
            ? (try layer.optionalInt("sliding_window_size") ?? 4096) : nil
        return GemmaDecoder(preAttentionNorm: try rmsNorm(layer, at: "pre_attention_norm", epsilon: epsilon, offset: true),
                            query: query, key: key, value: try einsum(layer, at: "attention/value_dense", "bsd,kdh->bskh"),
                            output: try einsum(layer, at: "attention/output_dense", "btnh,nhd->btd"),
                            // `1 / np.sqrt(head_dim)` (query_head_dim_normalize, always on in the block), cast to the query's dtype.
                            queryScale: Double(Float(1 / Double(headDim).squareRoot())),
                            logitSoftCap: try layer.optionalDouble("logit_soft_cap"), slidingWindow: slidingWindow,
                            postAttentionNorm: try optionalNorm("post_attention_norm"),
                            preFeedforwardNorm: try rmsNorm(layer, at: "pre_ffw_norm", epsilon: epsilon, offset: true),
                            gate: try einsum(layer, at: "gating_ffw", "btd,df->btf"), up: try einsum(layer, at: "gating_ffw_2", "btd,df->btf"),
                            down: try einsum(layer, at: "ffw_linear", "btf,fd->btd"), postFeedforwardNorm: try optionalNorm("post_ffw_norm"))
    }
}

/// RMS normalisation over the last axis in Float32: Llama / Mistral `x·rsqrt(mean(x²) + ε)·scale`;
/// Gemma (`offsetScale`) `x·(1 / sqrt(mean(x²) + ε))·(1 + scale)`.
struct HubRMSNorm: Model {
    var scale: Tensor
    var epsilon: Double
    var offsetScale: Bool

    func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let meanSquare = try b.reduce(.mean, b.multiply(x, x), axes: [-1], keepDims: true)
        let shifted = try b.add(meanSquare, b.scalar(epsilon, like: x))
        let inverse = offsetScale ? try b.unary(.reciprocal, b.unary(.sqrt, shifted)) : try b.apply(ElementwiseMath(.rsqrt), [shifted])
        var s = b.weight(scale, like: x)
        if offsetScale { s = try b.add(b.scalar(1, like: x), s) }
        return try b.multiply(b.multiply(x, inverse), s)
    }
}

/// The attention core shared by these models: logits `[B, heads, T, S]` (already scaled), optional soft
/// cap `tanh(l / cap)·cap`, the `Softmax` layer's masking (`mask > 0.5` kept, others −1e9, masked
/// probabilities 0), probabilities times values.
enum HubAttention {
    static func probabilities<B: Builder>(_ logits: B.Value, mask: B.Value, softCap: Double?, in b: B) throws -> B.Value {
        var l = logits
        if let softCap {
            let cap = b.scalar(softCap, like: l)
            l = try b.multiply(b.unary(.tanh, b.divide(l, cap)), cap)
        }
        return try MultiHeadAttention.maskedSoftmax(l, mask: mask, causal: false, stage: .query, in: b)
    }

    /// `ops.repeat(x, groups, axis=2)` on `[B, S, K, h]`: each key/value head repeated `groups` times in place.
    static func repeatHeads<B: Builder>(_ x: B.Value, _ groups: Int, in b: B) throws -> B.Value {
        guard groups > 1 else { return x }
        let s = b.shape(of: x)
        return try b.reshape(b.broadcast(b.reshape(x, [s[0], s[1], s[2], 1, s[3]]), to: [s[0], s[1], s[2], groups, s[3]]), [s[0], s[1], s[2] * groups, s[3]])
    }
}

/// `LlamaTransformerDecoder` / `MistralTransformerDecoder`: `x + attention(norm(x))`, then
/// `x + down(intermediate(norm(x)) · silu(gate(norm(x))))`. Attention: rotary query and key, key/value
/// heads repeated to the query heads, logits `einsum(bquh,bkuh→buqk)·(1/√h)`, the decoder mask (padding,
/// causal, Mistral's sliding window `i < j + window`).
struct RotaryDecoder: KerasCallable {
    var attentionNorm: HubRMSNorm
    var query: EinsumDense, key: EinsumDense, value: EinsumDense, output: EinsumDense
    var rope: RotaryEmbedding
    var scale: Double
    var feedforwardNorm: HubRMSNorm
    var gate: Dense, intermediate: Dense, down: Dense
    var activation: Activation
    var slidingWindow: Int?

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        guard let x = call.argument(0, "decoder_sequence")?.tensor else {
            throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without a decoder sequence")
        }
        var mask = try HubMasks.decoder(padding: call.argument(1, "decoder_padding_mask")?.tensor,
                                        attention: call.argument(2, "decoder_attention_mask")?.tensor, like: x, in: b)
        let s = b.shape(of: x)
        if let window = slidingWindow {
            let values = (0..<(s[1] * s[1])).map { Double($0 / s[1] < $0 % s[1] + window ? 1 : 0) }
            mask = try b.binary(.minimum, mask, b.constant(Tensor(shape: [1, s[1], s[1]], values: values).cast(to: b.type(of: x).dtype)))
        }
        let h = try attentionNorm([x], in: b)
        let q = try rope.apply(query([h], in: b), in: b)
        var k = try rope.apply(key([h], in: b), in: b), v = try value([h], in: b)
        let groups = b.shape(of: q)[2] / b.shape(of: k)[2]
        k = try HubAttention.repeatHeads(k, groups, in: b)
        v = try HubAttention.repeatHeads(v, groups, in: b)
        let logits = try b.multiply(b.einsum("bquh,bkuh->buqk", [q, k]), b.scalar(scale, like: x))
        let probabilities = try HubAttention.probabilities(logits, mask: mask, softCap: nil, in: b)
        let attended = try output([b.einsum("buqk,bkuh->bquh", [probabilities, v])], in: b)
        let y = try b.add(attended, x)
        let n = try feedforwardNorm([y], in: b)
        let gated = try activation.apply(gate([n], in: b), in: b)
        return [try b.add(down([b.multiply(intermediate([n], in: b), gated)], in: b), y)]
    }
}

/// `GemmaDecoderBlock`: `x + [post_norm](attention(pre_norm(x)))`, then
/// `+ [post_norm](down(gelu_tanh(gate(n)) · up(n)))` with `n = pre_ffw_norm(·)`. Attention: query
/// scaled by `1/√head_dim` before the product, grouped heads `einsum(btkgh,bskh→bkgts)`, optional
/// logit soft cap, Gemma 2's sliding window on alternate layers (`|i − j| < window`), and rows with no
/// attended position zeroed.
struct GemmaDecoder: KerasCallable {
    var preAttentionNorm: HubRMSNorm
    var query: EinsumDense, key: EinsumDense, value: EinsumDense, output: EinsumDense
    var queryScale: Double
    var logitSoftCap: Double?
    var slidingWindow: Int?
    var postAttentionNorm: HubRMSNorm?
    var preFeedforwardNorm: HubRMSNorm
    var gate: EinsumDense, up: EinsumDense, down: EinsumDense
    var postFeedforwardNorm: HubRMSNorm?

    /// Gemma's `RotaryEmbedding(max_wavelength=10000)`, then its layout: the rotated halves interleaved
    /// (`reshape(stack(split(x, 2), axis=-1))`).
    static let rope = RotaryEmbedding(maxWavelength: 10000, frequencies: .linear(scaling: 1))

    func rotate<B: Builder>(_ x: B.Value, in b: B) throws -> B.Value {
        let y = try Self.rope.apply(x, in: b)
        let s = b.shape(of: y), d = s.last!
        let halves = try b.split(y, sizes: [d / 2, d / 2], axis: s.count - 1)
        let stacked = try b.concat(halves.map { try b.reshape($0, Array(s.dropLast()) + [d / 2, 1]) }, axis: s.count)
        return try b.reshape(stacked, s)
    }

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        guard let x = call.argument(0, "x")?.tensor else { throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without an input") }
        let normalized = try preAttentionNorm([x], in: b)
        let decoderMask = try HubMasks.decoder(padding: call.argument(1, "padding_mask")?.tensor, attention: nil, like: x, in: b)
        var mask = decoderMask
        let s = b.shape(of: x)
        if let window = slidingWindow {
            // tf.linalg.band_part(ones, band, band) with band = min(length, window − 1).
            let band = min(s[1], window - 1)
            let values = (0..<(s[1] * s[1])).map { Double(abs($0 / s[1] - $0 % s[1]) <= band ? 1 : 0) }
            mask = try b.multiply(mask, b.constant(Tensor(shape: [1, s[1], s[1]], values: values).cast(to: b.type(of: x).dtype)))
        }
        var q = try rotate(query([normalized], in: b), in: b)
        let k = try rotate(key([normalized], in: b), in: b), v = try value([normalized], in: b)
        q = try b.multiply(q, b.scalar(queryScale, like: q))
        let (heads, kv, h) = (b.shape(of: q)[2], b.shape(of: k)[2], b.shape(of: q)[3])
        q = try b.reshape(q, [s[0], s[1], kv, heads / kv, h])
        let logits = try b.einsum("btkgh,bskh->bkgts", [q, k])  // [B, K, G, T, S]
        let flat = try b.reshape(logits, [s[0], heads, s[1], s[1]])
        let probabilities = try b.reshape(HubAttention.probabilities(flat, mask: mask, softCap: logitSoftCap, in: b), [s[0], kv, heads / kv, s[1], s[1]])
        var attended = try b.reshape(b.einsum("bkgts,bskh->btkgh", [probabilities, v]), [s[0], s[1], heads, h])
        // Rows whose mask (before the sliding window) is all zero attend nothing: their output is zero.
        let none = try b.binary(.equal, b.reduce(.max, decoderMask, axes: [-1], keepDims: true), b.scalar(0, like: decoderMask))  // [B, T, 1]
        attended = try b.apply(Select(), [b.reshape(none, [s[0], s[1], 1, 1]), b.scalar(0, like: attended), attended])
        var attention = try output([attended], in: b)
        if let postAttentionNorm { attention = try postAttentionNorm([attention], in: b) }
        let attentionX = try b.add(x, attention)
        let n = try preFeedforwardNorm([attentionX], in: b)
        let hidden = try b.multiply(b.unary(.gelu(approximate: true), gate([n], in: b)), up([n], in: b))
        var y = try down([hidden], in: b)
        if let postFeedforwardNorm { y = try postFeedforwardNorm([y], in: b) }
        return [try b.add(y, attentionX)]
    }
}
