import Foundation
import ParityKeras
import ParityTorch

/// Convention hypotheses tested at a pair that introduces a difference (a Keras layer and the PyTorch part
/// computing the same tensor, whichever model is the reference).
///
/// Each hypothesis rebuilds the Keras layer with the PyTorch convention swapped in (an epsilon, a padding
/// split, the PyTorch weights read back through the faithful convention, an approximation flag, …), or applies
/// the PyTorch part's own node to the Keras layer's input. The Keras part of the pair is rerun with the layer
/// so replaced, on the same frontier values as the local measurement (``Judgement``), in Float32 and
/// Float64, and measured against the PyTorch part's local result with the float-noise rule
/// (``PairMeasurement``). A hypothesis is kept when the pair then no longer exceeds float noise. It explains
/// `1 − d_after / d_before` of the difference, `d` the max abs difference of the Float64 results.
///
/// The hypotheses live one family per file (`Diagnosis+Normalization.swift`, …); each reads the PyTorch
/// convention from the part's `.pt2` nodes when it can and says so when it cannot.
enum Diagnosis {
    struct Hypothesis {
        var cause: Cause
        var a: String
        var b: String
        /// The one-line fix on the PyTorch side (Keras the reference) and on the Keras side (PyTorch the reference).
        var fix: String
        var kerasFix: String
        /// The Keras layer under the PyTorch convention, run on the layer's inputs in a dtype.
        var rerun: ([Tensor], DType) throws -> Tensor
    }

    /// What a hypothesis family sees of the pair.
    struct Context {
        /// The Keras layer (config, weights, Parity model) and its Float32 inputs.
        var layer: KerasNetwork.Layer
        var inputs: [Tensor]
        /// The `.pt2` nodes of the PyTorch part and the program they belong to.
        var nodes: [TorchNode]
        var program: TorchProgram?
        /// The permutation taking the PyTorch tensor's axes to the Keras one's at this pair (`nil`: none, or a reshape).
        var permutationTorch: [Int]?
        /// The layer's first input in PyTorch's layout, a PyTorch result in Keras's, and a tensor of the layer's
        /// output layout in PyTorch's.
        var toTorch: (Tensor) throws -> Tensor
        var fromTorch: (Tensor) throws -> Tensor
        var outputToTorch: (Tensor) throws -> Tensor
        /// The PyTorch parameters the part reads.
        var parameters: ParameterLookup
        var weightCheck: WeightCheck?

        /// The first node of the part whose target contains `fragment`.
        func node(_ fragment: String) -> TorchNode? { nodes.first { $0.target.contains(fragment) } }

        /// The PyTorch module class (`BatchNorm2d`) that called `node`, when it is a module.
        func moduleClass(_ node: TorchNode?) -> String? {
            guard let node, !node.modulePath.isEmpty else { return nil }
            return node.moduleClass.split(separator: ".").last.map(String.init)
        }

        /// A rerun that applies the PyTorch `node` (with its own settings) to the Keras layer's first input,
        /// brought to PyTorch's layout and back.
        func applyingB(_ node: TorchNode, argument: String) -> ([Tensor], DType) throws -> Tensor {
            let (program, toTorch, fromTorch) = (program, toTorch, fromTorch)
            return { inputs, dtype in
                guard let program, case .tensor(let name)? = node.argument(argument) else { throw CompareError.unsupported("not a torch.export node") }
                let y = try program.evaluate(node, values: [name: toTorch(inputs[0])], dtype: dtype)
                guard let first = y.first else { throw CompareError.unsupported("\(node.target) gave no result") }
                return try fromTorch(first)
            }
        }

    /// The PyTorch activation `node` applied where the Keras layer applies its activation: to the layer's input
    /// for an activation layer, else after the layer's linear part (`Dense(activation=...)` rebuilt without it).
    func applyingActivation(_ node: TorchNode, argument: String) throws -> ([Tensor], DType) throws -> Tensor {
        let standalone = ["Activation", "LeakyReLU", "ELU", "ReLU", "Softmax", "PReLU"].contains(layer.className)
        if standalone { return applyingB(node, argument: argument) }
        let linear = try Diagnosis.rerunning(layer, config: ["activation": .string("linear")])
        let (program, outputToTorch, fromTorch) = (program, outputToTorch, fromTorch)
        return { inputs, dtype in
            guard let program, case .tensor(let name)? = node.argument(argument) else { throw CompareError.unsupported("not a torch.export node") }
            let y = try program.evaluate(node, values: [name: outputToTorch(linear(inputs, dtype))], dtype: dtype)
            guard let first = y.first else { throw CompareError.unsupported("\(node.target) gave no result") }
            return try fromTorch(first)
        }
    }
    }

