import Foundation
import ParityTensor

/// How a pair was found.
public enum Evidence: String, Sendable, Codable {
    /// A model input and the other model's input brought to its layout and dtype.
    case input
    /// The Float64 runs of the two models agree at these tensors.
    case values
    /// The other model's part computing this tensor, rerun on this model's own inputs to the layer, agrees in
    /// Float64 (an earlier layer differs, so the whole runs do not).
    case local
    /// Nothing agrees: the best structural candidate (shape, position, the next layers' agreement); the layer
    /// with a mistake is paired this way.
    case structure
}

/// Stage 2 of a comparison: pairs every tensor of the coarse model X (the Keras model of a Keras ↔ PyTorch
/// pair; A when both come from one framework) with the tensor of the fine model Y that computes the same
/// quantity, by dataflow.
///
/// X's tensors are visited in graph order. For each, the **frontier** is its nearest ancestors already paired
/// (the model inputs to begin with); candidates are Y's tensors computed from every partner of the frontier
/// whose shape maps onto X's (``Alignment``). The first candidate whose Float64 values agree with X's wins
/// (``Evidence/values``); else the first whose Y part, rerun on X's own frontier values, agrees
/// (``Evidence/local``); else the structural choice among "unpaired" and the nearest candidates: the one under
/// which X's next layers agree most, then diverge least, then pair most (``Evidence/structure``). Pairs keep
/// the order of both graphs: a candidate always descends from the frontier's partners.
struct Matcher {
    struct Link {
        var y: Int
        /// Y's tensor to X's layout (source: Y's side).
        var alignment: Alignment
        var evidence: Evidence
        /// Y's other tensors with the same values (a computation the model repeats, such as two `relu` of one
        /// tensor), with their alignments: later layers may read any of them.
        var equivalents: [(y: Int, alignment: Alignment)] = []

        /// Every Y tensor holding X's values, `y` first.
        var all: [(y: Int, alignment: Alignment)] { [(y, alignment)] + equivalents }
    }

    let x: TracedModel
    let y: TracedModel
    /// Which side of the comparison X is.
    let xSide: Alignment.Side
    var links: [Int: Link] = [:]
    /// X tensors left unpaired, with the reason.
    var unpaired: [Int: String] = [:]
    /// X tensors whose only candidates have another shape (a layer that changes the size, such as a pooling
    /// rounding the other way), with that Y tensor.
    var shapeMismatches: [Int: Int] = [:]
    private var scales: [Int: Double] = [:]

    static let agreement = 1e-9
    /// A structural option whose own local difference is below 1% of the layer's largest value holds the same
    /// quantity computed with slightly different numbers (bfloat16 rounds to 2⁻⁸ ≈ 0.4%).
    static let nearAgreement = 1e-2
    static let localCandidates = 12
    static let structuralOptions = 4

    var ySide: Alignment.Side { xSide == .a ? .b : .a }

    init(x: TracedModel, y: TracedModel, xSide: Alignment.Side, inputs: [(x: Int, y: Int, alignment: Alignment)]) {
        self.x = x
        self.y = y
        self.xSide = xSide
        for input in inputs { links[input.x] = Link(y: input.y, alignment: input.alignment, evidence: .input) }
    }

    mutating func run(progress: CompareProgress) throws {
        let tensors = x.graph.tensors.indices.filter { x.graph.tensors[$0].producer != nil && x.isFloating($0) }
        for (done, id) in tensors.enumerated() where links[id] == nil {
            try pair(id)
            progress.step("pairing \(x.model.label)", done + 1, of: tensors.count)
        }
    }

    // MARK: One tensor

