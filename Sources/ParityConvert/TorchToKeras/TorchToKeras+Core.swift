import ParityKeras
import ParityTorch

/// `aten.linear` → Dense (kernel = weightᵀ, bias as is) on the last axis; `aten.embedding` → Embedding
/// (same layout; `padding_idx`, `scale_grad_by_freq` and `sparse` only change PyTorch's gradient); `aten.dropout` in eval, `clone`,
/// `alias`, `contiguous` and `_assert_tensor_metadata` → nothing (the value itself); `aten.zeros` → a
/// zero initial state for a recurrent layer.
enum CoreOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.linear.default", "aten.embedding.default", "aten.dropout.default", "aten.clone.default", "aten.alias.default",
        "aten.contiguous.default", "aten._assert_tensor_metadata.default", "aten.zeros.default",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        switch c.target {
        case "aten.linear.default": return [.value(try linear(c))]
        case "aten.embedding.default": return [.value(try embedding(c))]
        case "aten.dropout.default":
            if try c.bool("train", default: false) { throw c.refuse("dropout in training mode is random: export the model after .eval()") }
            return [.value(try c.value(c.node.argument("input") == nil ? "self" : "input"))]  // `dropout_` names it self
        case "aten.clone.default", "aten.alias.default", "aten.contiguous.default": return [.value(try c.value("self"))]
        case "aten._assert_tensor_metadata.default": return []
        default: return [.zeros(try c.ints("size"))]
        }
    }

    static func linear(_ c: NodeConversion) throws -> KerasValue {
        var x = try c.value("input")
        let weight = try c.weight("weight"), bias = try c.optionalWeight("bias")
        guard weight.tensor.rank == 2, x.rank >= 2 else { throw c.refuse("expects a rank ≥ 2 input and a (out, in) weight; received \(x.torchShape), \(weight.tensor.shape)") }
        let last = x.rank - 1
        if x.perm.last != last {
            var perm = x.perm.filter { $0 != last }
            perm.append(last)
            x = c.arrange(x, as: perm)
        }
        let units = weight.tensor.shape[0]
        let weights = try c.kerasWeights(ParameterTable.rows("Dense", .init(bias: bias != nil))!, [[weight]] + (bias.map { [[$0]] } ?? []))
        return try c.layer("Dense", ["units": .int(units), "activation": .string("linear"), "use_bias": .bool(bias != nil)],
                           inputs: [x], weights: weights, perm: x.perm)[0]
    }

    static func embedding(_ c: NodeConversion) throws -> KerasValue {
        let indices = try c.value("indices")
        let weight = try c.weight("weight")
        guard weight.tensor.rank == 2, indices.dtype == "int64" else { throw c.refuse("expects int64 indices and a (count, width) weight") }
        return try c.layer("Embedding", ["input_dim": .int(weight.tensor.shape[0]), "output_dim": .int(weight.tensor.shape[1]), "mask_zero": .bool(false)],
                           inputs: [indices], weights: try c.kerasWeights(ParameterTable.rows("Embedding")!, [[weight]]),
                           perm: indices.perm + [indices.rank])[0]
    }
}
