import ParityKeras
import ParityTorch

/// BatchNormalization → `nn.BatchNorm{1,2,3}d` (gamma → weight, beta → bias, moving mean/variance →
/// running_mean/var; epsilon from the file, momentum `1 − m` since PyTorch weights the new batch),
/// LayerNormalization over trailing axes → `nn.LayerNorm` with the file's epsilon. Keras's `scale=False`
/// or `center=False` alone become a weight of ones or a bias of zeros (PyTorch's switch covers both).
/// LayerNormalization over other axes or with `rms_scaling` → the `KerasLayerNorm` helper module.
enum NormalizationLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["BatchNormalization", "LayerNormalization"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        c.className == "BatchNormalization" ? [try batch(c)] : [try layer(c)]
    }

    static func batch(_ c: LayerConversion) throws -> TorchValue {
        // The loader refused renorm and several axes, and recorded Keras's training rule with the file's momentum.
        let bn = try c.typed(BatchNorm.self)
        let rank = c.inputs[0].rank
        guard rank >= 2, rank <= 5 else { throw c.refuse("axis", "\(bn.axis) on a rank-\(rank) input", "PyTorch normalises one channel axis of a rank 2–5 input") }
        let axis = bn.axis < 0 ? bn.axis + rank : bn.axis
        let (scale, center) = (bn.gamma != nil, bn.beta != nil)
        let epsilon = bn.epsilon, momentum = (bn.recordedTraining ?? .keras()).momentum
        let channels = bn.mean.count
        let w = [bn.gamma, bn.beta].compactMap { $0 } + [bn.mean, bn.variance]
        let rows = ParameterTable.rows("BatchNormalization", .init(scale: scale, center: center))!
        let x = c.input(0, perm: LayerConversion.channelFirst(axis, rank: rank))
        let affine = scale || center
        let torchMomentum = Py.complement(momentum)
        let module = c.submodule("nn.BatchNorm\(max(rank - 2, 1))d(\(channels), eps=\(Py.float(epsilon)), momentum=\(Py.float(torchMomentum))\(affine ? "" : ", affine=False"))",
                                 comment: "Keras epsilon \(Py.float(epsilon)), momentum \(Py.float(momentum)) (PyTorch's momentum is 1 − it)")
        var weight = TorchArgument.none, bias = TorchArgument.none
        if affine {
            weight = .tensor(try c.parameter("weight", of: rows, w)
                             ?? c.parameter("weight", Tensor(repeating: 1, shape: [channels], dtype: .float32), from: nil, transform: "ones (Keras scale=False)"))
            bias = .tensor(try c.parameter("bias", of: rows, w)
                           ?? c.parameter("bias", Tensor.zeros([channels]), from: nil, transform: "zeros (Keras center=False)"))
        }
        let runningMean = try c.parameter("running_mean", of: rows, w)!, runningVar = try c.parameter("running_var", of: rows, w)!
        _ = c.parameter("num_batches_tracked", Tensor(shape: [], int64: [0]), from: nil, transform: "0 (PyTorch's counter)", buffer: true)
        return c.apply("\(module)(\(x.python))", "aten.batch_norm.default", [
            ("input", .tensor(x.graph)), ("weight", weight), ("bias", bias), ("running_mean", .tensor(runningMean)),
            ("running_var", .tensor(runningVar)), ("training", .bool(false)), ("momentum", .float(torchMomentum)), ("eps", .float(epsilon)),
            ("cudnn_enabled", .bool(true)),
        ], perm: x.perm)
    }

    static func layer(_ c: LayerConversion) throws -> TorchValue {
        let norm = try c.typed(LayerNorm.self)
        let rank = c.inputs[0].rank
        let axes = norm.axes.map { $0 < 0 ? $0 + rank : $0 }.sorted()
        if norm.rmsScaling || axes.isEmpty || axes != Array((rank - axes.count)..<rank) { return try keras(c, norm, axes: axes) }
        let shape = axes.map { c.inputShapes[0][$0] }
        let (scale, center, epsilon) = (norm.gamma != nil, norm.beta != nil, norm.epsilon)
        let w = [norm.gamma, norm.beta].compactMap { $0 }
        guard w.allSatisfy({ $0.shape == shape }) else { throw ConvertError.shape(layer: c.name, message: "weights \(w.map(\.shape)) for axes \(axes) of shape \(shape)") }
        let x = c.kerasInput()
        var options = [shape.count == 1 ? "\(shape[0])" : Py.tuple(shape), "eps=\(Py.float(epsilon))"]
        if !scale && !center { options.append("elementwise_affine=False") } else if !center { options.append("bias=False") }
        let module = c.submodule("nn.LayerNorm(\(options.joined(separator: ", ")))", comment: epsilon == NormalizationDefaults.pyTorchEpsilon ? nil : "Keras epsilon \(Py.float(epsilon)) (PyTorch's default is \(Py.float(NormalizationDefaults.pyTorchEpsilon)))")
        let rows = ParameterTable.rows("LayerNormalization", .init(scale: scale, center: center))!
        var weight = TorchArgument.none, bias = TorchArgument.none
        if scale || center {
            weight = .tensor(try c.parameter("weight", of: rows, w)
                             ?? c.parameter("weight", Tensor(repeating: 1, shape: shape, dtype: .float32), from: nil, transform: "ones (Keras scale=False)"))
        }
        if let b = try c.parameter("bias", of: rows, w) { bias = .tensor(b) }
        return c.apply("\(module)(\(x.python))", "aten.layer_norm.default", [
            ("input", .tensor(x.graph)), ("normalized_shape", .ints(shape)), ("weight", weight), ("bias", bias), ("eps", .float(epsilon)),
        ], perm: x.perm)
    }

    static let layerHelper = """
    class KerasLayerNorm(nn.Module):
        \"\"\"Keras LayerNormalization where nn.LayerNorm does not fit (axes that are not trailing, or
        rms_scaling), in Keras's order: mean and biased variance over dims, inv = rsqrt(variance + epsilon);
        rms_scaling: x * inv * gamma (the variance is centred, x is not); otherwise
        x * (inv * gamma) + (beta - mean * (inv * gamma)). gamma and beta broadcast against the input.\"\"\"

        def __init__(self, dims, shape, epsilon, rms_scaling, scale, center):
            super().__init__()
            self.dims, self.epsilon, self.rms_scaling = dims, epsilon, rms_scaling
            self.register_parameter("gamma", nn.Parameter(torch.ones(shape)) if scale else None)
            self.register_parameter("beta", nn.Parameter(torch.zeros(shape)) if center else None)

        def forward(self, x):
            mean = x.mean(dim=self.dims, keepdim=True)
            variance = ((x - mean) * (x - mean)).mean(dim=self.dims, keepdim=True)
            inv = torch.rsqrt(variance + self.epsilon)
            if self.rms_scaling:
                return x * inv if self.gamma is None else x * inv * self.gamma
            if self.gamma is not None:
                inv = inv * self.gamma
            offset = -(mean * inv)
            if self.beta is not None:
                offset = offset + self.beta
            return x * inv + offset
    """

    /// LayerNormalization over other axes, or with `rms_scaling`: the `KerasLayerNorm` helper, gamma and
    /// beta reshaped to broadcast against the input in Keras's layout.
    static func keras(_ c: LayerConversion, _ norm: LayerNorm, axes: [Int]) throws -> TorchValue {
        let x = c.kerasInput()
        let inputShape = c.inputShapes[0]
        var shape = Array(repeating: 1, count: x.rank)
        for axis in axes { shape[axis] = inputShape[axis] }
        let rms = norm.rmsScaling, epsilon = norm.epsilon
        // The loader keeps gamma for `scale` or `rms_scaling`, beta for `center` without `rms_scaling`.
        let scale = norm.gamma != nil, center = norm.beta != nil
        let count = axes.reduce(1) { $0 * inputShape[$1] }
        guard c.layer.weights.count == (scale ? 1 : 0) + (center ? 1 : 0), c.layer.weights.allSatisfy({ $0.count == count }) else {
            throw ConvertError.shape(layer: c.name, message: "weights \(c.layer.weights.map(\.shape)) for axes \(axes) of \(inputShape)")
        }
        let w = c.writer
        w.helper("KerasLayerNorm", layerHelper)
        let module = c.submodule("KerasLayerNorm(dims=\(Py.tuple(axes)), shape=\(Py.tuple(shape)), epsilon=\(Py.float(epsilon)), "
            + "rms_scaling=\(rms ? "True" : "False"), scale=\(scale ? "True" : "False"), center=\(center ? "True" : "False"))",
            comment: "Keras axis \(Py.tuple(axes))" + (rms ? ", rms_scaling" : ""))
        w.line("\(c.output) = \(module)(\(x.python))")
        let reshape = "reshaped to \(Py.tuple(shape))"
        let gamma = scale ? c.parameter("gamma", try c.layer.weights[0].reshaped(shape), from: "gamma", kerasShape: c.layer.weights[0].shape, transform: reshape) : nil
        let beta = center ? c.parameter("beta", try c.layer.weights.last!.reshaped(shape), from: "beta", kerasShape: c.layer.weights.last!.shape, transform: reshape) : nil
        func node(_ target: String, _ arguments: [(String, TorchArgument)]) -> String { w.node(target, arguments, module: c.module)[0] }
        func binary(_ target: String, _ a: String, _ b: String) -> String { node(target, [("self", .tensor(a)), ("other", .tensor(b))]) }
        let mean = node("aten.mean.dim", [("self", .tensor(x.graph)), ("dim", .ints(axes)), ("keepdim", .bool(true))])
        let centred = binary("aten.sub.Tensor", x.graph, mean)
        let variance = node("aten.mean.dim", [("self", .tensor(binary("aten.mul.Tensor", centred, centred))), ("dim", .ints(axes)), ("keepdim", .bool(true))])
        var inv = node("aten.rsqrt.default", [("self", .tensor(node("aten.add.Tensor", [("self", .tensor(variance)), ("other", .float(epsilon))])))])
        let y: String
        if rms {
            let scaled = binary("aten.mul.Tensor", x.graph, inv)
            y = gamma.map { binary("aten.mul.Tensor", scaled, $0) } ?? scaled
        } else {
            if let gamma { inv = binary("aten.mul.Tensor", inv, gamma) }
            var offset = node("aten.neg.default", [("self", .tensor(binary("aten.mul.Tensor", mean, inv)))])
            if let beta { offset = binary("aten.add.Tensor", offset, beta) }
            y = binary("aten.add.Tensor", binary("aten.mul.Tensor", x.graph, inv), offset)
        }
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }
}
