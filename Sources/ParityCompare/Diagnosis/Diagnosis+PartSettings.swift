import ParityKeras
import ParityTensor
import ParityTorch

extension Diagnosis {
    /// Settings inside a composite Keras layer (a KerasHub `TransformerEncoder`, a Llama decoder, an RMS norm)
    /// that the layer-level hypotheses cannot rebuild: the PyTorch part's own nodes are rerun with one setting
    /// changed to A's convention, on the local measurement's values, and must then agree with the Keras part
    /// within float noise.
    ///
    /// - `gelu-approximation`: every `aten.gelu` of the part with `approximate` flipped (`none` ↔ `tanh`).
    ///   KerasHub's `BertBackbone` uses the tanh approximation while `transformers`' BERT (`hidden_act="gelu"`)
    ///   is exact; `convert_bert.py` does not read `hidden_act`.
    /// - `layernorm-epsilon`: every epsilon of the part (`aten.layer_norm` / `batch_norm` `eps`, and the scalar
    ///   added before an `aten.rsqrt`: an RMS norm written in `forward`) set to an epsilon of A's layers
    ///   (every `epsilon` the typed layer holds, its sublayers' included). `convert_llama3.py` does not read `rms_norm_eps`.
    static func partSettings(_ j: Judgement, matcher m: Matcher) throws -> (findings: [Finding], tested: [Cause]) {
        guard let local = j.local, case .torch(let program) = m.y.model.body else { return ([], []) }
        var epsilonsA: [Double] = []
        for op in j.regionX {
            guard case .keras(let layer, _, _) = m.x.graph.ops[op].origin else { continue }
            for e in epsilons(of: layer.model) where !epsilonsA.contains(e) { epsilonsA.append(e) }
        }
        struct Edit {
            var cause: Cause
            var a: String
            var b: String
            var fix: String
            var nodes: [Int: TorchNode]
        }
        var edits: [Edit] = []
        var gelu: [Int: TorchNode] = [:]
        var approximateB = "none"
        var epsilonNodes: [(op: Int, node: TorchNode, key: String, value: Double)] = []
        for op in j.regionY {
            guard case .torch(let node) = m.y.graph.ops[op].origin else { continue }
            if node.target.hasPrefix("aten.gelu") {
                if case .string(let s)? = node.argument("approximate") { approximateB = s }
                var changed = node
                changed.arguments.removeAll { $0.name == "approximate" }
                changed.arguments.append(("approximate", .string(approximateB == "tanh" ? "none" : "tanh")))
                gelu[op] = changed
            }
            if node.target.contains("layer_norm") || node.target.contains("batch_norm"), case .float(let e)? = node.argument("eps") {
                epsilonNodes.append((op, node, "eps", e))
            }
            if node.target.hasPrefix("aten.add"), case .float(let e)? = node.argument("other"),
               let out = m.y.graph.ops[op].outputs.first, m.y.consumers[out].contains(where: { m.y.graph.ops[$0].kind.hasPrefix("aten.rsqrt") }) {
                epsilonNodes.append((op, node, "other", e))
            }
        }
        if !gelu.isEmpty {
            let flipped = approximateB == "tanh" ? "exact (erf)" : "tanh approximation"
            edits.append(Edit(cause: .geluApproximation, a: "gelu \(flipped)", b: "gelu \(approximateB == "tanh" ? "tanh approximation" : "exact (erf)") (\(gelu.count) aten.gelu)",
                              fix: "F.gelu(x, approximate=\"\(approximateB == "tanh" ? "none" : "tanh")\") in B, or A's activation changed to B's", nodes: gelu))
        }
        for epsilon in epsilonsA {
            let differing = epsilonNodes.filter { $0.value != epsilon }
            guard !differing.isEmpty else { continue }
            var nodes: [Int: TorchNode] = [:]
            for (op, node, key, _) in differing {
                var changed = node
                changed.arguments.removeAll { $0.name == key }
                changed.arguments.append((key, .float(epsilon)))
                nodes[op] = changed
            }
            let valuesB = Set(differing.map(\.value)).sorted().map { "\($0)" }.joined(separator: ", ")
            edits.append(Edit(cause: .layerNormEpsilon, a: "epsilon \(epsilon)", b: "epsilon \(valuesB) (\(differing.count) nodes: \(differing.map(\.node.name).joined(separator: ", ")))",
                              fix: "the norms' epsilon \(epsilon) in B (e.g. rms_norm_eps / layer_norm_eps in its config), or A's set to \(valuesB)", nodes: nodes))
        }
        let before = try PairMeasurement(a32: local.x32, a64: local.x64, b32: local.y32, b64: local.y64)
        var findings: [Finding] = []
        for edit in edits {
            var graph = m.y.graph
            for (op, node) in edit.nodes {
                let names = graph.ops[op].inputs.map { graph.tensors[$0].name }
                let slots = graph.ops[op].outputs.map { graph.tensors[$0].slot }
                graph.ops[op].evaluate = { inputs, dtype in
                    let results = try program.evaluate(node, values: Dictionary(names.enumerated().map { ($1, inputs[$0]) }, uniquingKeysWith: { a, _ in a }), dtype: dtype)
                    return slots.map { $0 < results.count ? results[$0] : Tensor.zeros([0]) }
                }
            }
            let given = try m.frontierValues(j.frontier, float64: false)
            guard let y32 = try graph.run(j.regionY, given: given, fallback: m.y.f32, dtype: .float32)[j.link.y],
                  let y64 = try graph.run(j.regionY, given: given, fallback: m.y.f64, dtype: .float64)[j.link.y] else { continue }
            let (h32, h64) = (try j.link.alignment.forward(y32), try j.link.alignment.forward(y64))
            guard h32.shape == local.y32.shape else { continue }
            let slack = 2 * (m.x.slack(j.t) + m.y.slack(j.link.y))
            let after = try PairMeasurement(a32: local.x32, a64: local.x64, b32: h32, b64: h64, float64Slack: slack)
            guard !after.exceedsNoise else { continue }
            let explains = share(explainedFrom: before, to: after, float32Fallback: false)
            findings.append(Finding(
                layer: j.comparison.name, cause: edit.cause, a: edit.a, b: edit.b, explains: explains, fix: edit.fix,
                message: "B's part rerun on A's values at the layer's inputs with \(edit.a) instead of \(edit.b) agrees with A within float noise: "
                    + numbers(before, after, explains: explains)))
        }
        findings = mostExplainingFirst(findings)
        var tested: [Cause] = []
        for edit in edits where !tested.contains(edit.cause) { tested.append(edit.cause) }
        return (findings, tested)
    }

    /// Every normalisation epsilon `model` holds, its sublayers' included (a KerasHub decoder's RMS norms, a
    /// transformer's LayerNorms), as the loader built them: each stored property named `epsilon`. Tensors are
    /// not walked.
    static func epsilons(of model: Any) -> [Double] {
        var found: [Double] = []
        func walk(_ value: Any, depth: Int) {
            guard depth < 8, !(value is Tensor) else { return }
            for child in Mirror(reflecting: value).children {
                if child.label == "epsilon", let e = child.value as? Double {
                    if !found.contains(e) { found.append(e) }
                } else {
                    walk(child.value, depth: depth + 1)
                }
            }
        }
        walk(model, depth: 0)
        return found
    }
}
