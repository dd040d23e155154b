import Foundation
import ParityKeras
import ParityNN
import ParityTorch
import ParityTrain

/// Runs a training comparison: both sides in Float32 and Float64, measured step by step in one naming
/// (the Keras side's variables in a Keras ↔ PyTorch pair), then the hypotheses (``TrainingHypothesis``)
/// rerun on the side that is changed: the Keras side of a cross-framework pair, else B.
struct TrainingDriver {
    var a: TrainingSide
    var b: TrainingSide
    var inputsA: [Tensor]
    var inputsB: [Tensor]
    /// The axis of each of B's inputs that holds the rows (nil: axis 0).
    var batchAxesB: [Int]?
    var targetA: Tensor
    var targetB: Tensor
    var steps: Int
    var batchSize: Int?
    var pairings: [WeightPairing]
    var programB: TorchProgram?

    /// A run of one side in the compared naming, per step.
    struct Mapped {
        var losses: [Double]
        var gradients: [[String: Tensor]]
        var values: [[String: Tensor]]
    }

    var pairing: VariablePairing!
    /// Which side the hypotheses change.
    var changedIsA: Bool { a.framework != b.framework ? a.framework == .keras : false }

    init(a: TrainingSide, b: TrainingSide, inputsA: [Tensor], inputsB: [Tensor], batchAxesB: [Int]? = nil, targetA: Tensor, targetB: Tensor, steps: Int,
         batchSize: Int?, pairings: [WeightPairing], programB: TorchProgram?) throws {
        self.a = a
        self.b = b
        self.inputsA = inputsA
        self.inputsB = inputsB
        self.batchAxesB = batchAxesB
        self.targetA = targetA
        self.targetB = targetB
        self.steps = steps
        self.batchSize = batchSize
        self.pairings = pairings
        self.programB = programB
        for (side, name) in [(a, "A"), (b, "B")] where side.loss.framework != side.framework {
            throw CompareError.badInput("\(name)'s loss \(side.loss) is a \(side.loss.framework) loss; \(name) is a \(side.framework) model")
        }
        // A .keras file stores its learning rate as the float32 variable holds it (0.0010000000474974513 for
        // 1e-3). Where that is the other side's rate rounded to float32, the Keras side takes the other's
        // value: both float32 runs use the same rounded rate, and the Float64 referees must not part over it.
        let (la, lb) = (self.a.optimizer.learningRate, self.b.optimizer.learningRate)
        if la != lb, Float(la) == Float(lb) {
            if self.a.framework == .keras { self.a.optimizer.learningRate = lb } else if self.b.framework == .keras { self.b.optimizer.learningRate = la }
        }
    }

    func runRaw(_ side: TrainingSide, isA: Bool, dtype: DType) throws -> TrainingSide.Run {
        try side.run(inputs: isA ? inputsA : inputsB, target: isA ? targetA : targetB, steps: steps, batchSize: batchSize,
                     batchAxes: isA ? nil : batchAxesB, dtype: dtype)
    }

    /// A side's run brought to the compared naming.
    func mapped(_ run: TrainingSide.Run, framework: ParityTrain.Framework) throws -> Mapped {
        guard a.framework != b.framework, framework == .pyTorch else {
            return Mapped(losses: run.losses, gradients: run.gradients, values: run.values)
        }
        var gradients: [[String: Tensor]] = [], values: [[String: Tensor]] = []
        for (g, v) in zip(run.gradients, run.values) {
            gradients.append(try pairing.kerasSpace(g, values: v, gradients: true))
            values.append(try pairing.kerasSpace(v, values: v, gradients: false))
        }
        return Mapped(losses: run.losses, gradients: gradients, values: values)
    }

    func run(_ side: TrainingSide, isA: Bool) throws -> (Mapped, Mapped) {
        (try mapped(runRaw(side, isA: isA, dtype: .float32), framework: side.framework),
         try mapped(runRaw(side, isA: isA, dtype: .float64), framework: side.framework))
    }

