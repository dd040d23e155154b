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
    static let targets: Set<String> = dropouts.union(["aten.embedding.default", "aten._embedding_bag.default",
                                                      "aten._embedding_bag_forward_only.default"])

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        switch c.target {
        case "aten.embedding.default":
            let weight = try c.tensor("weight"), indices = try c.tensor("indices")
            guard c.b.type(of: indices).dtype == .int64 else { throw c.fail("indices", "expected an integer tensor") }
            let padding = try c.int("padding_idx", default: -1)
            if padding >= 0 { return [try c.b.apply(PaddedEmbedding(paddingIndex: padding), [weight, indices])] }
            return [try c.b.apply(Gather(axis: 0), [weight, indices])]
        case "aten._embedding_bag.default", "aten._embedding_bag_forward_only.default":
            return try embeddingBag(c)
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

extension EmbeddingOps {
    /// `_embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, sparse, per_sample_weights,
    /// include_last_offset, padding_idx)` (`nn.EmbeddingBag`, `aten/src/ATen/native/EmbeddingBag.cpp`, CPU):
    /// 1-D `indices` cut into bags at `offsets` (bag `b` is `offsets[b] ..< offsets[b+1]`; with
    /// `include_last_offset` the last offset ends the last bag), each bag reduced over its rows of
    /// `weight`: mode 0 sum (each row times its `per_sample_weights`), 1 mean, 2 max per column;
    /// rows at `padding_idx` are skipped; an empty bag gives zeros. The other outputs are PyTorch's
    /// bookkeeping, reproduced as its CPU kernel fills them: `offset2bag` (each index's bag; empty for a
    /// float32 sum without padding, whose fast path does not compute it), `bag_size` (rows per bag
    /// without padding; zeros for sum), `max_indices` (the weight row of each column's first maximum in
    /// max mode; the bag sizes in mean mode; zeros in sum mode).
    ///
    /// Composed of a gather of the rows and a scatter-add into bags (sum, mean) or a masked max over
    /// a `(bags, indices, d)` block (max), so the VJP is theirs: the weight's rows receive the bag's
    /// cotangent (divided by the bag size in mean mode; to the first maximum in max mode), the
    /// per-sample weights the dot product of the cotangent with their row. `scale_grad_by_freq`
    /// (a training-time rescaling of the gradient) is refused.
    static func embeddingBag<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let weight = try c.floating(c.tensor("weight")), indices = try c.tensor("indices"), offsets = try c.tensor("offsets")
        let ws = c.shape(weight), length = c.shape(indices).first ?? 0
        guard ws.count == 2 else { throw c.fail("weight", "expected (num_embeddings, dim); received \(ws)") }
        guard c.shape(indices).count == 1, c.shape(offsets).count == 1 else {
            throw c.unsupported("_embedding_bag with 2-D indices (torch.export passes them flattened with offsets): indices \(c.shape(indices)), offsets \(c.shape(offsets))")
        }
        guard b.type(of: indices).dtype == .int64, b.type(of: offsets).dtype == .int64 else { throw c.fail("indices", "expected integer indices and offsets") }
        let mode = try c.int("mode", default: 0)
        guard (0...2).contains(mode) else { throw c.fail("mode", "\(mode) is not 0 (sum), 1 (mean) or 2 (max)") }
        if try c.bool("scale_grad_by_freq", default: false) {
            throw c.unsupported("_embedding_bag with scale_grad_by_freq=True rescales its gradient by index frequency, which is not mapped")
        }
        let includeLast = try c.bool("include_last_offset", default: false)
        let bags = c.shape(offsets)[0] - (includeLast ? 1 : 0)
        guard bags >= 0 else { throw c.fail("offsets", "include_last_offset needs at least one offset") }
        let perSample = try c.optionalTensor("per_sample_weights")
        if perSample != nil && mode != 0 { throw c.fail("per_sample_weights", "only mode 0 (sum) takes per-sample weights; mode \(mode)") }
        let padding = try c.int("padding_idx", default: -1)
        let dtype = b.type(of: weight).dtype, d = ws[1]
        try c.checkCount([bags, length, d], "offsets")
        func float64(_ v: B.Value) throws -> B.Value { try b.cast(v, to: .float64) }
        // Each index's bag: the number of bag starts at or before its position, minus one.
        let positions = b.constant(Tensor(shape: [length, 1], values: (0..<length).map(Double.init)).cast(to: .float64))
        let starts = try b.reshape(float64(includeLast ? b.slice(offsets, [SliceAxis(start: 0, end: bags)]) : offsets), [1, bags])
        let bagOf = try b.subtract(b.reduce(.sum, b.binary(.greaterEqual, positions, starts), axes: [1]), b.scalar(1, like: positions))
        let offset2bag = try b.cast(bagOf, to: .int64)
        let kept = padding >= 0 ? try b.subtract(b.scalar(1, like: positions),
                                                   b.binary(.equal, float64(indices), b.scalar(Double(padding), like: positions)))
                                : b.constant(Tensor(repeating: 1, shape: [length], dtype: .float64))
        let counts = try b.apply(ScatterAdd(axis: 0, shape: [bags]), [kept, offset2bag])
        var rows = try b.apply(Gather(axis: 0), [weight, indices])
        if padding >= 0 { rows = try b.multiply(rows, b.reshape(b.cast(kept, to: dtype), [length, 1])) }
        if let perSample { rows = try b.multiply(rows, b.reshape(b.cast(c.floating(perSample), to: dtype), [length, 1])) }
        let output: B.Value, maxIndices: B.Value
        switch mode {
        case 2:
            // Member (bag, index) pairs; a column's maximum over them, the first on a tie; empty → 0.
            let bagIDs = b.constant(Tensor(shape: [bags, 1], values: (0..<bags).map(Double.init)).cast(to: .float64))
            let member = try b.multiply(b.binary(.equal, b.reshape(bagOf, [1, length]), bagIDs), b.reshape(kept, [1, length]))
            let block = try b.cast(b.reshape(member, [bags, length, 1]), to: dtype)
            let lowest = b.constant(Tensor(repeating: -.infinity, shape: [], dtype: dtype))
            let masked = try b.apply(Select(), [b.broadcast(block, to: [bags, length, d]), b.broadcast(b.reshape(rows, [1, length, d]), to: [bags, length, d]), lowest])
            let empty = try b.cast(b.binary(.equal, b.reshape(counts, [bags, 1]), b.scalar(0, like: counts)), to: dtype)
            if length == 0 {
                output = b.constant(Tensor.zeros([bags, d], dtype: dtype))
                maxIndices = b.constant(Tensor.zeros([bags, d], dtype: .int64))
            } else {
                let best = try b.reduce(.max, masked, axes: [1], ties: .first)
                output = try b.apply(Select(), [b.broadcast(empty, to: [bags, d]), b.scalar(0, like: best), best])
                let position = try b.apply(ArgExtremum(maximum: true, axis: 1), [masked])
                let row = try b.apply(Gather(axis: 0), [indices, position])
                let zero = b.constant(Tensor.zeros([], dtype: .float64))
                maxIndices = try b.cast(b.apply(Select(), [b.cast(b.broadcast(empty, to: [bags, d]), to: .float64), zero, float64(row)]), to: .int64)
            }
        default:
            let sums = try b.apply(ScatterAdd(axis: 0, shape: [bags, d]), [rows, offset2bag])
            if mode == 1 {
                let divisor = try b.cast(b.reshape(b.binary(.maximum, counts, b.scalar(1, like: counts)), [bags, 1]), to: dtype)
                output = try b.divide(sums, divisor)
                maxIndices = try b.cast(counts, to: .int64)
            } else {
                output = sums
                maxIndices = b.constant(Tensor.zeros([bags], dtype: .int64))
            }
        }
        // PyTorch's float32 sum without padding takes the fast path, which leaves offset2bag empty.
        let fastPath = mode == 0 && padding < 0 && c.floatType == .float32
        let bagSize = mode == 0 ? b.constant(Tensor.zeros([bags], dtype: .int64)) : try b.cast(counts, to: .int64)
        return [output, fastPath ? b.constant(Tensor.zeros([0], dtype: .int64)) : offset2bag, bagSize, maxIndices]
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
