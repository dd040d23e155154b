import Foundation
import ParityKeras
import ParityTensor
import ParityTorch

/// The tolerance of the output check: `|b − a| ≤ atol + rtol·|a|` elementwise, A taken as the expected
/// value (`torch.testing.assert_close(actual=B, expected=A)`).
public struct CompareTolerance: Sendable, Codable, Equatable {
    public var rtol: Double
    public var atol: Double
    /// Where the values came from: `torch.testing.assert_close defaults for float32` or `user`.
    public var source: String

    public init(rtol: Double, atol: Double, source: String = "given") {
        self.rtol = rtol
        self.atol = atol
        self.source = source
    }

    /// `torch.testing.assert_close`'s defaults for a dtype (`torch/testing/_comparison.py`,
    /// `_DTYPE_PRECISIONS`): float32 rtol 1.3e-6, atol 1e-5; float64 1e-7, 1e-7.
    public static func assertCloseDefaults(for dtype: DType) -> CompareTolerance {
        switch dtype {
        case .float64: return CompareTolerance(rtol: 1e-7, atol: 1e-7, source: "torch.testing.assert_close defaults for float64")
        default: return CompareTolerance(rtol: 1.3e-6, atol: 1e-5, source: "torch.testing.assert_close defaults for float32")
        }
    }
}

/// Error figures between two tensors of one shape: ``ErrorMetrics`` plus cosine similarity.
public struct PairMetrics: Sendable, Codable, Equatable {
    public var maxAbs: Double
    public var maxRel: Double
    public var maxUlp: UInt64
    public var medianUlp: UInt64
    public var cosine: Double
    public var count: Int

    public init(_ a: Tensor, _ b: Tensor) throws {
        let m = try ErrorMetrics(a, b)
        maxAbs = m.maxAbsolute
        maxRel = m.maxRelative
        maxUlp = m.maxUlps
        medianUlp = m.medianUlps
        count = m.count
        let (x, y) = (a.doubles, b.doubles)
        var (dot, nx, ny) = (0.0, 0.0, 0.0)
        for (u, v) in zip(x, y) { dot += u * v; nx += u * u; ny += v * v }
        cosine = nx == 0 && ny == 0 ? 1 : (nx == 0 || ny == 0 ? 0 : dot / (nx.squareRoot() * ny.squareRoot()))
    }

    enum CodingKeys: String, CodingKey {
        case maxAbs = "max_abs", maxRel = "max_rel", maxUlp = "max_ulp", medianUlp = "median_ulp", cosine, count
    }
}

/// One pair of aligned layers and how far apart their outputs are.
public struct LayerComparison: Sendable, Codable {
    public enum Pairing: String, Sendable, Codable { case name, order }
    public enum Side: String, Sendable, Codable { case a, b }

    public var a: String
    public var b: String
    public var kindA: String
    public var kindB: String
    /// How the layers were paired: same name, or position and shape.
    public var pairedBy: Pairing
    /// The permutation applied to B's tensor to bring it to A's layout (`nil`: none).
    public var permutationB: [Int]?
    /// Whether B's tensor was then reshaped to A's shape (the same elements with unit axes added or
    /// dropped, e.g. `[N, C, 1, 1]` → `[N, C]`).
    public var reshapedB = false
    public var shape: [Int]
    /// A float32 vs B float32.
    public var metrics: PairMetrics
    /// Max |A float64 − B float64|: the difference with rounding taken out.
    public var maxAbsFloat64: Double
    /// Max |A float32 − A float64| and the same for B: each side's own rounding error.
    public var roundingA: Double
    public var roundingB: Double
    /// The side whose float32 output is closer to its own Float64 rerun (`nil` on a tie).
    public var float64Closer: Side?
    /// The float noise this pair is measured against (see ``Comparison``).
    public var noise: Double
    public var exceedsNoise: Bool
    /// A's weights against B's parameters under the faithful convention (`nil`: the layer has none, or the
    /// pair is not Keras ↔ PyTorch).
    public var weights: WeightCheck? = nil

    enum CodingKeys: String, CodingKey {
        case a, b, kindA = "kind_a", kindB = "kind_b", pairedBy = "paired_by", permutationB = "permutation_b", reshapedB = "reshaped_b", shape, metrics
        case maxAbsFloat64 = "max_abs_float64", roundingA = "rounding_a", roundingB = "rounding_b"
        case float64Closer = "float64_closer", noise, exceedsNoise = "exceeds_noise", weights
    }
}

