import Foundation
import ParityKeras
import ParityTorch

/// Convention hypotheses tested at the first diverging layer pair (A = Keras, B = PyTorch).
///
/// Each hypothesis rebuilds A's layer with B's convention swapped in, reruns it on A's own input to that
/// layer (from A's Float32 and Float64 traces) and measures the result against B's output at that layer
/// (brought to A's layout) with the engine's float-noise rule (``Comparison/measure``). A hypothesis is
/// kept when the pair then no longer exceeds float noise. It explains `1 − d_after / d_before` of the
/// difference, `d` the max abs difference of the Float64 runs (rounding taken out; Float32 when the
/// Float64 difference is 0).
enum Diagnosis {
    struct Hypothesis {
        var cause: String
        var a: String
        var b: String
        var fix: String
        /// A's layer under B's convention, run on A's inputs to the layer in a dtype.
        var rerun: ([Tensor], DType) throws -> Tensor
    }

    /// The hypotheses that apply to A's layer (by its Keras class and config), each rerun and measured.
    /// Returns the kept findings (most explaining first) and the ids of every hypothesis tested.
    static func diagnose(pair: LayerComparison, a32: Trace.Layer, a64: Trace.Layer, b32: Tensor, b64: Tensor,
                         b: ComparedModel) throws -> (findings: [Finding], tested: [String]) {
        guard let layer = a32.keras, !a32.inputs.isEmpty, a32.inputs.count == a64.inputs.count else { return ([], []) }
        let program: TorchProgram? = { if case .torch(let p) = b.body { return p } else { return nil } }()
        var hypotheses: [Hypothesis] = []
        if let h = try batchNormEpsilon(layer, kindB: pair.kindB, nodes: program.map { nodes(of: pair.b, in: $0) } ?? []) { hypotheses.append(h) }
        if let h = try paddingSame(layer, input: a32.inputs[0], nodes: program.map { nodes(of: pair.b, in: $0) } ?? []) { hypotheses.append(h) }
        if let h = flattenOrder(layer, input: a32.inputs[0]) { hypotheses.append(h) }

        let before = pair.maxAbsFloat64 > 0 ? pair.maxAbsFloat64 : pair.metrics.maxAbs
        var findings: [Finding] = []
        for h in hypotheses {
            // A hypothesis that cannot be rerun (or changes the shape) is tested and not kept.
            guard let h32 = try? h.rerun(a32.inputs, .float32), let h64 = try? h.rerun(a64.inputs, .float64),
                  h32.shape == pair.shape, h64.shape == pair.shape else { continue }
            let m = try Comparison.measure(a: a32, b: a32, pairing: pair.pairedBy, order: nil, x32: h32, x64: h64, y32: b32, y64: b64)
            guard !m.exceedsNoise else { continue }
            let after = pair.maxAbsFloat64 > 0 ? m.maxAbsFloat64 : m.metrics.maxAbs
            let explains = before > 0 ? Swift.max(0, Swift.min(1, 1 - after / before)) : 0
            let g = { (x: Double) in String(format: "%.3g", x) }
            findings.append(Finding(
                layer: "\(pair.a) ↔ \(pair.b)", cause: h.cause, a: h.a, b: h.b, explains: explains, fix: h.fix,
                message: "A's \(layer.className) `\(layer.name)` rerun on its own input with B's convention (\(h.b) instead of \(h.a)) "
                    + "agrees with B within float noise: max abs \(g(pair.metrics.maxAbs)) → \(g(m.metrics.maxAbs)) (noise \(g(m.noise))), "
                    + "Float64 difference \(g(pair.maxAbsFloat64)) → \(g(m.maxAbsFloat64)); explains \(String(format: "%.6f", explains)) of the difference."))
        }
        findings.sort { $0.explains > $1.explains }
        return (findings, hypotheses.map(\.cause))
    }

    /// The nodes B's module at `path` (or below it) runs.
    static func nodes(of path: String, in program: TorchProgram) -> [TorchNode] {
        program.graph.allNodes.filter { node in node.moduleStack.contains { $0.path == path || $0.path.hasPrefix(path + ".") } }
    }

    static func run(_ model: any Model, _ inputs: [Tensor], _ dtype: DType) throws -> Tensor {
        let context = EagerContext()
        return try model(inputs.map { context.constant($0.cast(to: dtype)) }, in: context).tensor
    }

    static func short(_ x: Double) -> String { "\(x)" }

    // MARK: batchnorm-epsilon

