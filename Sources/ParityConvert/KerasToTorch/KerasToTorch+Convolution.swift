import ParityKeras
import ParityTorch

/// Conv1D/2D/3D → `nn.Conv{n}d` on channels-first values: weight `kernel.permute(n+1, n, 0…n−1)`
/// (`(k…, in/groups, out)` → `(out, in/groups, k…)`), no flip (both cross-correlate). Padding:
/// `valid` none; `same` with TensorFlow's split (`total = max((⌈in/s⌉−1)·s + d·(k−1) + 1 − in, 0)`,
/// the odd cell after) as the module's `padding` when symmetric, else an explicit `F.pad`; `causal`
/// an `F.pad` of `d·(k−1)` before.
///
/// Keras on TensorFlow adds a `channels_first` bias with `tf.nn.bias_add`, which picks NHWC whenever the
/// output's last axis has `filters` cells (ParityNN's `ChannelsFirstBias.kerasTensorFlowAdd`): the bias
/// then runs along that last spatial axis. The conversion reproduces it as a separate parameter added
/// after a bias-free convolution, with a comment.
enum ConvolutionLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Conv1D", "Conv2D", "Conv3D"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        guard let n = Int(String(c.className.dropFirst(4).prefix(1))) else {
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
        let k = c.keras
        let kernel = try k.ints("kernel_size", count: n), strides = try k.ints("strides", count: n)
        let dilations = try k.has("dilation_rate") ? k.ints("dilation_rate", count: n) : Array(repeating: 1, count: n)
        let filters = try k.int("filters"), useBias = try k.bool("use_bias")
        let groups = try k.has("groups") ? k.int("groups") : 1
        let padding = try k.string("padding").lowercased()
        let rank = n + 2
        let channelsLast = try k.dataFormat() == .channelsLast
        let channelAxis = channelsLast ? rank - 1 : 1
        let spatialAxes = channelsLast ? Array(1...n) : Array(2..<rank)
        let shape = c.inputShapes[0]
        guard shape.count == rank else { throw ConvertError.shape(layer: c.name, message: "expects a rank-\(rank) input; received \(shape)") }
        let inChannels = shape[channelAxis]
        let w = try k.weights(shapes: [kernel + [inChannels / groups, filters]] + (useBias ? [[filters]] : []))
        let spatial = spatialAxes.map { shape[$0] }
        let (before, after) = try pads(c, padding, input: spatial, kernel: kernel, strides: strides, dilations: dilations)

        var x = c.input(0, perm: LayerConversion.channelFirst(channelAxis, rank: rank))
        let symmetric = before == after
        if !symmetric {
            x = Padding.pad(c, x, before: before, after: after, value: 0,
                            comment: padding == "causal" ? "Keras 'causal': d·(k−1) = \(before[0]) zeros before, none after"
                                : "TensorFlow 'same' for input \(Py.tuple(spatial)): the odd cell goes after (PyTorch pads symmetrically)")
        }
        if padding == "same" && strides.contains(where: { $0 > 1 }) {
            c.writer.shapeNote("\(c.module): TensorFlow's strided 'same' padding was computed for spatial size \(Py.tuple(spatial)).")
        }
        var options = ["kernel_size=\(Py.ints(kernel))"]
        if strides.contains(where: { $0 != 1 }) { options.append("stride=\(Py.ints(strides))") }
        if symmetric && before.contains(where: { $0 != 0 }) { options.append("padding=\(Py.ints(before))") }
        if dilations.contains(where: { $0 != 1 }) { options.append("dilation=\(Py.ints(dilations))") }
        if groups != 1 { options.append("groups=\(groups)") }
        let lastAxisBias = useBias && !channelsLast && c.outputShapes[0].last == filters
        if !useBias || lastAxisBias { options.append("bias=False") }
        let module = c.submodule("nn.Conv\(n)d(\(inChannels), \(filters), \(options.joined(separator: ", ")))",
                                 comment: symmetric && padding == "same" && before.contains(where: { $0 != 0 }) ? "TensorFlow 'same', symmetric here" : nil)
        let order = [n + 1, n] + Array(0..<n)
        var arguments: [(String, TorchArgument)] = [
            ("input", .tensor(x.graph)),
            ("weight", .tensor(c.parameter("weight", try w[0].permuted(order), from: "kernel", kerasShape: w[0].shape,
                                           transform: "permute \(Py.tuple(order))"))),
        ]
        if useBias && !lastAxisBias {
            arguments.append(("bias", .tensor(c.parameter("bias", w[1], from: "bias", kerasShape: w[1].shape, transform: "as is"))))
        }
        arguments += [("stride", .ints(strides)), ("padding", .ints(symmetric ? before : Array(repeating: 0, count: n))),
                      ("dilation", .ints(dilations)), ("groups", .int(groups))]
        var y = c.apply("\(module)(\(x.python))", "aten.conv\(n)d.default", arguments, perm: x.perm)
        if lastAxisBias {
            let bias = c.submodule("nn.Parameter(torch.zeros(\(filters)))", suffix: "_bias")
            let graph = c.writer.parameter("\(c.module)_bias", w[1], buffer: false, kerasWeight: "\(c.name)/bias", kerasShape: w[1].shape,
                                           transform: "as is, added along the last axis (Keras on TensorFlow)")
            y = c.apply("\(y.python) + \(bias)", "aten.add.Tensor", [("self", .tensor(y.graph)), ("other", .tensor(graph))], perm: y.perm,
                        comment: "as Keras on TensorFlow: bias_add picks the last axis, which has \(filters) cells")
        }
        return [try ActivationLayers.apply(c, y, named: ActivationLayers.name(c, "activation"))]
    }

    /// Padding before and after each spatial axis for Keras `padding`.
    static func pads(_ c: LayerConversion, _ padding: String, input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> (before: [Int], after: [Int]) {
        let n = input.count
        switch padding {
        case "valid":
            return (Array(repeating: 0, count: n), Array(repeating: 0, count: n))
        case "same":
            return Padding.tensorFlowSame(input: input, kernel: kernel, strides: strides, dilations: dilations)
        case "causal" where n == 1:
            return ([dilations[0] * (kernel[0] - 1)], [0])
        default:
            throw c.refuse("padding", padding, "not a Keras convolution padding")
        }
    }
}

