import ParityKeras
import ParityTorch

/// BatchNormalization → `nn.BatchNorm{1,2,3}d` (gamma → weight, beta → bias, moving mean/variance →
/// running_mean/var; epsilon from the file, momentum `1 − m` since PyTorch weights the new batch),
/// LayerNormalization over trailing axes → `nn.LayerNorm` with the file's epsilon. Keras's `scale=False`
/// or `center=False` alone become a weight of ones or a bias of zeros (PyTorch's switch covers both).
enum NormalizationLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["BatchNormalization", "LayerNormalization"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        c.className == "BatchNormalization" ? [try batch(c)] : [try layer(c)]
    }

    static func batch(_ c: LayerConversion) throws -> TorchValue {
        let k = c.keras
        try k.require("renorm", in: [.bool(false)])
        let axes = try k.axes()
        let rank = c.inputs[0].rank
        guard axes.count == 1, rank >= 2, rank <= 5 else { throw c.refuse("axis", "\(axes) on a rank-\(rank) input", "PyTorch normalises one channel axis of a rank 2–5 input") }
        let axis = axes[0] < 0 ? axes[0] + rank : axes[0]
        let scale = try k.bool("scale"), center = try k.bool("center")
        let epsilon = try k.double("epsilon"), momentum = try k.double("momentum")
        let channels = c.inputShapes[0][axis]
        let w = try k.weights(shapes: Array(repeating: [channels], count: 2 + (scale ? 1 : 0) + (center ? 1 : 0)))
        var rest = w[...]
        let gamma = scale ? rest.removeFirst() : nil, beta = center ? rest.removeFirst() : nil
        let (mean, variance) = (rest.removeFirst(), rest.removeFirst())
        let x = c.input(0, perm: LayerConversion.channelFirst(axis, rank: rank))
        let affine = scale || center
        let torchMomentum = Py.complement(momentum)
        let module = c.submodule("nn.BatchNorm\(max(rank - 2, 1))d(\(channels), eps=\(Py.float(epsilon)), momentum=\(Py.float(torchMomentum))\(affine ? "" : ", affine=False"))",
                                 comment: "Keras epsilon \(Py.float(epsilon)), momentum \(Py.float(momentum)) (PyTorch's momentum is 1 − it)")
        var weight = TorchArgument.none, bias = TorchArgument.none
        if affine {
            weight = .tensor(gamma.map { c.parameter("weight", $0, from: "gamma", kerasShape: $0.shape, transform: "as is") }
                             ?? c.parameter("weight", Tensor(repeating: 1, shape: [channels], dtype: .float32), from: nil, transform: "ones (Keras scale=False)"))
            bias = .tensor(beta.map { c.parameter("bias", $0, from: "beta", kerasShape: $0.shape, transform: "as is") }
                           ?? c.parameter("bias", Tensor.zeros([channels]), from: nil, transform: "zeros (Keras center=False)"))
        }
        let runningMean = c.parameter("running_mean", mean, from: "moving_mean", kerasShape: mean.shape, transform: "as is", buffer: true)
        let runningVar = c.parameter("running_var", variance, from: "moving_variance", kerasShape: variance.shape,
                                     transform: "as is (both frameworks use it as stored at inference)", buffer: true)
        _ = c.parameter("num_batches_tracked", Tensor(shape: [], int64: [0]), from: nil, transform: "0 (PyTorch's counter)", buffer: true)
        return c.apply("\(module)(\(x.python))", "aten.batch_norm.default", [
            ("input", .tensor(x.graph)), ("weight", weight), ("bias", bias), ("running_mean", .tensor(runningMean)),
            ("running_var", .tensor(runningVar)), ("training", .bool(false)), ("momentum", .float(torchMomentum)), ("eps", .float(epsilon)),
            ("cudnn_enabled", .bool(true)),
        ], perm: x.perm)
    }

    static func layer(_ c: LayerConversion) throws -> TorchValue {
        let k = c.keras
        if try k.has("rms_scaling") && k.bool("rms_scaling") {
            throw c.refuse("rms_scaling", "true", "Keras scales by the centred variance, which nn.RMSNorm does not")
        }
        let rank = c.inputs[0].rank
        let axes = try k.axes().map { $0 < 0 ? $0 + rank : $0 }.sorted()
        guard !axes.isEmpty, axes == Array((rank - axes.count)..<rank) else {
            throw c.refuse("axis", "\(try k.axes())", "nn.LayerNorm normalises trailing axes only")
        }
        let shape = axes.map { c.inputShapes[0][$0] }
        let scale = try k.bool("scale"), center = try k.bool("center")
        let epsilon = try k.double("epsilon")
        let w = try k.weights(shapes: Array(repeating: shape, count: (scale ? 1 : 0) + (center ? 1 : 0)))
        let x = c.kerasInput()
        var options = [shape.count == 1 ? "\(shape[0])" : Py.tuple(shape), "eps=\(Py.float(epsilon))"]
        if !scale && !center { options.append("elementwise_affine=False") } else if !center { options.append("bias=False") }
        let module = c.submodule("nn.LayerNorm(\(options.joined(separator: ", ")))", comment: epsilon == 1e-5 ? nil : "Keras epsilon \(Py.float(epsilon)) (PyTorch's default is 1e-05)")
        var weight = TorchArgument.none, bias = TorchArgument.none
        if scale || center {
            weight = .tensor(scale ? c.parameter("weight", w[0], from: "gamma", kerasShape: w[0].shape, transform: "as is")
                             : c.parameter("weight", Tensor(repeating: 1, shape: shape, dtype: .float32), from: nil, transform: "ones (Keras scale=False)"))
        }
        if center { bias = .tensor(c.parameter("bias", w.last!, from: "beta", kerasShape: w.last!.shape, transform: "as is")) }
        return c.apply("\(module)(\(x.python))", "aten.layer_norm.default", [
            ("input", .tensor(x.graph)), ("normalized_shape", .ints(shape)), ("weight", weight), ("bias", bias), ("eps", .float(epsilon)),
        ], perm: x.perm)
    }
}