    /// Every family, in the order findings are listed when they explain equally much.
    static let families: [@Sendable (Context) throws -> [Hypothesis]] = [
        weights, batchNormEpsilon, layerNormEpsilon, trainingMode, paddingSame, padOrder, cropOrder, poolCountIncludePad, poolCeilMode, flattenOrder,
        gruResetAfter, activationVariant, softmaxAxis, interpolationMode, attentionScaling,
    ]

    /// The Keras side and PyTorch side of a pair (`nil` unless the pair is Keras ↔ PyTorch).
    struct Sides {
        var layer: KerasNetwork.Layer
        var op: Int
        var program: TorchProgram
        var nodes: [TorchNode]
        var lookup: ParameterLookup
    }

    static func sides(_ j: Judgement, _ m: Matcher) -> Sides? {
        guard let producer = m.x.graph.tensors[j.t].producer, case .keras(let layer, _, _) = m.x.graph.ops[producer].origin,
              case .torch(let program) = m.y.model.body else { return nil }
        let nodes = j.regionY.compactMap { op -> TorchNode? in
            if case .torch(let node) = m.y.graph.ops[op].origin { return node }
            return nil
        }
        // The layer's index among the recurrent layers of its part (a stacked nn.GRU names them `_l0`, `_l1`, …).
        let recurrent = j.regionX.filter { ["LSTM", "GRU", "SimpleRNN"].contains(m.x.graph.ops[$0].kind) }
        let lookup = ParameterLookup(program: program, nodes: nodes, recurrentIndex: recurrent.firstIndex(of: producer) ?? 0, kerasClass: layer.className)
        return Sides(layer: layer, op: producer, program: program, nodes: nodes, lookup: lookup)
    }

    /// The weight check of a pair's Keras layer against the PyTorch parameters its part reads.
    static func weightCheck(_ j: Judgement, matcher m: Matcher) throws -> WeightCheck? {
        guard let s = sides(j, m) else { return nil }
        return try WeightCheck.compare(s.layer, lookup: s.lookup)
    }

    /// The hypotheses that apply to a diverging pair, each rerun and measured against the PyTorch part. Returns
    /// the kept findings (most explaining first), the ids tested, and the weight check.
    ///
    /// `kerasIsReference`: the user's reference (A) is the Keras model, so fixes are for the PyTorch code;
    /// otherwise fixes are for the Keras code.
    static func diagnose(_ j: Judgement, matcher m: Matcher, kerasIsReference: Bool) throws
        -> (findings: [Finding], tested: [Cause], weights: WeightCheck?) {
        guard let s = sides(j, m), let local = j.local else { return ([], [], nil) }
        let check = try WeightCheck.compare(s.layer, lookup: s.lookup)
        let op = m.x.graph.ops[s.op]
        let inputs = op.inputs.compactMap { m.x.f32[$0] }
        guard inputs.count == op.inputs.count else { return ([], [], check) }
        let inputAlignment = op.inputs.first.flatMap { m.links[$0]?.alignment } ?? (inputs.first?.rank == local.x32.rank ? j.link.alignment : nil)
        let context = Context(layer: s.layer, inputs: inputs, nodes: s.nodes, program: s.program, permutationTorch: j.link.alignment.reshaped ? nil : j.link.alignment.permutation,
                              toTorch: { t in try inputAlignment.map { try $0.backward(t) } ?? t }, fromTorch: { t in try j.link.alignment.forward(t) },
                              outputToTorch: { t in try j.link.alignment.backward(t) },
                              parameters: s.lookup, weightCheck: check)
        var hypotheses: [Hypothesis] = []
        for family in families { hypotheses += try family(context) }

        let (k, t) = kerasIsReference ? ("A", "B") : ("B", "A")
        let pairName = j.comparison.name
        let before = try PairMeasurement(a32: local.x32, a64: local.x64, b32: local.y32, b64: local.y64)
        var findings: [Finding] = []
        for h in hypotheses {
            guard let (h32, h64) = try? rerun(j, m, replacing: s.op, with: h.rerun), h32.shape == local.y32.shape, h64.shape == local.y32.shape,
                  let after = try? PairMeasurement(a32: h32, a64: h64, b32: local.y32, b64: local.y64), !after.exceedsNoise else { continue }
            let explains = share(explainedFrom: before, to: after, float32Fallback: true)
            findings.append(Finding(
                layer: pairName, cause: h.cause, a: h.a, b: h.b, explains: explains, fix: kerasIsReference ? h.fix : h.kerasFix,
                message: "\(k)'s \(s.layer.className) `\(s.layer.name)` rerun on its own input with \(t)'s convention (\(h.b) instead of \(h.a)) "
                    + "agrees with \(t) within float noise: \(numbers(before, after, explains: explains))"))
        }
        // Equal fractions keep the families' order.
        findings = mostExplainingFirst(findings)
        var tested: [Cause] = []
        for h in hypotheses where !tested.contains(h.cause) { tested.append(h.cause) }
        return (findings, tested, check)
    }