/// Two layers of one name whose outputs have shapes no layout change pairs (e.g. a pooling that rounds
/// its output size the other way): the outputs part there.
public struct ShapeMismatch: Sendable, Codable, Equatable {
    public var a: String
    public var b: String
    public var kindA: String
    public var kindB: String
    public var shapeA: [Int]
    public var shapeB: [Int]

    enum CodingKeys: String, CodingKey { case a, b, kindA = "kind_a", kindB = "kind_b", shapeA = "shape_a", shapeB = "shape_b" }
}

/// How B's tensor is brought to A's shape: a layout permutation, then (when only unit axes differ) a reshape.
struct Alignment {
    var permutation: [Int]?
    var reshape: Bool

    /// The alignment of a B tensor of `shape` with A's `target`: `preferred` (the inverse of the input
    /// permutation) when it fits, else none, else channels-last; each also allowing unit axes to differ.
    static func find(from shape: [Int], to target: [Int], preferring preferred: [Int]?) -> Alignment? {
        var candidates: [[Int]?] = []
        if let preferred, preferred.count == shape.count { candidates.append(preferred) }
        candidates.append(nil)
        if shape.count >= 3 { candidates.append(Layout.channelsLast(rank: shape.count)) }
        for order in candidates where (order.map { Layout.apply($0, to: shape) } ?? shape) == target {
            return Alignment(permutation: order, reshape: false)
        }
        let squeezed = { (s: [Int]) in s.filter { $0 != 1 } }
        for order in candidates where squeezed(order.map { Layout.apply($0, to: shape) } ?? shape) == squeezed(target) {
            return Alignment(permutation: order, reshape: true)
        }
        return nil
    }

    func apply(_ t: Tensor, to shape: [Int]) throws -> Tensor {
        let permuted = try permutation.map { try t.permuted($0) } ?? t
        return reshape ? try permuted.reshaped(shape) : permuted
    }
}

/// A finding: a cause with the layer it was found at. Only causes Parity has tested appear.
public struct Finding: Sendable, Codable, Equatable {
    public var layer: String
    /// A stable id from issue 6's vocabulary (`float-noise`, `weights-differ`, …).
    public var cause: String
    public var a: String?
    public var b: String?
    /// The fraction of the layer's difference the cause explains.
    public var explains: Double
    public var fix: String?
    public var message: String
}

/// The result of comparing two models on one input.
public struct Comparison: Sendable, Codable {
    public enum Verdict: String, Sendable, Codable { case match, mismatch }

    public var verdict: Verdict
    public var a: String
    public var b: String
    public var tolerance: CompareTolerance
    /// How the input was given to B: `nil` as it is, else the permutation applied (and its name).
    public var inputPermutationB: [Int]?
    public var inputLayoutNote: String
    public var output: OutputComparison
    public var layers: [LayerComparison]
    /// Layers of one name on both sides whose outputs have shapes no layout change pairs.
    public var shapeMismatches: [ShapeMismatch]
    /// Layers of A and B that no layer of the other side was paired with.
    public var unpairedA: [String]
    public var unpairedB: [String]
    /// The first paired layer whose difference exceeds float noise.
    public var firstDivergence: String?
    public var findings: [Finding]
    /// The `cause` ids of the hypotheses tested at the first diverging layer (kept or not).
    public var testedHypotheses: [String]

    public struct OutputComparison: Sendable, Codable {
        public var shape: [Int]
        /// B's output shape when no layout change brings it to A's (then there are no metrics).
        public var shapeB: [Int]? = nil
        public var dtype: String
        public var metrics: PairMetrics?
        public var maxAbsFloat64: Double?
        public var withinTolerance: Bool
        /// Elements outside `atol + rtol·|a|` (all of them when the shapes differ).
        public var violations: Int
        enum CodingKeys: String, CodingKey {
            case shape, shapeB = "shape_b", dtype, metrics, maxAbsFloat64 = "max_abs_float64", withinTolerance = "within_tolerance", violations
        }
    }

    enum CodingKeys: String, CodingKey {
        case verdict, a, b, tolerance, inputPermutationB = "input_permutation_b", inputLayoutNote = "input_layout"
        case output, layers, shapeMismatches = "shape_mismatches", unpairedA = "unpaired_a", unpairedB = "unpaired_b", firstDivergence = "first_divergence", findings
        case testedHypotheses = "tested_hypotheses"
    }