    /// Every step's quantities, A against B.
    func measure(a: (Mapped, Mapped), b: (Mapped, Mapped)) throws -> [TrainingComparison.Step] {
        var result: [TrainingComparison.Step] = []
        for s in 0..<steps {
            var quantities: [TrainingComparison.Quantity] = []
            func add(_ name: String, _ other: [String], _ kind: TrainingComparison.Quantity.Kind, _ x32: Tensor?, _ x64: Tensor?, _ y32: Tensor?, _ y64: Tensor?) throws {
                guard let x32, let x64, let y32, let y64, x32.shape == y32.shape else { return }
                let m = try PairMeasurement(a32: x32, a64: x64, b32: y32, b64: y64)
                let scale = x64.doubles.reduce(0) { Swift.max($0, Swift.abs($1)) }
                quantities.append(.init(name: name, other: other, kind: kind, measurement: m, relativeFloat64: scale > 0 ? m.maxAbsFloat64 / scale : m.maxAbsFloat64))
            }
            func scalar(_ x: Double) -> Tensor { Tensor(shape: [], values: [x]) }
            try add("loss", ["loss"], .loss, scalar(a.0.losses[s]), scalar(a.1.losses[s]), scalar(b.0.losses[s]), scalar(b.1.losses[s]))
            for e in pairing.entries where e.trainable {
                try add(e.name, e.other, .gradient, a.0.gradients[s][e.name], a.1.gradients[s][e.name], b.0.gradients[s][e.name], b.1.gradients[s][e.name])
            }
            for e in pairing.entries {
                try add(e.name, e.other, .value, a.0.values[s][e.name], a.1.values[s][e.name], b.0.values[s][e.name], b.1.values[s][e.name])
            }
            result.append(.init(step: s + 1, lossA: a.0.losses[s], lossB: b.0.losses[s], quantities: quantities))
        }
        return result
    }

    static func firstDivergence(_ steps: [TrainingComparison.Step]) -> TrainingComparison.Divergence? {
        for step in steps {
            if let q = step.quantities.first(where: { $0.measurement.exceedsNoise }) {
                return .init(step: step.step, name: q.name, kind: q.kind)
            }
        }
        return nil
    }

    /// The size of the difference with rounding taken out: the largest relative Float64 difference of any
    /// quantity at any step.
    static func score(_ steps: [TrainingComparison.Step]) -> Double {
        steps.flatMap(\.quantities).map(\.relativeFloat64).max() ?? 0
    }

    mutating func compare(progress: CompareProgress) throws -> TrainingComparison {
        let runA = try runRaw(a, isA: true, dtype: .float32), runB = try runRaw(b, isA: false, dtype: .float32)
        var unpaired: [String] = []
        let pairingText: String
        if a.framework == b.framework {
            pairing = VariablePairing(sameFramework: runA.variables, runB.variables)
            pairingText = "variables paired by name"
        } else {
            let keras = a.framework == .keras ? runA.variables : runB.variables
            let torch = a.framework == .keras ? runB.variables : runA.variables
            pairing = try VariablePairing(keras: keras, pairings: pairings)
            let used = Set(pairing.entries.flatMap(\.other))
            unpaired = torch.map(\.name).filter { !used.contains($0) && !$0.hasSuffix("num_batches_tracked") }
            pairingText = "\(a.framework == .keras ? "A" : "B")'s Keras variables; the PyTorch parameters brought to them under the faithful port's convention "
                + "(transpose, permute, gate order; a Keras RNN bias is b_ih + b_hh, whose gradient is either one's)"
        }
        let pairedNames = Set(pairing.entries.map(\.name))
        unpaired += (a.framework == b.framework || a.framework == .keras ? runA : runB).variables.map(\.name).filter { !pairedNames.contains($0) }

        let mappedA = (try mapped(runA, framework: a.framework), try mapped(runRaw(a, isA: true, dtype: .float64), framework: a.framework))
        let mappedB = (try mapped(runB, framework: b.framework), try mapped(runRaw(b, isA: false, dtype: .float64), framework: b.framework))
        let baseline = try measure(a: mappedA, b: mappedB)
        let divergence = Self.firstDivergence(baseline)
        var findings: [TrainingComparison.Finding] = []
        var tested: [TrainingCause] = []
        var explained: Bool?
        if let divergence {
            progress.say("runs part at step \(divergence.step) (\(divergence.kind) of \(divergence.name)); testing training conventions")
            let result = try diagnose(baseline: baseline, divergence: divergence, a: mappedA, b: mappedB)
            findings = result.0
            tested = result.1
            explained = result.2
        } else {
            let noise = baseline.last?.quantities.map(\.measurement.noise).max() ?? 0
            findings = [.init(cause: .floatNoise, explains: 1,
                              message: String(format: "every paired loss, gradient and value agrees within float noise at every step (largest measured rounding %.3g)", noise),
                              fix: nil)]
        }
        return TrainingComparison(verdict: divergence == nil ? .match : .mismatch, steps: steps, batchSize: batchSize,
                                  optimizerA: "\(a.optimizer)", optimizerB: "\(b.optimizer)", lossA: "\(a.loss)", lossB: "\(b.loss)",
                                  pairing: pairingText, trainSteps: baseline, firstDivergence: divergence, findings: findings,
                                  testedHypotheses: tested, unpaired: unpaired, explained: explained)
    }

