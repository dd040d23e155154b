import Foundation
import ParityKeras
import ParityTensor
import ParityTorch

/// The tolerance of the output check: `|b − a| ≤ atol + rtol·|a|` elementwise, A taken as the expected
/// value (`torch.testing.assert_close(actual=B, expected=A)`).
public struct CompareTolerance: Sendable, Codable, Equatable {
    /// The relative tolerance, a multiple of `|a|`.
    public var rtol: Double
    /// The absolute tolerance.
    public var atol: Double
    /// Where the values came from: `torch.testing.assert_close defaults for float32` or `user`.
    public var source: String

    /// A tolerance with its values and where they came from.
    public init(rtol: Double, atol: Double, source: String = "given") {
        self.rtol = rtol
        self.atol = atol
        self.source = source
    }

    /// `torch.testing.assert_close`'s defaults for a dtype (``AssertCloseDefaults``): float64's for float64,
    /// float32's otherwise.
    public static func assertCloseDefaults(for dtype: DType) -> CompareTolerance {
        switch dtype {
        case .float64:
            let (rtol, atol) = AssertCloseDefaults.float64
            return CompareTolerance(rtol: rtol, atol: atol, source: "torch.testing.assert_close defaults for float64")
        default:
            let (rtol, atol) = AssertCloseDefaults.float32
            return CompareTolerance(rtol: rtol, atol: atol, source: "torch.testing.assert_close defaults for float32")
        }
    }
}

/// The arrays a model runs on: one unnamed array for a single-input model, or arrays named after the
/// inputs (an `.npz`'s keys: Keras input names, `.pt2` user input names), else taken in order.
public struct ModelInputs: Sendable {
    /// The arrays, each with its name (`nil` when unnamed), in the order given.
    public var arrays: [(name: String?, tensor: Tensor)]

    /// One unnamed array, for a single-input model.
    public init(_ tensor: Tensor) { arrays = [(nil, tensor)] }
    /// Arrays named after the model's inputs (matched by name when every input is named, else taken in order).
    public init(named: [(String, Tensor)]) { arrays = named.map { (Optional($0.0), $0.1) } }

    /// The arrays in the order of `specs`: by name when every input is named, else in order.
    func ordered(for specs: [ComparedModel.InputSpec], side: String) throws -> [Tensor] {
        let names = specs.map(\.name)
        if arrays.count == 1, specs.count == 1 { return [arrays[0].tensor] }
        if names.allSatisfy({ n in arrays.contains { $0.name == n } }) {
            return names.map { n in arrays.first { $0.name == n }!.tensor }
        }
        guard arrays.count == specs.count else {
            throw CompareError.badInput("\(side) takes \(specs.count) inputs \(names); received \(arrays.count) arrays \(arrays.map { $0.name ?? "?" }) (name them after the inputs in an .npz)")
        }
        return arrays.map(\.tensor)
    }
}

/// How one of B's inputs was fed.
public struct InputFeed: Sendable, Codable {
    /// A's input it was fed from (`nil` when B's input was given separately).
    public var a: String?
    /// B's input.
    public var b: String
    /// A's input shape.
    public var shapeA: [Int]?
    /// The shape B was fed.
    public var shapeB: [Int]
    /// A's input dtype.
    public var dtypeA: String?
    /// The dtype B was fed.
    public var dtypeB: String
    /// How A's input relates to B's (`nil`: unknown, B's input was given separately and is not A's re-laid out).
    public var alignment: Alignment?
    /// What was done, in words.
    public var note: String

    /// The permutation taking A's input to B's, when B's input is A's with its axes permuted.
    public var permutation: [Int]? { alignment.flatMap { $0.reshaped ? nil : $0.from(.a).permutation } }

    enum CodingKeys: String, CodingKey { case a, b, shapeA = "shape_a", shapeB = "shape_b", dtypeA = "dtype_a", dtypeB = "dtype_b", alignment, note }
}

