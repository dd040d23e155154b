import ParityKeras
import ParityTorch

extension Diagnosis {
    /// The settings whose difference between two models of one framework is a known cause: a Keras config key
    /// of a layer class, or an argument of an ATen operator (matched by a fragment of its target).
    static let settingCauses: [(kind: String, key: String, cause: Cause)] = [
        ("BatchNormalization", "epsilon", .batchNormEpsilon), ("LayerNormalization", "epsilon", .layerNormEpsilon),
        ("Conv", "padding", .paddingSame), ("Pooling", "padding", .paddingSame), ("ZeroPadding", "padding", .padOrder),
        ("", "activation", .activationVariant), ("LeakyReLU", "negative_slope", .activationVariant), ("ELU", "alpha", .activationVariant),
        ("Softmax", "axis", .softmaxAxis), ("UpSampling", "interpolation", .interpolationMode), ("GRU", "reset_after", .gruResetAfter),
        ("Flatten", "data_format", .flattenOrder),
        ("batch_norm", "eps", .batchNormEpsilon), ("batch_norm", "training", .trainingMode), ("layer_norm", "eps", .layerNormEpsilon),
        ("conv", "padding", .paddingSame), ("pad", "pad", .padOrder), ("leaky_relu", "negative_slope", .activationVariant),
        ("elu", "alpha", .activationVariant), ("gelu", "approximate", .geluApproximation), ("softmax", "dim", .softmaxAxis),
        ("upsample", "align_corners", .interpolationMode), ("avg_pool", "count_include_pad", .poolCountIncludePad),
        ("pool", "ceil_mode", .poolCeilMode),
    ]

    static func settingCause(kind: String, key: String) -> Cause? {
        settingCauses.first { (kind.contains($0.kind) || $0.kind.isEmpty) && $0.key == key }?.cause
    }