    mutating func pair(_ t: Int) throws {
        let frontier = self.frontier(of: t)
        let candidates = self.candidates(for: t, frontier: frontier)
        guard !candidates.isEmpty else {
            if let mismatch = shapeMismatch(for: t, frontier: frontier) {
                shapeMismatches[t] = mismatch
            } else {
                unpaired[t] = "no tensor of \(ySide == .a ? "A" : "B") computed from the partners of its inputs has a shape \(x.shape(t) ?? []) maps to (a layout permutation, unit axes)"
            }
            return
        }
        let agreeing = confirmByValues(t, candidates)
        if let (candidate, alignment) = agreeing.first {
            links[t] = Link(y: candidate, alignment: alignment, evidence: .values, equivalents: Array(agreeing.dropFirst()))
            return
        }
        let local = try confirmLocally(t, frontier: frontier, candidates)
        if let (candidate, alignment) = local.match {
            links[t] = Link(y: candidate, alignment: alignment, evidence: .local)
            return
        }
        // Structural choice: unpaired, or one of the nearest candidates (closest values first), each in the layout
        // its inputs have (the values disagree, so they cannot settle an ambiguous layout).
        let ranked = candidates.prefix(Self.localCandidates).compactMap { c -> (Int, Alignment, Double)? in
            guard let alignment = c.alignments.first(where: \.isPlausible) else { return nil }
            return (c.y, alignment, local.errors[c.y]?[alignment.permutation ?? []] ?? .infinity)
        }.sorted { ($0.2, $0.0) < ($1.2, $1.0) }.prefix(Self.structuralOptions)
        if ranked.isEmpty {
            // Only layouts no convention explains (height and width swapped): a size change, as when nothing fits.
            if let mismatch = shapeMismatch(for: t, frontier: frontier) { shapeMismatches[t] = mismatch } else { unpaired[t] = "" }
            return
        }
        if !x.consumers[t].contains(where: { op in x.graph.ops[op].outputs.contains(where: x.isFloating) }) {
            // Nothing reads it (a model output): the other model's output when it is a candidate, else the closest.
            let outputIndex = x.graph.outputs.firstIndex(of: t)
            let partner = outputIndex.flatMap { $0 < y.graph.outputs.count ? y.graph.outputs[$0] : nil }
            if let output = candidates.first(where: { $0.y == partner }), let alignment = output.alignments.first(where: \.isPlausible) {
                links[t] = Link(y: output.y, alignment: alignment, evidence: .structure)
            } else if let choice = ranked.first {
                links[t] = Link(y: choice.0, alignment: choice.1, evidence: .structure)
            } else {
                unpaired[t] = ""
            }
            return
        }
        var best: (score: Score, link: Link?) = (try score(t, option: nil), nil)
        let debug = ProcessInfo.processInfo.environment["PARITY_DEBUG_PAIRING"] != nil
        if debug { print("pair \(x.displayName(t)): unpaired \(best.score)") }
        for (candidate, alignment, error) in ranked {
            let link = Link(y: candidate, alignment: alignment, evidence: .structure)
            var s = try score(t, option: link)
            s.ownError = error
            if error < Self.nearAgreement { s.near = 1 }
            if debug { print("  option \(y.displayName(candidate)) \(alignment): \(s)") }
            if s > best.score { best = (s, link) }
        }
        if let link = best.link { links[t] = link } else { unpaired[t] = "" }
    }

    /// What pairing a tensor one way does to its next layers, and whether the option itself nearly agrees
    /// (``nearAgreement``): when no option makes the next layers agree (a side whose weights all differ a
    /// little, as when a converter rounds them to float16), the layer is paired with the tensor that holds
    /// nearly its values rather than left unpaired.
    struct Score: Comparable {
        var agree = 0
        var near = 0
        var diverge = 0
        var paired = 0
        var ownError = Double.infinity

        static func < (l: Score, r: Score) -> Bool {
            (l.agree, l.near, -l.diverge, l.paired, -l.ownError) < (r.agree, r.near, -r.diverge, r.paired, -r.ownError)
        }
    }

    mutating func score(_ t: Int, option: Link?) throws -> Score {
        var s = Score()
        if option != nil { s.paired = 1; s.diverge = 1 }
        links[t] = option
        defer { links[t] = nil }
        for op in x.consumers[t] {
            guard let next = x.graph.ops[op].outputs.first, links[next] == nil, x.isFloating(next) else { continue }
            let frontier = self.frontier(of: next)
            let candidates = self.candidates(for: next, frontier: frontier)
            guard !candidates.isEmpty else { continue }
            s.paired += 1
            let local = try confirmLocally(next, frontier: frontier, candidates)
            if local.match != nil { s.agree += 1 } else { s.diverge += 1 }
        }
        return s
    }

    // MARK: Frontier and candidates

    /// The nearest paired ancestors of `t` (through unpaired ones).
    func frontier(of t: Int) -> Set<Int> {
        var result = Set<Int>(), seen = Set<Int>()
        var stack = x.graph.tensors[t].producer.map { x.graph.ops[$0].inputs } ?? []
        while let s = stack.popLast() {
            guard seen.insert(s).inserted else { continue }
            if links[s] != nil { result.insert(s); continue }
            if let p = x.graph.tensors[s].producer { stack += x.graph.ops[p].inputs }
        }
        return result
    }

    struct Candidate {
        var y: Int
        var alignments: [Alignment]
    }