    /// Factor on the observed rounding of both sides that a float32 difference must exceed to count as
    /// more than float noise.
    public static let noiseFactor = 2.0
    /// The same for the Float64 difference, whose noise is estimated as the float32 noise scaled by the
    /// ratio of unit roundoffs (2⁻⁵³ / 2⁻²⁴ = 2⁻²⁹): a looser factor, since that scaling is an estimate.
    public static let float64NoiseFactor = 16.0

    /// Runs `a` and `b` on `input` (given in A's layout) in Float32 and Float64, pairs their layers and
    /// measures every pair.
    ///
    /// **Float noise**, per pair: `noise = max_i(|a32ᵢ − a64ᵢ| + |b32ᵢ − b64ᵢ|)`, the rounding each side
    /// actually made at that layer (accumulated from the input on), measured against its own Float64
    /// rerun with the same weights. Since `|a32 − b32| ≤ |a32 − a64| + |b32 − b64| + |a64 − b64|`, a layer
    /// exceeds float noise when `max|a32 − b32| > 2·noise` (only a difference of the Float64 results, i.e.
    /// of the computation itself, can get there) or when `max|a64 − b64| > 16·2⁻²⁹·noise` (the Float64
    /// results differ by far more than Float64 rounding of the same operations would explain: this catches
    /// convention differences too small to see in Float32).
    ///
    /// **Verdict**: `match` when B's output is within `tolerance` of A's (`|b − a| ≤ atol + rtol·|a|`
    /// elementwise), no paired layer exceeds float noise and no paired layer's weights differ from A's under
    /// the faithful convention (``WeightCheck``); otherwise `mismatch`.
    ///
    /// - Parameters:
    ///   - input: the input for A; B gets it permuted to the layout its input shape implies, or `inputB`.
    ///   - tolerance: `nil`: ``CompareTolerance/assertCloseDefaults(for:)`` for float32.
    ///
    /// When A is a PyTorch program and B a Keras model, the layers are measured in Keras's layout with the
    /// roles swapped internally (the diagnosis rebuilds Keras layers) and the report is given back with A
    /// and B as the caller named them; fixes are then for the Keras code.
    public static func run(_ a: ComparedModel, _ b: ComparedModel, input: Tensor, inputB: Tensor? = nil,
                           tolerance: CompareTolerance? = nil) throws -> Comparison {
        if a.framework == .pytorch, b.framework == .keras { return try mirrored(torch: a, keras: b, input: input, inputB: inputB, tolerance: tolerance) }
        return try compare(a, b, input: input, inputB: inputB, tolerance: tolerance, referenceIsA: true)
    }

    /// `run` for a PyTorch reference A and a Keras B: B gets A's input in its own layout, the pair is compared
    /// Keras-first with B's output as the expected value, and every side-specific field is swapped back.
    static func mirrored(torch a: ComparedModel, keras b: ComparedModel, input: Tensor, inputB: Tensor?,
                         tolerance: CompareTolerance?) throws -> Comparison {
        let (xb, permutation, note) = try inputForB(b, input: input, inputB: inputB)
        var c = try compare(b, a, input: xb, inputB: input, inputPermutation: permutation.map(Layout.inverse), tolerance: tolerance,
                            referenceIsA: false)
        func swapPair(_ s: String) -> String {
            let parts = s.components(separatedBy: " ↔ ")
            return parts.count == 2 ? "\(parts[1]) ↔ \(parts[0])" : s
        }
        (c.a, c.b) = (c.b, c.a)
        (c.inputPermutationB, c.inputLayoutNote) = (permutation, note)
        c.layers = c.layers.map { l in
            var m = l
            (m.a, m.b, m.kindA, m.kindB) = (l.b, l.a, l.kindB, l.kindA)
            (m.roundingA, m.roundingB) = (l.roundingB, l.roundingA)
            m.float64Closer = l.float64Closer.map { $0 == .a ? .b : .a }
            m.permutationB = l.permutationB.map(Layout.inverse)
            if let order = m.permutationB, !l.reshapedB { m.shape = Layout.apply(order, to: l.shape) }
            return m
        }
        c.shapeMismatches = c.shapeMismatches.map { ShapeMismatch(a: $0.b, b: $0.a, kindA: $0.kindB, kindB: $0.kindA, shapeA: $0.shapeB, shapeB: $0.shapeA) }
        (c.unpairedA, c.unpairedB) = (c.unpairedB, c.unpairedA)
        c.firstDivergence = c.firstDivergence.map(swapPair)
        c.findings = c.findings.map { f in
            var g = f
            (g.a, g.b, g.layer) = (f.b, f.a, swapPair(f.layer))
            return g
        }
        return c
    }