/// One pair of tensors computing the same quantity, and how far apart they are.
public struct LayerComparison: Sendable, Codable {
    /// A's tensor (a Keras layer, `block/conv` in a nested model; a `.pt2` value with its module) and B's.
    public var a: String
    /// B's tensor (a Keras layer or a `.pt2` value).
    public var b: String
    /// What computes A's tensor: the Keras layer class, or the ATen operator of a `.pt2` node.
    public var kindA: String
    /// What computes B's tensor, as ``kindA``.
    public var kindB: String
    /// How the pair was found.
    public var pairedBy: Evidence
    /// How B's tensor is brought to A's layout.
    public var alignment: Alignment
    /// A's shape.
    public var shape: [Int]
    /// The two models' tensors as computed from their own inputs.
    public var endToEnd: PairMeasurement
    /// The part of each model computing this tensor from the nearest paired tensors, both run on A's own values
    /// there (B's in its layout): the difference this layer introduces itself. `nil` when it could not be rerun.
    public var local: PairMeasurement?
    /// Why there is no local measurement, or what limits it.
    public var localNote: String?
    /// The operations of that part on each side (Keras layers; `.pt2` nodes).
    public var partA: [String]
    /// B's operations of that part.
    public var partB: [String]
    /// Whether the pair introduces a difference beyond float noise (its local measurement exceeds it; the
    /// end-to-end one when there is no local one).
    public var diverges: Bool
    /// The Keras layer's weights against the PyTorch parameters its part reads, under the faithful convention.
    public var weights: WeightCheck? = nil

    /// The pair's name in reports: `a`, or `a ↔ b` when the names differ.
    public var name: String { a == b ? a : "\(a) ↔ \(b)" }

    enum CodingKeys: String, CodingKey {
        case a, b, kindA = "kind_a", kindB = "kind_b", pairedBy = "paired_by", alignment, shape, endToEnd = "end_to_end", local
        case localNote = "local_note", partA = "part_a", partB = "part_b", diverges, weights
    }
}

/// Tensors of a matching operation whose shapes no layout change pairs (e.g. a pooling that rounds its
/// output size the other way): the outputs part there.
public struct ShapeMismatch: Sendable, Codable, Equatable {
    /// A's tensor.
    public var a: String
    /// B's tensor.
    public var b: String
    /// The Keras layer class or ATen operator computing A's tensor.
    public var kindA: String
    /// The Keras layer class or ATen operator computing B's tensor.
    public var kindB: String
    /// A's shape.
    public var shapeA: [Int]
    /// B's shape.
    public var shapeB: [Int]

    enum CodingKeys: String, CodingKey { case a, b, kindA = "kind_a", kindB = "kind_b", shapeA = "shape_a", shapeB = "shape_b" }
}

/// A layer of one model that no tensor of the other is paired with, and why.
public struct Unpaired: Sendable, Codable, Equatable {
    /// The layer or value.
    public var name: String
    /// Its Keras layer class or ATen operator.
    public var kind: String
    /// Why it is unpaired, in words.
    public var reason: String

    /// An unpaired layer and the reason.
    public init(name: String, kind: String, reason: String) {
        self.name = name
        self.kind = kind
        self.reason = reason
    }
}

/// A cause found at a layer: only causes Parity has tested appear.
public struct Finding: Sendable, Codable, Equatable {
    /// The pair (`bn ↔ batch_norm (bn1)`).
    public var layer: String
    /// The cause id.
    public var cause: Cause
    /// A's side of the convention (its value, such as an epsilon), when the cause has one.
    public var a: String?
    /// B's side of the convention, as ``a``.
    public var b: String?
    /// The fraction of the layer's difference the cause explains.
    public var explains: Double
    /// The change to the port that removes the difference, when there is one.
    public var fix: String?
    /// The finding in one sentence, as `parity compare` prints it.
    public var message: String
}

/// The result of comparing two models on one input.
public struct Comparison: Sendable, Codable {
    /// The outcome of a comparison (``CompareExitCode`` is its exit code).
    public enum Verdict: String, Sendable, Codable {
        /// Every output within tolerance, and no pair introduces a difference beyond float noise.
        case match
        /// An output out of tolerance, or a pair that introduces a difference or changes a shape.
        case mismatch
    }