    /// Y's floating tensors computed from every partner of the frontier (or being one), whose shape maps onto
    /// `t`'s, in graph order; the frontier's own layout change preferred.
    func candidates(for t: Int, frontier: Set<Int>) -> [Candidate] {
        guard let shape = x.shape(t) else { return [] }
        let groups = partnerGroups(frontier)
        let preferred = frontier.compactMap { links[$0]?.alignment.permutation }.first
        var result: [Candidate] = []
        for id in y.graph.tensors.indices where y.isFloating(id) {
            guard let s = y.shape(id), Shape.count(s) == Shape.count(shape), descends(id, groups) else { continue }
            let alignments = Alignment.candidates(source: ySide, from: s, to: shape, preferring: preferred)
            if !alignments.isEmpty { result.append(Candidate(y: id, alignments: alignments)) }
        }
        return result
    }

    /// The Y tensors holding each frontier tensor's values.
    func partnerGroups(_ frontier: Set<Int>) -> [Set<Int>] { frontier.compactMap { links[$0].map { Set($0.all.map(\.y)) } } }

    /// Every Y tensor holding a frontier tensor's values.
    func partners(_ frontier: Set<Int>) -> Set<Int> { Set(frontier.flatMap { links[$0]?.all.map(\.y) ?? [] }) }

    /// `id` is, or is computed from, a member of every group.
    func descends(_ id: Int, _ groups: [Set<Int>]) -> Bool {
        groups.allSatisfy { group in group.contains(id) || group.contains { y.dependence.depends(id, on: $0) } }
    }

    /// A Y tensor of the same rank and a matching operation that no layout change pairs with `t` (a size
    /// change), when there is one.
    func shapeMismatch(for t: Int, frontier: Set<Int>) -> Int? {
        guard let shape = x.shape(t), let producer = x.graph.tensors[t].producer else { return nil }
        let groups = partnerGroups(frontier)
        for id in y.graph.tensors.indices where y.isFloating(id) {
            guard let s = y.shape(id), s.count == shape.count, descends(id, groups),
                  let p = y.graph.tensors[id].producer, KindAffinity.matches(x.graph.ops[producer], y.graph.ops[p]) else { continue }
            // After a size change, the next layers' sizes follow from it: not another one.
            guard !shapeMismatches.values.contains(where: { y.dependence.depends(id, on: $0) }) else { return nil }
            return id
        }
        return nil
    }

    // MARK: Confirmation by values

    mutating func scale(_ t: Int) -> Double {
        if let s = scales[t] { return s }
        let s = x.f64[t].map { $0.doubles.reduce(0) { Swift.max($0, Swift.abs($1)) } } ?? 0
        scales[t] = s
        return s
    }

    /// `|X − Y| ≤ 1e-9·max|X|` in Float64 (16 sampled elements first, then all).
    func agrees(_ xv: Tensor, _ yv: Tensor, _ alignment: Alignment, scale: Double) -> Bool {
        let (a, b) = (xv.doubles, yv.doubles)
        guard a.count == b.count, !a.isEmpty else { return a.count == b.count }
        let tolerance = Self.agreement * scale
        let n = a.count
        for k in 0..<Swift.min(16, n) {
            let i = (k * 7919 + k * k * 104_729) % n
            guard Swift.abs(a[i] - b[alignment.sourceIndex(i)]) <= tolerance else { return false }
        }
        guard let aligned = try? alignment.forward(yv).doubles else { return false }
        for i in 0..<n where !(Swift.abs(a[i] - aligned[i]) <= tolerance) { return false }
        return true
    }

    /// Every candidate whose Float64 values agree with `t`'s, in graph order, each with its first agreeing alignment.
    mutating func confirmByValues(_ t: Int, _ candidates: [Candidate]) -> [(y: Int, alignment: Alignment)] {
        guard let xv = x.f64[t] else { return [] }
        let s = scale(t)
        var result: [(y: Int, alignment: Alignment)] = []
        for c in candidates {
            guard let yv = y.f64[c.y], let alignment = c.alignments.first(where: { agrees(xv, yv, $0, scale: s) }) else { continue }
            result.append((c.y, alignment))
        }
        return result
    }

    // MARK: Local confirmation

