import ParityKeras
import ParityTensor
import ParityTorch

extension Diagnosis {
    /// A storage precision weights can have been rounded to on their way from one framework to the other.
    enum WeightPrecision: String, CaseIterable {
        case float16, bfloat16

        func round(_ x: Float) -> Float {
            switch self {
            case .float16: return HalfPrecision.float(fromFloat16: HalfPrecision.float16Bits(from: x))
            case .bfloat16: return HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16Bits(from: x))
            }
        }

        /// Every element of `t` is a value of this precision.
        func holds(_ t: Tensor) -> Bool {
            guard t.dtype.isFloatingPoint else { return true }
            return t.doubles.allSatisfy { Double(round(Float($0))) == $0 }
        }

        func rounded(_ t: Tensor) -> Tensor {
            guard t.dtype.isFloatingPoint else { return t }
            return Tensor(shape: t.shape, values: t.doubles.map { round(Float($0)) }).cast(to: t.dtype)
        }
    }

    /// `weights-precision`: one side's weights are all values of float16 (or bfloat16) while the other's are
    /// not, as when a converter casts every weight (`convert_mistral.py` in KerasHub 0.32 ports each
    /// transformers tensor through `hf_tensor.astype(np.float16)` into a float32 backbone). The other side's
    /// part is rerun with its weights rounded the same way (B's parameters read by its `.pt2` nodes, or A's
    /// Keras layers rebuilt with rounded weights), on the local measurement's values; kept when the pair then
    /// agrees within float noise.
    static func precision(_ j: Judgement, matcher m: Matcher) throws -> (findings: [Finding], tested: [Cause]) {
        guard let local = j.local, case .torch(let program) = m.y.model.body else { return ([], []) }
        // X's Keras layers and the weights they hold; Y's parameters and persistent buffers its nodes read.
        var layers: [(op: Int, layer: KerasNetwork.Layer, exact: KerasNetwork.Layer, call: Int)] = []
        for op in j.regionX {
            if case .keras(let layer, let exact, let call) = m.x.graph.ops[op].origin, !layer.weights.isEmpty { layers.append((op, layer, exact, call)) }
        }
        var parameters: [String: Tensor] = [:]
        for op in j.regionY {
            guard case .torch(let node) = m.y.graph.ops[op].origin else { continue }
            let read = Set(node.arguments.flatMap { $0.value.tensorNames })
            for input in program.inputs where read.contains(input.name) {
                switch input.kind {
                case .parameter(let fqn), .buffer(let fqn, persistent: true):
                    if let t = program.weights[fqn], t.dtype.isFloatingPoint { parameters[input.name] = t }
                default: continue
                }
            }
        }
        let weightsX = layers.flatMap(\.layer.weights).filter(\.dtype.isFloatingPoint)
        guard !weightsX.isEmpty, !parameters.isEmpty else { return ([], []) }
        guard let precision = WeightPrecision.allCases.first(where: { p in
            weightsX.allSatisfy(p.holds) != parameters.values.allSatisfy(p.holds)
        }) else { return ([], []) }
        let roundY = weightsX.allSatisfy(precision.holds)
        let xSide = m.xSide == .a ? "A" : "B", ySide = m.xSide == .a ? "B" : "A"
        let (rounded, full) = roundY ? (xSide, ySide) : (ySide, xSide)

        let h32: Tensor, h64: Tensor, b32: Tensor, b64: Tensor
        let count: Int
        if roundY {
            // Y's part with its parameters rounded, on X's frontier values.
            var graph = m.y.graph
            let changed = parameters.mapValues(precision.rounded)
            for op in j.regionY {
                guard case .torch(let node) = graph.ops[op].origin else { continue }
                let reads = Set(node.arguments.flatMap { $0.value.tensorNames })
                let own = changed.filter { reads.contains($0.key) }
                guard !own.isEmpty else { continue }
                let names = graph.ops[op].inputs.map { graph.tensors[$0].name }
                let slots = graph.ops[op].outputs.map { graph.tensors[$0].slot }
                graph.ops[op].evaluate = { inputs, dtype in
                    var values = own
                    for (index, name) in names.enumerated() { values[name] = inputs[index] }
                    let results = try program.evaluate(node, values: values, dtype: dtype)
                    return slots.map { $0 < results.count ? results[$0] : Tensor.zeros([0]) }
                }
            }
            let given = try m.frontierValues(j.frontier, float64: false)
            guard let y32 = try graph.run(j.regionY, given: given, fallback: m.y.f32, dtype: .float32)[j.link.y],
                  let y64 = try graph.run(j.regionY, given: given, fallback: m.y.f64, dtype: .float64)[j.link.y] else { return ([], [.weightsPrecision]) }
            (h32, h64) = (try j.link.alignment.forward(y32), try j.link.alignment.forward(y64))
            (b32, b64) = (local.x32, local.x64)
            count = changed.count
        } else {
            // X's Keras layers rebuilt with their weights rounded, on X's frontier values.
            var graph = m.x.graph
            for (op, layer, _, call) in layers {
                let weights = layer.weights.map(precision.rounded)
                let model = try rebuilt(layer, weights: weights, constants: .tensorFlow)
                let exactModel = try rebuilt(layer, weights: weights, constants: .exact)
                let (name, arguments) = (graph.ops[op].name, layer.arguments[call])
                graph.ops[op].evaluate = { inputs, dtype in
                    try ModelGraph.runKeras(dtype == .float64 ? exactModel : model, layer: name, arguments, inputs, dtype)
                }
            }
            var given: [Int: Tensor] = [:]
            for f in j.frontier { given[f] = m.x.f32[f] }
            guard let x32 = try graph.run(j.regionX, given: given, fallback: m.x.f32, dtype: .float32)[j.t],
                  let x64 = try graph.run(j.regionX, given: given, fallback: m.x.f64, dtype: .float64)[j.t] else { return ([], [.weightsPrecision]) }
            (h32, h64) = (x32, x64)
            (b32, b64) = (local.y32, local.y64)
            count = weightsX.count
        }
        guard h32.shape == local.x32.shape else { return ([], [.weightsPrecision]) }
        let slack = 2 * (m.x.slack(j.t) + m.y.slack(j.link.y))
        let before = try PairMeasurement(a32: local.x32, a64: local.x64, b32: local.y32, b64: local.y64, float64Slack: slack)
        let after = try PairMeasurement(a32: b32, a64: b64, b32: h32, b64: h64, float64Slack: slack)
        guard !after.exceedsNoise else { return ([], [.weightsPrecision]) }
        let explains = share(explainedFrom: before, to: after, float32Fallback: false)
        let what = roundY ? "\(ySide)'s part rerun with the \(count) parameter\(count == 1 ? "" : "s") it reads rounded to \(precision)"
            : "\(xSide)'s \(layers.map { "`\($0.layer.name)`" }.joined(separator: ", ")) rebuilt with their \(count) weight\(count == 1 ? "" : "s") rounded to \(precision)"
        let finding = Finding(
            layer: j.comparison.name, cause: .weightsPrecision, a: rounded == "A" ? "weights rounded to \(precision)" : "float32 weights",
            b: rounded == "B" ? "weights rounded to \(precision)" : "float32 weights", explains: explains,
            fix: "convert the weights without the cast to \(precision) (keep float32 on both sides), or compare against a model whose weights were rounded the same way",
            message: "\(rounded)'s weights here are all \(precision) values, \(full)'s are not: \(what) agrees with \(rounded) within float noise: "
                + numbers(before, after, explains: explains))
        return ([finding], [.weightsPrecision])
    }
}
