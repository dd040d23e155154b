import ParityNN

/// `aten.scaled_dot_product_attention` as PyTorch's CPU flash-attention kernel computes it for
/// short sequences (`aten/src/ATen/native/cpu/FlashAttentionKernel.cpp`, one key/value block), as
/// ParityEngine's ``Attention`` op with ``Attention/Normalization/afterProduct``:
/// `s = (q·kᵀ)·scale + mask` (scale `1/√E` unless given; `is_causal` masks keys after the query with
/// −∞; a boolean mask, stored as integers, masks its zeros), `m = max s`, `e = exp(s − m)`,
/// `out = (e·v) / Σe` (normalised after the product, not a softmax first). A bool mask keeps its true
/// entries (the others get −∞); a float mask is added. `enable_gqa` repeats each key/value head for its
/// group of query heads (`repeat_interleave` on the head axis). `dropout_p > 0` is refused (random).
enum AttentionOps: ATenFamily {
    static let targets: Set<String> = ["aten.scaled_dot_product_attention.default"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let q = try c.floating(c.tensor("query"))
        var k = try c.floating(c.tensor("key")), v = try c.floating(c.tensor("value"))
        if try c.double("dropout_p", default: 0) > 0 { throw c.unsupported("attention dropout is random") }
        if try c.bool("enable_gqa", default: false), c.rank(q) >= 3, c.shape(q)[c.rank(q) - 3] != c.shape(k)[c.rank(k) - 3] {
            let hq: Int = c.shape(q)[c.rank(q) - 3], hk: Int = c.shape(k)[c.rank(k) - 3]
            guard hk > 0, hq % hk == 0 else { throw c.fail("key", "\(hq) query heads are not a multiple of \(hk) key/value heads") }
            func repeated(_ t: B.Value) throws -> B.Value {
                var shape = c.shape(t)
                var inserted = shape, expanded = shape
                let axis = shape.count - 3
                inserted.insert(1, at: axis + 1)
                expanded.insert(hq / hk, at: axis + 1)
                shape[axis] = hq
                return try b.reshape(b.broadcast(b.reshape(t, inserted), to: expanded), shape)
            }
            (k, v) = (try repeated(k), try repeated(v))
        }
        let (qs, ks) = (c.shape(q), c.shape(k))
        guard qs.count >= 2, ks.count == qs.count, qs.last == ks.last else {
            throw c.fail("query", "query \(qs) and key \(ks) must be (…, L, E) and (…, S, E)")
        }
        let scale = try c.optionalDouble("scale") ?? 1 / Double(qs[qs.count - 1]).squareRoot()
        var inputs = [q, k, v]
        var mask = Attention.Mask.none
        if let m = try c.optionalTensor("attn_mask") {
            mask = b.type(of: m).dtype.isFloatingPoint ? .additive : .keep(fill: -.infinity, zeroProbabilities: false)
            inputs.append(m)
        }
        let op = Attention(scale: scale, normalization: .afterProduct, mask: mask, causal: try c.bool("is_causal", default: false))
        // One head at a time when q, k, v share their leading axes; broadcast batches as plain ops.
        let sameBatch = qs.dropLast(2) == ks.dropLast(2) && ks.dropLast(2) == c.shape(v).dropLast(2)
        return [try sameBatch ? b.apply(op, inputs) : op.definition(b, inputs)]
    }
}