    /// The frontier's values of X (Float64 or Float32) in Y's layout and dtype, keyed by Y tensor.
    func frontierValues(_ frontier: Set<Int>, float64: Bool) throws -> [Int: Tensor] {
        var given: [Int: Tensor] = [:]
        for f in frontier {
            guard let link = links[f], let v = (float64 ? x.f64 : x.f32)[f] else { continue }
            for (partner, alignment) in link.all {
                var converted = try alignment.backward(v)
                if let expected = y.f32[partner]?.dtype, !expected.isFloatingPoint, converted.dtype != expected { converted = converted.cast(to: expected) }
                given[partner] = converted
            }
        }
        return given
    }

    /// Reruns Y's part from the frontier's partners up to the first candidates on X's Float64 frontier values;
    /// returns the first candidate that agrees with X, and every candidate's relative error by alignment.
    mutating func confirmLocally(_ t: Int, frontier: Set<Int>, _ candidates: [Candidate]) throws
        -> (match: (Int, Alignment)?, errors: [Int: [[Int]: Double]]) {
        guard let xv = x.f64[t], !frontier.isEmpty else { return (nil, [:]) }
        let partners = self.partners(frontier)
        let nearest = Array(candidates.prefix(Self.localCandidates))
        var ops = Set<Int>()
        for c in nearest { ops.formUnion(y.graph.region(from: partners, to: c.y, dependence: y.dependence)) }
        let values: [Int: Tensor]
        do {
            values = try y.graph.run(ops.sorted(), given: try frontierValues(frontier, float64: true), fallback: y.f64, dtype: .float64)
        } catch {
            return (nil, [:])
        }
        let s = scale(t)
        var errors: [Int: [[Int]: Double]] = [:]
        var match: (Int, Alignment)?
        for c in nearest {
            guard let yv = values[c.y] else { continue }
            for alignment in c.alignments {
                if match == nil, agrees(xv, yv, alignment, scale: s) { match = (c.y, alignment) }
                if let aligned = try? alignment.forward(yv) {
                    let d = zip(xv.doubles, aligned.doubles).reduce(0.0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
                    errors[c.y, default: [:]][alignment.permutation ?? []] = s > 0 ? d / s : d
                }
            }
        }
        return (match, errors)
    }
}

/// Which operations of the two models can compute the same layer, for pairing shape changes and naming reasons:
/// a Keras class against the ATen targets of its PyTorch counterpart (or one kind against itself when both
/// models come from one framework).
enum KindAffinity {
    static let torchFragments: [String: [String]] = [
        "Conv1D": ["conv"], "Conv2D": ["conv"], "Conv3D": ["conv"], "DepthwiseConv2D": ["conv"], "SeparableConv2D": ["conv"],
        "Conv2DTranspose": ["conv_transpose", "slice"], "Dense": ["linear", "addmm", "matmul", "mm"],
        "MaxPooling1D": ["max_pool"], "MaxPooling2D": ["max_pool"], "MaxPooling3D": ["max_pool"],
        "AveragePooling1D": ["avg_pool"], "AveragePooling2D": ["avg_pool"], "AveragePooling3D": ["avg_pool"],
        "GlobalAveragePooling1D": ["mean", "avg_pool"], "GlobalAveragePooling2D": ["mean", "avg_pool"],
        "GlobalMaxPooling1D": ["amax", "max"], "GlobalMaxPooling2D": ["amax", "max_pool", "max"],
        "BatchNormalization": ["batch_norm"], "LayerNormalization": ["layer_norm"], "Embedding": ["embedding"], "ReversibleEmbedding": ["embedding"],
        "LSTM": ["lstm"], "GRU": ["gru"], "SimpleRNN": ["rnn"], "UpSampling2D": ["upsample"], "Resizing": ["upsample"],
        "ZeroPadding1D": ["pad"], "ZeroPadding2D": ["pad"], "Cropping1D": ["slice"], "Cropping2D": ["slice"],
        "Flatten": ["flatten", "view", "reshape"], "Reshape": ["view", "reshape"], "Concatenate": ["cat"],
        "Add": ["add"], "Multiply": ["mul"], "Softmax": ["softmax"],
    ]

    static func matches(_ x: ModelGraph.Op, _ y: ModelGraph.Op) -> Bool {
        switch (x.origin, y.origin) {
        case (.keras, .torch): return keras(x.kind, torch: y.kind)
        case (.torch, .keras): return keras(y.kind, torch: x.kind)
        default: return x.kind == y.kind
        }
    }

    static func keras(_ className: String, torch target: String) -> Bool {
        guard let fragments = torchFragments[className] else { return false }
        let name = target.split(separator: ".").dropFirst().first.map(String.init) ?? target
        return fragments.contains { name.hasPrefix($0) }
    }
}
