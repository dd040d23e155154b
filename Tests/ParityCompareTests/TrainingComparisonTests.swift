import Foundation
@testable import ParityCompare
import ParityTensor
import ParityTestSupport
import ParityTrain
import Testing

/// `parity compare --train-steps` on Keras models and their PyTorch ports with the same starting weights
/// (Tests/Fixtures/train/compare, scripts/make_training_compare_pairs.py): pairs trained with each
/// framework's defaults must name the convention that parts them, at the step and parameter where it
/// does; faithfully configured pairs must match, or name the one convention no PyTorch setting reproduces.
@Suite struct TrainingComparisonTests {
    static func data() throws -> [String: Tensor] {
        var table: [String: Tensor] = [:]
        for entry in try NumpyArchive.read(contentsOf: Fixtures.root.appendingPathComponent("train/compare/data.npz")) {
            table[entry.name] = try entry.record.toTensor()
        }
        return table
    }

    /// A Keras model and its PyTorch port under train/compare, with the data and the specs of one comparison.
    struct Pair {
        var keras: String, torch: String, input = "x", target = "y", steps = 4
        var optimizerA: String? = nil, lossA: String? = nil, optimizerB: String, lossB: String

        var files: [URL] {
            [Fixtures.root.appendingPathComponent("train/compare/\(keras).keras"), Fixtures.root.appendingPathComponent("train/compare/\(torch).pt2")]
        }
    }

    static func compare(_ keras: String, _ torch: String, input: String = "x", target: String = "y", steps: Int = 4,
                        optimizerA: String? = nil, lossA: String? = nil, optimizerB: String, lossB: String) throws -> TrainingComparison {
        try compare(Pair(keras: keras, torch: torch, input: input, target: target, steps: steps,
                         optimizerA: optimizerA, lossA: lossA, optimizerB: optimizerB, lossB: lossB))
    }

