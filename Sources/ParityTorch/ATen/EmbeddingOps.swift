import ParityNN

/// `aten.embedding` (rows of the weight at integer indices; `padding_idx` only matters for training)
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
