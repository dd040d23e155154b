import ParityNN

/// Inference-time normalization in PyTorch's CPU formulas:
///
/// - `batch_norm` (`aten/src/ATen/native/cpu/batch_norm_kernel.cpp`): `α = w / sqrt(var + ε)`,
///   `β = b − mean·α`, `y = x·α + β`, per channel (axis 1), ε from the graph (PyTorch default ``NormalizationDefaults/pyTorchEpsilon``).
///   `training=True` with running statistics (which it would update) is refused; without them it uses
///   the batch's statistics, as below.
/// - `layer_norm` (`layer_norm_kernel.cpp`): over the trailing `normalized_shape` axes,
///   `y = (x − mean)·rstd·γ + β`, `rstd = 1/sqrt(var + ε)`, biased variance.
/// - `group_norm` (`group_norm_kernel.cpp`): statistics per (sample, group), then per channel
///   `scale = rstd·γ`, `bias = −scale·mean + β`, `y = x·scale + bias`.
///
/// - batch statistics (`_native_batch_norm_legit.no_stats`, which a BatchNorm without running
///   statistics and `instance_norm` lower to; `instance_norm` with `use_input_stats` is the same over
///   `(1, N·C, …)`): per channel the biased mean and variance over the batch and spatial axes, then
///   `α = w·invstd`, `β = b − mean·α`, `y = x·α + β` (`batch_norm_cpu_transform_input`); the statistics
///   outputs are `(mean, invstd)` shaped `(C,)`.
///
/// - `rms_norm` (`aten/src/ATen/native/layer_norm.cpp`, `rms_norm_composite`): `y = x·rsqrt(mean(x²) + ε)·w`
///   over the trailing `normalized_shape` axes, ε by default the float type's machine epsilon.
///
/// - `_native_batch_norm_legit(input, w, b, running_mean, running_var, training, momentum, eps)`: with
///   `training` the batch statistics, `(y, mean, invstd)`; PyTorch also updates the running statistics in
///   place, which Parity does not write back (an export holds that update as
///   `_native_batch_norm_legit_functional`, which returns the new running statistics as two more outputs,
///   `(1 − momentum)·running + momentum·batch`, the variance unbiased). Without `training`, the running
///   statistics and `(y, ∅, ∅)`.
///
/// Core ATen's forms (after `run_decompositions()`) compute the same and return tuples:
/// `_native_batch_norm_legit_no_training` → `(y, ∅, ∅)` (two empty tensors at inference),
/// `native_layer_norm` → `(y, mean, rstd)` with the statistics shaped `input[:axis] + [1]*k`,
/// `native_group_norm(input, weight, bias, N, C, HxW, group, eps)` → `(y, mean, rstd)` shaped `(N, group)`.
enum NormalizationOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.batch_norm.default", "aten.layer_norm.default", "aten.group_norm.default",
        "aten._native_batch_norm_legit_no_training.default", "aten.native_layer_norm.default", "aten.native_group_norm.default",
        "aten._native_batch_norm_legit.no_stats", "aten.instance_norm.default", "aten.rms_norm.default",
        "aten._native_batch_norm_legit.default", "aten._native_batch_norm_legit_functional.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let x = try c.floating(c.tensor("input"))
        let shape = c.shape(x)
        switch c.target {
        case "aten._native_batch_norm_legit.default", "aten._native_batch_norm_legit_functional.default":
            guard try c.bool("training") else {
                // Running statistics: `(y, ∅, ∅)` (`_native_batch_norm_legit_no_training`), plus the unchanged
                // running statistics for the functional form.
                let inference = try runningStatistics(c, x)
                let empty = b.constant(Tensor.zeros([0], dtype: b.type(of: x).dtype))
                let kept = c.target.hasSuffix("functional.default") ? [try c.tensor("running_mean"), try c.tensor("running_var")] : []
                return [inference, empty, empty] + kept
            }
            let normalized = try batchStatistics(c, x, weight: c.optionalTensor("weight"), bias: c.optionalTensor("bias"))
            guard c.target.hasSuffix("functional.default") else { return normalized }
            // The updated running statistics it returns: (1 − momentum)·running + momentum·batch, the
            // variance unbiased (n/(n − 1)), as `batch_norm_cpu_update_stats_template`.
            let n = shape.enumerated().filter { $0.offset != 1 }.map(\.element).reduce(1, *)
            let momentum = try c.double("momentum")
            let rule = BatchNormTraining.pyTorch(momentum: momentum)
            let axes = [0] + Array(2..<shape.count)
            let centred = try b.subtract(x, b.reshape(normalized[1], [shape[1]] + Array(repeating: 1, count: shape.count - 2)))
            let variance = try b.reshape(b.reduce(.mean, b.multiply(centred, centred), axes: axes, keepDims: true, numerics: TorchNumerics.reduction), [shape[1]])
            let unbiased = try b.multiply(variance, b.scalar(Double(n) / Double(max(n - 1, 1)), like: x))
            return normalized + [try rule.updated(c.tensor("running_mean"), batch: normalized[1], in: b),
                                 try rule.updated(c.tensor("running_var"), batch: unbiased, in: b)]
        case "aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default":
            if try c.bool("training", default: false) {
                // Batch statistics without running ones (timm's weight-standardised convolutions call
                // F.batch_norm(w, None, None, training=True)): a pure function of the input.
                guard try c.optionalTensor("running_mean") == nil, try c.optionalTensor("running_var") == nil else {
                    throw c.unsupported("batch_norm in training mode updates its running statistics: export the model after .eval()")
                }
                return [try batchStatistics(c, x, weight: c.optionalTensor("weight"), bias: c.optionalTensor("bias"))[0]]
            }
            let y = try runningStatistics(c, x)
            if c.target == "aten.batch_norm.default" { return [y] }
            let empty = b.constant(Tensor.zeros([0], dtype: b.type(of: x).dtype))
            return [y, empty, empty]
        case "aten.rms_norm.default":
            let normalized = try c.ints("normalized_shape")
            guard normalized.count <= shape.count, Array(shape.suffix(normalized.count)) == normalized else {
                throw c.fail("normalized_shape", "\(normalized) is not the trailing shape of \(shape)")
            }
            let epsilon = b.type(of: x).dtype == .float64 ? Double.ulpOfOne : Double(Float.ulpOfOne)
            let eps = try c.optionalDouble("eps") ?? epsilon
            let axes = Array((shape.count - normalized.count)..<shape.count)
            let meanSquare = try b.reduce(.mean, b.multiply(x, x), axes: axes, keepDims: true, numerics: TorchNumerics.reduction)
            let y = try b.multiply(x, b.unary(.reciprocal, b.unary(.sqrt, b.add(meanSquare, b.scalar(eps, like: x)))))
            return [try c.optionalTensor("weight").map { try b.multiply(y, $0) } ?? y]
        case "aten._native_batch_norm_legit.no_stats":
            return try batchStatistics(c, x, weight: c.optionalTensor("weight"), bias: c.optionalTensor("bias"))
        case "aten.instance_norm.default":
            guard try c.bool("use_input_stats", default: true) else {
                throw c.unsupported("instance_norm with running statistics (use_input_stats=False) is not mapped")
            }
            guard shape.count >= 3 else { throw c.fail("input", "expected (N, C, …); received \(shape)") }
            let (n, channels) = (shape[0], shape[1])
            let repeated = { (v: B.Value?) throws -> B.Value? in
                try v.map { try b.reshape(b.broadcast(b.reshape($0, [1, channels]), to: [n, channels]), [n * channels]) }
            }
            let folded = try b.reshape(x, [1, n * channels] + shape.dropFirst(2))
            let y = try batchStatistics(c, folded, weight: repeated(c.optionalTensor("weight")), bias: repeated(c.optionalTensor("bias")))[0]
            return [try b.reshape(y, shape)]
        case "aten.layer_norm.default", "aten.native_layer_norm.default":
            let normalized = try c.ints("normalized_shape")
            guard normalized.count <= shape.count, Array(shape.suffix(normalized.count)) == normalized else {
                throw c.fail("normalized_shape", "\(normalized) is not the trailing shape of \(shape)")
            }
            let axes = Array((shape.count - normalized.count)..<shape.count)
            let eps = try c.double("eps", default: NormalizationDefaults.pyTorchEpsilon)
            let (centred, rstd, mean) = try moments(b, x, axes: axes, eps: eps)
            var y = try b.multiply(centred, rstd)
            if let gamma = try c.optionalTensor("weight") { y = try b.multiply(y, gamma) }
            if let beta = try c.optionalTensor("bias") { y = try b.add(y, beta) }
            return c.target == "aten.layer_norm.default" ? [y] : [y, mean, rstd]
        case "aten.group_norm.default", "aten.native_group_norm.default":
            let native = c.target == "aten.native_group_norm.default"
            let groups = try c.int(native ? "group" : "num_groups")
            if native {
                let (nArg, cArg, hw) = (try c.int("N"), try c.int("C"), try c.int("HxW"))
                guard shape.count >= 2, [nArg, cArg, hw] == [shape[0], shape[1], shape.dropFirst(2).reduce(1, *)] else {
                    throw c.fail("N", "N \(nArg), C \(cArg), HxW \(hw) do not describe an input of shape \(shape)")
                }
            }
            guard groups >= 1, shape.count >= 2, shape[1] % groups == 0 else {
                throw c.fail("num_groups", "\(groups) groups do not divide the \(shape.count >= 2 ? shape[1] : 0) channels of \(shape)")
            }
            let (n, channels) = (shape[0], shape[1])
            let spatial = shape.dropFirst(2).reduce(1, *)
            let grouped = try b.reshape(x, [n, groups, channels / groups * spatial])
            let eps = try c.double("eps", default: NormalizationDefaults.pyTorchEpsilon)
            let mean = try b.reduce(.mean, grouped, axes: [2], keepDims: true, numerics: TorchNumerics.reduction)
            let d = try b.subtract(grouped, mean)
            let variance = try b.reduce(.mean, b.multiply(d, d), axes: [2], keepDims: true, numerics: TorchNumerics.reduction)
            let rstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(eps, like: x))))
            // Per (sample, channel): scale = rstd·γ, bias = −scale·mean + β.
            let perChannel = { (v: B.Value) throws -> B.Value in
                try b.reshape(b.broadcast(v, to: [n, groups, channels / groups]), [n, channels])
            }
            var scale = try perChannel(b.reshape(rstd, [n, groups, 1]))
            let meanC = try perChannel(b.reshape(mean, [n, groups, 1]))
            if let gamma = try c.optionalTensor("weight") { scale = try b.multiply(scale, gamma) }
            var bias = try b.negate(b.multiply(scale, meanC))
            if let beta = try c.optionalTensor("bias") { bias = try b.add(bias, beta) }
            let trailing = [n, channels] + Array(repeating: 1, count: shape.count - 2)
            let y = try b.add(b.multiply(x, b.reshape(scale, trailing)), b.reshape(bias, trailing))
            return native ? [y, try b.reshape(mean, [n, groups]), try b.reshape(rstd, [n, groups])] : [y]
        default:
            throw c.unsupported("not in the normalization table")
        }
    }

    /// Batch normalisation with the running statistics (inference).
    static func runningStatistics<B: Builder>(_ c: ATenCall<B>, _ x: B.Value) throws -> B.Value {
        let b = c.b
        let shape = c.shape(x)
        guard shape.count >= 2 else { throw c.fail("input", "expected (N, C, …); received \(shape)") }
        let perChannel = [shape[1]] + Array(repeating: 1, count: shape.count - 2)
        guard let mean = try c.optionalTensor("running_mean"), let variance = try c.optionalTensor("running_var") else {
            throw c.unsupported("batch_norm without running statistics uses batch statistics, which is not mapped")
        }
        let eps = try c.double("eps", default: NormalizationDefaults.pyTorchEpsilon)
        let invstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(eps, like: x))))
        let alpha = try c.optionalTensor("weight").map { try b.multiply(invstd, $0) } ?? invstd
        let shift = try b.multiply(mean, alpha)
        let beta = try c.optionalTensor("bias").map { try b.subtract($0, shift) } ?? b.negate(shift)
        return try b.add(b.multiply(x, b.reshape(alpha, perChannel)), b.reshape(beta, perChannel))
    }

    /// Batch normalisation with the batch's own statistics: `[y, mean, invstd]`, the statistics `(C,)`.
    static func batchStatistics<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, weight: B.Value?, bias: B.Value?) throws -> [B.Value] {
        let b = c.b
        let shape = c.shape(x)
        guard shape.count >= 2 else { throw c.fail("input", "expected (N, C, …); received \(shape)") }
        let perChannel = [shape[1]] + Array(repeating: 1, count: shape.count - 2)
        let (_, rstd, mean) = try moments(b, x, axes: [0] + Array(2..<shape.count), eps: c.double("eps", default: NormalizationDefaults.pyTorchEpsilon))
        let invstd = try b.reshape(rstd, perChannel), average = try b.reshape(mean, perChannel)
        let alpha = try weight.map { try b.multiply(invstd, b.reshape($0, perChannel)) } ?? invstd
        let shift = try b.multiply(average, alpha)
        let beta = try bias.map { try b.subtract(b.reshape($0, perChannel), shift) } ?? b.negate(shift)
        return [try b.add(b.multiply(x, alpha), beta), try b.reshape(mean, [shape[1]]), try b.reshape(rstd, [shape[1]])]
    }

    /// `x − mean`, `1/sqrt(var + ε)` and the mean over `axes` (biased variance), kept broadcastable.
    static func moments<B: Builder>(_ b: B, _ x: B.Value, axes: [Int], eps: Double) throws -> (centred: B.Value, rstd: B.Value, mean: B.Value) {
        let mean = try b.reduce(.mean, x, axes: axes, keepDims: true, numerics: TorchNumerics.reduction)
        let centred = try b.subtract(x, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: axes, keepDims: true, numerics: TorchNumerics.reduction)
        return (centred, try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(eps, like: x)))), mean)
    }
}