    /// The Keras part of a pair rerun from its frontier (the local measurement's Float32 values) with one op
    /// replaced by `replacement`, in Float32 and Float64.
    static func rerun(_ j: Judgement, _ m: Matcher, replacing op: Int, with replacement: @escaping ([Tensor], DType) throws -> Tensor) throws -> (Tensor, Tensor) {
        try rerun(j, m, replacing: op, results: { inputs, dtype in [try replacement(inputs, dtype)] })
    }

    /// ``rerun(_:_:replacing:with:)`` with a replacement giving all the op's results.
    static func rerun(_ j: Judgement, _ m: Matcher, replacing op: Int, results replacement: @escaping ([Tensor], DType) throws -> [Tensor]) throws -> (Tensor, Tensor) {
        var graph = m.x.graph
        graph.ops[op].evaluate = replacement
        var given: [Int: Tensor] = [:]
        for f in j.frontier { given[f] = m.x.f32[f] }
        guard let h32 = try graph.run(j.regionX, given: given, fallback: m.x.f32, dtype: .float32)[j.t],
              let h64 = try graph.run(j.regionX, given: given, fallback: m.x.f64, dtype: .float64)[j.t] else {
            throw CompareError.unsupported("the part does not compute the pair's tensor")
        }
        return (h32, h64)
    }

    /// A pair whose shapes differ (a size change): the hypotheses that reproduce the PyTorch tensor, shape
    /// included, from the Keras layer's own input.
    static func diagnoseShape(_ t: Int, _ yid: Int, matcher m: Matcher, kerasIsReference: Bool) throws -> (findings: [Finding], tested: [Cause]) {
        guard let producer = m.x.graph.tensors[t].producer, case .keras(let layer, _, _) = m.x.graph.ops[producer].origin,
              case .torch(let program) = m.y.model.body, let yProducer = m.y.graph.tensors[yid].producer,
              case .torch(let node) = m.y.graph.ops[yProducer].origin else { return ([], []) }
        let op = m.x.graph.ops[producer]
        let inputs = op.inputs.compactMap { m.x.f32[$0] }
        let inputs64 = op.inputs.compactMap { m.x.f32[$0]?.cast(to: .float64) }
        guard inputs.count == op.inputs.count, let inputLink = op.inputs.first.flatMap({ m.links[$0] }) else { return ([], []) }
        // The PyTorch part from the frontier to the tensor, rerun on the Keras model's values there, back in Keras's layout.
        let back = { (x: Tensor) throws -> Tensor in
            guard let p = inputLink.alignment.permutation, !inputLink.alignment.reshaped, p.count == x.rank else { return x }
            return try x.permuted(p)
        }
        let frontier = m.frontier(of: t)
        let partners = m.partners(frontier)
        let regionY = m.y.graph.region(from: partners, to: yid, dependence: m.y.dependence)
        let givenY = try m.frontierValues(frontier, float64: false)
        guard let y32 = try m.y.graph.run(regionY, given: givenY, fallback: m.y.f32, dtype: .float32)[yid],
              let y64 = try m.y.graph.run(regionY, given: givenY, fallback: m.y.f64, dtype: .float64)[yid] else { return ([], []) }
        let b32 = try back(y32), b64 = try back(y64)
        let context = Context(layer: layer, inputs: inputs, nodes: [node], program: program, permutationTorch: nil,
                              toTorch: { try inputLink.alignment.backward($0) }, fromTorch: back, outputToTorch: { $0 },
                              parameters: ParameterLookup(program: program, nodes: [node], recurrentIndex: 0), weightCheck: nil)
        var hypotheses: [Hypothesis] = []
        for family in families { hypotheses += try family(context) }
        let (k, tSide) = kerasIsReference ? ("A", "B") : ("B", "A")
        let name = kerasIsReference ? "\(m.x.displayName(t)) ↔ \(m.y.displayName(yid))" : "\(m.y.displayName(yid)) ↔ \(m.x.displayName(t))"
        var findings: [Finding] = []
        for h in hypotheses {
            guard let h32 = try? h.rerun(inputs, .float32), let h64 = try? h.rerun(inputs64, .float64), h32.shape == b32.shape,
                  let m2 = try? PairMeasurement(a32: h32, a64: h64, b32: b32, b64: b64), !m2.exceedsNoise else { continue }
            findings.append(Finding(
                layer: name, cause: h.cause, a: h.a, b: h.b, explains: 1, fix: kerasIsReference ? h.fix : h.kerasFix,
                message: "\(k)'s \(layer.className) `\(layer.name)` rerun on its own input with \(tSide)'s convention (\(h.b) instead of \(h.a)) gives "
                    + "\(tSide)'s shape \(b32.shape) (\(k)'s is \(m.x.shape(t) ?? [])) and agrees with \(tSide) within float noise "
                    + "(max abs \(g(m2.metrics.maxAbs)), noise \(g(m2.noise))); explains the whole difference."))
        }
        var tested: [Cause] = []
        for h in hypotheses where !tested.contains(h.cause) { tested.append(h.cause) }
        return (findings, tested)
    }

