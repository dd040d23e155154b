import ParityKeras
import ParityNN
import ParityTorch

/// Conv1D/2D/3D, DepthwiseConv1D/2D (`groups = C`, weight `(C·M, 1, k…)`), SeparableConv1D/2D (a
/// depthwise then a pointwise `nn.Conv{n}d`, one bias after the pointwise step) and Conv1D/2DTranspose
/// → `nn.Conv{n}d` / `nn.ConvTranspose{n}d` on channels-first values: weight `kernel.permute(n+1, n, 0…n−1)`
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
    static let classes: Set<String> = [
        "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
        "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    ]

    /// The window settings of a convolution layer, its input's spatial sizes and the padding they give.
    struct Geometry {
        var n: Int
        var kernel: [Int], strides: [Int], dilations: [Int]
        var padding: String
        var channelsLast: Bool
        var spatial: [Int]
        var before: [Int], after: [Int]
        var rank: Int { n + 2 }
        var channelAxis: Int { channelsLast ? rank - 1 : 1 }
        /// The held layout PyTorch's convolutions need: channels at 1.
        var perm: [Int] { LayerConversion.channelsFirst(from: channelsLast ? .channelsLast : .channelsFirst, rank: rank) }
    }

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let name = c.className
        guard let n = name.first(where: \.isNumber).flatMap({ Int(String($0)) }) else {
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
        let transposed = name.hasSuffix("Transpose")
        let g = try geometry(c, n: n, transposed: transposed)
        let inChannels = c.inputShapes[0][g.channelAxis]
        let x = c.input(0, perm: g.perm)
        var y: TorchValue
        if transposed {
            y = try transposedConvolution(c, x, g, inChannels: inChannels)
        } else if name.hasPrefix("Depthwise") {
            let depthwise = try c.typed(DepthwiseConvolution.self).convolution
            let w = try [depthwiseKernel(depthwise, g)] + (depthwise.bias.map { [$0] } ?? [])
            let rows = ParameterTable.rows(name, .init(bias: depthwise.bias != nil))!
            y = try convolution(c, x, g, inChannels: inChannels, outChannels: depthwise.kernel.shape[n + 1], groups: inChannels,
                                rows: rows, weights: w, comment: "depthwise: one group per input channel")
        } else if name.hasPrefix("Separable") {
            let separable = try c.typed(SeparableConvolution.self)
            let (depthwise, pointwise) = (separable.depthwise.convolution, separable.pointwise)
            let (middleChannels, filters) = (depthwise.kernel.shape[n + 1], pointwise.kernel.shape[n + 1])
            let ones = Array(repeating: 1, count: n)
            let w = try [depthwiseKernel(depthwise, g), pointwise.kernel] + (pointwise.bias.map { [$0] } ?? [])
            let rows = ParameterTable.rows(name, .init(bias: pointwise.bias != nil))!
            let middle = try convolution(c, x, g, inChannels: inChannels, outChannels: middleChannels, groups: inChannels,
                                         rows: [rows[0]], weights: [w[0]], comment: "SeparableConv: depthwise step, no bias")
            let point = Geometry(n: n, kernel: ones, strides: ones, dilations: ones, padding: "valid", channelsLast: g.channelsLast,
                                 spatial: [], before: Array(repeating: 0, count: n), after: Array(repeating: 0, count: n))
            y = try convolution(c, middle, point, inChannels: middleChannels, outChannels: filters, groups: 1,
                                rows: Array(rows.dropFirst()), weights: Array(w.dropFirst()), comment: "SeparableConv: pointwise step")
        } else {
            let conv = try c.typed(Convolution.self)
            let (filters, groups) = (conv.kernel.shape[n + 1], conv.groups)
            let w = [conv.kernel] + (conv.bias.map { [$0] } ?? [])
            y = try convolution(c, x, g, inChannels: inChannels, outChannels: filters, groups: groups,
                                rows: ParameterTable.rows(name, .init(bias: conv.bias != nil))!, weights: w, comment: nil)
        }
        return [try ActivationLayers.apply(c, y, Activation.applied(by: c.layer.model))]
    }

    /// Keras's depthwise kernel `(k…, C, M)` from the grouped one the loader built (`(k…, 1, C·M)`, the same memory).
    static func depthwiseKernel(_ grouped: Convolution, _ g: Geometry) throws -> Tensor {
        let channels = grouped.groups
        return try grouped.kernel.reshaped(g.kernel + [channels, grouped.kernel.shape[g.n + 1] / channels])
    }

    /// The window of the convolution the loader built: its kernel's spatial sizes, strides, dilations,
    /// padding rule and data format.
    static func window(_ c: LayerConversion) throws -> (kernel: Tensor, strides: [Int], dilations: [Int], padding: Padding, format: DataFormat) {
        switch c.layer.model {
        case let m as Convolution: return (m.kernel, m.strides, m.dilations, m.padding, m.dataFormat)
        case let m as DepthwiseConvolution: return (m.convolution.kernel, m.convolution.strides, m.convolution.dilations, m.convolution.padding, m.convolution.dataFormat)
        case let m as SeparableConvolution:
            let d = m.depthwise.convolution
            return (d.kernel, d.strides, d.dilations, d.padding, d.dataFormat)
        case let m as TransposedConvolution: return (m.kernel, m.strides, m.dilations, m.padding, m.dataFormat)
        default: throw ConvertError.shape(layer: c.name, message: "was loaded as \(type(of: c.layer.model)), not as a convolution")
        }
    }

    static func geometry(_ c: LayerConversion, n: Int, transposed: Bool) throws -> Geometry {
        let window = try window(c)
        let kernel = Array(window.kernel.shape.prefix(n)), strides = window.strides, dilations = window.dilations
        let padding = window.padding.description
        let channelsLast = window.format == .channelsLast
        let shape = c.inputShapes[0]
        guard shape.count == n + 2 else { throw ConvertError.shape(layer: c.name, message: "expects a rank-\(n + 2) input; received \(shape)") }
        let spatial = (channelsLast ? Array(1...n) : Array(2..<(n + 2))).map { shape[$0] }
        var (before, after) = (Array(repeating: 0, count: n), Array(repeating: 0, count: n))
        if !transposed {
            let rule: Padding
            switch padding {
            case "valid": rule = .valid
            case "same": rule = .same
            case "causal" where n == 1: rule = .causal
            default: throw c.refuse("padding", padding, "not a Keras convolution padding")
            }
            (before, after) = rule.amounts(input: spatial, kernel: kernel, strides: strides, dilations: dilations)
        }
        return Geometry(n: n, kernel: kernel, strides: strides, dilations: dilations, padding: padding, channelsLast: channelsLast,
                        spatial: spatial, before: before, after: after)
    }

    /// The padding (symmetric in the module, uneven as `F.pad`), the `nn.Conv{n}d` call, and the bias:
    /// in the module, or along the last axis for Keras on TensorFlow's channels_first quirk. `rows`: the
    /// kernel's ``ParameterTable`` row (its module suffix is the submodule's), then the bias's if any, for `weights`.
    static func convolution(_ c: LayerConversion, _ input: TorchValue, _ g: Geometry, inChannels: Int, outChannels: Int, groups: Int,
                            rows: [ParameterRow], weights: [Tensor], comment: String?) throws -> TorchValue {
        let suffix = rows[0].module
        let bias = weights.count > 1 ? weights[1] : nil
        var x = input
        let symmetric = g.before == g.after
        if !symmetric {
            x = TorchPad.pad(c, x, before: g.before, after: g.after, value: 0,
                            comment: g.padding == "causal" ? "Keras 'causal': d·(k−1) = \(g.before[0]) zeros before, none after"
                                : "TensorFlow 'same' for input \(Py.tuple(g.spatial)): the odd cell goes after (PyTorch pads symmetrically)")
        }
        if g.padding == "same" && g.strides.contains(where: { $0 > 1 }) {
            c.writer.shapeNote("\(c.module): TensorFlow's strided 'same' padding was computed for spatial size \(Py.tuple(g.spatial)).")
        }
        let lastAxisBias = bias != nil && !g.channelsLast && c.outputShapes[0].last == outChannels
        var options = ["kernel_size=\(Py.ints(g.kernel))"]
        if g.strides.contains(where: { $0 != 1 }) { options.append("stride=\(Py.ints(g.strides))") }
        if symmetric && g.before.contains(where: { $0 != 0 }) { options.append("padding=\(Py.ints(g.before))") }
        if g.dilations.contains(where: { $0 != 1 }) { options.append("dilation=\(Py.ints(g.dilations))") }
        if groups != 1 { options.append("groups=\(groups)") }
        if bias == nil || lastAxisBias { options.append("bias=False") }
        let notes = [comment, symmetric && g.padding == "same" && g.before.contains(where: { $0 != 0 }) ? "TensorFlow 'same', symmetric here" : nil].compactMap { $0 }
        let module = c.submodule("nn.Conv\(g.n)d(\(inChannels), \(outChannels), \(options.joined(separator: ", ")))", comment: notes.isEmpty ? nil : notes.joined(separator: "; "),
                                 suffix: suffix)
        let p = try c.parameters(Array(rows.prefix(lastAxisBias ? 1 : 2)), weights)
        var arguments: [(String, TorchArgument)] = [("input", .tensor(x.graph)), ("weight", .tensor(p[0]))]
        if p.count > 1 { arguments.append(("bias", .tensor(p[1]))) }
        arguments += [("stride", .ints(g.strides)), ("padding", .ints(symmetric ? g.before : Array(repeating: 0, count: g.n))),
                      ("dilation", .ints(g.dilations)), ("groups", .int(groups))]
        let y = c.apply("\(module)(\(x.python))", "aten.conv\(g.n)d.default", arguments, perm: x.perm)
        guard let bias, lastAxisBias else { return y }
        return lastAxisAdd(c, y, bias)
    }

    /// Keras on TensorFlow's channels_first bias when the last axis has as many cells as channels.
    static func lastAxisAdd(_ c: LayerConversion, _ y: TorchValue, _ bias: Tensor) -> TorchValue {
        let attribute = c.submodule("nn.Parameter(torch.zeros(\(bias.count)))", suffix: "_bias")
        let graph = c.writer.parameter("\(c.module)_bias", bias, buffer: false, kerasWeight: "\(c.name)/bias", kerasShape: bias.shape,
                                       transform: "as is, added along the last axis (Keras on TensorFlow)")
        return c.apply("\(y.python) + \(attribute)", "aten.add.Tensor", [("self", .tensor(y.graph)), ("other", .tensor(graph))], perm: y.perm,
                       comment: "as Keras on TensorFlow: bias_add picks the last axis, which has \(bias.count) cells")
    }

    /// Conv{n}DTranspose → `nn.ConvTranspose{n}d`, weight `kernel.permute(n+1, n, 0…)` (`(k…, out, in)` →
    /// `(in, out, k…)`, no flip). Keras's output size per axis `L` (from the run) is TensorFlow's window
    /// `[before, before + L)` of the full transposed output `(in−1)·s + d·(k−1) + 1`, `before = ⌊(full − L)/2⌋`:
    /// an even crop is the module's `padding`, a longer output its `output_padding`, and an odd crop
    /// `padding = before` then the last cell sliced off.
    static func transposedConvolution(_ c: LayerConversion, _ x: TorchValue, _ g: Geometry, inChannels: Int) throws -> TorchValue {
        let layer = try c.typed(TransposedConvolution.self)
        let (filters, useBias) = (layer.kernel.shape[g.n], layer.bias != nil)
        let w = [layer.kernel] + (layer.bias.map { [$0] } ?? [])
        let output = (g.channelsLast ? Array(1...g.n) : Array(2..<g.rank)).map { c.outputShapes[0][$0] }
        var padding: [Int] = [], outputPadding: [Int] = [], cropEnd: [Int] = [], fulls: [Int] = []
        for i in 0..<g.n {
            let full = (g.spatial[i] - 1) * g.strides[i] + g.dilations[i] * (g.kernel[i] - 1) + 1
            fulls.append(full)
            let total = full - output[i]
            padding.append(max(total, 0) / 2)
            outputPadding.append(max(-total, 0))
            cropEnd.append(max(total, 0) % 2)
        }
        let lastAxisBias = useBias && !g.channelsLast && output.last == filters
        var options = ["kernel_size=\(Py.ints(g.kernel))"]
        if g.strides.contains(where: { $0 != 1 }) { options.append("stride=\(Py.ints(g.strides))") }
        if padding.contains(where: { $0 != 0 }) { options.append("padding=\(Py.ints(padding))") }
        if outputPadding.contains(where: { $0 != 0 }) { options.append("output_padding=\(Py.ints(outputPadding))") }
        if g.dilations.contains(where: { $0 != 1 }) { options.append("dilation=\(Py.ints(g.dilations))") }
        if !useBias || lastAxisBias { options.append("bias=False") }
        let module = c.submodule("nn.ConvTranspose\(g.n)d(\(inChannels), \(filters), \(options.joined(separator: ", ")))",
                                 comment: output == fulls ? nil : "Keras '\(g.padding)': TensorFlow keeps \(Py.tuple(output)) of the full \(Py.tuple(fulls)), centred")
        let p = try c.parameters(Array(ParameterTable.rows(c.className, .init(bias: useBias && !lastAxisBias))!), w)
        var arguments: [(String, TorchArgument)] = [("input", .tensor(x.graph)), ("weight", .tensor(p[0]))]
        arguments.append(("bias", p.count > 1 ? .tensor(p[1]) : .none))
        arguments += [("stride", .ints(g.strides)), ("padding", .ints(padding)), ("output_padding", .ints(outputPadding)), ("groups", .int(1)),
                      ("dilation", .ints(g.dilations))]
        var y = c.apply("\(module)(\(x.python))", g.n == 1 ? "aten.conv_transpose1d.default" : "aten.conv_transpose\(g.n)d.input", arguments, perm: x.perm)
        if cropEnd.contains(1) {
            let slices = [":", ":"] + cropEnd.map { $0 == 1 ? ":-1" : ":" }
            c.writer.line("\(c.output) = \(y.python)[\(slices.joined(separator: ", "))]  # TensorFlow keeps the first \(Py.tuple(output)) cells")
            var graph = y.graph
            for (i, crop) in cropEnd.enumerated() where crop == 1 {
                graph = c.writer.node("aten.slice.Tensor", [("self", .tensor(graph)), ("dim", .int(2 + i)), ("start", .int(0)), ("end", .int(output[i])),
                                                            ("step", .int(1))], module: c.module)[0]
            }
            y = TorchValue(graph: graph, python: c.output, perm: y.perm)
        }
        return lastAxisBias ? lastAxisAdd(c, y, w[1]) : y
    }
}

