import Foundation
import ParityKeras
import ParityNN
import ParityTorch
import ParityTrain

/// One side of a training comparison: the model made trainable, its optimizer and loss as values, and
/// its data (inputs in its own layout, its target).
public struct TrainingSide: Sendable {
    enum Body: Sendable {
        case keras(KerasTrainable)
        case torch(TorchTrainable)
    }

    var body: Body
    /// The side's optimizer.
    public var optimizer: Optimizer
    /// The side's loss.
    public var loss: Loss
    /// Set by a hypothesis: the other framework's derivative rules.
    var convention: GradientConvention?
    /// Set by a hypothesis: factors on some variables' updates (``TrainingSession/updateScales``), by name.
    var updateScales: [String: Double] = [:]

    var framework: ParityTrain.Framework {
        switch body {
        case .keras: return .keras
        case .torch: return .pyTorch
        }
    }

    /// What a run of one side records, per step, by the side's own variable names.
    struct Run {
        var losses: [Double] = []
        var gradients: [[String: Tensor]] = []
        var values: [[String: Tensor]] = []
        var variables: [TrainingVariableInfo] = []
    }

    func run(inputs: [Tensor], target: Tensor, steps: Int, batchSize: Int?, batchAxes: [Int]? = nil, dtype: DType) throws -> Run {
        switch body {
        case .keras(let model): return try run(model, inputs: inputs, target: target, steps: steps, batchSize: batchSize, batchAxes: batchAxes, dtype: dtype)
        case .torch(let model): return try run(model, inputs: inputs, target: target, steps: steps, batchSize: batchSize, batchAxes: batchAxes, dtype: dtype)
        }
    }

    private func run<M: TrainableModel>(_ model: M, inputs: [Tensor], target: Tensor, steps: Int, batchSize: Int?, batchAxes: [Int]?,
                                        dtype: DType) throws -> Run {
        var session = try TrainingSession(model: model, loss: loss, optimizer: optimizer, dtype: dtype)
        if let convention { session.convention = convention }
        let names = session.model.variables.map(\.name)
        for (name, k) in updateScales { if let index = names.firstIndex(of: name) { session.updateScales[index] = k } }
        var run = Run(variables: session.model.variables.map { TrainingVariableInfo(name: $0.name, trainable: $0.trainable) })
        let data = inputs.map { $0.dtype.isFloatingPoint ? $0.cast(to: dtype) : $0 }
        let y = target.dtype.isFloatingPoint ? target.cast(to: dtype) : target
        _ = try session.train(inputs: data, target: y, steps: steps, batchSize: batchSize, batchAxes: batchAxes) { _, record in
            run.losses.append(record.loss)
            var g: [String: Tensor] = [:], v: [String: Tensor] = [:]
            for (index, name) in names.enumerated() {
                if let gradient = record.gradients[index] { g[name] = gradient }
                v[name] = record.values[index]
            }
            run.gradients.append(g)
            run.values.append(v)
        }
        return run
    }
}

/// The two models trained side by side, step by step, in Float32 and Float64, compared after each step; the
/// first step and parameter where they part beyond float noise; and the training conventions that explain it
/// (``TrainingCause``), each tested by rerunning with the other side's convention swapped in.
public struct TrainingComparison: Sendable, Codable {
    /// The outcome of a training comparison.
    public enum Verdict: String, Sendable, Codable {
        /// Every step's loss, gradients and values agree within float noise.
        case match
        /// Some quantity of some step differs beyond float noise.
        case mismatch
    }

    /// One quantity of one step (the loss, a variable's gradient or its value after the update) on both sides.
    public struct Quantity: Sendable, Codable {
        /// `loss`, or the variable's name on the compared side (the Keras side of a Keras ↔ PyTorch pair).
        public var name: String
        /// The other side's name(s) (PyTorch state_dict keys; several when they sum to one Keras variable).
        public var other: [String]
        /// Loss, gradient or value.
        public var kind: Kind
        /// How far apart the two sides are, against float noise.
        public var measurement: PairMeasurement
        /// Max |A − B| relative to max |A| in Float64: the size of the difference with rounding taken out.
        public var relativeFloat64: Double

        /// What a quantity is.
        public enum Kind: String, Sendable, Codable {
            /// The loss before the update.
            case loss
            /// A variable's gradient.
            case gradient
            /// A variable's value after the update.
            case value
        }

        enum CodingKeys: String, CodingKey { case name, other, kind, measurement, relativeFloat64 = "relative_float64" }
    }

    /// One training step compared.
    public struct Step: Sendable, Codable {
        /// The step, from 1.
        public var step: Int
        /// A's loss (Float32 run).
        public var lossA: Double
        /// B's loss (Float32 run).
        public var lossB: Double
        /// The loss, then every paired variable's gradient, then every paired variable's value after the step.
        public var quantities: [Quantity]
        /// Whether some quantity of the step differs beyond float noise.
        public var parts: Bool { quantities.contains { $0.measurement.exceedsNoise } }
        enum CodingKeys: String, CodingKey { case step, lossA = "loss_a", lossB = "loss_b", quantities }
    }