    static func run(_ model: any Model, _ inputs: [Tensor], _ dtype: DType) throws -> Tensor {
        let context = EagerContext()
        return try model(inputs.map { context.constant($0.cast(to: dtype)) }, in: context).tensor
    }

    /// A's layer rebuilt through ``KerasLayers/make`` with some config keys and/or its weights replaced.
    static func rebuilt(_ layer: KerasNetwork.Layer, config changes: JSONObject = [:], weights: [Tensor]? = nil,
                        constants: KerasConstants) throws -> any Model {
        guard case .object(var config) = layer.config else { throw CompareError.unsupported("layer `\(layer.name)` has no config object") }
        for (key, value) in changes { config[key] = value }
        return try KerasLayers.make(KerasLayerConfig(className: layer.className, name: layer.name, config: .object(config),
                                                     weights: weights ?? layer.weights, constants: constants))
    }

    /// The hypothesis that reruns A's layer rebuilt with `changes` / `weights` (in Float64 with exact
    /// constants, as A's Float64 trace).
    static func rerunning(_ layer: KerasNetwork.Layer, config changes: JSONObject = [:], weights: [Tensor]? = nil)
        throws -> ([Tensor], DType) throws -> Tensor {
        let model = try rebuilt(layer, config: changes, weights: weights, constants: .tensorFlow)
        let reference = try rebuilt(layer, config: changes, weights: weights, constants: .exact)
        return { inputs, dtype in try run(dtype == .float64 ? reference : model, inputs, dtype) }
    }

    /// A float argument of `node` (`nil` when absent: PyTorch's default applies).
    static func float(_ node: TorchNode?, _ name: String) -> Double? {
        switch node?.argument(name) {
        case .float(let x)?: return x
        case .int(let x)?: return Double(x)
        default: return nil
        }
    }

    static func bool(_ node: TorchNode?, _ name: String) -> Bool? {
        if case .bool(let x)? = node?.argument(name) { return x }
        return nil
    }

    static func g(_ x: Double) -> String { String(format: "%.3g", x) }

    /// The share of the difference `before` that a rerun removes (`after`: the pair with the rerun):
    /// `1 − after/before` of the Float64 difference, clamped to [0, 1]; without a Float64 difference, the
    /// same share of the float32 max abs when `float32Fallback`, else 0.
    static func share(explainedFrom before: PairMeasurement, to after: PairMeasurement, float32Fallback: Bool) -> Double {
        if before.maxAbsFloat64 > 0 { return Swift.max(0, Swift.min(1, 1 - after.maxAbsFloat64 / before.maxAbsFloat64)) }
        guard float32Fallback, before.metrics.maxAbs > 0 else { return 0 }
        return Swift.max(0, Swift.min(1, 1 - after.metrics.maxAbs / before.metrics.maxAbs))
    }

    /// The numbers a finding quotes for a rerun that agrees within float noise: "max abs … → … (noise …),
    /// Float64 difference … → …; explains … of the difference."
    static func numbers(_ before: PairMeasurement, _ after: PairMeasurement, explains: Double) -> String {
        "max abs \(g(before.metrics.maxAbs)) → \(g(after.metrics.maxAbs)) (noise \(g(after.noise))), Float64 difference "
            + "\(g(before.maxAbsFloat64)) → \(g(after.maxAbsFloat64)); explains \(String(format: "%.6f", explains)) of the difference."
    }

    /// `findings`, most explaining first; equal shares keep their order (a stable sort).
    static func mostExplainingFirst(_ findings: [Finding]) -> [Finding] {
        findings.enumerated().sorted { ($0.element.explains, -$0.offset) > ($1.element.explains, -$1.offset) }.map(\.element)
    }
    static func short(_ x: Double) -> String { "\(x)" }
    static func notRead(_ read: Bool) -> String { read ? "" : " (PyTorch's default; not read from B)" }
}