/// Explicit padding shared by convolutions and pooling.
enum Padding {
    /// TensorFlow's `same` (`tensorflow/core/framework/kernel_shape_util.cc`): output `⌈in/s⌉`, total
    /// `max((out−1)·s + d·(k−1) + 1 − in, 0)`, `before = total / 2`, the rest after.
    static func tensorFlowSame(input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) -> (before: [Int], after: [Int]) {
        var before: [Int] = [], after: [Int] = []
        for i in input.indices {
            let out = (input[i] + strides[i] - 1) / strides[i]
            let total = max((out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - input[i], 0)
            before.append(total / 2)
            after.append(total - total / 2)
        }
        return (before, after)
    }

    /// `F.pad(x, (left, right, top, bottom, …), value=…)` on a channels-first value's spatial axes
    /// (F.pad lists the last axis first).
    static func pad(_ c: LayerConversion, _ x: TorchValue, before: [Int], after: [Int], value: Double, comment: String) -> TorchValue {
        let amounts = (0..<before.count).reversed().flatMap { [before[$0], after[$0]] }
        let valueText = value == 0 ? "" : ", value=\(Py.float(value))"
        return c.apply("F.pad(\(x.python), \(Py.tuple(amounts))\(valueText))", "aten.pad.default",
                       [("self", .tensor(x.graph)), ("pad", .ints(amounts)), ("mode", .string("constant")), ("value", .float(value))],
                       perm: x.perm, comment: comment)
    }
}