/// Explicit `F.pad` calls shared by convolutions, pooling and the padding layers (the amounts come from
/// the engine's ``Padding``, TensorFlow's `same` among them).
enum TorchPad {
    /// `F.pad(x, (left, right, top, bottom, …), value=…)` on a channels-first value's spatial axes
    /// (F.pad lists the last axis first).
    static func pad(_ c: LayerConversion, _ x: TorchValue, before: [Int], after: [Int], value: Double, comment: String) -> TorchValue {
        let amounts = (0..<before.count).reversed().flatMap { [before[$0], after[$0]] }
        return pad(c, x, list: amounts, value: value, comment: comment)
    }

    /// `F.pad` of Keras axes (`amounts[axis] = (before, after)`) wherever the value holds them.
    static func pad(_ c: LayerConversion, _ x: TorchValue, keras amounts: [Int: (Int, Int)], value: Double, comment: String) -> TorchValue {
        let first = x.perm.firstIndex { amounts[$0] != nil }!
        let list = stride(from: x.rank - 1, through: first, by: -1).flatMap { p -> [Int] in
            let (b, a) = amounts[x.perm[p]] ?? (0, 0)
            return [b, a]
        }
        return pad(c, x, list: list, value: value, comment: comment)
    }

    static func pad(_ c: LayerConversion, _ x: TorchValue, list amounts: [Int], value: Double, comment: String) -> TorchValue {        let valueText = value == 0 ? "" : ", value=\(Py.float(value))"
        return c.apply("F.pad(\(x.python), \(Py.tuple(amounts))\(valueText))", "aten.pad.default",
                       [("self", .tensor(x.graph)), ("pad", .ints(amounts)), ("mode", .string("constant")), ("value", .float(value))],
                       perm: x.perm, comment: comment)
    }
}