    /// One output of A against the corresponding output of B.
    public struct OutputComparison: Sendable, Codable {
        /// A's output.
        public var a: String
        /// B's output.
        public var b: String
        /// A's output shape.
        public var shape: [Int]
        /// B's output shape when no layout change brings it to A's (then there are no metrics).
        public var shapeB: [Int]? = nil
        /// How B's output is brought to A's layout (`nil` when no layout change does).
        public var alignment: Alignment?
        /// The dtype both outputs are compared in.
        public var dtype: String
        /// The error between the two outputs (`nil` when the shapes differ).
        public var metrics: PairMetrics?
        /// The largest absolute difference between the outputs of the two models run in Float64.
        public var maxAbsFloat64: Double?
        /// Whether every element of B is within the tolerance of A's.
        public var withinTolerance: Bool
        /// Elements outside `atol + rtol·|expected|` (all of them when the shapes differ).
        public var violations: Int
        enum CodingKeys: String, CodingKey {
            case a, b, shape, shapeB = "shape_b", alignment, dtype, metrics, maxAbsFloat64 = "max_abs_float64", withinTolerance = "within_tolerance", violations
        }
    }

    /// Match or mismatch.
    public var verdict: Verdict
    /// Model A's label (its file), the reference.
    public var a: String
    /// Model B's label, checked against A.
    public var b: String
    /// A's framework.
    public var frameworkA: ComparedModel.Framework
    /// B's framework.
    public var frameworkB: ComparedModel.Framework
    /// The tolerance of the output check.
    public var tolerance: CompareTolerance
    /// How each of B's inputs was fed from A's.
    public var inputs: [InputFeed]
    /// Every output of A against B's.
    public var outputs: [OutputComparison]
    /// Every pair, in A's order.
    public var layers: [LayerComparison]
    /// Matching operations whose shapes no layout change pairs.
    public var shapeMismatches: [ShapeMismatch]
    /// A's layers no tensor of B is paired with.
    public var unpairedA: [Unpaired]
    /// B's values no tensor of A is paired with.
    public var unpairedB: [Unpaired]
    /// The first pair that introduces a difference beyond float noise (or whose shapes differ).
    public var firstDivergence: String?
    /// The causes found at the diverging layers, each one Parity has tested.
    public var findings: [Finding]
    /// The cause ids tested at the diverging layers (kept or not).
    public var testedHypotheses: [Cause]
    /// Each paired Keras layer with weights and the PyTorch parameters its faithful port reads (for a training
    /// comparison, ``TrainingComparison``); not part of the report.
    var weightPairings: [WeightPairing] = []

    /// The first output's comparison.
    public var output: OutputComparison { outputs[0] }
    /// How the inputs were fed to B, in words.
    public var inputLayoutNote: String { inputs.map(\.note).joined(separator: "; ") }

    enum CodingKeys: String, CodingKey {
        case verdict, a, b, frameworkA = "framework_a", frameworkB = "framework_b", tolerance, inputs, outputs, layers
        case shapeMismatches = "shape_mismatches", unpairedA = "unpaired_a", unpairedB = "unpaired_b", firstDivergence = "first_divergence"
        case findings, testedHypotheses = "tested_hypotheses"
    }

    /// ``run(_:_:inputs:inputsB:tolerance:progress:)`` for one input array (`inputB`: B's own input, else
    /// `input` brought to B's layout).
    public static func run(_ a: ComparedModel, _ b: ComparedModel, input: Tensor, inputB: Tensor? = nil,
                           tolerance: CompareTolerance? = nil, progress: CompareProgress = .none) throws -> Comparison {
        try run(a, b, inputs: ModelInputs(input), inputsB: inputB.map(ModelInputs.init), tolerance: tolerance, progress: progress)
    }