    /// Which training conventions explain the difference. First every applicable hypothesis is swapped in at
    /// once; when that brings every step back within noise, each is dropped in turn and left out when the runs
    /// still agree without it: what remains is a smallest set that explains the difference, each convention
    /// credited with the share of the difference that comes back when it alone is left out. When even all of
    /// them leave a difference, hypotheses are added one by one, most explaining first, each kept when it
    /// removes at least half of what is left.
    func diagnose(baseline: [TrainingComparison.Step], divergence: TrainingComparison.Divergence, a mappedA: (Mapped, Mapped), b mappedB: (Mapped, Mapped))
        throws -> ([TrainingComparison.Finding], [TrainingCause], Bool) {
        let changed = changedIsA ? a : b, other = changedIsA ? b : a
        let hypotheses = TrainingHypothesis.applicable(changed: changed, other: other, pairing: pairing, pairings: pairings,
                                                       program: programB, step: divergence.step, steps: steps)
        let base = Self.score(baseline)
        /// The score with `chosen` (indices into `hypotheses`) swapped in, 0 when no step parts; nil when the run fails.
        func score(_ chosen: [Int]) -> Double? {
            var side = changed
            for index in chosen {
                guard let next = try? hypotheses[index].apply(side) else { return nil }
                side = next
            }
            guard let rerun = try? run(side, isA: changedIsA),
                  let steps = try? (changedIsA ? measure(a: rerun, b: mappedB) : measure(a: mappedA, b: rerun)) else { return nil }
            return Self.firstDivergence(steps) == nil ? 0 : Self.score(steps)
        }
        func finding(_ h: TrainingHypothesis, _ share: Double) -> TrainingComparison.Finding {
            .init(cause: h.cause, explains: share, message: h.message, fix: h.fix)
        }
        let tested = hypotheses.map(\.cause)
        var kept = Array(hypotheses.indices)
        if !kept.isEmpty, score(kept) == 0 {
            for index in hypotheses.indices {
                let without = kept.filter { $0 != index }
                if score(without) == 0 { kept = without }
            }
            let returned = kept.map { index in score(kept.filter { $0 != index }) ?? base }
            let total = returned.reduce(0, +)
            let findings = zip(kept, returned).map { finding(hypotheses[$0], total > 0 ? $1 / total : 1 / Double(kept.count)) }
            return (findings.sorted { $0.explains > $1.explains }, tested, true)
        }
        var alone: [(Int, Double)] = []
        for index in hypotheses.indices { if let s = score([index]) { alone.append((index, s)) } }
        var chosen: [Int] = [], currentScore = base
        var findings: [TrainingComparison.Finding] = []
        for (index, s) in alone.sorted(by: { $0.1 < $1.1 }) where s < 0.9 * base && currentScore > 0 {
            guard let next = score(chosen + [index]), next <= 0.5 * currentScore else { continue }
            findings.append(finding(hypotheses[index], base > 0 ? Swift.min(1, (currentScore - next) / base) : 1))
            chosen.append(index)
            currentScore = next
        }
        return (findings, tested, currentScore == 0)
    }
}
