import Foundation
import ParityKeras
import ParityTorch

/// Convention hypotheses tested at the first diverging layer pair (A = Keras, B = PyTorch).
///
/// Each hypothesis rebuilds A's layer with B's convention swapped in (an epsilon, a padding split, B's
/// weights read back through the faithful convention, an approximation flag, …), reruns it on A's own
/// input to that layer (from A's Float32 and Float64 traces) and measures the result against B's output
/// at that layer (brought to A's layout) with the engine's float-noise rule (``Comparison/measure``). A
/// hypothesis is kept when the pair then no longer exceeds float noise. It explains `1 − d_after / d_before`
/// of the difference, `d` the max abs difference of the Float64 runs (rounding taken out; Float32 when
/// the Float64 difference is 0).
///
/// The hypotheses live one family per file (`Diagnosis+Normalization.swift`, …); each reads B's
/// convention from the `.pt2` nodes of B's paired module when it can and says so when it cannot.
enum Diagnosis {
    struct Hypothesis {
        var cause: String
        var a: String
        var b: String
        /// The one-line fix on the PyTorch side (Keras the reference) and on the Keras side (PyTorch the reference).
        var fix: String
        var kerasFix: String
        /// A's layer under B's convention, run on A's inputs to the layer in a dtype.
        var rerun: ([Tensor], DType) throws -> Tensor
    }

    /// What a hypothesis family sees of the diverging pair.
    struct Context {
        /// B's module path and class.
        var nameB: String
        var kindB: String
        /// The permutation bringing B's tensors at this pair to A's layout (`nil`: the same layout).
        var permutationB: [Int]?
        /// A's Keras layer (config, weights, Parity model).
        var layer: KerasNetwork.Layer
        /// A's Float32 inputs to the layer.
        var inputs: [Tensor]
        /// The `.pt2` nodes B's paired module ran (empty when B is not a torch.export program).
        var nodes: [TorchNode]
        /// B's program, to apply one of its nodes to A's tensors (``TorchProgram/evaluate(_:replacing:with:dtype:)``).
        var program: TorchProgram?
        /// B's parameters of the paired module under the names of A's faithful weight convention.
        var weightsB: [String: Tensor]
        var weightCheck: WeightCheck?

        /// The first node of B's module whose target contains `fragment`.
        func node(_ fragment: String) -> TorchNode? { nodes.first { $0.target.contains(fragment) } }

        /// A rerun that applies B's `node` to A's first input: brought to B's layout (the inverse of the pair's
        /// permutation) and back.
        func applyingB(_ node: TorchNode, argument: String) -> ([Tensor], DType) throws -> Tensor {
            let (program, order) = (program, permutationB)
            return { inputs, dtype in
                guard let program else { throw CompareError.unsupported("B is not a torch.export program") }
                var x = inputs[0]
                if let order, order.count == x.rank { x = try x.permuted(Layout.inverse(order)) }
                var y = try program.evaluate(node, replacing: argument, with: x, dtype: dtype)
                if let order, order.count == y.rank { y = try y.permuted(order) }
                return y
            }
        }
    }

    /// Every family, in the order findings are listed when they explain equally much.
    static let families: [@Sendable (Context) throws -> [Hypothesis]] = [
        weights, batchNormEpsilon, layerNormEpsilon, trainingMode, paddingSame, poolCountIncludePad, poolCeilMode, flattenOrder,
        gruResetAfter, activationVariant, softmaxAxis, interpolationMode, attentionScaling,
    ]

    /// The diverging pair: A's layer in both dtypes, B's output there in A's layout, and — when the two have
    /// one shape — their comparison (`nil` when B's output has another shape: a hypothesis must then
    /// reproduce B's shape too).
    struct Divergence {
        var a32: Trace.Layer
        var a64: Trace.Layer
        var nameB: String
        var kindB: String
        var permutationB: [Int]?
        var b32: Tensor
        var b64: Tensor
        var measured: LayerComparison?
    }