    /// Compares two models on one set of inputs, in stages: each model traced in Float32 and Float64
    /// (`TracedModel`), their tensors paired by dataflow (`Matcher`), every pair measured end to end and
    /// locally (``PairMeasurement``), the pairs that introduce a difference diagnosed (`Diagnosis`), the verdict.
    ///
    /// - Parameters:
    ///   - a: The reference model.
    ///   - b: The model checked against it.
    ///   - inputs: A's inputs in A's layout. B gets them brought to its layout and dtype (found from its
    ///     inputs' shapes: NHWC → NCHW, batch- ↔ time-first; int32 → int64 token ids), unless `inputsB` is given.
    ///   - inputsB: B's own inputs, when they are not A's brought to B's layout.
    ///   - tolerance: of the output check; `nil`: ``CompareTolerance/assertCloseDefaults(for:)`` for float32.
    ///   - progress: Receives a line per stage of a slow comparison.
    ///
    /// **Verdict**: `match` when every output of B is within `tolerance` of A's and no pair introduces a
    /// difference beyond float noise or changes a shape; otherwise `mismatch`.
    public static func run(_ a: ComparedModel, _ b: ComparedModel, inputs: ModelInputs, inputsB: ModelInputs? = nil,
                           tolerance: CompareTolerance? = nil, progress: CompareProgress = .none) throws -> Comparison {
        try run(a, b, inputs: inputs, inputsB: inputsB, tolerance: tolerance, progress: progress, pairWeights: false)
    }