    /// The input B takes: `inputB`, else A's input permuted to the layout B's input shape implies.
    static func inputForB(_ b: ComparedModel, input: Tensor, inputB: Tensor?) throws -> (Tensor, [Int]?, String) {
        if let inputB {
            // When --input-b is A's input with its axes permuted, that permutation also guides the layout of
            // B's intermediates.
            if let found = Layout.inputPermutation(from: input.shape, to: inputB.shape.map { Optional($0) }), let found,
               try input.permuted(found) == inputB {
                return (inputB, found, "B takes --input-b (shape \(inputB.shape)): A's input permuted \(found) (\(Layout.describe(found)))")
            }
            return (inputB, nil, "B takes --input-b (shape \(inputB.shape))")
        }
        guard let expected = b.expectedInputShape else { return (input, nil, "B takes the input as it is") }
        guard let found = Layout.inputPermutation(from: input.shape, to: expected) else {
            throw CompareError.badInput("the input has shape \(input.shape); B (\(b.label)) expects \(expected.map { $0.map(String.init) ?? "?" }) and no layout permutation fits: give --input-b")
        }
        guard let found else { return (input, nil, "B takes the input as it is") }
        return (try input.permuted(found), found, "B expects \(Layout.apply(found, to: input.shape)): input permuted \(found) (\(Layout.describe(found)))")
    }

