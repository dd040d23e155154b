import ParityTensor

/// Stage 3 of a comparison, for one pair: the end-to-end measurement (each model's tensor from its own inputs)
/// and the local one. Locally, each model's part computing the pair's tensor from the frontier (the nearest
/// paired tensors) runs on the coarse model X's own Float32 values there — brought to Y's layout for Y — in
/// Float32 and in Float64: X's Float32 result is its trace's, its Float64 result the part rerun; Y's are the
/// part rerun both ways. The local difference is the one the layer introduces itself, whatever went wrong
/// upstream.
struct Judgement {
    var t: Int
    var link: Matcher.Link
    var frontier: Set<Int>
    var regionX: [Int]
    var regionY: [Int]
    /// The local values, all in X's layout (`nil` when the parts could not be rerun).
    var local: (x32: Tensor, x64: Tensor, y32: Tensor, y64: Tensor)?
    var comparison: LayerComparison
}

extension Matcher {
    func judge(_ t: Int) throws -> Judgement {
        let link = links[t]!
        let frontier = self.frontier(of: t)
        let partners = self.partners(frontier)
        let regionX = x.graph.region(from: frontier, to: t, dependence: x.dependence)
        let regionY = y.graph.region(from: partners, to: link.y, dependence: y.dependence)
        let slack = 2 * (x.slack(t) + y.slack(link.y))
        let endToEnd = try measure(x32: x.f32[t]!, x64: x.f64[t]!, y32: y.f32[link.y]!, y64: y.f64[link.y]!, link.alignment, slack: slack)

        var local: (Tensor, Tensor, Tensor, Tensor)?
        var localMeasurement: PairMeasurement?
        var note: String?
        if frontier.isEmpty {
            note = "no paired tensor upstream: judged end to end"
        } else {
            do {
                var given32: [Int: Tensor] = [:]
                for f in frontier { given32[f] = x.f32[f] }
                let x64 = try x.graph.run(regionX, given: given32, fallback: x.f64, dtype: .float64)[t] ?? x.f64[t]!
                let givenY = try frontierValues(frontier, float64: false)
                let y32 = try y.graph.run(regionY, given: givenY, fallback: y.f32, dtype: .float32)[link.y]
                let y64 = try y.graph.run(regionY, given: givenY, fallback: y.f64, dtype: .float64)[link.y]
                if let y32, let y64 {
                    let values = (x.f32[t]!, x64, try link.alignment.forward(y32), try link.alignment.forward(y64))
                    localMeasurement = try measure(x32: values.0, x64: values.1, y32: y32, y64: y64, link.alignment, slack: slack)
                    local = values
                }
            } catch {
                note = "its part could not be rerun on the other model's values (\(error)): judged end to end"
            }
        }
        // A pair whose part contains a size change found upstream is not judged on its own: the difference is that change's.
        let mismatchInside = shapeMismatches.values.contains { yid in y.graph.tensors[yid].producer.map(regionY.contains) ?? false }
        let diverges = !mismatchInside && (localMeasurement ?? endToEnd).exceedsNoise
        let (aName, bName) = xSide == .a ? (x.displayName(t), y.displayName(link.y)) : (y.displayName(link.y), x.displayName(t))
        let (aKind, bKind) = xSide == .a ? (x.kind(t), y.kind(link.y)) : (y.kind(link.y), x.kind(t))
        let names = { (m: TracedModel, ops: [Int]) in ops.map { m.graph.ops[$0].name } }
        let comparison = LayerComparison(
            a: aName, b: bName, kindA: aKind, kindB: bKind, pairedBy: link.evidence,
            alignment: xSide == .a ? link.alignment : link.alignment, shape: (xSide == .a ? x.shape(t) : y.shape(link.y)) ?? [],
            endToEnd: endToEnd, local: localMeasurement, localNote: mismatchInside ? "its part includes the size change upstream" : note,
            partA: xSide == .a ? names(x, regionX) : names(y, regionY), partB: xSide == .a ? names(y, regionY) : names(x, regionX),
            diverges: diverges)
        return Judgement(t: t, link: link, frontier: frontier, regionX: regionX, regionY: regionY, local: local, comparison: comparison)
    }

    /// A ``PairMeasurement`` in A's layout from X's values and Y's values (Y's in its own layout).
    func measure(x32: Tensor, x64: Tensor, y32: Tensor, y64: Tensor, _ alignment: Alignment, slack: Double = 0) throws -> PairMeasurement {
        if xSide == .a {
            return try PairMeasurement(a32: x32, a64: x64, b32: alignment.forward(y32), b64: alignment.forward(y64), float64Slack: slack)
        }
        return try PairMeasurement(a32: y32, a64: y64, b32: alignment.backward(x32), b64: alignment.backward(x64), float64Slack: slack)
    }

    /// Unpaired tensors of both models with their reasons: X's layers, and Y's modules (PyTorch) or layers
    /// (Keras) that no pair's part covers.
    func unpairedReport() -> (x: [Unpaired], y: [Unpaired]) {
        var covered = Set<Int>()
        var coveredX = Set<Int>()
        var owner: [Int: String] = [:]
        for (t, link) in links.sorted(by: { $0.key < $1.key }) where link.evidence != .input {
            let frontier = self.frontier(of: t)
            let regionX = x.graph.region(from: frontier, to: t, dependence: x.dependence)
            let regionY = y.graph.region(from: partners(frontier), to: link.y, dependence: y.dependence)
            covered.formUnion(regionY)
            coveredX.formUnion(regionX)
            for op in regionX where owner[op] == nil { owner[op] = xSide == .a ? x.displayName(t) : y.displayName(link.y) }
        }
        for yid in shapeMismatches.values { if let p = y.graph.tensors[yid].producer { covered.insert(p) } }
        var xs: [Unpaired] = []
        for (t, reason) in unpaired.sorted(by: { $0.key < $1.key }) {
            var why = reason
            if why.isEmpty, let p = x.graph.tensors[t].producer {
                why = owner[p].map { "no tensor of the other model holds it alone: it is computed inside the part paired as \($0)" }
                    ?? "no tensor of the other model agrees with it, and pairing one would not explain the next layers"
            }
            xs.append(Unpaired(name: x.displayName(t), kind: x.kind(t), reason: why))
        }
        // Y: modules (or Keras layers) with weights whose operations no pair covers.
        var ys: [Unpaired] = []
        var seen = Set<String>()
        for (index, op) in y.graph.ops.enumerated() where !covered.contains(index) {
            switch op.origin {
            case .torch(let node):
                let readsWeights = node.arguments.contains { $0.value.tensorNames.contains { name in y.weightNames.contains(name) } }
                guard readsWeights, !op.module.isEmpty, seen.insert(op.module).inserted else { continue }
                let isCovered = y.graph.ops.indices.contains { covered.contains($0) && y.graph.ops[$0].module == op.module }
                guard !isCovered else { continue }
                ys.append(Unpaired(name: op.module, kind: node.moduleClass.split(separator: ".").last.map(String.init) ?? node.moduleClass,
                                   reason: "its operations are in no paired part"))
            case .keras:
                guard let out = op.outputs.first, !links.values.contains(where: { $0.y == out }) else { continue }
                ys.append(Unpaired(name: op.name, kind: op.kind, reason: "no tensor of the other model is paired with it"))
            }
        }
        return (xs, ys)
    }
}

extension TracedModel {
    /// The graph names bound to a `.pt2` program's parameters and buffers.
    var weightNames: Set<String> {
        guard case .torch(let program) = model.body else { return [] }
        return Set(program.inputs.filter { $0.kind != .userInput }.map(\.name))
    }
}