    /// ``run(_:_:inputs:inputsB:tolerance:progress:)``; `pairWeights`: also pair each Keras layer's weights with
    /// the PyTorch parameters its part reads (``weightPairings``, for a training comparison).
    static func run(_ a: ComparedModel, _ b: ComparedModel, inputs: ModelInputs, inputsB: ModelInputs?,
                    tolerance: CompareTolerance?, progress: CompareProgress, pairWeights: Bool) throws -> Comparison {
        let tolerance = tolerance ?? .assertCloseDefaults(for: .float32)
        let xa = try inputs.ordered(for: a.inputs, side: "A (\(a.label))")
        for (x, spec) in zip(xa, a.inputs) {
            if let expected = spec.shape, !Layout.fits(x.shape, expected) {
                throw CompareError.badInput("input '\(spec.name)' has shape \(x.shape); A (\(a.label)) expects \(expected.map { $0.map(String.init) ?? "?" })")
            }
        }
        let (xb, feeds) = try InputFeed.feed(a, b, xa, given: inputsB)
        progress.say("tracing A and B")
        let traceA = try TracedModel(a, inputs: xa, progress: progress)
        let traceB = try TracedModel(b, inputs: xb, progress: progress)

        // Pairing: the coarse model's tensors (Keras's layers) look for their partners in the other.
        let xSide: Alignment.Side = a.framework == .pytorch && b.framework == .keras ? .b : .a
        let (x, y) = xSide == .a ? (traceA, traceB) : (traceB, traceA)
        var anchors: [(x: Int, y: Int, alignment: Alignment)] = []
        for (index, feed) in feeds.enumerated() {
            guard let alignment = feed.alignment, let ia = a.inputs.firstIndex(where: { $0.name == feed.a }) else { continue }
            let (ta, tb) = (traceA.graph.inputs[ia], traceB.graph.inputs[index])
            anchors.append(xSide == .a ? (ta, tb, alignment) : (tb, ta, alignment.from(.a)))
        }
        var matcher = Matcher(x: x, y: y, xSide: xSide, inputs: anchors)
        progress.say("pairing")
        try matcher.run(progress: progress)

        progress.say("measuring")
        var judged: [(t: Int, judgement: Judgement)] = []
        for t in matcher.links.keys.sorted() where matcher.links[t]?.evidence != .input {
            judged.append((t, try matcher.judge(t)))
        }
        let outputs = try OutputComparison.compare(traceA, traceB, matcher: matcher, tolerance: tolerance)
        var layers = judged.map { $0.judgement.comparison }
        let mismatches = matcher.shapeMismatches.sorted { $0.key < $1.key }.map { t, yid in
            ShapeMismatch(a: xSide == .a ? x.displayName(t) : y.displayName(yid), b: xSide == .a ? y.displayName(yid) : x.displayName(t),
                          kindA: xSide == .a ? x.kind(t) : y.kind(yid), kindB: xSide == .a ? y.kind(yid) : x.kind(t),
                          shapeA: (xSide == .a ? x.shape(t) : y.shape(yid)) ?? [], shapeB: (xSide == .a ? y.shape(yid) : x.shape(t)) ?? [])
        }

        // Diagnosis of every pair that introduces a difference (Keras ↔ PyTorch), in A's order.
        var findings: [Finding] = []
        var tested: [Cause] = []
        let referenceIsKeras = a.framework == .keras
        for (index, entry) in judged.enumerated() where layers[index].diverges {
            if a.framework == b.framework {
                let result = try Diagnosis.diagnoseSameFramework(entry.judgement, matcher: matcher)
                findings += result.findings
                for cause in result.tested where !tested.contains(cause) { tested.append(cause) }
                continue
            }
            var result = try Diagnosis.diagnose(entry.judgement, matcher: matcher, kerasIsReference: referenceIsKeras)
            // Weights rounded to float16/bfloat16 on one side: more specific than the weights-differ it also shows as.
            let rounding = try Diagnosis.precision(entry.judgement, matcher: matcher)
            if !rounding.findings.isEmpty { result.findings = rounding.findings + result.findings.filter { $0.cause != .weightsDiffer } }
            result.tested += rounding.tested.filter { !result.tested.contains($0) }
            if result.findings.isEmpty, matcher.xSide == .a || matcher.y.framework == .pytorch {
                // Settings inside a composite layer, changed in the PyTorch part's own nodes.
                let inside = try Diagnosis.partSettings(entry.judgement, matcher: matcher)
                result.findings = inside.findings
                result.tested += inside.tested.filter { !result.tested.contains($0) }
            }
            findings += result.findings
            for cause in result.tested where !tested.contains(cause) { tested.append(cause) }
            layers[index].weights = layers[index].weights ?? result.weights
        }
        var shapeFindings: [Finding] = []
        for (t, yid) in matcher.shapeMismatches.sorted(by: { $0.key < $1.key }) {
            let result = try Diagnosis.diagnoseShape(t, yid, matcher: matcher, kerasIsReference: referenceIsKeras)
            shapeFindings += result.findings
            for cause in result.tested where !tested.contains(cause) { tested.append(cause) }
        }
        findings = shapeFindings + findings
        for index in layers.indices where layers[index].weights == nil {
            layers[index].weights = try Diagnosis.weightCheck(judged[index].judgement, matcher: matcher)
        }
        var pairings: [WeightPairing] = []
        for entry in judged where pairWeights {
            guard let s = Diagnosis.sides(entry.judgement, matcher), !pairings.contains(where: { $0.layer.location == s.layer.location }),
                  let pairing = try WeightPairing(s.layer, lookup: s.lookup) else { continue }
            pairings.append(pairing)
        }

        let firstDiverging = layers.first(where: \.diverges)
        let verdict: Verdict = outputs.allSatisfy(\.withinTolerance) && firstDiverging == nil && mismatches.isEmpty ? .match : .mismatch
        if verdict == .match {
            let last = layers.last
            findings.append(Finding(
                layer: last?.name ?? "output", cause: .floatNoise,
                a: last.map { String(format: "rounding %.3g vs Float64", $0.endToEnd.roundingA) },
                b: last.map { String(format: "rounding %.3g vs Float64", $0.endToEnd.roundingB) },
                explains: 1, fix: nil,
                message: "every paired layer agrees within float noise (each side's own float32 rounding, measured against its Float64 run); "
                    + "the output difference \(String(format: "%.3g", outputs.map { $0.metrics?.maxAbs ?? 0 }.max() ?? 0)) is rounding, not a convention difference"))
        }
        let (unpairedX, unpairedY) = matcher.unpairedReport()
        return Comparison(
            verdict: verdict, a: a.label, b: b.label, frameworkA: a.framework, frameworkB: b.framework, tolerance: tolerance,
            inputs: feeds, outputs: outputs, layers: layers, shapeMismatches: mismatches,
            unpairedA: xSide == .a ? unpairedX : unpairedY, unpairedB: xSide == .a ? unpairedY : unpairedX,
            firstDivergence: mismatches.first.map { "\($0.a) ↔ \($0.b)" } ?? firstDiverging?.name,
            findings: findings, testedHypotheses: tested, weightPairings: pairings)
    }
}

