import Foundation
import ParityNN

/// KerasHub's embedding layers (`keras_hub/src/layers/modeling/`): `ReversibleEmbedding` (Keras's own
/// `keras.layers.ReversibleEmbedding`), `PositionEmbedding`, `TokenAndPositionEmbedding`, and the rotary
/// position embeddings its attention layers apply (`RotaryEmbedding`, Llama's variant).
extension KerasHub {
    static let embeddingLayers: [String: KerasLayers.Factory] = [
        "ReversibleEmbedding": { try reversibleEmbedding($0) },
        "PositionEmbedding": { layer in PositionEmbedding(embeddings: try layer.hubVariables("", count: 1)[0]) },
        "TokenAndPositionEmbedding": { layer in
            TokenAndPositionEmbedding(tokens: try reversibleEmbedding(layer, at: "token_embedding"),
                                      positions: PositionEmbedding(embeddings: try layer.hubVariables("position_embedding", count: 1)[0]))
        },
    ]

    /// `embeddings` `[V, D]`, and `reverse_embeddings` `[D, V]` when the weights are not tied.
    static func reversibleEmbedding(_ layer: KerasLayerConfig, at path: String = "") throws -> ReversibleEmbedding {
        // As for Embedding: Parity does not propagate Keras masks, so it refuses rather than silently differ.
        if layer.config["mask_zero"]?.bool == true {
            throw KerasError.unsupportedSetting(layer: layer.name, key: "mask_zero", value: "true (Keras masks are not propagated yet)")
        }
        let variables = try layer.hubVariables(path)
        guard variables.count <= 2, variables[0].rank == 2, variables.count == 1 || variables[1].shape == variables[0].shape.reversed() else {
            throw KerasError.weightMismatch(layer: layer.name, message: "expects embeddings [V, D] and optionally reverse embeddings [D, V]; the file has \(variables.map(\.shape))")
        }
        return ReversibleEmbedding(embeddings: variables[0], reverseEmbeddings: variables.count == 2 ? variables[1] : nil,
                                   logitSoftCap: try layer.optionalDouble("logit_soft_cap"))
    }
}

/// `ReversibleEmbedding` (`keras/src/layers/core/reversible_embedding.py`): a lookup (`ops.take`, cast
/// to the compute dtype), or with `reverse=True` the logits `x·embeddingsᵀ` (or `x·reverse_embeddings`
/// when untied), optionally soft-capped as `tanh(logits / cap)·cap`.
struct ReversibleEmbedding: KerasCallable {
    var embeddings: Tensor
    var reverseEmbeddings: Tensor?
    var logitSoftCap: Double?

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        guard let x = call.argument(0, "inputs")?.tensor else { throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without inputs") }
        guard call.argument(1, "reverse")?.constant?.bool == true else { return [try lookup(x, dtype: context.floatDType, in: b)] }
        let kernel = try reverseEmbeddings.map { b.weight($0, like: x) } ?? b.transposeMatrix(b.weight(embeddings, like: x))
        let s = b.shape(of: x)
        var logits = try b.reshape(b.matmul(b.reshape(x, [-1, s.last!]), kernel), Array(s.dropLast()) + [b.shape(of: kernel)[1]])
        if let cap = logitSoftCap {
            let c = b.scalar(cap, like: logits)
            logits = try b.multiply(b.unary(.tanh, b.divide(logits, c)), c)
        }
        return [logits]
    }

    func lookup<B: Builder>(_ ids: B.Value, dtype: DType, in b: B) throws -> B.Value {
        let indices = b.type(of: ids).dtype == .int64 ? ids : try b.cast(b.apply(ElementwiseMath(.trunc), [ids]), to: .int64)
        return try Embedding(embeddings: embeddings, dtype: dtype)([indices], in: b)
    }
}

/// `PositionEmbedding`: the first `T` rows of `embeddings` `[L, D]` (from `start_index`), broadcast to
/// the input's shape `[…, T, D]`.
struct PositionEmbedding: KerasCallable {
    var embeddings: Tensor

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        guard let x = call.argument(0, "inputs")?.tensor else { throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without inputs") }
        return [try positions(like: x, start: call.argument(1, "start_index")?.constant?.int ?? 0, in: b)]
    }

    func positions<B: Builder>(like x: B.Value, start: Int, in b: B) throws -> B.Value {
        let shape = b.shape(of: x)
        let length = shape[shape.count - 2]
        guard start >= 0, start + length <= embeddings.shape[0], shape.last == embeddings.shape[1] else {
            throw TensorError.shapeMismatch(op: "PositionEmbedding", expected: "≤ \(embeddings.shape[0]) positions of \(embeddings.shape[1]) features from \(start)", received: [shape])
        }
        let rows = try b.slice(b.weight(embeddings, like: x), [SliceAxis(start: start, end: start + length), .all])
        return try b.broadcast(rows, to: shape)
    }
}