    /// Where the runs first part: the step (from 1) and the first quantity beyond float noise.
    public struct Divergence: Sendable, Codable, Equatable {
        /// The step, from 1.
        public var step: Int
        /// The quantity's name (``Quantity/name``).
        public var name: String
        /// Loss, gradient or value.
        public var kind: Quantity.Kind
    }

    /// A training convention found to explain (part of) the difference.
    public struct Finding: Sendable, Codable {
        /// The cause id.
        public var cause: TrainingCause
        /// The share of the difference at the diverging step this convention removes (from 0 to 1).
        public var explains: Double
        /// What differs, with the values on each side.
        public var message: String
        /// The change that removes the difference, when there is one.
        public var fix: String?
    }

    /// Match or mismatch.
    public var verdict: Verdict
    /// The number of steps trained.
    public var steps: Int
    /// The batch size (`nil`: every row in one batch).
    public var batchSize: Int?
    /// A's optimizer, as its framework writes it.
    public var optimizerA: String
    /// B's optimizer, as its framework writes it.
    public var optimizerB: String
    /// A's loss, as its framework writes it.
    public var lossA: String
    /// B's loss, as its framework writes it.
    public var lossB: String
    /// Which side's variables the comparison names, and how the other side's are brought to them.
    public var pairing: String
    /// Every step compared, in order.
    public var trainSteps: [Step]
    /// Where the runs first part (`nil` when they never do).
    public var firstDivergence: Divergence?
    /// The conventions that explain the difference, largest share first.
    public var findings: [Finding]
    /// The cause ids tested.
    public var testedHypotheses: [TrainingCause]
    /// Variables of either side not paired (compared on neither side).
    public var unpaired: [String]
    /// After every kept hypothesis is swapped in: whether the runs agree within noise at every step.
    public var explained: Bool?

    enum CodingKeys: String, CodingKey {
        case verdict, steps, batchSize = "batch_size", optimizerA = "optimizer_a", optimizerB = "optimizer_b", lossA = "loss_a", lossB = "loss_b"
        case pairing, trainSteps = "train_steps", firstDivergence = "first_divergence", findings, testedHypotheses = "tested_hypotheses", unpaired, explained
    }
}

/// The data and settings of a training comparison.
public struct TrainingSetup: Sendable {
    /// The number of steps to train (at least 1).
    public var steps: Int
    /// Rows per batch, taken in order without shuffling (`nil`: every row in one batch).
    public var batchSize: Int?
    /// A's inputs in A's layout (all rows); B's are brought to B's layout as the forward comparison does.
    public var inputs: ModelInputs
    /// B's own inputs, when they are not A's brought to B's layout.
    public var inputsB: ModelInputs?
    /// A's target, one row per input row.
    public var target: Tensor
    /// B's own target, when it differs from A's.
    public var targetB: Tensor?
    /// A's optimizer; `nil` takes the one a `.keras` file recorded at `compile` (a `.pt2` records none).
    public var optimizerA: Optimizer?
    /// B's optimizer, as ``optimizerA``.
    public var optimizerB: Optimizer?
    /// A's loss; `nil` takes the one a `.keras` file recorded at `compile` (a `.pt2` records none).
    public var lossA: Loss?
    /// B's loss, as ``lossA``.
    public var lossB: Loss?

    /// The data and settings; the parameters are the properties of the same names.
    public init(steps: Int, batchSize: Int? = nil, inputs: ModelInputs, inputsB: ModelInputs? = nil, target: Tensor, targetB: Tensor? = nil,
                optimizerA: Optimizer? = nil, optimizerB: Optimizer? = nil, lossA: Loss? = nil, lossB: Loss? = nil) {
        self.steps = steps
        self.batchSize = batchSize
        self.inputs = inputs
        self.inputsB = inputsB
        self.target = target
        self.targetB = targetB
        self.optimizerA = optimizerA
        self.optimizerB = optimizerB
        self.lossA = lossA
        self.lossB = lossB
    }
}

