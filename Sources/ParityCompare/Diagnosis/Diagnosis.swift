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
        var fix: String
        /// A's layer under B's convention, run on A's inputs to the layer in a dtype.
        var rerun: ([Tensor], DType) throws -> Tensor
    }

    /// What a hypothesis family sees of the diverging pair.
    struct Context {
        var pair: LayerComparison
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
            let (program, order) = (program, pair.permutationB)
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
        weights, batchNormEpsilon, layerNormEpsilon, trainingMode, paddingSame, poolCountIncludePad, flattenOrder,
        gruResetAfter, activationVariant, softmaxAxis, interpolationMode, attentionScaling,
    ]

    /// The hypotheses that apply to A's layer, each rerun and measured. Returns the kept findings (most
    /// explaining first) and the ids of every hypothesis tested.
    static func diagnose(pair: LayerComparison, a32: Trace.Layer, a64: Trace.Layer, b32: Tensor, b64: Tensor,
                         b: ComparedModel, weightsB: [String: Tensor]) throws -> (findings: [Finding], tested: [String]) {
        guard let layer = a32.keras, !a32.inputs.isEmpty, a32.inputs.count == a64.inputs.count else { return ([], []) }
        let program: TorchProgram? = { if case .torch(let p) = b.body { return p } else { return nil } }()
        let context = Context(pair: pair, layer: layer, inputs: a32.inputs, nodes: program.map { nodes(of: pair.b, in: $0) } ?? [], program: program,
                              weightsB: weightsB, weightCheck: pair.weights)
        var hypotheses: [Hypothesis] = []
        for family in families { hypotheses += try family(context) }

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
            findings.append(Finding(
                layer: "\(pair.a) ↔ \(pair.b)", cause: h.cause, a: h.a, b: h.b, explains: explains, fix: h.fix,
                message: "A's \(layer.className) `\(layer.name)` rerun on its own input with B's convention (\(h.b) instead of \(h.a)) "
                    + "agrees with B within float noise: max abs \(g(pair.metrics.maxAbs)) → \(g(m.metrics.maxAbs)) (noise \(g(m.noise))), "
                    + "Float64 difference \(g(pair.maxAbsFloat64)) → \(g(m.maxAbsFloat64)); explains \(String(format: "%.6f", explains)) of the difference."))
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
