/// Multi-head attention in Keras 3's layout and order (`keras/src/layers/attention/multi_head_attention.py`)
/// for `[batch, time, features]` inputs (attention over axis 1):
///
///     q = query·Wq + bq  [B, T, H, dk],  k = key·Wk + bk  [B, S, H, dk],  v = value·Wv + bv  [B, S, H, dv]
///     p = softmax_S(scoreScale(q·kᵀ)),   o = p·v  [B, T, H, dv],   y = o·Wo + bo  (Wo [H, dv, out])
///
/// Where the 1/√dk scale is applied, and how a mask is applied, is a value (``ScaleStage``): for rank-3
/// inputs without dropout Keras 3 on TensorFlow calls `ops.dot_product_attention`, which scales the
/// *logits* after the product and sets masked logits to −0.7·3.38953e38
/// (`keras/src/backend/tensorflow/nn.py`, `_dot_product_attention_xla`, `_apply_masks`); its fallback
/// path (a `dropout` > 0 in the config — even at inference —, returned scores, other attention axes)
/// scales the *query* before the product, as PyTorch's `scaled_dot_product_attention` does, and masks
/// through the `Softmax` layer: masked logits set to −1e9, then masked probabilities set to 0
/// (`keras/src/layers/activations/softmax.py`). Both cast the Python scale with `tf.cast` (through
/// Float32), so in Float64 it is `Double(Float(1/√dk))` (the caller passes it). A mask is `[B, T, S]`
/// (or `[B, 1, T, S]`), true (non-zero) where a query position may attend to a key position. PyTorch's
/// `nn.MultiheadAttention` packs `in_proj_weight` `(3E, E)` with `head_dim = E/heads` (docs/conventions.md, E.17).
public struct MultiHeadAttention: Model {
    /// Where the scale and the mask apply (the two paths above).
    public enum ScaleStage: Sendable, Hashable {
        /// `query`: the query is scaled before the product (Keras's fallback path, as PyTorch's SDPA);
        /// `logits`: the scores after it (Keras's `dot_product_attention`).
        case query, logits
    }

    /// The query projection `[features, H, dk]` and its bias.
    public var queryKernel: Tensor, queryBias: Tensor?
    /// The key projection and its bias.
    public var keyKernel: Tensor, keyBias: Tensor?
    /// The value projection and its bias.
    public var valueKernel: Tensor, valueBias: Tensor?
    /// The output projection `[H, dv, out]` and its bias.
    public var outputKernel: Tensor, outputBias: Tensor?
    /// The score scale, `1/√dk` as the caller computes it.
    public var scale: Double
    /// Where the scale applies.
    public var scaleStage: ScaleStage
    /// Keras's `dropout`: in a training step the attention probabilities go through ``Dropout`` (the step's shared
    /// mask, shaped `[B, H, T, S]`) before they weigh the values, as the layer's `_dropout_layer` does; at
    /// inference it only picks the scale stage.
    public var dropout: Double

    /// A layer; the parameters are the properties of the same names.
    public init(queryKernel: Tensor, queryBias: Tensor?, keyKernel: Tensor, keyBias: Tensor?, valueKernel: Tensor, valueBias: Tensor?,
                outputKernel: Tensor, outputBias: Tensor?, scale: Double, scaleStage: ScaleStage = .logits, dropout: Double = 0) {
        self.dropout = dropout
        self.queryKernel = queryKernel
        self.queryBias = queryBias
        self.keyKernel = keyKernel
        self.keyBias = keyBias
        self.valueKernel = valueKernel
        self.valueBias = valueBias
        self.outputKernel = outputKernel
        self.outputBias = outputBias
        self.scale = scale
        self.scaleStage = scaleStage
    }