extension InputFeed {
    /// Input names that mean the same input in the two libraries most pairs come from: KerasHub backbones'
    /// inputs and the Hugging Face `transformers` `forward` arguments their converters read the weights for.
    static let synonyms: [Set<String>] = [["token_ids", "input_ids"], ["padding_mask", "attention_mask"], ["segment_ids", "token_type_ids"],
                                          ["images", "pixel_values"]]

    static func sameInput(_ a: String, _ b: String) -> Bool { synonyms.contains { $0.contains(a) && $0.contains(b) } }

    /// B's inputs: `given`, else A's inputs (matched by name, then by ``synonyms``, else by position) brought to the layout B's input
    /// shapes imply and to B's dtype.
    static func feed(_ a: ComparedModel, _ b: ComparedModel, _ xa: [Tensor], given: ModelInputs?) throws -> ([Tensor], [InputFeed]) {
        let specsA = a.inputs, specsB = b.inputs
        let xbGiven = try given?.ordered(for: specsB, side: "B (\(b.label))")
        var tensors: [Tensor] = []
        var feeds: [InputFeed] = []
        for (j, spec) in specsB.enumerated() {
            let i = specsA.firstIndex { $0.name == spec.name } ?? specsA.firstIndex { sameInput($0.name, spec.name) } ?? (j < specsA.count ? j : nil)
            let (xi, specA) = (i.map { xa[$0] }, i.map { specsA[$0] })
            if let xbGiven {
                let xb = xbGiven[j]
                var alignment: Alignment?
                if let xi {
                    alignment = Alignment.candidates(source: .b, from: xb.shape, to: xi.shape).first { al in
                        (try? al.toA(xb).doubles == xi.doubles) == true
                    }
                }
                let relation = alignment.map { $0.isIdentity ? "A's input as it is" : "A's input \($0)" } ?? "not A's input re-laid out: layers are compared end to end only where they read it"
                feeds.append(InputFeed(a: specA?.name, b: spec.name, shapeA: xi?.shape, shapeB: xb.shape, dtypeA: specA?.dtype, dtypeB: spec.dtype,
                                       alignment: alignment, note: "B's '\(spec.name)' given by --input-b (shape \(xb.shape)): \(relation)"))
                tensors.append(xb)
                continue
            }
            guard let xi, let specA else {
                throw CompareError.badInput("B (\(b.label)) takes an input '\(spec.name)' that A has no counterpart for: give B's inputs with --input-b")
            }
            guard let expected = spec.shape, let found = Layout.inputPermutation(from: xi.shape, to: expected) else {
                throw CompareError.badInput("input '\(specA.name)' has shape \(xi.shape); B (\(b.label)) expects '\(spec.name)' \((spec.shape ?? []).map { $0.map(String.init) ?? "?" }) and no layout permutation fits: give --input-b")
            }
            var xb = try found.map { try xi.permuted($0) } ?? xi
            var notes: [String] = []
            if let found { notes.append("permuted \(found) (\(Layout.describe(found)))") }
            let integerB = spec.dtype.hasPrefix("int") || spec.dtype.hasPrefix("uint")
            if integerB != !xb.dtype.isFloatingPoint || specA.dtype != spec.dtype {
                xb = xb.cast(to: integerB ? .int64 : .float32)
                notes.append("\(specA.dtype) → \(spec.dtype)")
            }
            let alignment = Alignment(source: .b, permutation: found.map(Layout.inverse), shapeA: xi.shape, shapeB: xb.shape)
            let naming = specA.name == spec.name ? "'\(spec.name)'" : "A's '\(specA.name)' → B's '\(spec.name)'"
            feeds.append(InputFeed(a: specA.name, b: spec.name, shapeA: xi.shape, shapeB: xb.shape, dtypeA: specA.dtype, dtypeB: spec.dtype,
                                   alignment: alignment,
                                   note: notes.isEmpty ? "\(naming) as it is" : "\(naming) \(notes.joined(separator: ", ")) → \(xb.shape)"))
            tensors.append(xb)
        }
        return (tensors, feeds)
    }
}