    static func compare(_ pair: Pair) throws -> TrainingComparison {
        let d = try data()
        let a = try ComparedModel.load(pair.files[0].path)
        let b = try ComparedModel.load(pair.files[1].path)
        let setup = TrainingSetup(steps: pair.steps, batchSize: 4, inputs: ModelInputs(try #require(d[pair.input])), target: try #require(d[pair.target]),
                                  optimizerA: try pair.optimizerA.map { try Optimizer.parse($0, framework: .keras) },
                                  optimizerB: try Optimizer.parse(pair.optimizerB, framework: .pyTorch),
                                  lossA: try pair.lossA.map(Loss.parse), lossB: try Loss.parse(pair.lossB))
        return try TrainingComparison.run(a, b, setup: setup).training
    }

    /// The pair that shows each cause (exhaustive: a new cause does not compile without one).
    static func pair(naming cause: TrainingCause) -> Pair {
        switch cause {
        case .floatNoise: return Pair(keras: "mlp", torch: "mlp", optimizerA: "SGD(learning_rate=0.1)", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        case .optimizerHyperparameter: return Pair(keras: "mlp", torch: "mlp", optimizerB: "Adam(lr=0.001)", lossB: "MSELoss()")
        case .optimizerAlgorithm: return Pair(keras: "rmsprop", torch: "mlp", optimizerB: "Adam(lr=0.001)", lossB: "MSELoss()")
        case .adamEpsilon: return Pair(keras: "mlp", torch: "mlp", optimizerB: "Adam(lr=0.001, eps=1e-7)", lossB: "MSELoss()")
        case .rmspropEpsilon:
            return Pair(keras: "mlp", torch: "mlp", optimizerA: "RMSprop(learning_rate=0.001)", optimizerB: "RMSprop(lr=0.001, alpha=0.9, eps=1e-7)", lossB: "MSELoss()")
        case .nesterovForm:
            return Pair(keras: "mlp_nesterov_schedule", torch: "mlp", optimizerB: "SGD(lr=0.1, momentum=0.9, nesterov=True) + ExponentialLR(gamma=0.5)", lossB: "MSELoss()")
        case .optimizerFormula:
            return Pair(keras: "mlp_momentum_schedule", torch: "mlp", optimizerB: "SGD(lr=0.1, momentum=0.9) + MultiStepLR(milestones=[1, 2, 3], gamma=0.5)",
                        lossB: "MSELoss()")
        case .weightDecayCoupling:
            return Pair(keras: "mlp", torch: "mlp", optimizerA: "SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05)",
                        optimizerB: "SGD(lr=0.1, momentum=0.9, weight_decay=0.05)", lossB: "MSELoss()")
        case .gradientClipping: return Pair(keras: "mlp", torch: "mlp", optimizerA: "SGD(learning_rate=0.1, clipvalue=0.01)", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        case .bnMomentum, .bnRunningVariance: return Pair(keras: "bn", torch: "bn", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        case .rnnBiasTrainedTwice: return Pair(keras: "lstm", torch: "lstm", input: "x_seq", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        case .fromLogits: return Pair(keras: "classifier", torch: "classifier", target: "labels", optimizerB: "SGD(lr=0.1)", lossB: "CrossEntropyLoss()")
        case .labelSmoothing:
            return Pair(keras: "classifier", torch: "classifier", target: "onehot", lossA: "CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)",
                        optimizerB: "SGD(lr=0.1)", lossB: "CrossEntropyLoss()")
        case .lossReduction:
            return Pair(keras: "mlp", torch: "mlp", optimizerA: "SGD(learning_rate=0.1)", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss(reduction='sum')")
        case .crossentropyClipping: return Pair(keras: "binary", torch: "binary", target: "binary", optimizerB: "SGD(lr=0.1)", lossB: "BCELoss()")
        case .gradientConvention: return Pair(keras: "max_branches", torch: "max_branches", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        case .trainingMode: return Pair(keras: "bn", torch: "bn_eval", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        case .weightRegularizer: return Pair(keras: "mlp_l2", torch: "mlp", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        }
    }

    static func causes(_ c: TrainingComparison) -> [TrainingCause] { c.findings.map(\.cause) }

    @Test func faithfulSGDMatches() throws {
        let c = try Self.compare(Self.pair(naming: .floatNoise))
        #expect(c.verdict == .match)
        #expect(Self.causes(c) == [.floatNoise])
        #expect(c.trainSteps.count == 4)
        // Every Keras variable is paired with its PyTorch parameter: 4 gradients and 4 values per step, and the loss.
        #expect(c.trainSteps[0].quantities.count == 9)
        #expect(c.unpaired.isEmpty)
    }

    @Test func defaultAdamsPartOnEpsilon() throws {
        // Keras Adam() (ε̂ = 1e-7, from the file's compile_config) against torch.optim.Adam(lr=1e-3) (ε = 1e-8).
        let c = try Self.compare("mlp", "mlp", optimizerB: "Adam(lr=0.001)", lossB: "MSELoss()")
        #expect(c.verdict == .mismatch)
        #expect(c.firstDivergence?.step == 1)
        #expect(c.firstDivergence?.kind == .value)
        #expect(Set(Self.causes(c)) == [.optimizerHyperparameter, .adamEpsilon])
        #expect(c.explained == true)
        let hyper = try #require(c.findings.first { $0.cause == .optimizerHyperparameter })
        #expect(hyper.message.contains("epsilon 1e-07 (Keras) vs 1e-08 (PyTorch)"))
    }

    @Test func pyTorchAsTheReference() throws {
        // A is the PyTorch program, B the Keras model: the comparison still names Keras's variables, and the
        // Keras side (B) is the one rerun with PyTorch's conventions.
        let d = try Self.data()
        let a = try ComparedModel.load(Fixtures.root.appendingPathComponent("train/compare/lstm.pt2").path)
        let b = try ComparedModel.load(Fixtures.root.appendingPathComponent("train/compare/lstm.keras").path)
        let setup = TrainingSetup(steps: 3, batchSize: 4, inputs: ModelInputs(try #require(d["x_seq"])), target: try #require(d["y"]),
                                  optimizerA: try Optimizer.parse("SGD(lr=0.1)", framework: .pyTorch), lossA: try Loss.parse("MSELoss()"))
        let c = try TrainingComparison.run(a, b, setup: setup).training
        #expect(c.firstDivergence == .init(step: 1, name: "lstm/lstm_cell/bias", kind: .value), "\(c.text())")
        #expect(Self.causes(c) == [.rnnBiasTrainedTwice])
        #expect(c.explained == true)
        #expect(c.pairing.hasPrefix("B's Keras variables"))
    }

    @Test func faithfulAdamStillPartsOnEpsilonPlacement() throws {
        let c = try Self.compare(Self.pair(naming: .adamEpsilon))
        #expect(c.verdict == .mismatch)
        #expect(Self.causes(c) == [.adamEpsilon])
        #expect(c.explained == true)
    }

    @Test func weightDecayCoupledAgainstDecoupled() throws {
        // Without momentum the two coincide (w(1 − lr·λ) − lr·g = w − lr·(g + λw)): the pair matches.
        let plain = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1, weight_decay=0.05)", optimizerB: "SGD(lr=0.1, weight_decay=0.05)",
                                     lossB: "MSELoss()")
        #expect(plain.verdict == .match, "\(plain.text())")
        // With momentum, PyTorch's λw enters the momentum buffer.
        let c = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05)",
                                 optimizerB: "SGD(lr=0.1, momentum=0.9, weight_decay=0.05)", lossB: "MSELoss()")
        #expect(Self.causes(c) == [.weightDecayCoupling], "\(c.text())")
        #expect(c.explained == true)
        // AdamW decays decoupled as Keras does: only Adam's ε placement is left.
        let same = try Self.compare("mlp", "mlp", optimizerA: "AdamW(learning_rate=0.01, weight_decay=0.05)",
                                    optimizerB: "AdamW(lr=0.01, weight_decay=0.05, eps=1e-7)", lossB: "MSELoss()")
        #expect(Self.causes(same) == [.adamEpsilon])
    }

    @Test func rmspropDefaultsAndEpsilonPlacement() throws {
        // Keras RMSprop(learning_rate=1e-3): ρ 0.9, ε 1e-7 inside the square root; PyTorch's: α 0.99, ε 1e-8 outside.
        let defaults = try Self.compare("mlp", "mlp", optimizerA: "RMSprop(learning_rate=0.001)", optimizerB: "RMSprop(lr=0.001)", lossB: "MSELoss()")
        #expect(Set(Self.causes(defaults)) == [.optimizerHyperparameter, .rmspropEpsilon], "\(defaults.text())")
        let hyper = try #require(defaults.findings.first { $0.cause == .optimizerHyperparameter })
        #expect(hyper.message.contains("rho 0.9 (Keras) vs 0.99 (PyTorch)"))
        let matched = try Self.compare("mlp", "mlp", optimizerA: "RMSprop(learning_rate=0.001)", optimizerB: "RMSprop(lr=0.001, alpha=0.9, eps=1e-7)",
                                       lossB: "MSELoss()")
        #expect(Self.causes(matched) == [.rmspropEpsilon], "\(matched.text())")
    }

    @Test func perVariableAgainstGlobalClipping() throws {
        // Keras clipnorm clips each variable's gradient; clip_grad_norm_ clips them together.
        let c = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1, clipnorm=0.05)",
                                 optimizerB: "SGD(lr=0.1) + clip_grad_norm_(max_norm=0.05)", lossB: "MSELoss()")
        #expect(c.firstDivergence?.step == 1)
        #expect(Self.causes(c).first == .gradientClipping, "\(c.text())")
    }

    @Test func clippingKindsAndFormulas() throws {
        // Keras global_clipnorm against clip_grad_value_: only the clipping differs.
        let kinds = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1, global_clipnorm=0.05)",
                                     optimizerB: "SGD(lr=0.1) + clip_grad_value_(clip_value=0.01)", lossB: "MSELoss()")
        #expect(kinds.firstDivergence?.step == 1 && kinds.firstDivergence?.kind == .value, "\(kinds.text())")
        #expect(Self.causes(kinds) == [.gradientClipping], "\(kinds.text())")
        #expect(kinds.explained == true)
        // Keras clipvalue against no clipping.
        let none = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1, clipvalue=0.01)", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(Self.causes(none) == [.gradientClipping], "\(none.text())")
        #expect(none.findings.first?.message.contains("value 0.01 (Keras) against none (PyTorch)") == true, "\(none.text())")
        // global_clipnorm against clip_grad_norm_ with the same bound: PyTorch's + 1e-6 parts them when clipping acts.
        let formulas = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1, global_clipnorm=0.05)",
                                        optimizerB: "SGD(lr=0.1) + clip_grad_norm_(max_norm=0.05)", lossB: "MSELoss()")
        #expect(formulas.firstDivergence?.step == 1, "\(formulas.text())")
        #expect(Self.causes(formulas) == [.gradientClipping], "\(formulas.text())")
        #expect(formulas.findings.first?.message.contains("1e-6/‖g‖") == true)
    }

    @Test func nesterovAndMomentumUnderASchedule() throws {
        // Keras SGD(momentum=0.9, nesterov=True) with ExponentialDecay(0.1, 1, 0.5) from the file, against PyTorch's
        // with ExponentialLR(gamma=0.5): the same rate every step, but Keras's velocity holds each step's lr·g.
        // Step 1 agrees (no history yet); they part at step 2.
        let nesterov = try Self.compare("mlp_nesterov_schedule", "mlp", optimizerB: "SGD(lr=0.1, momentum=0.9, nesterov=True) + ExponentialLR(gamma=0.5)",
                                        lossB: "MSELoss()")
        #expect(nesterov.firstDivergence?.step == 2, "\(nesterov.text())")
        #expect(nesterov.firstDivergence?.kind == .value)
        #expect(Self.causes(nesterov) == [.nesterovForm], "\(nesterov.text())")
        #expect(nesterov.explained == true)
        let momentum = try Self.compare("mlp_momentum_schedule", "mlp", optimizerB: "SGD(lr=0.1, momentum=0.9) + MultiStepLR(milestones=[1, 2, 3], gamma=0.5)",
                                        lossB: "MSELoss()")
        #expect(momentum.firstDivergence?.step == 2, "\(momentum.text())")
        #expect(Self.causes(momentum) == [.optimizerFormula], "\(momentum.text())")
        // A constant PyTorch rate against Keras's schedule: the rates differ from step 2.
        let constant = try Self.compare("mlp_nesterov_schedule", "mlp", optimizerB: "SGD(lr=0.1, momentum=0.9, nesterov=True)", lossB: "MSELoss()")
        let hyper = try #require(constant.findings.first { $0.cause == .optimizerHyperparameter }, "\(constant.text())")
        #expect(hyper.message.contains("0.05 vs 0.1 at step 2"), "\(hyper.message)")
    }

    @Test func restartSchedulesPairUp() throws {
        // Keras CosineDecayRestarts(0.1, 2, t_mul=2, alpha=0.1) is CosineAnnealingWarmRestarts(T_0=2, T_mult=2, eta_min=0.01)
        // stepped per batch (checked in Keras 3.15.1 and PyTorch 2.15: within 3.7e-7 relative over 45 steps, float32
        // against doubles).
        let same = try Self.compare("mlp_restarts", "mlp", optimizerB: "SGD(lr=0.1) + CosineAnnealingWarmRestarts(T_0=2, T_mult=2, eta_min=0.01)",
                                    lossB: "MSELoss()")
        #expect(same.verdict == .match, "\(same.text())")
        // Without restarts the rates part at step 3, where Keras starts its second period at 0.1.
        let plain = try Self.compare("mlp_restarts", "mlp", optimizerB: "SGD(lr=0.1) + CosineAnnealingLR(T_max=2, eta_min=0.01)", lossB: "MSELoss()")
        #expect(plain.firstDivergence?.step == 3 && plain.firstDivergence?.kind == .value, "\(plain.text())")
        #expect(Self.causes(plain) == [.optimizerHyperparameter], "\(plain.text())")
        #expect(plain.findings.first?.message.contains("0.1 vs 0.01 at step 3") == true, "\(plain.text())")
    }

    @Test func saturatedSigmoidIsCrossentropyClipping() throws {
        // Keras BinaryCrossentropy on a final sigmoid recovers its logits; nn.Sigmoid + BCELoss reads the saturated
        // probabilities (exactly 0 or 1 in float32), clamps log at −100 and passes no gradient.
        let c = try Self.compare(Self.pair(naming: .crossentropyClipping))
        #expect(c.firstDivergence == .init(step: 1, name: "loss", kind: .loss), "\(c.text())")
        #expect(Self.causes(c) == [.crossentropyClipping], "\(c.text())")
        #expect(c.explained == true)
    }

    @Test func batchNormDefaultsPartOnMomentumAndVariance() throws {
        let c = try Self.compare(Self.pair(naming: .bnMomentum))
        #expect(c.verdict == .mismatch)
        #expect(c.firstDivergence?.step == 1)
        #expect(c.firstDivergence?.name.hasPrefix("bn/moving_") == true)
        #expect(Set(Self.causes(c)) == [.bnMomentum, .bnRunningVariance], "\(c.text())")
        #expect(c.explained == true)
    }

    @Test func faithfulBatchNormPartsOnlyOnRunningVariance() throws {
        let c = try Self.compare("bn", "bn_faithful", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(c.firstDivergence?.name == "bn/moving_variance")
        #expect(Self.causes(c) == [.bnRunningVariance])
        #expect(c.explained == true)
    }

    @Test func batchNormLeftInEvalModeIsTrainingMode() throws {
        // Keras's fit trains bn with batch statistics; the port called .eval() on its BatchNorm (bn_eval.pt2).
        let c = try Self.compare(Self.pair(naming: .trainingMode))
        #expect(c.firstDivergence?.step == 1, "\(c.text())")
        #expect(c.firstDivergence?.kind == .loss)
        #expect(Self.causes(c) == [.trainingMode], "\(c.text())")
        #expect(c.explained == true)
        #expect(c.findings.first?.message.contains("training=False") == true)
    }

    @Test func frozenBatchNormAgainstRequiresGradFalseIsTrainingMode() throws {
        // Keras BatchNormalization(trainable=False) runs in inference mode; the port froze γ and β with
        // requires_grad_(False) (saved in the .pt2, so Parity leaves them untrained) but left the module in train mode.
        let c = try Self.compare("bn_frozen", "bn_frozen", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(c.firstDivergence?.step == 1, "\(c.text())")
        #expect(c.firstDivergence?.kind == .loss)
        #expect(Self.causes(c) == [.trainingMode], "\(c.text())")
        #expect(c.explained == true)
        #expect(c.findings.first?.fix?.contains(".eval()") == true)
        // γ and β are trained on neither side.
        #expect(c.trainSteps[0].quantities.filter { $0.kind == .gradient }.map(\.name).allSatisfy { !$0.hasPrefix("bn/") })
        // The faithful port also calls .eval() on it: the runs match.
        let faithful = try Self.compare("bn_frozen", "bn_frozen_faithful", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(faithful.verdict == .match, "\(faithful.text())")
    }

    @Test func lstmBiasTrainedTwice() throws {
        let c = try Self.compare(Self.pair(naming: .rnnBiasTrainedTwice))
        #expect(c.firstDivergence == .init(step: 1, name: "lstm/lstm_cell/bias", kind: .value))
        #expect(Self.causes(c) == [.rnnBiasTrainedTwice])
        #expect(c.explained == true)
    }

    @Test func timeFirstRecurrentPortBatchesAlongItsBatchAxis() throws {
        // nn.LSTM without batch_first takes (T, N, F): the forward comparison finds the permutation, and each step's
        // rows are taken along B's axis 1. Three batches of 4 of the 12 sequences, as on the batch-first port.
        let c = try Self.compare("lstm", "lstm_time_first", input: "x_seq", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        let batchFirst = try Self.compare("lstm", "lstm", input: "x_seq", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(c.firstDivergence == .init(step: 1, name: "lstm/lstm_cell/bias", kind: .value), "\(c.text())")
        #expect(Self.causes(c) == [.rnnBiasTrainedTwice])
        #expect(zip(c.trainSteps, batchFirst.trainSteps).allSatisfy { $0.lossB == $1.lossB }, "the same batches as the batch-first port")
    }

    @Test func crossEntropyOnLogitsReadAsProbabilities() throws {
        // The Keras file compiles SparseCategoricalCrossentropy() (from_logits=False) on a model that outputs logits.
        let c = try Self.compare("classifier", "classifier", target: "labels", optimizerB: "SGD(lr=0.1)", lossB: "CrossEntropyLoss()")
        #expect(c.firstDivergence?.step == 1)
        #expect(c.firstDivergence?.kind == .loss)
        #expect(Self.causes(c) == [.fromLogits])
        let faithful = try Self.compare("classifier", "classifier", target: "labels", lossA: "SparseCategoricalCrossentropy(from_logits=True)",
                                        optimizerB: "SGD(lr=0.1)", lossB: "CrossEntropyLoss()")
        #expect(faithful.verdict == .match)
    }

    @Test func labelSmoothingAndReduction() throws {
        let smoothing = try Self.compare("classifier", "classifier", target: "onehot",
                                         lossA: "CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)",
                                         optimizerB: "SGD(lr=0.1)", lossB: "CrossEntropyLoss()")
        #expect(Self.causes(smoothing) == [.labelSmoothing])
        let reduction = try Self.compare("mlp", "mlp", optimizerA: "SGD(learning_rate=0.1)", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss(reduction='sum')")
        #expect(reduction.firstDivergence?.kind == .loss)
        #expect(Self.causes(reduction) == [.lossReduction])
        // MSELoss's sum adds all 2 outputs of each row, Keras's sum their mean: the PyTorch loss itself explains it.
        #expect(reduction.explained == true, "\(reduction.text())")
        #expect(reduction.findings.first?.message.contains("adds every element") == true)
    }

    @Test func differentAlgorithmsAreOptimizerAlgorithm() throws {
        // The Keras file was compiled with optimizer="rmsprop" (Keras's RMSprop defaults); the port trains with Adam.
        let c = try Self.compare(Self.pair(naming: .optimizerAlgorithm))
        #expect(c.firstDivergence == .init(step: 1, name: "hidden/kernel", kind: .value), "\(c.text())")
        #expect(Self.causes(c) == [.optimizerAlgorithm], "\(c.text())")
        #expect(c.explained == true)
        #expect(c.findings.first?.message.contains("RMSprop") == true && c.findings.first?.message.contains("Adam") == true)
    }

    @Test func maximumTiesAreGradientConvention() throws {
        // Two Dense branches initialised alike, merged by keras.layers.Maximum / torch.maximum: every element ties.
        // TensorFlow gives the whole gradient to the first argument (left), ATen half to each; the loss agrees at step 1.
        let c = try Self.compare(Self.pair(naming: .gradientConvention))
        #expect(c.firstDivergence?.step == 1, "\(c.text())")
        #expect(c.firstDivergence?.kind == .gradient)
        #expect(c.firstDivergence.map { ["left/kernel", "right/kernel"].contains($0.name) } == true, "\(c.text())")
        #expect(c.trainSteps[0].quantities.first { $0.kind == .loss }?.measurement.exceedsNoise == false)
        #expect(Self.causes(c) == [.gradientConvention], "\(c.text())")
        #expect(c.explained == true)
    }

    @Test func dropoutLeftInEvalModeIsTrainingMode() throws {
        // The port's nn.Dropout trains with the step's shared mask: the runs match.
        let faithful = try Self.compare("dropout", "dropout", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(faithful.verdict == .match, "\(faithful.text())")
        // The port called .eval() on its Dropout before export: it never drops, Keras's fit does.
        let c = try Self.compare("dropout", "dropout_eval", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(c.firstDivergence == .init(step: 1, name: "loss", kind: .loss), "\(c.text())")
        #expect(Self.causes(c) == [.trainingMode], "\(c.text())")
        #expect(c.explained == true)
        #expect(c.findings.first?.message.contains("train=False") == true)
    }

    @Test func recurrentDropoutWithoutACounterpartIsTrainingMode() throws {
        // Keras LSTM(dropout=0.3) against the nn.LSTM port (which has no such dropout, and trains b_ih and b_hh).
        let c = try Self.compare("lstm_dropout", "lstm", input: "x_seq", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(c.firstDivergence == .init(step: 1, name: "loss", kind: .loss), "\(c.text())")
        #expect(Set(Self.causes(c)) == [.trainingMode, .rnnBiasTrainedTwice], "\(c.text())")
        #expect(c.explained == true)
        #expect(c.findings.first { $0.cause == .trainingMode }?.message.contains("lstm (dropout 0.3, recurrent_dropout 0)") == true)
    }

    @Test func bidirectionalRecurrentDropoutIsTrainingMode() throws {
        // Keras Bidirectional(LSTM(dropout=0.3, recurrent_dropout=0.2)) against its bidirectional nn.LSTM port: each
        // direction drops with its own masks in fit; the port never drops, and trains b_ih and b_hh of both directions.
        let c = try Self.compare("bilstm_dropout", "bilstm", input: "x_seq", optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        #expect(c.firstDivergence == .init(step: 1, name: "loss", kind: .loss), "\(c.text())")
        #expect(Set(Self.causes(c)) == [.trainingMode, .rnnBiasTrainedTwice], "\(c.text())")
        #expect(c.explained == true, "\(c.text())")
        #expect(c.findings.first { $0.cause == .trainingMode }?.message.contains("bi (dropout 0.3, recurrent_dropout 0.2)") == true, "\(c.text())")
    }

    @Test func missingRegularizerPenaltyIsWeightRegularizer() throws {
        // Keras L2(0.05) on both kernels against the port trained without decay: the penalty parts the losses at step 1.
        let none = try Self.compare(Self.pair(naming: .weightRegularizer))
        #expect(none.firstDivergence == .init(step: 1, name: "loss", kind: .loss), "\(none.text())")
        #expect(Self.causes(none) == [.weightRegularizer], "\(none.text())")
        #expect(none.explained == true)
        #expect(none.findings.first?.message.contains("hidden/kernel L2(0.05), out/kernel L2(0.05)") == true, "\(none.text())")
        // The port writes it as SGD(weight_decay=0.1) = 2λ: the kernels' gradients agree (real Keras 3.15.1 and PyTorch 2.15
        // with weight_decay=0.1 on the kernels only agree within 6e-8 after 3 steps), but the biases decay too and the
        // reported loss lacks the penalty.
        let decay = try Self.compare("mlp_l2", "mlp", optimizerB: "SGD(lr=0.1, weight_decay=0.1)", lossB: "MSELoss()")
        #expect(Set(Self.causes(decay)) == [.weightRegularizer, .optimizerHyperparameter], "\(decay.text())")
        #expect(decay.explained == true, "\(decay.text())")
        #expect(decay.findings.first { $0.cause == .weightRegularizer }?.message.contains("weight_decay 0.1 coupled") == true, "\(decay.text())")
    }

    /// Every training cause has a committed pair of a Keras model and its PyTorch port (``pair(naming:)``) whose
    /// comparison names it and explains the divergence (float noise: the pair matches).
    @Test(arguments: TrainingCause.allCases) func everyCauseHasAPair(cause: TrainingCause) throws {
        let pair = Self.pair(naming: cause)
        for file in pair.files {
            #expect(FileManager.default.fileExists(atPath: file.path), "\(cause.rawValue): \(file.lastPathComponent) is missing")
        }
        let c = try Self.compare(pair)
        #expect(Self.causes(c).contains(cause), "\(cause.rawValue): \(c.text())")
        if cause == .floatNoise { #expect(c.verdict == .match, "\(c.text())") } else { #expect(c.explained == true, "\(c.text())") }
    }

    @Test func reportsNameTheStepAndCause() throws {
        let c = try Self.compare("lstm", "lstm", input: "x_seq", steps: 2, optimizerB: "SGD(lr=0.1)", lossB: "MSELoss()")
        let text = c.text()
        #expect(text.contains("first parts at step 1: value of lstm/lstm_cell/bias ↔ lstm.bias_ih_l0 + lstm.bias_hh_l0"))
        // The HTML section plots the loss error and the parameters' error per step, and marks the diverging step.
        let html = c.htmlSection()
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        #expect(html.contains("Loss error per step") && html.contains("Parameter error per step"))
        #expect(html.contains("float32 |loss A − loss B|"))
        #expect(text.contains("cause: rnn-bias-trained-twice"))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any]
        #expect((json?["train_steps"] as? [Any])?.count == 2)
        #expect(((json?["findings"] as? [[String: Any]])?.first?["cause"] as? String) == "rnn-bias-trained-twice")
    }
}