    /// The hypotheses that apply to A's layer, each rerun and measured against B. Returns the kept findings
    /// (most explaining first) and the ids of every hypothesis tested.
    ///
    /// `kerasIsReference`: the user's reference (their A) is the Keras model, so fixes are for the PyTorch
    /// code; otherwise the roles were swapped for the diagnosis and fixes are for the Keras code.
    static func diagnose(_ d: Divergence, b: ComparedModel, weightsB: [String: Tensor], kerasIsReference: Bool = true)
        throws -> (findings: [Finding], tested: [String]) {
        let (k, t) = kerasIsReference ? ("A", "B") : ("B", "A")
        guard let layer = d.a32.keras, !d.a32.inputs.isEmpty, d.a32.inputs.count == d.a64.inputs.count else { return ([], []) }
        let program: TorchProgram? = { if case .torch(let p) = b.body { return p } else { return nil } }()
        let context = Context(nameB: d.nameB, kindB: d.kindB, permutationB: d.permutationB, layer: layer, inputs: d.a32.inputs,
                              nodes: program.map { nodes(of: d.nameB, in: $0) } ?? [], program: program,
                              weightsB: weightsB, weightCheck: d.measured?.weights)
        var hypotheses: [Hypothesis] = []
        for family in families { hypotheses += try family(context) }

        let pairName = "\(d.a32.name) ↔ \(d.nameB)"
        var findings: [Finding] = []
        for h in hypotheses {
            // A hypothesis that cannot be rerun (or gives another shape than B's) is tested and not kept.
            guard let h32 = try? h.rerun(d.a32.inputs, .float32), let h64 = try? h.rerun(d.a64.inputs, .float64),
                  h32.shape == d.b32.shape, h64.shape == d.b32.shape else { continue }
            let m = try Comparison.measure(a: d.a32, b: d.a32, pairing: .name, order: nil, x32: h32, x64: h64, y32: d.b32, y64: d.b64)
            guard !m.exceedsNoise else { continue }
            let fix = kerasIsReference ? h.fix : h.kerasFix
            let lead = "\(k)'s \(layer.className) `\(layer.name)` rerun on its own input with \(t)'s convention (\(h.b) instead of \(h.a)) "
            guard let before = d.measured else {
                findings.append(Finding(
                    layer: pairName, cause: h.cause, a: h.a, b: h.b, explains: 1, fix: fix,
                    message: lead + "gives \(t)'s output shape \(d.b32.shape) (\(k)'s is \(d.a32.tensor.shape)) and agrees with \(t) within float noise "
                        + "(max abs \(g(m.metrics.maxAbs)), noise \(g(m.noise))); explains the whole difference."))
                continue
            }
            let reference = before.maxAbsFloat64 > 0 ? before.maxAbsFloat64 : before.metrics.maxAbs
            let after = before.maxAbsFloat64 > 0 ? m.maxAbsFloat64 : m.metrics.maxAbs
            let explains = reference > 0 ? Swift.max(0, Swift.min(1, 1 - after / reference)) : 0
            findings.append(Finding(
                layer: pairName, cause: h.cause, a: h.a, b: h.b, explains: explains, fix: fix,
                message: lead + "agrees with \(t) within float noise: max abs \(g(before.metrics.maxAbs)) → \(g(m.metrics.maxAbs)) (noise \(g(m.noise))), "
                    + "Float64 difference \(g(before.maxAbsFloat64)) → \(g(m.maxAbsFloat64)); explains \(String(format: "%.6f", explains)) of the difference."))
        }
        // Stable: equal fractions keep the families' order.
        findings = findings.enumerated().sorted { ($0.element.explains, -$0.offset) > ($1.element.explains, -$1.offset) }.map(\.element)
        var tested: [String] = []
        for h in hypotheses where !tested.contains(h.cause) { tested.append(h.cause) }
        return (findings, tested)
    }

    /// The nodes B's module at `path` (or below it) runs.
    static func nodes(of path: String, in program: TorchProgram) -> [TorchNode] {
        program.graph.allNodes.filter { node in node.moduleStack.contains { $0.path == path || $0.path.hasPrefix(path + ".") } }
    }

    static func run(_ model: any Model, _ inputs: [Tensor], _ dtype: DType) throws -> Tensor {
        let context = EagerContext()
        return try model(inputs.map { context.constant($0.cast(to: dtype)) }, in: context).tensor
    }

    /// A's layer rebuilt through ``KerasLayers/make`` with some config keys and/or its weights replaced.
    static func rebuilt(_ layer: KerasNetwork.Layer, config changes: [String: KerasJSON] = [:], weights: [Tensor]? = nil,
                        constants: KerasConstants) throws -> any Model {
        guard case .object(var config) = layer.config else { throw CompareError.unsupported("layer `\(layer.name)` has no config object") }
        for (key, value) in changes { config[key] = value }
        return try KerasLayers.make(KerasLayerConfig(className: layer.className, name: layer.name, config: .object(config),
                                                     weights: weights ?? layer.weights, constants: constants))
    }

    /// The hypothesis that reruns A's layer rebuilt with `changes` / `weights` (in Float64 with exact
    /// constants, as A's Float64 trace).
    static func rerunning(_ layer: KerasNetwork.Layer, config changes: [String: KerasJSON] = [:], weights: [Tensor]? = nil)
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
    static func short(_ x: Double) -> String { "\(x)" }
    static func notRead(_ read: Bool) -> String { read ? "" : " (PyTorch's default; not read from B)" }
}
