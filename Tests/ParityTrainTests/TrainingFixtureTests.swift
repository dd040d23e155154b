import Foundation
import ParityKeras
import ParityTestSupport
import ParityTorch
import Testing
@testable import ParityTrain

/// One case of `Tests/Fixtures/train/cases.json` (scripts/make_training_fixtures.py): a model trained 10
/// steps by real Keras (`train_on_batch`) or real PyTorch (`backward(); step()`), with the loss of each
/// step and every variable after the last.
struct TrainingCase: CustomStringConvertible, Sendable {
    var name: String
    var framework: Framework
    var model: String
    var optimizer: String?
    var loss: String?
    var steps: Int
    var batchSize: Int
    /// Keras's `class_weight` given to `train_on_batch`, when the case has one.
    var classWeight: [Int: Double]?

    var description: String { name }

    static let all: [TrainingCase] = {
        guard let json = try? Fixtures.json("train/cases.json"), let cases = json["cases"]?.array else { return [] }
        return cases.compactMap { c in
            guard let name = c["name"]?.string, let framework = c["framework"]?.string.flatMap(Framework.init(rawValue:)),
                  let model = c["model"]?.string, let steps = c["steps"]?.double, let batch = c["batch_size"]?.double else { return nil }
            var classWeight: [Int: Double]?
            if case .object(let table)? = c["class_weight"] {
                classWeight = Dictionary(uniqueKeysWithValues: table.compactMap { key, value in Int(key).flatMap { k in value.double.map { (k, $0) } } })
            }
            return TrainingCase(name: name, framework: framework, model: model, optimizer: c["optimizer"]?.string, loss: c["loss"]?.string,
                                steps: Int(steps), batchSize: Int(batch), classWeight: classWeight)
        }
    }()

    func arrays() throws -> [String: Tensor] {
        let url = Fixtures.root.appendingPathComponent("train/cases/\(name).npz")
        var table: [String: Tensor] = [:]
        for entry in try NumpyArchive.read(contentsOf: url) { table[entry.name] = try entry.record.toTensor() }
        return table
    }