    /// The comparison with A's output as the expected value (`referenceIsA`) or B's. `inputPermutation`:
    /// how `inputB` relates to `input`, when known (it guides the layout of B's intermediates).
    static func compare(_ a: ComparedModel, _ b: ComparedModel, input: Tensor, inputB: Tensor?, inputPermutation: [Int]? = nil,
                        tolerance: CompareTolerance?, referenceIsA: Bool) throws -> Comparison {
        guard a.inputCount == 1, b.inputCount == 1 else {
            throw CompareError.unsupported("comparison supports models with one input; A has \(a.inputCount), B has \(b.inputCount)")
        }
        if let expected = a.expectedInputShape, !Layout.fits(input.shape, expected) {
            throw CompareError.badInput("the input has shape \(input.shape); A (\(a.label)) expects \(expected.map { $0.map(String.init) ?? "?" })")
        }
        var (xb, permutation, note) = try inputForB(b, input: input, inputB: inputB)
        if let inputPermutation { permutation = inputPermutation }
        let tolerance = tolerance ?? .assertCloseDefaults(for: .float32)
        let (a32, a64) = (try a.trace(input, dtype: .float32), try a.trace(input, dtype: .float64))
        let (b32, b64) = (try b.trace(xb, dtype: .float32), try b.trace(xb, dtype: .float64))

        // Tensor layout of B's intermediates: prefer the inverse of the input permutation when it fits.
        let back = permutation.map(Layout.inverse)
        func bringB(_ t: Tensor, to shape: [Int]) -> Alignment? { Alignment.find(from: t.shape, to: shape, preferring: back) }

        // Alignment: by name first, then the remaining layers in order by shape between named pairs.
        var pairs: [(Int, Int, LayerComparison.Pairing, Alignment)] = []
        var usedB = Set<Int>()
        for (i, layer) in a32.layers.enumerated() {
            if let j = b32.layers.indices.first(where: { !usedB.contains($0) && Self.sameName(layer.name, b32.layers[$0].name) }),
               let order = bringB(b32.layers[j].tensor, to: layer.tensor.shape) {
                pairs.append((i, j, .name, order)); usedB.insert(j)
            }
        }
        let named = pairs
        for (i, layer) in a32.layers.enumerated() where !pairs.contains(where: { $0.0 == i }) {
            let lower = named.filter { $0.0 < i }.map(\.1).max() ?? -1
            let upper = named.filter { $0.0 > i }.map(\.1).min() ?? b32.layers.count
            let lastOrdered = pairs.filter { $0.0 < i }.map(\.1).max() ?? -1
            guard lower + 1 < upper else { continue }
            for j in Swift.max(lower, lastOrdered) + 1 ..< upper where !usedB.contains(j) {
                if let order = bringB(b32.layers[j].tensor, to: layer.tensor.shape) {
                    pairs.append((i, j, .order, order)); usedB.insert(j)
                    break
                }
            }
        }
        pairs.sort { $0.0 < $1.0 }
        // Layers of one name whose outputs no layout change pairs: the outputs part there (a shape change).
        var shapeMismatches: [(Int, Int)] = []
        for (i, layer) in a32.layers.enumerated() where !pairs.contains(where: { $0.0 == i }) {
            if let j = b32.layers.indices.first(where: { !usedB.contains($0) && Self.sameName(layer.name, b32.layers[$0].name) }) {
                shapeMismatches.append((i, j)); usedB.insert(j)
            }
        }

        var layers: [LayerComparison] = []
        for (i, j, pairing, alignment) in pairs {
            let (x32, x64) = (a32.layers[i].tensor, a64.layers[i].tensor)
            let (y32, y64) = (try alignment.apply(b32.layers[j].tensor, to: x32.shape), try alignment.apply(b64.layers[j].tensor, to: x32.shape))
            var pair = try measure(a: a32.layers[i], b: b32.layers[j], pairing: pairing, order: alignment.permutation, x32: x32, x64: x64, y32: y32, y64: y64)
            pair.reshapedB = alignment.reshape
            if let layer = a32.layers[i].keras, case .torch(let program) = b.body {
                pair.weights = try WeightCheck.compare(layer, parameters: moduleParameters(program, path: pair.b), path: pair.b)
            }
            layers.append(pair)
        }

        // Output.
        let output: OutputComparison
        if let alignment = bringB(b32.output, to: a32.output.shape) {
            let (y32, y64) = (try alignment.apply(b32.output, to: a32.output.shape), try alignment.apply(b64.output, to: a32.output.shape))
            let metrics = try PairMetrics(a32.output, y32)
            var violations = 0
            for (x, y) in zip(a32.output.doubles, y32.doubles)
            where !(Swift.abs(y - x) <= tolerance.atol + tolerance.rtol * Swift.abs(referenceIsA ? x : y)) {
                violations += 1
            }
            output = OutputComparison(shape: a32.output.shape, dtype: "float32", metrics: metrics,
                                      maxAbsFloat64: try PairMetrics(a64.output, y64).maxAbs,
                                      withinTolerance: violations == 0, violations: violations)
        } else {
            output = OutputComparison(shape: a32.output.shape, shapeB: b32.output.shape, dtype: "float32", metrics: nil, maxAbsFloat64: nil,
                                      withinTolerance: false, violations: a32.output.count)
        }
        let weightsDiffer = layers.contains { $0.weights?.status == .different }
        // Where the outputs first part: a pair beyond float noise or a pair of one name with another shape,
        // whichever comes first in A.
        let firstNoise = layers.firstIndex(where: \.exceedsNoise)
        let firstShape = shapeMismatches.first
        let shapeFirst = firstShape.map { shape in firstNoise.map { shape.0 < pairs[$0].0 } ?? true } ?? false
        let verdict: Verdict = output.withinTolerance && firstNoise == nil && shapeMismatches.isEmpty && !weightsDiffer ? .match : .mismatch
        var findings: [Finding] = []
        if verdict == .match {
            let last = layers.last
            let name = last.map { "\($0.a) ↔ \($0.b)" } ?? "output"
            findings.append(Finding(
                layer: name, cause: "float-noise",
                a: last.map { String(format: "rounding %.3g vs Float64", $0.roundingA) },
                b: last.map { String(format: "rounding %.3g vs Float64", $0.roundingB) },
                explains: 1, fix: nil,
                message: "every paired layer agrees within float noise (each side's own float32 rounding, measured against its Float64 rerun); the output difference \(String(format: "%.3g", output.metrics?.maxAbs ?? 0)) is rounding, not a convention difference"))
        }
        // Diagnosis: convention hypotheses at the first diverging pair (A Keras, B PyTorch).
        var tested: [String] = []
        var divergence: Diagnosis.Divergence?
        if shapeFirst, let (i, j) = firstShape {
            let t = b32.layers[j].tensor
            let order = back.flatMap { $0.count == t.rank ? $0 : nil }
            let bring: (Tensor) throws -> Tensor = { x in try order.map { try x.permuted($0) } ?? x }
            divergence = Diagnosis.Divergence(a32: a32.layers[i], a64: a64.layers[i], nameB: b32.layers[j].name, kindB: b32.layers[j].kind,
                                              permutationB: order, b32: try bring(t), b64: try bring(b64.layers[j].tensor), measured: nil)
        } else if let index = firstNoise {
            let (i, j, _, alignment) = pairs[index]
            let shape = a32.layers[i].tensor.shape
            divergence = Diagnosis.Divergence(a32: a32.layers[i], a64: a64.layers[i], nameB: b32.layers[j].name, kindB: b32.layers[j].kind,
                                              permutationB: alignment.permutation,
                                              b32: try alignment.apply(b32.layers[j].tensor, to: shape),
                                              b64: try alignment.apply(b64.layers[j].tensor, to: shape), measured: layers[index])
        }
        if let divergence, a.framework == .keras, b.framework == .pytorch {
            let parameters: [String: Tensor]
            if case .torch(let program) = b.body { parameters = moduleParameters(program, path: divergence.nameB) } else { parameters = [:] }
            let result = try Diagnosis.diagnose(divergence, b: b, weightsB: parameters, kerasIsReference: referenceIsA)
            findings += result.findings
            tested = result.tested
        }
        let pairedA = Set(pairs.map(\.0) + shapeMismatches.map(\.0)), pairedB = Set(pairs.map(\.1) + shapeMismatches.map(\.1))
        return Comparison(
            verdict: verdict, a: a.label, b: b.label, tolerance: tolerance, inputPermutationB: permutation, inputLayoutNote: note,
            output: output, layers: layers,
            shapeMismatches: shapeMismatches.map { i, j in
                ShapeMismatch(a: a32.layers[i].name, b: b32.layers[j].name, kindA: a32.layers[i].kind, kindB: b32.layers[j].kind,
                              shapeA: a32.layers[i].tensor.shape, shapeB: b32.layers[j].tensor.shape)
            },
            unpairedA: a32.layers.indices.filter { !pairedA.contains($0) }.map { a32.layers[$0].name },
            unpairedB: b32.layers.indices.filter { !pairedB.contains($0) }.map { b32.layers[$0].name },
            firstDivergence: shapeFirst ? firstShape.map { "\(a32.layers[$0.0].name) ↔ \(b32.layers[$0.1].name)" }
                : firstNoise.map { "\(layers[$0].a) ↔ \(layers[$0].b)" },
            findings: findings, testedHypotheses: tested)
    }

