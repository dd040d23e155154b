import ParityKeras
import ParityNN
import ParityTorch

/// `aten.conv{1,2,3}d`, `conv2d.padding` and core ATen's forward `convolution` → Conv{1,2,3}D on the
/// channels-last input (TensorFlow's CPU kernels run NHWC only), kernel = weight permuted
/// `(out, in/g, k…)` → `(k…, in/g, out)`; `groups` = input channels (1-D/2-D) → DepthwiseConv with
/// `depth_multiplier = out/in` and kernel `(k…, in, multiplier)` (PyTorch's output channel `c·M + m`).
/// Padding: none → `valid`; `same`, or a symmetric `p` with stride 1 and `2p = d·(k−1)` → `same` (for
/// stride 1 TensorFlow's split equals PyTorch's); any other padding → an explicit ZeroPadding layer
/// and `valid`, which never depends on the input size. `aten.pad` with zeros over spatial axes →
/// ZeroPadding (`F.pad`'s `(left, right, top, bottom)`, last axis first, to Keras's per-axis pairs);
/// other values, axes or `reflect` → the `pad` operation.
/// `conv_transpose{1,2,3}d` (and `convolution` with `transposed=True`) → Conv{1,2,3}DTranspose with
/// `valid` padding and PyTorch's `output_padding`, kernel = weight permuted `(in, out, k…)` →
/// `(k…, out, in)`: TensorFlow's transposed convolution of length `(i−1)·s + k + output_padding`,
/// the output padding after the input, which is PyTorch's before its `padding` is cropped from both
/// ends; a padding then becomes a Cropping layer.
/// Grouped: one transposed convolution per group on its slice of the channels (`GetItem`), then
/// Concatenate (Keras's have no `groups`).
/// Strides > 1 with dilation > 1 (Keras refuses the pair): the stride-1 convolution and a strided
/// `GetItem`. Negative pads (cropping, PNASNet's `ZeroPad2d((-1, 1, -1, 1))`): a `GetItem` first.
/// Dilated transposed convolutions (TensorFlow's CPU kernel runs dilation 1 only): the kernel with
/// `d − 1` zeros between taps, of size `d·(k − 1) + 1`, undilated (``dilated(_:_:)``).
/// Refused: `replicate` and `circular` pads.
enum ConvolutionOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.conv1d.default", "aten.conv2d.default", "aten.conv3d.default", "aten.conv2d.padding", "aten.convolution.default", "aten.pad.default",
        "aten.conv_transpose1d.default", "aten.conv_transpose2d.input", "aten.conv_transpose3d.input",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        if c.target == "aten.pad.default" { return [.value(try pad(c))] }
        let transposed = c.target.hasPrefix("aten.conv_transpose") ? true : c.target == "aten.convolution.default" ? try c.bool("transposed") : false
        if transposed {
            return [.value(try transposedConvolution(c))]
        }
        return [.value(try convolution(c))]
    }

    /// A convolution node's weight, optional bias, number of spatial axes (1–3) and input (N, C, spatial…).
    static func operands(_ c: NodeConversion) throws -> (weight: (key: String, tensor: Tensor), bias: (key: String, tensor: Tensor)?, n: Int, x: KerasValue) {
        let weight = try c.weight("weight"), bias = try c.optionalWeight("bias")
        let n = weight.tensor.rank - 2
        let x = try c.value("input")
        guard (1...3).contains(n), x.rank == n + 2 else { throw c.refuse("expects a batched (N, C, spatial…) input for a \(n)-D kernel; received \(x.torchShape)") }
        return (weight, bias, n, x)
    }

    static func transposedConvolution(_ c: NodeConversion) throws -> KerasValue {
        var (weight, bias, n, x) = try operands(c)
        let strides = try c.ints("stride", default: [1], count: n), padding = try c.ints("padding", default: [0], count: n)
        let outputPadding = try c.ints("output_padding", default: [0], count: n), dilations = try c.ints("dilation", default: [1], count: n)
        let groups = try c.int("groups", default: 1)
        guard (0..<n).allSatisfy({ outputPadding[$0] >= 0 && outputPadding[$0] < strides[$0] }) else {
            throw c.refuse("output_padding \(outputPadding) with stride \(strides): Keras's must be below the stride")
        }
        // Dilated: the kernel with d − 1 zeros between taps, run undilated (TensorFlow's CPU kernel runs dilation 1 only).
        let dilatedKernel = dilations.allSatisfy { $0 == 1 } ? weight.tensor : dilated(weight.tensor, dilations)
        let dilation = dilatedKernel.shape == weight.tensor.shape ? "" : "zeros between taps (dilation \(tuple(dilations))), "
        let channels = weight.tensor.shape[0], perGroup = weight.tensor.shape[1], kernel = Array(dilatedKernel.shape.dropFirst(2))
        guard groups >= 1, channels % groups == 0, x.torchShape[1] == channels else { throw c.refuse("groups=\(groups) for \(channels) input channels") }
        x = c.arrange(x, as: channelsLast(x.rank))
        var full = x.torchShape
        full[1] = perGroup * groups
        for i in 0..<n { full[i + 2] = (full[i + 2] - 1) * strides[i] + kernel[i] + outputPadding[i] }
        let permutation = Array(2..<(n + 2)) + [1, 0]
        var groupShape = full
        groupShape[1] = perGroup
        // Keras's transposed convolutions have no groups: one per group, on its slice of the channels,
        // then concatenated (PyTorch's group g reads input channels g·C/G… and writes outputs g·O/G…).
        var parts: [KerasValue] = []
        let inputs = channels / groups, block = inputs * dilatedKernel.count / channels
        for g in 0..<groups {
            let slice = groups == 1 ? x : try OperationNodes.take(c, x, dim: 1, start: g * inputs, end: (g + 1) * inputs, step: 1)
            let w = groups == 1 ? dilatedKernel
                : Tensor(shape: [inputs] + Array(dilatedKernel.shape.dropFirst()), values: Array(dilatedKernel.doubles[(g * block)..<((g + 1) * block)])).cast(to: .float32)
            let rows = dilation + (groups == 1 ? "" : "rows \(g * inputs)..<\((g + 1) * inputs), ")
            var weights = [c.kerasWeight("kernel", try w.permuted(permutation), from: [weight], transform: rows + "permute \(tuple(permutation))")]
            if let bias {
                let b = groups == 1 ? bias.tensor : Tensor(shape: [perGroup], values: Array(bias.tensor.doubles[(g * perGroup)..<((g + 1) * perGroup)])).cast(to: .float32)
                weights.append(c.kerasWeight("bias", b, from: [bias], transform: groups == 1 ? "as is" : "entries \(g * perGroup)..<\((g + 1) * perGroup)"))
            }
            parts.append(try c.layer("Conv\(n)DTranspose", [
                "filters": .int(perGroup), "kernel_size": .ints(kernel), "strides": .ints(strides), "padding": .string("valid"),
                "output_padding": .ints(outputPadding), "dilation_rate": .ints(Array(repeating: 1, count: n)), "activation": .string("linear"),
                "use_bias": .bool(bias != nil), "data_format": .string("channels_last"),
            ], inputs: [slice], weights: weights, perm: x.perm, shapes: [groupShape], name: groups == 1 ? nil : "\(c.layerName)_group\(g)")[0])
        }
        let y = groups == 1 ? parts[0] : try c.layer("Concatenate", ["axis": .int(-1)], inputs: parts, perm: x.perm, shapes: [full], takesList: true)[0]
        guard padding.contains(where: { $0 != 0 }) else { return y }
        let pairs = (0..<n).map { KerasJSON.ints([padding[$0], padding[$0]]) }
        var config: JSONObject = ["cropping": n == 1 ? pairs[0] : .array(pairs)]
        if n > 1 { config["data_format"] = .string("channels_last") }
        return try c.layer("Cropping\(n)D", config, inputs: [y], perm: y.perm, name: c.layerName + "_crop")[0]
    }

    /// A transposed convolution's weight `(in, out/g, k…)` with `d − 1` zeros between neighbouring
    /// taps of each spatial axis: `(in, out/g, d·(k − 1) + 1 …)`, whose undilated transposed
    /// convolution is the dilated one (the added products are zeros, which change no sum).
    static func dilated(_ weight: Tensor, _ dilations: [Int]) -> Tensor {
        let n = dilations.count, k = Array(weight.shape.suffix(n))
        let size = zip(k, dilations).map { ($0 - 1) * $1 + 1 }
        let outer = weight.shape.prefix(2).reduce(1, *), inner = k.reduce(1, *), spread = size.reduce(1, *)
        let source = weight.doubles
        var values = [Double](repeating: 0, count: outer * spread)
        for flat in 0..<inner {
            var rest = flat, offset = 0, stride = 1
            for axis in (0..<n).reversed() {
                offset += (rest % k[axis]) * dilations[axis] * stride
                rest /= k[axis]
                stride *= size[axis]
            }
            for o in 0..<outer { values[o * spread + offset] = source[o * inner + flat] }
        }
        return Tensor(shape: Array(weight.shape.prefix(2)) + size, values: values).cast(to: .float32)
    }

    static func convolution(_ c: NodeConversion) throws -> KerasValue {
        var (weight, bias, n, x) = try operands(c)
        if c.target == "aten.convolution.default" {
            if try c.ints("output_padding", default: [0], count: n).contains(where: { $0 != 0 }) { throw c.refuse("output_padding in a forward convolution") }
        }
        let kernel = Array(weight.tensor.shape.dropFirst(2))
        let torchStrides = try c.ints("stride", default: [1], count: n), dilations = try c.ints("dilation", default: [1], count: n)
        let groups = try c.int("groups", default: 1)
        // Keras refuses strides > 1 together with dilation_rate > 1: the stride-1 convolution, then every
        // stride-th output kept with a `GetItem` (PyTorch's output i is the stride-1 output i·stride).
        let subsampled = torchStrides.contains(where: { $0 > 1 }) && dilations.contains(where: { $0 > 1 })
        let strides = subsampled ? Array(repeating: 1, count: n) : torchStrides
        x = c.arrange(x, as: channelsLast(x.rank))
        var padding = "valid"
        if case .string(let mode)? = c.node.argument("padding") {
            guard mode == "same" || mode == "valid" else { throw c.refuse("padding='\(mode)'") }
            padding = mode  // PyTorch allows 'same' with stride 1 only, where its split is TensorFlow's
        } else {
            let p = try c.ints("padding", default: [0], count: n)
            if p.contains(where: { $0 != 0 }) {
                if strides.allSatisfy({ $0 == 1 }) && (0..<n).allSatisfy({ 2 * p[$0] == dilations[$0] * (kernel[$0] - 1) }) {
                    padding = "same"
                } else {
                    x = try zeroPadding(c, x, before: p, after: p, name: c.layerName + "_pad")
                }
            }
        }
        let channels = x.torchShape[1], filters = weight.tensor.shape[0]
        var config: JSONObject = [
            "kernel_size": .ints(kernel), "strides": .ints(strides), "padding": .string(padding), "dilation_rate": .ints(dilations),
            "activation": .string("linear"), "use_bias": .bool(bias != nil), "data_format": .string("channels_last"),
        ]
        let className: String
        var multiplier = 1
        if groups > 1 && groups == channels && n <= 2 {
            multiplier = filters / channels
            className = "DepthwiseConv\(n)D"
            config["depth_multiplier"] = .int(multiplier)
        } else {
            className = "Conv\(n)D"
            config["filters"] = .int(filters)
            config["groups"] = .int(groups)
        }
        let weights = try c.kerasWeights(ParameterTable.rows(className, .init(bias: bias != nil))!, [[weight]] + (bias.map { [[$0]] } ?? []),
                                         multiplier: multiplier)
        guard subsampled else { return try c.layer(className, config, inputs: [x], weights: weights, perm: x.perm)[0] }
        var full = try c.outputShape()
        for i in 0..<n { full[i + 2] = x.torchShape[i + 2] + (padding == "same" ? dilations[i] * (kernel[i] - 1) : 0) - dilations[i] * (kernel[i] - 1) }
        var y = try c.layer(className, config, inputs: [x], weights: weights, perm: x.perm, shapes: [full])[0]
        for i in 0..<n where torchStrides[i] > 1 {
            y = try OperationNodes.take(c, y, dim: i + 2, start: 0, end: full[i + 2], step: torchStrides[i])
        }
        return y
    }

    /// `ZeroPadding{n}D` on a channels-last value: `before[i]`/`after[i]` cells on spatial axis `i`.
    static func zeroPadding(_ c: NodeConversion, _ x: KerasValue, before: [Int], after: [Int], name: String? = nil) throws -> KerasValue {
        let n = before.count
        let pairs = (0..<n).map { KerasJSON.ints([before[$0], after[$0]]) }
        var config: JSONObject = ["padding": n == 1 ? pairs[0] : .array(pairs)]
        if n > 1 { config["data_format"] = .string("channels_last") }
        var shape = x.torchShape
        for i in 0..<n { shape[i + 2] += before[i] + after[i] }
        return try c.layer("ZeroPadding\(n)D", config, inputs: [x], perm: x.perm, shapes: [shape], name: name)[0]
    }

    static func pad(_ c: NodeConversion) throws -> KerasValue {
        var x = try c.value("self")
        var pad = try c.ints("pad")
        if pad.contains(where: { $0 < 0 }) { (x, pad) = try OperationNodes.cropped(c, x, pad: pad) }
        let mode: String
        if case .string(let m)? = c.node.argument("mode") { mode = m } else { mode = "constant" }
        let value = try c.optionalDouble("value") ?? 0
        let n = x.rank - 2
        guard mode == "constant", value == 0, (1...3).contains(n), pad.count % 2 == 0, pad.count / 2 <= n, pad.allSatisfy({ $0 >= 0 }) else {
            // Any other constant, mode or axis: the `pad` operation (NumPy's reflect is PyTorch's).
            guard ["constant", "reflect"].contains(mode) else { throw c.refuse("mode='\(mode)': Keras's pad runs constant, reflect and symmetric only") }
            guard pad.count % 2 == 0, pad.count / 2 <= x.rank, pad.allSatisfy({ $0 >= 0 }) else {
                throw c.refuse("pad \(pad) on \(x.torchShape): one non-negative (before, after) pair per trailing axis")
            }
            return try OperationNodes.padded(c, x, widths: OperationNodes.widths(pad, rank: x.rank), value: value, mode: mode)
        }
        var before = Array(repeating: 0, count: n), after = Array(repeating: 0, count: n)
        for pair in 0..<(pad.count / 2) {
            before[n - 1 - pair] = pad[2 * pair]
            after[n - 1 - pair] = pad[2 * pair + 1]
        }
        x = c.arrange(x, as: channelsLast(x.rank))
        return try zeroPadding(c, x, before: before, after: after)
    }

    static func tuple(_ values: [Int]) -> String { "(" + values.map(String.init).joined(separator: ", ") + ")" }
}