    /// Two models of one framework (a refactor, a re-export, an `.h5` against its `.keras`): the pair's two
    /// parts are compared operation by operation. Every setting that differs and is a known cause, and every
    /// weight that differs, is tried: A's part rerun with B's value must reproduce B's part within float noise.
    static func diagnoseSameFramework(_ j: Judgement, matcher m: Matcher) throws -> (findings: [Finding], tested: [Cause]) {
        guard let local = j.local else { return ([], []) }
        struct Candidate {
            var cause: Cause
            var a: String
            var b: String
            var fix: String
            var op: Int
            var replacement: ([Tensor], DType) throws -> [Tensor]
        }
        var candidates: [Candidate] = []
        let opsY = j.regionY
        for (index, opX) in j.regionX.enumerated() {
            let x = m.x.graph.ops[opX]
            // Its counterpart: the op at the same position of B's part when both parts run the same kinds, else the op of its kind.
            let sameKinds = j.regionX.map { m.x.graph.ops[$0].kind } == opsY.map { m.y.graph.ops[$0].kind }
            guard let opY = sameKinds ? opsY[index] : opsY.first(where: { m.y.graph.ops[$0].kind == x.kind }) else { continue }
            let y = m.y.graph.ops[opY]
            switch (x.origin, y.origin) {
            case let (.keras(layerA, _, _), .keras(layerB, _, _)):
                if layerA.weights.count == layerB.weights.count, zip(layerA.weights, layerB.weights).contains(where: { $0.shape == $1.shape && $0 != $1 }) {
                    let differing = zip(layerA.weights, layerB.weights).filter { $0 != $1 }.count
                    let rebuilt = try rerunning(layerA, weights: layerB.weights)
                    candidates.append(Candidate(cause: .weightsDiffer, a: "A's weights of `\(layerA.name)`", b: "\(differing) of \(layerA.weights.count) variables differ in B",
                                                fix: "load the same weights on both sides", op: opX, replacement: { [try rebuilt($0, $1)] }))
                }
                guard case .object(let configA) = layerA.config, case .object(let configB) = layerB.config else { continue }
                for key in Set(configA.keys).union(configB.keys).sorted() where configA[key] != configB[key] {
                    guard let cause = settingCause(kind: layerA.className, key: key), let valueB = configB[key] else { continue }
                    let rebuilt = try rerunning(layerA, config: [key: valueB])
                    candidates.append(Candidate(cause: cause, a: "\(key)=\(configA[key].map { "\($0)" } ?? "default")", b: "\(key)=\(valueB)",
                                                fix: "\(layerA.className)(\(key)=\(configA[key].map { "\($0)" } ?? "its default")) in B", op: opX,
                                                replacement: { [try rebuilt($0, $1)] }))
                }
            case let (.torch(nodeA), .torch(nodeB)):
                guard case .torch(let programA) = m.x.model.body, case .torch(let programB) = m.y.model.body else { continue }
                let names = x.inputs.map { m.x.graph.tensors[$0].name }
                let run = { (node: TorchNode, extra: [String: Tensor]) -> ([Tensor], DType) throws -> [Tensor] in
                    { inputs, dtype in
                        var values = extra
                        for (name, value) in zip(names, inputs) { values[name] = value }
                        return try programA.evaluate(node, values: values, dtype: dtype)
                    }
                }
                // Weights and buffers read at the same argument (one tensor, or a list such as aten.lstm's `params`):
                // all of B's that differ swapped in at once.
                for ((name, argA), (_, argB)) in zip(nodeA.arguments, nodeB.arguments) {
                    let (namesA, namesB): ([String], [String])
                    switch (argA, argB) {
                    case let (.tensor(a), .tensor(b)): (namesA, namesB) = ([a], [b])
                    case let (.tensors(a), .tensors(b)) where a.count == b.count: (namesA, namesB) = (a, b)
                    default: continue
                    }
                    var swapped: [String: Tensor] = [:]
                    var differing = 0, total = 0
                    for (a, b) in zip(namesA, namesB) {
                        guard let wa = programA.parameter(named: a), let wb = programB.parameter(named: b), wa.shape == wb.shape, wa != wb else { continue }
                        swapped[a] = wb
                        differing += zip(wa.doubles, wb.doubles).filter { $0 != $1 }.count
                        total += wa.count
                    }
                    guard !swapped.isEmpty else { continue }
                    candidates.append(Candidate(cause: .weightsDiffer, a: "A's \(name) of `\(nodeA.name)`",
                                                b: "\(swapped.count) of its \(namesA.count) tensor(s) differ in B (\(differing) of their \(total) elements)",
                                                fix: "load the same state_dict on both sides", op: opX, replacement: run(nodeA, swapped)))
                }
                // Settings (non-tensor arguments), a missing one being PyTorch's default.
                let keys = Set(nodeA.arguments.map(\.name)).union(nodeB.arguments.map(\.name))
                for key in keys.sorted() {
                    let (va, vb) = (nodeA.argument(key), nodeB.argument(key))
                    guard va.map(\.tensorNames.isEmpty) ?? true, vb.map(\.tensorNames.isEmpty) ?? true, "\(va.map { "\($0)" } ?? "")" != "\(vb.map { "\($0)" } ?? "")",
                          let cause = settingCause(kind: nodeA.target, key: key) else { continue }
                    var changed = nodeA
                    changed.arguments.removeAll { $0.name == key }
                    if let vb { changed.arguments.append((key, vb)) }
                    candidates.append(Candidate(cause: cause, a: "\(key)=\(va.map(describe) ?? "default")",
                                                b: "\(key)=\(vb.map(describe) ?? "default")", fix: "\(key)=\(va.map(describe) ?? "its default") in B", op: opX,
                                                replacement: run(changed, [:])))
                }
            default:
                continue
            }
        }
        let before = try PairMeasurement(a32: local.x32, a64: local.x64, b32: local.y32, b64: local.y64)
        var findings: [Finding] = []
        for c in candidates {
            guard let (h32, h64) = try? rerun(j, m, replacing: c.op, results: c.replacement), h32.shape == local.y32.shape,
                  let after = try? PairMeasurement(a32: h32, a64: h64, b32: local.y32, b64: local.y64), !after.exceedsNoise else { continue }
            let explains = share(explainedFrom: before, to: after, float32Fallback: true)
            findings.append(Finding(
                layer: j.comparison.name, cause: c.cause, a: c.a, b: c.b, explains: explains, fix: c.fix,
                message: "A's `\(m.x.graph.ops[c.op].name)` rerun on its own input with B's value (\(c.b) instead of \(c.a)) agrees with B within float noise: "
                    + numbers(before, after, explains: explains)))
        }
        findings = mostExplainingFirst(findings)
        var tested: [Cause] = []
        for c in candidates where !tested.contains(c.cause) { tested.append(c.cause) }
        return (findings, tested)
    }

    static func describe(_ argument: TorchArgument) -> String {
        switch argument {
        case .none: return "None"
        case .int(let i): return "\(i)"
        case .ints(let v): return "\(v)"
        case .float(let d): return "\(d)"
        case .floats(let v): return "\(v)"
        case .bool(let b): return b ? "True" : "False"
        case .string(let s): return "'\(s)'"
        default: return "\(argument)"
        }
    }
}
