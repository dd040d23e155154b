import ParityNN
import ParityTorch

extension Diagnosis {
    /// `padding-same`: a Keras convolution with TensorFlow's asymmetric `same` rebuilt with PyTorch's
    /// symmetric padding (B's conv node's `padding`, else `dilation·(k − 1) / 2`; conventions.md A.6).
    static func paddingSame(_ c: Context) throws -> [Hypothesis] {
        guard let conv = c.layer.model as? Convolution, conv.padding == .same else { return [] }
        let input = c.inputs[0]
        let rank = conv.kernel.rank - 2
        guard rank >= 1, input.rank == rank + 2 else { return [] }
        let spatial = conv.dataFormat == .channelsLast ? Array(input.shape[1 ..< 1 + rank]) : Array(input.shape[2...])
        let kernel = Array(conv.kernel.shape[..<rank])
        let tf = Padding.same.amounts(input: spatial, kernel: kernel, strides: conv.strides, dilations: conv.dilations)
        var symmetric = (0..<rank).map { conv.dilations[$0] * (kernel[$0] - 1) / 2 }
        var read = false
        if case .ints(let p)? = c.node("conv")?.argument("padding"), p.count == rank { symmetric = p; read = true }
        guard tf.before != symmetric || tf.after != symmetric else { return [] }
        var rebuilt = conv
        rebuilt.padding = .explicit(before: symmetric, after: symmetric)
        // F.pad lists the last axis first: (last_before, last_after, …, first_before, first_after).
        let fpad = (0..<rank).reversed().flatMap { [tf.before[$0], tf.after[$0]] }.map(String.init).joined(separator: ", ")
        let stride = conv.strides.count == 1 || Set(conv.strides).count == 1 ? "\(conv.strides[0])" : "\(conv.strides)"
        return [Hypothesis(
            cause: .paddingSame, a: "TensorFlow same: pads before \(tf.before), after \(tf.after)",
            b: "symmetric padding=\(symmetric)" + (read ? "" : " (kernel // 2; not read from B)"),
            fix: "F.pad(x, (\(fpad))) then nn.Conv\(rank)d(..., stride=\(stride), padding=0)",
            kerasFix: "keras.layers.ZeroPadding\(rank)D(\(symmetric)) then Conv\(rank)D(..., padding=\"valid\") (PyTorch pads both sides)",
            rerun: { inputs, dtype in try run(rebuilt, inputs, dtype) })]
    }

    /// `pool-count-include-pad`: a Keras average pooling with `same` padding (TensorFlow divides by the
    /// number of real cells) rerun counting the padded cells, as PyTorch's `count_include_pad=True` (its
    /// default) or an explicit zero pad before the pooling does (conventions.md B.9).
    static func poolCountIncludePad(_ c: Context) throws -> [Hypothesis] {
        guard var pool = c.layer.model as? Pooling, pool.kind == .mean, pool.padding == .same, !pool.countPadding,
              let node = c.node("avg_pool") else { return [] }
        let padded = c.node("pad") != nil
        guard padded || bool(node, "count_include_pad") != false else { return [] }
        pool.countPadding = true
        let d = pool.window.count
        return [Hypothesis(
            cause: .poolCountIncludePad, a: "TensorFlow same: padded cells excluded from the average",
            b: padded ? "zeros padded before the pooling are averaged in" : "count_include_pad=True (PyTorch's default)",
            fix: "nn.AvgPool\(d)d(..., ceil_mode=True, count_include_pad=False) when TensorFlow pads only after (else divide a sum-pool by a count map), not a zero pad",
            kerasFix: "keras.layers.ZeroPadding\(d)D then AveragePooling\(d)D(padding=\"valid\"): PyTorch averages the padded zeros in",
            rerun: { inputs, dtype in try run(pool, inputs, dtype) })]
    }
}

extension Diagnosis {
    /// `pool-ceil-mode`: a Keras pooling against a PyTorch pooling without padding whose `ceil_mode` rounds
    /// the output size the other way: Keras `valid` floors (`ceil_mode=False`), TensorFlow's `same` keeps
    /// the overhanging last window (`ceil_mode=True` when TensorFlow pads only after; conventions.md B.9). B's
    /// pooling node is applied to A's input; it changes the output shape.
    static func poolCeilMode(_ c: Context) throws -> [Hypothesis] {
        guard let pool = c.layer.model as? Pooling, pool.padding == .valid || pool.padding == .same,
              let node = c.nodes.first(where: { $0.target.contains("max_pool") || $0.target.contains("avg_pool") }) else { return [] }
        var padded = false
        if case .ints(let p)? = node.argument("padding") { padded = p.contains { $0 != 0 } }
        let ceil = bool(node, "ceil_mode") ?? false
        guard !padded, ceil == (pool.padding == .valid) else { return [] }
        let module = node.target.contains("max_pool") ? "MaxPool\(pool.window.count)d" : "AvgPool\(pool.window.count)d"
        let a = pool.padding == .valid ? "valid: output size rounded down" : "TensorFlow same: output size ⌈in / stride⌉ (the last window overhangs)"
        return [Hypothesis(cause: .poolCeilMode, a: a, b: "ceil_mode=\(ceil ? "True" : "False") without padding",
                           fix: "nn.\(module)(..., ceil_mode=\(ceil ? "False" : "True"))",
                           kerasFix: "padding=\"\(ceil ? "same" : "valid")\" in the Keras pooling (PyTorch's ceil_mode=\(ceil ? "True" : "False"))", rerun: c.applyingB(node, argument: "self"))]
    }
}

