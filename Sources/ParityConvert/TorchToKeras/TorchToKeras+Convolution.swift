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
/// Refused: strides > 1 with dilation > 1 (Keras refuses the pair), `replicate` and `circular` pads.
enum ConvolutionOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.conv1d.default", "aten.conv2d.default", "aten.conv3d.default", "aten.conv2d.padding", "aten.convolution.default", "aten.pad.default",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        c.target == "aten.pad.default" ? [.value(try pad(c))] : [.value(try convolution(c))]
    }

    static func convolution(_ c: NodeConversion) throws -> KerasValue {
        let weight = try c.weight("weight"), bias = try c.optionalWeight("bias")
        let n = weight.tensor.rank - 2
        var x = try c.value("input")
        guard (1...3).contains(n), x.rank == n + 2 else { throw c.refuse("expects a batched (N, C, spatial…) input for a \(n)-D kernel; received \(x.torchShape)") }
        if c.target == "aten.convolution.default" {
            if try c.bool("transposed") { throw c.refuse("transposed convolution is not converted yet") }
            if try c.ints("output_padding", default: [0], count: n).contains(where: { $0 != 0 }) { throw c.refuse("output_padding in a forward convolution") }
        }
        let kernel = Array(weight.tensor.shape.dropFirst(2))
        let strides = try c.ints("stride", default: [1], count: n), dilations = try c.ints("dilation", default: [1], count: n)
        let groups = try c.int("groups", default: 1)
        if strides.contains(where: { $0 > 1 }) && dilations.contains(where: { $0 > 1 }) {
            throw c.refuse("stride \(strides) with dilation \(dilations): Keras refuses strides > 1 together with dilation_rate > 1")
        }
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
        let weights = try c.kerasWeights(ParameterTable.rows(className, .init(bias: bias != nil, spatial: n))!, [[weight]] + (bias.map { [[$0]] } ?? []),
                                         multiplier: multiplier)
        return try c.layer(className, config, inputs: [x], weights: weights, perm: x.perm)[0]
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
        let pad = try c.ints("pad")
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