/// `TokenAndPositionEmbedding`: token embeddings plus position embeddings of them.
struct TokenAndPositionEmbedding: KerasCallable {
    var tokens: ReversibleEmbedding
    var positions: PositionEmbedding

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        guard let ids = call.argument(0, "inputs")?.tensor else { throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without inputs") }
        let embedded = try tokens.lookup(ids, dtype: context.floatDType, in: b)
        return [try b.add(embedded, positions.positions(like: embedded, start: call.argument(1, "start_index")?.constant?.int ?? 0, in: b))]
    }
}

/// Rotary position embeddings on `[B, T, …, D]` (sequence axis 1, features last), in Float32 as
/// KerasHub computes the angles: `RotaryEmbedding` (`keras_hub/src/layers/modeling/rotary_embedding.py`)
/// takes `inverse_freq = max_wavelength^(−2i/D) / scaling_factor`; Llama's
/// (`keras_hub/src/models/llama/llama_rotary_embedding.py`) `1 / max_wavelength^(2i/D)`, with Llama 3.1's
/// frequency adjustment (`low_freq_factor`, `high_freq_factor`, `frequency_adjustment_factor`,
/// `pretraining_sequence_length`) when given. Angles `(position + start)·inverse_freq`, duplicated
/// for both halves; `y = x·cos + [−x₂, x₁]·sin` with `x₁`, `x₂` the two halves of the features.
struct RotaryEmbedding: Sendable {
    enum Frequencies: Sendable {
        /// `RotaryEmbedding`, `rope_type="linear"`.
        case linear(scaling: Double)
        /// `LlamaRotaryEmbedding`.
        case llama(adjustment: Double?, lowFactor: Double?, highFactor: Double?, pretrainingLength: Double?)
    }

    var maxWavelength: Double
    var frequencies: Frequencies

    /// The inverse frequencies for `dim` features, computed in Float32 as the KerasHub code does.
    func inverseFrequencies(_ dim: Int) -> [Float] {
        let range = stride(from: 0, to: dim, by: 2).map { Float($0) / Float(dim) }
        let base = Float(maxWavelength)
        switch frequencies {
        case .linear(let scaling):
            return range.map { powf(base, -$0) / Float(scaling) }
        case let .llama(adjustment, low, high, pretraining):
            var inverse = range.map { 1 / powf(base, $0) }
            guard let adjustment, let low, let high, let pretraining else { return inverse }
            let lowWavelength = Float(pretraining / low), highWavelength = Float(pretraining / high)
            let twoPi = Float(2 * Double.pi)
            inverse = inverse.map { f in
                let wavelength = twoPi / f
                let adjusted = wavelength > lowWavelength ? f / Float(adjustment) : f
                let smooth = (Float(pretraining) / wavelength - Float(low)) / Float(high - low)
                let smoothed = (1 - smooth) * (adjusted / Float(adjustment)) + smooth * adjusted
                let medium = wavelength >= highWavelength && wavelength <= lowWavelength
                return medium ? smoothed : adjusted
            }
            return inverse
        }
    }

    /// Applies the rotation to `x` `[B, T, …, D]` in `x`'s dtype (the angles, cosines and sines in Float32).
    func apply<B: Builder>(_ x: B.Value, start: Int = 0, in b: B) throws -> B.Value {
        let shape = b.shape(of: x)
        let (length, dim) = (shape[1], shape.last!)
        guard dim % 2 == 0 else { throw TensorError.invalidArgument(op: "RotaryEmbedding", message: "odd feature size \(dim)") }
        let inverse = inverseFrequencies(dim)
        var cosines: [Float] = [], sines: [Float] = []
        for t in 0..<length {
            let angles = inverse.map { (Float(t) + Float(start)) * $0 }
            let doubled = angles + angles
            cosines += doubled.map { cosf($0) }
            sines += doubled.map { sinf($0) }
        }
        let embeddingShape = [1, length] + Array(repeating: 1, count: shape.count - 3) + [dim]
        let cos = b.constant(Tensor(shape: embeddingShape, values: cosines).cast(to: b.type(of: x).dtype))
        let sin = b.constant(Tensor(shape: embeddingShape, values: sines).cast(to: b.type(of: x).dtype))
        let halves = try b.split(x, sizes: [dim / 2, dim / 2], axis: shape.count - 1)
        let rotated = try b.concat([b.negate(halves[1]), halves[0]], axis: shape.count - 1)
        return try b.add(b.multiply(x, cos), b.multiply(rotated, sin))
    }
}