extension Diagnosis {
    /// `pad-order`: a Keras ZeroPadding layer against a PyTorch pad node whose amounts, read in PyTorch's order
    /// (`F.pad` lists the last axis first: `(left, right, top, bottom)`), are not Keras's: typically the
    /// amounts written in Keras's `((top, bottom), (left, right))` order. B's pad node is applied to A's input.
    static func padOrder(_ c: Context) throws -> [Hypothesis] {
        guard let padding = c.layer.model as? ZeroPadding, let node = c.nodes.first(where: { $0.target.contains("pad") }),
              case .ints(let padB)? = node.argument("pad") else { return [] }
        let rank = c.inputs[0].rank - 2
        guard rank >= 1 else { return [] }
        // Keras's amounts per spatial axis (before, after).
        let amounts = zip(padding.before, padding.after).map { [$0, $1] }
        guard amounts.count == rank else { return [] }
        let faithful = amounts.reversed().flatMap { $0 }
        guard padB != faithful else { return [] }
        let written = amounts.map { "(\($0[0]), \($0[1]))" }.joined(separator: ", ")
        return [Hypothesis(
            cause: .padOrder, a: "pads (before, after) per spatial axis \(written) (F.pad order \(faithful))", b: "F.pad amounts \(padB)",
            fix: "F.pad(x, (\(faithful.map(String.init).joined(separator: ", ")))): F.pad lists the last axis first",
            kerasFix: "keras.layers.ZeroPadding\(rank)D(\(stride(from: 0, to: padB.count, by: 2).reversed().map { "(\(padB[$0]), \(padB[$0 + 1]))" }.joined(separator: ", ")))",
            rerun: c.applyingB(node, argument: "self"))]
    }
}

extension Diagnosis {
    /// `pad-order` for a crop: B's slicing nodes (`x[:, :, 2:, 1:-1]`, crops written on the wrong axes or sides)
    /// applied in turn to A's `Cropping` layer's input.
    static func cropOrder(_ c: Context) throws -> [Hypothesis] {
        guard let crop = c.layer.model as? Cropping, let program = c.program else { return [] }
        let slices = c.nodes.filter { $0.target.hasPrefix("aten.slice") }
        guard !slices.isEmpty else { return [] }
        // A slice's bound as written in Python (`x[2:]`: the end is Int64.max in the graph).
        func bound(_ node: TorchNode, _ name: String) -> String {
            if case .int(let n)? = node.argument(name), Swift.abs(n) < 1 << 62 { return "\(n)" }
            return ""
        }
        let written = slices.map { "dim \(bound($0, "dim")): [\(bound($0, "start")):\(bound($0, "end"))]" }.joined(separator: ", ")
        let pairs = zip(crop.before, crop.after).map { [$0, $1] }
        let cropping = pairs.map { "(\($0.map(String.init).joined(separator: ", ")))" }.joined(separator: ", ")
        let faithful = pairs.map { $0.count == 2 ? "\($0[0] == 0 ? "" : "\($0[0])"):\($0[1] == 0 ? "" : "-\($0[1])")" : ":" }.joined(separator: ", ")
        let (toTorch, fromTorch) = (c.toTorch, c.fromTorch)
        return [Hypothesis(
            cause: .padOrder, a: "Keras's cropping \(cropping) (per spatial axis (before, after), rows first)", b: "B's slices \(written)",
            fix: "x[:, :, \(faithful)] (NCHW): Keras's first (before, after) pair crops the rows, the second the columns",
            kerasFix: "keras.layers.Cropping\(c.inputs[0].rank - 2)D with B's slices as (before, after) per axis, rows first",
            rerun: { inputs, dtype in
                var x = try toTorch(inputs[0])
                for node in slices {
                    guard case .tensor(let name)? = node.argument("self"), let y = try program.evaluate(node, values: [name: x], dtype: dtype).first else {
                        throw CompareError.unsupported("\(node.name) is not a slice of one tensor")
                    }
                    x = y
                }
                return try fromTorch(x)
            })]
    }
}