    /// Keras BatchNormalization rebuilt through ``KerasLayers/make`` with B's epsilon (read from the
    /// `.pt2` batch-norm node's `eps`, else PyTorch's default 1e-5).
    static func batchNormEpsilon(_ layer: KerasNetwork.Layer, kindB: String, nodes: [TorchNode]) throws -> Hypothesis? {
        guard layer.className == "BatchNormalization", let bn = layer.model as? BatchNorm,
              let epsilonA = layer.config["epsilon"]?.double, case .object(var config) = layer.config else { return nil }
        var epsilonB = BatchNorm.pyTorchEpsilon
        var read = false
        for node in nodes where node.target.contains("batch_norm") {
            if case .float(let eps)? = node.argument("eps") { epsilonB = eps; read = true; break }
        }
        guard epsilonB != epsilonA else { return nil }
        config["epsilon"] = .number(epsilonB)
        let weights = [bn.gamma, bn.beta].compactMap { $0 } + [bn.mean, bn.variance]
        let rebuilt = try KerasLayers.make(KerasLayerConfig(className: layer.className, name: layer.name, config: .object(config), weights: weights))
        let module = kindB.hasPrefix("BatchNorm") ? kindB : "BatchNorm2d"
        return Hypothesis(
            cause: "batchnorm-epsilon", a: "epsilon \(short(epsilonA))",
            b: "epsilon \(short(epsilonB))" + (read ? "" : " (PyTorch's default; not read from B)"),
            fix: "nn.\(module)(\(bn.mean.count), eps=\(short(epsilonA)))",
            rerun: { inputs, dtype in try run(rebuilt, inputs, dtype) })
    }

    // MARK: padding-same

    /// A Keras convolution with TensorFlow's asymmetric `same` rebuilt with PyTorch's symmetric padding
    /// (B's conv node's `padding`, else `dilation·(k − 1) / 2`) from the layer's own weights.
    static func paddingSame(_ layer: KerasNetwork.Layer, input: Tensor, nodes: [TorchNode]) throws -> Hypothesis? {
        guard let conv = layer.model as? Convolution, conv.padding == .same else { return nil }
        let rank = conv.kernel.rank - 2
        guard rank >= 1, input.rank == rank + 2 else { return nil }
        let spatial = conv.dataFormat == .channelsLast ? Array(input.shape[1 ..< 1 + rank]) : Array(input.shape[2...])
        let kernel = Array(conv.kernel.shape[..<rank])
        let tf = Padding.same.amounts(input: spatial, kernel: kernel, strides: conv.strides, dilations: conv.dilations)
        var symmetric = (0..<rank).map { conv.dilations[$0] * (kernel[$0] - 1) / 2 }
        var read = false
        for node in nodes where node.target.contains("conv") {
            if case .ints(let p)? = node.argument("padding"), p.count == rank { symmetric = p; read = true; break }
        }
        guard tf.before != symmetric || tf.after != symmetric else { return nil }
        var rebuilt = conv
        rebuilt.padding = .explicit(before: symmetric, after: symmetric)
        // F.pad lists the last axis first: (last_before, last_after, …, first_before, first_after).
        let fpad = (0..<rank).reversed().flatMap { [tf.before[$0], tf.after[$0]] }.map(String.init).joined(separator: ", ")
        let stride = conv.strides.count == 1 || Set(conv.strides).count == 1 ? "\(conv.strides[0])" : "\(conv.strides)"
        return Hypothesis(
            cause: "padding-same", a: "TensorFlow same: pads before \(tf.before), after \(tf.after)",
            b: "symmetric padding=\(symmetric)" + (read ? "" : " (kernel // 2; not read from B)"),
            fix: "F.pad(x, (\(fpad))) then nn.Conv\(rank)d(..., stride=\(stride), padding=0)",
            rerun: { inputs, dtype in try run(rebuilt, inputs, dtype) })
    }

    // MARK: flatten-order

    /// A Keras Flatten (channels-last) rerun in PyTorch's order: A's input permuted to channels-first,
    /// then flattened.
    static func flattenOrder(_ layer: KerasNetwork.Layer, input: Tensor) -> Hypothesis? {
        guard layer.className == "Flatten", input.rank >= 3, layer.config["data_format"]?.string != "channels_first" else { return nil }
        let order = Layout.channelsFirst(rank: input.rank)
        let names = input.rank == 4 ? ("(H, W, C)", "(C, H, W)") : ("channels-last", "channels-first")
        let toLast = Layout.channelsLast(rank: input.rank).map(String.init).joined(separator: ", ")
        return Hypothesis(
            cause: "flatten-order", a: "flattens in \(names.0) order", b: "flattens in \(names.1) order",
            fix: "x.permute(\(toLast)).flatten(1) instead of nn.Flatten() (or reorder the next Linear's weight columns)",
            rerun: { inputs, dtype in
                let x = try inputs[0].cast(to: dtype).permuted(order)
                return try x.reshaped([x.shape[0], x.shape.dropFirst().reduce(1, *)])
            })
    }
}