extension Alignment {
    /// The same relation with `side` as its source (a pure permutation or identity).
    func from(_ side: Side) -> Alignment {
        guard side != source else { return self }
        precondition(!reshaped, "a reshaping alignment keeps its source")
        return Alignment(source: side, permutation: permutation.map(Layout.inverse), shapeA: shapeA, shapeB: shapeB)
    }
}

extension Comparison.OutputComparison {
    /// Each output of A against the output of B paired with it (a KerasHub backbone's `pooled_output,
    /// sequence_output` against `transformers`' `last_hidden_state, pooler_output`), else B's output of the same
    /// position: aligned as their pair when they are paired, else by the layout under which their Float64
    /// values agree best.
    static func compare(_ a: TracedModel, _ b: TracedModel, matcher: Matcher, tolerance: CompareTolerance) throws -> [Self] {
        let partners = a.graph.outputs.enumerated().compactMap { index, ta -> (Int, Int)? in
            let linked = b.graph.outputs.first { tb in
                let (tx, ty) = matcher.xSide == .a ? (ta, tb) : (tb, ta)
                return matcher.links[tx]?.all.contains { $0.y == ty } == true
            }
            return (linked ?? (index < b.graph.outputs.count ? b.graph.outputs[index] : nil)).map { (ta, $0) }
        }
        return try partners.map { ta, tb in
            let (a32, a64, b32, b64) = (a.f32[ta]!, a.f64[ta]!, b.f32[tb]!, b.f64[tb]!)
            var alignments = Alignment.candidates(source: .b, from: b32.shape, to: a32.shape)
            if let link = matcher.xSide == .a ? matcher.links[ta] : matcher.links[tb], link.y == (matcher.xSide == .a ? tb : ta) {
                alignments.insert(link.alignment.source == .b ? link.alignment : (link.alignment.reshaped ? link.alignment : link.alignment.from(.b)), at: 0)
            }
            let scored = alignments.compactMap { al -> (Alignment, Double)? in
                guard let y = try? al.toA(b64), y.shape == a64.shape else { return nil }
                return (al, zip(a64.doubles, y.doubles).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) })
            }
            guard let (alignment, _) = scored.min(by: { $0.1 < $1.1 }) else {
                return Self(a: a.displayName(ta), b: b.displayName(tb), shape: a32.shape, shapeB: b32.shape, dtype: "float32", metrics: nil, maxAbsFloat64: nil,
                            withinTolerance: false, violations: a32.count)
            }
            let y32 = try alignment.toA(b32), y64 = try alignment.toA(b64)
            var violations = 0
            for (x, y) in zip(a32.doubles, y32.doubles) where !(Swift.abs(y - x) <= tolerance.atol + tolerance.rtol * Swift.abs(x)) { violations += 1 }
            return Self(a: a.displayName(ta), b: b.displayName(tb), shape: a32.shape, alignment: alignment, dtype: "float32",
                        metrics: try PairMetrics(a32.cast(to: .float32), y32.cast(to: .float32)),
                        maxAbsFloat64: try PairMetrics(a64, y64).maxAbs, withinTolerance: violations == 0, violations: violations)
        }
    }
}

/// A comparison that cannot be made.
public enum CompareError: Error, CustomStringConvertible, Equatable {
    /// A file, input array or argument that cannot be used, and why.
    case badInput(String)
    /// A comparison Parity does not make, and why.
    case unsupported(String)

    public var description: String {
        switch self {
        case .badInput(let m), .unsupported(let m): return m
        }
    }
}