    /// Inputs: query, value, and optionally key (the value when missing).
    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        guard inputs.count == 2 || inputs.count == 3 else {
            throw TensorError.invalidArgument(op: "MultiHeadAttention", message: "takes query, value and optionally key; received \(inputs.count) inputs")
        }
        return try attend(query: inputs[0], value: inputs[1], key: inputs.count == 3 ? inputs[2] : nil, mask: nil, in: b).output
    }

    /// The attention output, and with `returningScores` the attention probabilities `[B, H, T, S]`
    /// (Keras's returned scores).
    public func attend<B: Builder>(query: B.Value, value: B.Value, key: B.Value?, mask: B.Value?, causal: Bool = false,
                                   returningScores: Bool = false, in b: B) throws -> (output: B.Value, scores: B.Value?) {
        let key = key ?? value
        let (qs, ks, vs) = (b.shape(of: query), b.shape(of: key), b.shape(of: value))
        let heads = queryKernel.shape[1], dk = queryKernel.shape[2], dv = valueKernel.shape[2]
        guard qs.count == 3, ks.count == 3, vs.count == 3, qs[0] == ks[0], ks[0] == vs[0], ks[1] == vs[1],
              queryKernel.shape == [qs[2], heads, dk], keyKernel.shape == [ks[2], heads, dk], valueKernel.shape == [vs[2], heads, dv],
              outputKernel.rank == 3, outputKernel.shape[0] == heads, outputKernel.shape[1] == dv else {
            throw TensorError.shapeMismatch(op: "MultiHeadAttention",
                                            expected: "query [B, T, dq], key [B, S, dk], value [B, S, dv] matching kernels [d, heads, dim] and output kernel [heads, dv, out]",
                                            received: [qs, ks, vs, queryKernel.shape, keyKernel.shape, valueKernel.shape, outputKernel.shape])
        }
        /// EinsumDense `abc,cde->abde` (+ bias `de`): [B, L, d] → [B, L, H, e].
        func project(_ x: B.Value, _ kernel: Tensor, _ bias: Tensor?) throws -> B.Value {
            let s = b.shape(of: x)
            var y = try b.matmul(b.reshape(x, [s[0] * s[1], s[2]]), b.reshape(b.weight(kernel, like: x), [s[2], kernel.shape[1] * kernel.shape[2]]))
            y = try b.reshape(y, [s[0], s[1], kernel.shape[1], kernel.shape[2]])
            if let bias { y = try b.add(y, b.weight(bias, like: x)) }
            return y
        }
        var q = try project(query, queryKernel, queryBias)
        let k = try project(key, keyKernel, keyBias), v = try project(value, valueKernel, valueBias)
        let factor = b.scalar(scale, like: query)
        if scaleStage == .query { q = try b.multiply(q, factor) }
        let keep = try Self.keepMask(mask, causal: causal, stage: scaleStage, queries: qs[1], keys: ks[1], dtype: b.type(of: query).dtype, in: b)
        let scores: B.Value?
        let attended: B.Value
        let dropping = dropout > 0 && b.trainingStep != nil
        if returningScores || dropping {
            // [B, H, T, dk] · [B, H, dk, S] → [B, H, T, S]
            var logits = try b.matmul(b.permute(q, [0, 2, 1, 3]), b.permute(k, [0, 2, 3, 1]))
            if scaleStage == .logits { logits = try b.multiply(logits, factor) }
            let probabilities = try Self.maskedSoftmax(logits, keep: keep, stage: scaleStage, in: b)
            let weights = dropping ? try Dropout(rate: dropout)([probabilities], in: b) : probabilities
            // [B, H, T, S] · [B, H, S, dv] → [B, H, T, dv] → [B, T, H·dv]
            attended = try b.permute(b.matmul(weights, b.permute(v, [0, 2, 1, 3])), [0, 2, 1, 3])
            scores = probabilities
        } else {
            // The same roundings one head at a time (the [B, H, T, S] probabilities never exist whole).
            let attention = Attention(scale: scaleStage == .logits ? scale : nil, normalization: .softmaxFirst,
                                      mask: keep == nil ? .none : .keep(fill: Self.fill(scaleStage), zeroProbabilities: scaleStage == .query))
            let inputs = try [q, k, v].map { try b.permute($0, [0, 2, 1, 3]) } + (keep.map { [$0] } ?? [])
            attended = try b.permute(b.apply(attention, inputs), [0, 2, 1, 3])
            scores = nil
        }
        let out = outputKernel.shape[2]
        var y = try b.matmul(b.reshape(attended, [qs[0] * qs[1], heads * dv]), b.reshape(b.weight(outputKernel, like: query), [heads * dv, out]))
        if let outputBias { y = try b.add(y, b.weight(outputBias, like: query)) }
        return (try b.reshape(y, [qs[0], qs[1], out]), scores)
    }

    /// Softmax over the last axis of logits `[B, H, T, S]` with an optional mask `[B, T, S]` or
    /// `[B, 1, T, S]` and/or the causal (lower-triangular) mask, applied as Keras's path for `stage` does.
    public static func maskedSoftmax<B: Builder>(_ logits: B.Value, mask: B.Value?, causal: Bool, stage: ScaleStage, in b: B) throws -> B.Value {
        let shape = b.shape(of: logits)
        let keep = try keepMask(mask, causal: causal, stage: stage, queries: shape[shape.count - 2], keys: shape[shape.count - 1],
                                dtype: b.type(of: logits).dtype, in: b)
        return try maskedSoftmax(logits, keep: keep, stage: stage, in: b)
    }

    /// Masked logits are set to `fill(stage)`, then (query stage) their probabilities to 0.
    static func maskedSoftmax<B: Builder>(_ logits: B.Value, keep: B.Value?, stage: ScaleStage, in b: B) throws -> B.Value {
        guard let keep else { return try b.softmax(logits, axis: -1) }
        let probabilities = try b.softmax(b.apply(Select(), [keep, logits, b.scalar(fill(stage), like: logits)]), axis: -1)
        return stage == .query ? try b.apply(Select(), [keep, probabilities, b.scalar(0, like: logits)]) : probabilities
    }

    /// The value masked logits get: the `Softmax` layer's −1e9, or `dot_product_attention`'s −0.7 × 3.38953e38.
    static func fill(_ stage: ScaleStage) -> Double { stage == .query ? -1e9 : 3.38953e38 * -0.7 }

    /// 1 where a query may attend to a key, else 0, broadcastable to `[B, H, T, S]` (`[B, 1, T, S]` or
    /// `[T, S]`); nil without a mask or causality.
    static func keepMask<B: Builder>(_ mask: B.Value?, causal: Bool, stage: ScaleStage, queries t: Int, keys s: Int, dtype: DType,
                                     in b: B) throws -> B.Value? {
        var keep: B.Value?
        if let mask {
            var m = try b.cast(mask, to: dtype)
            if b.shape(of: m).count == 3 { m = try b.reshape(m, [b.shape(of: m)[0], 1] + Array(b.shape(of: m).dropFirst())) }
            // The Softmax layer keeps `mask > 0.5`; dot_product_attention casts the mask to bool (≠ 0).
            let threshold = b.scalar(stage == .query ? 0.5 : 0, like: m)
            keep = try b.binary(.greater, stage == .query ? m : b.unary(.abs, m), threshold)
        }
        if causal {
            let lower = try b.constant(Tensor(shape: [t, s], values: (0..<(t * s)).map { Double($0 % s <= $0 / s ? 1 : 0) }).cast(to: dtype))
            keep = try keep.map { try b.multiply($0, lower) } ?? lower
        }
        return keep
    }
}