    /// The parameters and buffers of B's module at `path` (and its submodules), keyed by their last name
    /// component (`conv.conv.weight` → `weight`); names that occur twice below `path` are left out.
    static func moduleParameters(_ program: TorchProgram, path: String) -> [String: Tensor] {
        var byName: [String: Tensor] = [:]
        var seen: [String: Int] = [:]
        for (key, tensor) in program.weights where key.hasPrefix(path + ".") {
            let name = String(key.split(separator: ".").last ?? "")
            seen[name, default: 0] += 1
            byName[name] = tensor
        }
        return byName.filter { seen[$0.key] == 1 }
    }

    /// Keras layer `conv` ↔ PyTorch module `conv` (or `block.conv`, matched by its last component).
    static func sameName(_ a: String, _ b: String) -> Bool {
        a == b || b.split(separator: ".").last.map(String.init) == a
    }

    static func measure(a: Trace.Layer, b: Trace.Layer, pairing: LayerComparison.Pairing, order: [Int]?,
                        x32: Tensor, x64: Tensor, y32: Tensor, y64: Tensor) throws -> LayerComparison {
        let metrics = try PairMetrics(x32, y32)
        let (ax, ax64, by, by64) = (x32.doubles, x64.doubles, y32.doubles, y64.doubles)
        var noise = 0.0, roundingA = 0.0, roundingB = 0.0, d64 = 0.0
        for i in ax.indices {
            let ra = Swift.abs(ax[i] - ax64[i]), rb = Swift.abs(by[i] - by64[i])
            roundingA = Swift.max(roundingA, ra)
            roundingB = Swift.max(roundingB, rb)
            noise = Swift.max(noise, ra + rb)
            d64 = Swift.max(d64, Swift.abs(ax64[i] - by64[i]))
        }
        let exceeds = !(metrics.maxAbs <= noiseFactor * noise) || !(d64 <= float64NoiseFactor * 0x1p-29 * noise)
        return LayerComparison(
            a: a.name, b: b.name, kindA: a.kind, kindB: b.kind, pairedBy: pairing, permutationB: order, shape: x32.shape,
            metrics: metrics, maxAbsFloat64: d64, roundingA: roundingA, roundingB: roundingB,
            float64Closer: roundingA < roundingB ? .a : (roundingB < roundingA ? .b : nil), noise: noise, exceedsNoise: exceeds)
    }
}

/// A comparison that cannot be made.
public enum CompareError: Error, CustomStringConvertible, Equatable {
    case badInput(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .badInput(let m), .unsupported(let m): return m
        }
    }
}