extension TrainingComparison {
    /// Compares the forward pass on the first batch (``Comparison``, in inference mode), then trains both models
    /// `setup.steps` steps from their own weights and compares every step.
    public static func run(_ a: ComparedModel, _ b: ComparedModel, setup: TrainingSetup, tolerance: CompareTolerance? = nil,
                           progress: CompareProgress = .none) throws -> (forward: Comparison, training: TrainingComparison) {
        guard setup.steps >= 1 else { throw CompareError.badInput("--train-steps must be at least 1; received \(setup.steps)") }
        let xa = try setup.inputs.ordered(for: a.inputs, side: "A (\(a.label))")
        let rows = setup.target.shape.first ?? 0
        let batch = try Batches(rows: rows, size: setup.batchSize).range(step: 0)
        let firstA = try Batches.slice(xa, batch)
        // B's inputs: given, or A's brought to B's layout and dtype as the forward comparison finds it on the
        // first batch (a .pt2's input shapes are those of one batch).
        let givenB = try setup.inputsB?.ordered(for: b.inputs, side: "B (\(b.label))")
        let (firstB, feeds) = try InputFeed.feed(a, b, firstA, given: try givenB.map { ModelInputs(named: zip(b.inputs.map(\.name), try Batches.slice($0, batch)).map { ($0, $1) }) })
        let xb = try givenB ?? feeds.enumerated().map { j, feed in
            guard let ia = a.inputs.firstIndex(where: { $0.name == feed.a }) else { return firstB[j] }
            let permuted = try feed.permutation.map { try xa[ia].permuted($0) } ?? xa[ia]
            return permuted.dtype == firstB[j].dtype ? permuted : permuted.cast(to: firstB[j].dtype)
        }
        // Where A's rows went in B's layout (axis 1 of a time-first PyTorch RNN's (T, N, F) input).
        let batchAxesB = givenB == nil ? feeds.map { feed in feed.permutation?.firstIndex(of: 0) ?? 0 } : nil
        progress.say("forward comparison on the first batch")
        let forward = try Comparison.run(try a.inferenceMode(), try b.inferenceMode(), inputs: ModelInputs(named: zip(a.inputs.map(\.name), firstA).map { ($0, $1) }),
                                         inputsB: ModelInputs(named: zip(b.inputs.map(\.name), firstB).map { ($0, $1) }), tolerance: tolerance, progress: progress,
                                         pairWeights: true)
        let sideA = try a.trainingSide(optimizer: setup.optimizerA, loss: setup.lossA, flag: "a")
        let sideB = try b.trainingSide(optimizer: setup.optimizerB, loss: setup.lossB, flag: "b")
        var driver = try TrainingDriver(a: sideA, b: sideB, inputsA: xa, inputsB: xb, batchAxesB: batchAxesB, targetA: setup.target, targetB: setup.targetB ?? setup.target,
                                        steps: setup.steps, batchSize: setup.batchSize, pairings: forward.weightPairings,
                                        programB: b.program ?? a.program)
        progress.say("training both models \(setup.steps) steps in float32 and float64")
        let training = try driver.compare(progress: progress)
        return (forward, training)
    }
}

extension ComparedModel {
    /// The same model for a forward comparison: a PyTorch program exported in training mode runs its batch
    /// norms on running statistics and its dropouts as identity (as after `model.eval()`).
    func inferenceMode() throws -> ComparedModel {
        guard case .torch(let program) = body else { return self }
        func eval(_ node: TorchNode) -> TorchNode {
            var node = node
            let flag = node.target == "aten.batch_norm.default" ? "training" : (node.target == "aten.dropout.default" ? "train" : nil)
            if let flag, let index = node.arguments.firstIndex(where: { $0.name == flag }) { node.arguments[index].value = .bool(false) }
            return node
        }
        guard program.graph.nodes.contains(where: { ["aten.batch_norm.default", "aten.dropout.default"].contains($0.target) }) else { return self }
        var graph = program.graph
        graph.nodes = graph.nodes.map(eval)
        var weights = program.weights
        for (key, value) in program.constants where weights[key] == nil { weights[key] = value }
        let rebuilt = try TorchProgram(source: program.source, graph: graph, inputs: program.inputs, outputs: program.outputs, weights: weights)
        return ComparedModel(torch: rebuilt, label: label)
    }

    var program: TorchProgram? {
        if case .torch(let p) = body { return p }
        return nil
    }

    /// The model ready to train, with its optimizer and loss: given, or a Keras file's compile_config.
    func trainingSide(optimizer: Optimizer?, loss: Loss?, flag: String) throws -> TrainingSide {
        switch body {
        case .keras(let model):
            let compiled = try KerasCompileConfig(model)
            guard let o = optimizer ?? compiled?.optimizer, let l = loss ?? compiled?.loss else {
                throw CompareError.badInput("\(label) was saved without compile_config: give --optimizer-\(flag) and --loss-\(flag)")
            }
            return TrainingSide(body: .keras(try KerasTrainable(model, name: label)), optimizer: o, loss: l)
        case .torch(let program):
            guard let optimizer, let loss else {
                throw CompareError.badInput("\(label) is a PyTorch program, which records no optimizer or loss: give --optimizer-\(flag) and --loss-\(flag)")
            }
            return TrainingSide(body: .torch(try TorchTrainable(program, name: label)), optimizer: optimizer, loss: loss)
        }
    }
}