    /// The case's per-row sample weights: given, or made from its class_weight as Keras makes them.
    func sampleWeight(_ arrays: [String: Tensor]) throws -> Tensor? {
        if let classWeight { return try Loss.kerasClassWeights(classWeight, target: try #require(arrays["target"])) }
        return arrays["sample_weight"]
    }

    /// Trains the case's model in Parity (with `optimizer` in place of the case's, when given): returns each step's loss
    /// and the variables after the last step.
    /// `regularized: false` trains a Keras model without its weight and activity regularizers' penalties, `constrained: false`
    /// without its constraints.
    func train(optimizer replacement: Optimizer? = nil, dtype: DType = .float32, mode: GradientMode? = nil,
               seed: UInt64 = 0, regularized: Bool = true, constrained: Bool = true) throws -> (losses: [Double], variables: [TrainingVariable]) {
        let arrays = try arrays()
        let url = Fixtures.root.appendingPathComponent("train/\(model)")
        let input = try #require(arrays["input"]), target = try #require(arrays["target"])
        func run<M: TrainableModel>(_ m: M, _ specs: (Optimizer, Loss), sampleWeight: Tensor?) throws -> (losses: [Double], variables: [TrainingVariable]) {
            var session = try TrainingSession(model: m, loss: specs.1, optimizer: replacement ?? specs.0, mode: mode, dtype: dtype, seed: seed)
            let losses = try session.train(inputs: [input], target: target, steps: steps, batchSize: batchSize, sampleWeight: sampleWeight)
            return (losses, session.variables)
        }
        switch framework {
        case .keras:
            let keras = try KerasModel.load(url)
            var trainable = try KerasTrainable(keras, name: model)
            if !regularized { (trainable.regularizers, trainable.activityRegularizers) = ([], [:]) }
            if !constrained { trainable.constraints = [] }
            return try run(trainable, try specs(compiled: try KerasCompileConfig(keras)), sampleWeight: try sampleWeight(arrays))
        case .pyTorch:
            return try run(try TorchTrainable(try TorchProgram.load(url), name: model), try specs(compiled: nil), sampleWeight: nil)
        }
    }

    func specs(compiled: KerasCompileConfig?) throws -> (Optimizer, Loss) {
        if let optimizer, let loss {
            let prefix = framework == .keras ? "keras.losses." : "torch.nn."
            return (try Optimizer.parse(optimizer, framework: framework), try Loss.parse(prefix + loss))
        }
        let config = try #require(compiled)
        return (config.optimizer, config.loss)
    }
}

@Suite struct TrainingFixtureTests {
    /// The bound: |parity − framework| ≤ 1e-5 + 1e-5·|w| per weight after 10 steps, in Float32.
    static func within(_ a: Double, _ e: Double) -> Bool { abs(a - e) <= 1e-5 + 1e-5 * abs(e) }

    /// `TrainingCase.all` drops what it cannot read: every entry of cases.json (and every class_weight key) must be read,
    /// so that the tests over it cannot pass on a short list.
    @Test func everyCaseIsRead() throws {
        let entries = try #require(try Fixtures.json("train/cases.json")["cases"]?.array)
        #expect(entries.count >= 150)
        #expect(TrainingCase.all.count == entries.count)
        for entry in entries {
            guard case .object(let table)? = entry["class_weight"] else { continue }
            let name = try #require(entry["name"]?.string)
            #expect(try TrainingCase.named(name).classWeight?.count == table.count, "\(name) class_weight")
        }
    }

    @Test(arguments: TrainingCase.all)
    func matchesTheFramework(_ fixture: TrainingCase) throws {
        let expected = try fixture.arrays()
        let (losses, variables) = try fixture.train()
        let reference = try #require(expected["losses"]).doubles
        #expect(losses.count == reference.count)
        for (step, (a, e)) in zip(losses, reference).enumerated() {
            #expect(Self.within(a, e), "step \(step) loss \(a), \(fixture.framework) \(e)")
        }
        let saved = variables.filter(\.saved)
        let names = Set(expected.keys.filter { $0.hasPrefix("weight:") }.map { String($0.dropFirst(7)) })
        #expect(Set(saved.map(\.name)) == names, "variable names")
        for variable in saved {
            guard let reference = expected["weight:" + variable.name] else { continue }
            #expect(variable.value.shape == reference.shape, "\(variable.name) shape")
            let worst = TrainingCase.excess(variable.value, over: reference)
            #expect(worst <= 1e-5, "\(variable.name): worst excess \(worst)")
        }
    }
}

extension TrainingCase {
    static func named(_ name: String) throws -> TrainingCase { try #require(all.first { $0.name == name }, "no fixture \(name)") }

    /// The largest excess over the bound among the saved variables after training with `optimizer` in place of the case's.
    func worstExcess(optimizer: Optimizer? = nil, dtype: DType = .float32, mode: GradientMode? = nil, seed: UInt64 = 0,
                     regularized: Bool = true, constrained: Bool = true) throws -> Double {
        let expected = try arrays()
        let saved = try train(optimizer: optimizer, dtype: dtype, mode: mode, seed: seed, regularized: regularized,
                              constrained: constrained).variables.filter(\.saved)
        try #require(!saved.isEmpty, "\(name): no saved variables to compare")
        return try saved.map { v in Self.excess(v.value, over: try #require(expected["weight:" + v.name], "\(name): no weight:\(v.name)")) }.max()!
    }

    /// The largest excess of |a − e| over the relative part of the bound, `|a − e| − 1e-5·|e|` (the bound holds when
    /// it is ≤ 1e-5); −∞ for empty tensors; +∞ for a NaN difference or shapes that differ (never within the bound).
    static func excess(_ a: Tensor, over e: Tensor) -> Double {
        guard a.shape == e.shape else { return .infinity }
        return zip(a.doubles, e.doubles).map { abs($0 - $1).isNaN ? .infinity : abs($0 - $1) - 1e-5 * abs($1) }.max() ?? -.infinity
    }
}

@Suite struct TrainingConventionTests {
    /// Each case trained again with the other framework's update formula (same hyper-parameters): where the
    /// frameworks' formulas differ for these settings the weights leave the bound, where they agree they stay.
    @Test(arguments: [
        ("keras_opt_tiny_adam", true),      // ε̂ on the uncorrected √v vs ε after the correction
        ("torch_opt_tiny_adam", true),
        ("keras_opt_tiny_rmsprop", true),   // ε inside vs outside the square root
        ("torch_opt_tiny_rmsprop", true),
        ("keras_opt_01", false),            // SGD momentum: the same while lr is constant
        ("keras_opt_02", false),            // Nesterov: the same while lr is constant
        ("torch_opt_01", false),
        ("keras_opt_10", false),            // Adagrad with an accumulator from 0.1: ε does not matter
        ("keras_opt_11", false),            // Adadelta: one formula
        ("keras_opt_13", false),            // Nadam with Keras's momentum decay: one formula
        ("torch_opt_sched_exp", true),      // Nesterov under ExponentialLR: Keras's velocity holds each step's lr·g
        ("torch_opt_sched_multistep", true), // momentum under MultiStepLR: the same
    ])
    func otherFrameworksFormula(_ name: String, differs: Bool) throws {
        let fixture = try TrainingCase.named(name)
        var optimizer = try fixture.specs(compiled: nil).0
        optimizer.framework = fixture.framework == .keras ? .pyTorch : .keras
        let excess = try fixture.worstExcess(optimizer: optimizer)
        #expect((excess > 1e-5) == differs, "\(name) with the other framework's formula: worst excess \(excess)")
    }

    /// The settings of the newer fixtures change the run: without them the weights leave the bound, so the fixtures
    /// test the class weights, the rescaling weight, the warm-up and the momentum cycling themselves.
    @Test func settingsChangeTheRun() throws {
        var unweighted = try TrainingCase.named("keras_loss_sparse_class_weight")
        unweighted.classWeight = nil
        #expect(try unweighted.worstExcess() > 1e-5)
        var bce = try TrainingCase.named("torch_loss_bce_weight")
        bce.loss = "BCELoss()"
        #expect(try bce.worstExcess() > 1e-5)
        let warmup = try TrainingCase.named("keras_mlp_sched_cosine_warmup")
        var plain = try Optimizer.parse("Adam(learning_rate=0.001)", framework: .keras)
        plain.schedule = .cosineDecay(initial: 0.001, decaySteps: 6, alpha: 0.1, warmupTarget: nil, warmupSteps: 0)
        #expect(try warmup.worstExcess(optimizer: plain) > 1e-5)
        let cycle = try TrainingCase.named("torch_opt_sched_onecycle")
        let fixed = try Optimizer.parse("SGD(lr=0.1, momentum=0.9) + OneCycleLR(max_lr=0.1, total_steps=10, cycle_momentum=False)", framework: .pyTorch)
        #expect(try cycle.worstExcess(optimizer: fixed) > 1e-5)
        // Attention and recurrent dropout: other masks (another seed) leave the bound, on both sides for attention.
        for name in ["keras_model_attention_dropout", "torch_model_attention_dropout", "keras_model_recurrent_dropout", "keras_model_gated_recurrent_dropout", "keras_model_bidirectional_dropout"] {
            #expect(try TrainingCase.named(name).worstExcess(seed: 1) > 1e-5, "\(name)")
        }
    }

    /// The framework's own gradient mode is not what makes the fixtures pass: Keras's cases trained eagerly and
    /// PyTorch's traced into a graph stay within the bound.
    @Test(arguments: TrainingCase.all.filter { $0.name.contains("opt_0") || $0.name.contains("model") || $0.name.contains("loss_ce") })
    func otherGradientMode(_ fixture: TrainingCase) throws {
        let mode: GradientMode = fixture.framework == .keras ? .eager : .graph
        let excess = try fixture.worstExcess(mode: mode)
        #expect(excess <= 1e-5, "\(fixture.name) in \(mode) mode: worst excess \(excess)")
    }
}
