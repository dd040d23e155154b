import ParityNN

/// `aten.embedding` (rows of the weight at integer indices; with `padding_idx ≥ 0` the padding row gets no
/// gradient, as `embedding_dense_backward` skips it: ``PaddedEmbedding``)
/// and the dropouts (`dropout`, `feature_dropout`, `alpha_dropout`, `feature_alpha_dropout`, and
/// `native_dropout` → (x, an all-true mask)): the identity at inference; `train=True` is refused.
enum EmbeddingOps: ATenFamily {
    static let dropouts: Set<String> = [
        "aten.dropout.default", "aten.feature_dropout.default", "aten.alpha_dropout.default", "aten.feature_alpha_dropout.default",
        "aten.native_dropout.default",
    ]
    static let targets: Set<String> = dropouts.union(["aten.embedding.default"])

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        switch c.target {
        case "aten.embedding.default":
            let weight = try c.tensor("weight"), indices = try c.tensor("indices")
            guard c.b.type(of: indices).dtype == .int64 else { throw c.fail("indices", "expected an integer tensor") }
            let padding = try c.int("padding_idx", default: -1)
            if padding >= 0 { return [try c.b.apply(PaddedEmbedding(paddingIndex: padding), [weight, indices])] }
            return [try c.b.apply(Gather(axis: 0), [weight, indices])]
        case _ where dropouts.contains(c.target):
            let p = try c.optionalDouble("p") ?? 0
            if try c.bool("train", default: false) && p > 0 { throw c.unsupported("dropout in training mode is random: export the model after .eval()") }
            let x = try c.tensor(c.has("input") ? "input" : "self")
            if c.target == "aten.native_dropout.default" {
                return [x, c.b.constant(Tensor(repeating: 1, shape: c.shape(x), dtype: .bool))]
            }
            return [x]
        default:
            throw c.unsupported("not in the embedding table")
        }
    }
}

/// The rows of a weight `(n, d)` at int64 indices (``ParityEngine/Gather`` on axis 0) whose VJP gives the
/// row `paddingIndex` no gradient: the cotangent at positions holding that index is dropped.
struct PaddedEmbedding: Op {
    var paddingIndex: Int

    var name: String { "embedding (padding_idx \(paddingIndex))" }

    func outputType(_ inputs: [TensorType]) throws -> TensorType { try Gather(axis: 0).outputType(inputs) }

    func forward(_ inputs: [Tensor]) throws -> Tensor { try Gather(axis: 0).forward(inputs) }

    func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let indices = inputs[1], dtype = b.type(of: cotangent).dtype
        let hit = try b.binary(.equal, b.cast(indices, to: .float64), b.constant(Tensor(repeating: Double(paddingIndex), shape: [], dtype: .float64)))
        let keep = try b.cast(b.subtract(b.scalar(1, like: hit), hit), to: dtype)
        let masked = try b.multiply(cotangent, b.reshape(keep, b.shape(of: indices) + [1]))
        return try Gather(axis: 0).vjp(b, inputs: inputs, output: output, cotangent: masked)
    }
}
