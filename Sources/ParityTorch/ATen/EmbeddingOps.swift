import ParityNN

/// `aten.embedding` (rows of the weight at int64 indices; `padding_idx` only matters for training)
/// and `aten.dropout` (the identity at inference; `train=True` is refused).
enum EmbeddingOps: ATenFamily {
    static let targets: Set<String> = ["aten.embedding.default", "aten.dropout.default"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        switch c.target {
        case "aten.embedding.default":
            let weight = try c.tensor("weight"), indices = try c.tensor("indices")
            guard c.b.type(of: indices).dtype == .int64 else { throw c.fail("indices", "expected an integer tensor") }
            return [try c.b.apply(Gather(axis: 0), [weight, indices])]
        case "aten.dropout.default":
            if try c.bool("train", default: false) { throw c.unsupported("dropout in training mode is random: export the model after .eval()") }
            return [try c.tensor("input")]
        default:
            throw c.unsupported("not in the embedding table")
        }
    }
}
