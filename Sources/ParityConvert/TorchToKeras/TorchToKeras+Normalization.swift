import ParityKeras
import ParityNN
import ParityTorch

/// `batch_norm` in inference (and core ATen's `_native_batch_norm_legit_no_training`) →
/// BatchNormalization on the channel axis (PyTorch's axis 1, at its Keras position) with the node's
/// `eps` as `epsilon` and `momentum = 1 − m` (Keras weighs the running value, PyTorch the new batch);
/// weight → gamma, bias → beta, running_mean/var → moving_mean/variance (both used as stored at
/// inference). `layer_norm(normalized_shape)` → LayerNormalization over the trailing axes (held last,
/// in PyTorch's order) with the node's `eps`; weight → gamma, bias → beta. `group_norm` (and core
/// ATen's `native_group_norm`) → GroupNormalization(groups) on the channel axis with the node's `eps`:
/// both split the channels into consecutive groups and normalise each over its channels and every
/// spatial cell, `x·(rstd·gamma) + (beta − mean·rstd·gamma)`. `rms_norm` → the `RMSNorm` operation
/// (`keras.ops.rms_normalization`: `x·rsqrt(mean(x²) + ε)·scale`, PyTorch's formula) over the trailing
/// axes, with the node's `eps` (PyTorch's default, float32's machine epsilon, when none is given) and
/// the weight as its `scale` constant.
enum NormalizationOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default", "aten.layer_norm.default",
        "aten.group_norm.default", "aten.native_group_norm.default", "aten.rms_norm.default",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        if c.target == "aten.layer_norm.default" { return [.value(try layer(c))] }
        if c.target == "aten.group_norm.default" { return [.value(try group(c))] }
        if c.target == "aten.rms_norm.default" { return [.value(try rms(c))] }
        if c.target == "aten.native_group_norm.default" { return [.value(try group(c)), .none, .none] }
        let result = TorchOperand.value(try batch(c))
        return c.target == "aten.batch_norm.default" ? [result] : [result, .none, .none]
    }

    static func batch(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("input")
        if c.target == "aten.batch_norm.default", try c.bool("training") {
            throw c.refuse("training=True normalises with the batch's statistics: export the model after .eval()")
        }
        guard x.rank >= 2, x.perm[0] != 1 else { throw c.refuse("expects (N, C, …) with the batch on Keras's batch axis; received \(x.torchShape)") }
        let gamma = try c.optionalWeight("weight"), beta = try c.optionalWeight("bias")
        let mean = try c.weight("running_mean"), variance = try c.weight("running_var")
        let eps = try c.double("eps"), momentum = try c.double("momentum", default: NormalizationDefaults.pyTorchMomentum)
        let weights = try c.kerasWeights(ParameterTable.rows("BatchNormalization", .init(scale: gamma != nil, center: beta != nil))!,
                                         [gamma, beta, mean, variance].compactMap { $0.map { [$0] } })
        return try c.layer("BatchNormalization", [
            "axis": .int(x.position(of: 1)), "epsilon": .double(eps), "momentum": .double(Py.complement(momentum)),
            "center": .bool(beta != nil), "scale": .bool(gamma != nil),
        ], inputs: [x], weights: weights, perm: x.perm)[0]
    }

    static func group(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("input")
        guard x.rank >= 2, x.perm[0] == 0 else { throw c.refuse("expects (N, C, …) with the batch on Keras's batch axis; received \(x.torchShape)") }
        let groups = try c.int(c.target == "aten.native_group_norm.default" ? "group" : "num_groups")
        let channels = x.torchShape[1]
        guard groups >= 1, channels % groups == 0 else { throw c.refuse("\(groups) groups of \(channels) channels") }
        let gamma = try c.optionalWeight("weight"), beta = try c.optionalWeight("bias")
        let weights = try c.kerasWeights(ParameterTable.rows("GroupNormalization", .init(scale: gamma != nil, center: beta != nil))!,
                                         [gamma, beta].compactMap { $0.map { [$0] } })
        return try c.layer("GroupNormalization", [
            "groups": .int(groups), "axis": .int(x.position(of: 1)), "epsilon": .double(try c.double("eps", default: NormalizationDefaults.pyTorchEpsilon)),
            "center": .bool(beta != nil), "scale": .bool(gamma != nil),
        ], inputs: [x], weights: weights, perm: x.perm, shapes: [x.torchShape])[0]
    }

    static func rms(_ c: NodeConversion) throws -> KerasValue {
        var x = try c.value("input")
        let shape = try c.ints("normalized_shape"), count = shape.count
        guard count >= 1, count < x.rank, Array(x.torchShape.suffix(count)) == shape else {
            throw c.refuse("normalized_shape \(shape) on \(x.torchShape): the trailing axes, not the batch")
        }
        let trailing = Array((x.rank - count)..<x.rank)
        if Array(x.perm.suffix(count)) != trailing { x = c.arrange(x, as: x.perm.filter { !trailing.contains($0) } + trailing) }
        // Keras 3.15.1's RMSNorm needs a scale argument (its compute_output_spec has no default): ones (exact) without a weight.
        let scale = OperationArgument.tensor(try c.optionalWeight("weight")?.tensor ?? Tensor(shape: shape, values: Array(repeating: 1, count: shape.reduce(1, *))).cast(to: .float32))
        let arguments: [OperationArgument] = [.value(x), scale]
        let eps = try c.optionalDouble("eps") ?? Double(Float.ulpOfOne)
        return try c.operation("RMSNorm", module: "nn", ["axis": count == 1 ? .int(-1) : .ints(Array((x.rank - count)..<x.rank)), "epsilon": .double(eps)],
                               arguments: arguments, perm: x.perm, shape: x.torchShape)
    }

    static func layer(_ c: NodeConversion) throws -> KerasValue {
        var x = try c.value("input")
        let shape = try c.ints("normalized_shape")
        let count = shape.count
        guard count >= 1, count < x.rank, Array(x.torchShape.suffix(count)) == shape else {
            throw c.refuse("normalized_shape \(shape) on \(x.torchShape): the trailing axes, not the batch")
        }
        let trailing = Array((x.rank - count)..<x.rank)
        if Array(x.perm.suffix(count)) != trailing {
            x = c.arrange(x, as: x.perm.filter { !trailing.contains($0) } + trailing)
        }
        let gamma = try c.optionalWeight("weight"), beta = try c.optionalWeight("bias")
        let weights = try c.kerasWeights(ParameterTable.rows("LayerNormalization", .init(scale: gamma != nil, center: beta != nil))!,
                                         [gamma, beta].compactMap { $0.map { [$0] } })
        let axes = Array((x.rank - count)..<x.rank)
        return try c.layer("LayerNormalization", [
            "axis": count == 1 ? .int(-1) : .ints(axes), "epsilon": .double(try c.double("eps", default: NormalizationDefaults.pyTorchEpsilon)),
            "center": .bool(beta != nil), "scale": .bool(gamma != nil), "rms_scaling": .bool(false),
        ], inputs: [x], weights: weights, perm: x.perm)[0]
    }
}
