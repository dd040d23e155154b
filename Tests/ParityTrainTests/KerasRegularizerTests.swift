import ParityFormats
import ParityKeras
import ParityNN
import ParityTestSupport
import Testing
@testable import ParityTrain

@Suite struct KerasRegularizerTests {
    /// The fixtures test the penalties themselves: trained without them, the weights leave the bound.
    @Test(arguments: ["keras_model_regularized", "keras_model_regularized_adam", "keras_model_regularized_lstm", "keras_model_activity",
                      "keras_model_orthogonal", "keras_model_orthogonal_adam", "keras_model_bidirectional_regularized",
                      "keras_model_bidirectional_regularized_adam", "keras_model_time_distributed_regularized"])
    func penaltiesChangeTheRun(_ name: String) throws {
        let fixture = try TrainingCase.named(name)
        #expect(try fixture.worstExcess() <= 1e-5)
        #expect(try fixture.worstExcess(regularized: false) > 1e-5)
    }

    /// Each regularized variable of the fixtures is found, with the factors its layer records (Keras 3.15's `L1`
    /// saves its factor rounded to float32, `L2` and `L1L2` as given).
    @Test func fixtureRegularizersAreRead() throws {
        let url = Fixtures.root.appendingPathComponent("train/keras/regularized.keras")
        let model = try KerasTrainable(try KerasModel.load(url))
        let found = Dictionary(uniqueKeysWithValues: model.regularizers.map { (model.variables[$0.index].name, $0.regularizer) })
        #expect(found == ["hidden/kernel": KerasRegularizer(l2: 0.05), "hidden/bias": KerasRegularizer(l1: Double(Float(0.02))),
                          "bn/gamma": KerasRegularizer(l2: 0.1), "bn/beta": KerasRegularizer(l1: 0.01, l2: 0.02),
                          "head/kernel": KerasRegularizer(l1: 0.01, l2: 0.03)])
    }

    /// A Bidirectional's regularizers and constraints sit in its wrapped layer's config; both directions' variables
    /// carry them (Keras rebuilds the backward layer from that config).
    @Test func bidirectionalLayersRegularizersAreRead() throws {
        let url = Fixtures.root.appendingPathComponent("train/keras/bidirectional_regularized.keras")
        let model = try KerasTrainable(try KerasModel.load(url))
        let regularized = Dictionary(uniqueKeysWithValues: model.regularizers.map { (model.variables[$0.index].name, $0.regularizer) })
        #expect(regularized == ["forward_lstm_1/lstm_cell/kernel": KerasRegularizer(l2: 0.05), "backward_lstm_1/lstm_cell/kernel": KerasRegularizer(l2: 0.05),
                                "forward_lstm_1/lstm_cell/recurrent_kernel": KerasRegularizer(l1: Double(Float(0.02))),
                                "backward_lstm_1/lstm_cell/recurrent_kernel": KerasRegularizer(l1: Double(Float(0.02))),
                                "forward_gru_1/gru_cell/kernel": .orthogonal(factor: 0.5, rows: false),
                                "backward_gru_1/gru_cell/kernel": .orthogonal(factor: 0.5, rows: false)], "\(regularized)")
        let constrained = Set(model.constraints.map { model.variables[$0.index].name })
        #expect(constrained == ["forward_lstm_1/lstm_cell/recurrent_kernel", "forward_lstm_1/lstm_cell/bias",
                                "backward_lstm_1/lstm_cell/recurrent_kernel", "backward_lstm_1/lstm_cell/bias"])
    }

    /// A TimeDistributed's layer keeps its variable names and its config's regularizers and constraints.
    @Test func timeDistributedLayersRegularizersAreRead() throws {
        let url = Fixtures.root.appendingPathComponent("train/keras/time_distributed_regularized.keras")
        let model = try KerasTrainable(try KerasModel.load(url))
        let regularized = Dictionary(uniqueKeysWithValues: model.regularizers.map { (model.variables[$0.index].name, $0.regularizer) })
        #expect(regularized == ["step/kernel": KerasRegularizer(l2: 0.05), "step_out/kernel": .orthogonal(factor: 0.5, rows: true)], "\(regularized)")
        #expect(model.constraints.map { model.variables[$0.index].name } == ["step/bias"])
    }

    @Test func configs() throws {
        #expect(KerasRegularizer(config: .string("l2")) == nil)
        let l1l2 = try JSONValue.parse(#"{"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.25}}"#)
        #expect(KerasRegularizer(config: l1l2) == KerasRegularizer(l2: 0.25))
        let orthogonal = try JSONValue.parse(#"{"class_name": "OrthogonalRegularizer", "config": {"factor": 0.01, "mode": "rows"}}"#)
        #expect(KerasRegularizer(config: orthogonal) == .orthogonal(factor: 0.01, rows: true))
        let columns = try JSONValue.parse(#"{"class_name": "OrthogonalRegularizer", "config": {"factor": 2.0, "mode": "columns"}}"#)
        #expect(KerasRegularizer(config: columns) == .orthogonal(factor: 2, rows: false))
        let diagonal = try JSONValue.parse(#"{"class_name": "OrthogonalRegularizer", "config": {"factor": 2.0, "mode": "diagonal"}}"#)
        #expect(KerasRegularizer(config: diagonal) == nil)
    }

    /// OrthogonalRegularizer's penalty by hand: rows (3, 4) and (4, 3) of a [2, 2] kernel have cosine 24/25, one pair,
    /// so factor 2 gives 2 · 0.5 · (2 · 24/25) / 1 = 1.92; their columns (3, 4) and (4, 3) too.
    @Test func orthogonalPenalty() throws {
        let w = Tensor(shape: [2, 2], values: [3.0, 4, 4, 3])
        for rows in [true, false] {
            let b = EagerContext()
            let penalty = try #require(try KerasRegularizer.orthogonal(factor: 2, rows: rows).penalty(b.constant(w), in: b))
            #expect(abs(penalty.tensor.doubles[0] - 1.92) < 1e-12)
        }
        #expect(KerasRegularizer.orthogonal(factor: 1, rows: true).refusal(shape: [3, 3, 2, 4])?.contains("rank-2") == true)
    }

    /// The constraint fixtures test the projections: trained without them, the weights leave the bound.
    @Test(arguments: ["keras_model_constrained", "keras_model_constrained_adam", "keras_model_bidirectional_regularized",
                      "keras_model_time_distributed_regularized"])
    func constraintsChangeTheRun(_ name: String) throws {
        let fixture = try TrainingCase.named(name)
        #expect(try fixture.worstExcess() <= 1e-5)
        #expect(try fixture.worstExcess(constrained: false) > 1e-5)
    }

    @Test func constraintConfigs() throws {
        let maxNorm = try JSONValue.parse(#"{"class_name": "MaxNorm", "config": {"max_value": 0.6, "axis": 0}}"#)
        #expect(KerasConstraint(config: maxNorm) == .maxNorm(max: 0.6, axes: [0]))
        let minMax = try JSONValue.parse(#"{"class_name": "MinMaxNorm", "config": {"min_value": 0.2, "max_value": 0.5, "rate": 0.7, "axis": [0, 1]}}"#)
        #expect(KerasConstraint(config: minMax) == .minMaxNorm(min: 0.2, max: 0.5, rate: 0.7, axes: [0, 1]))
        #expect(KerasConstraint(config: try JSONValue.parse(#"{"class_name": "Custom", "config": {}}"#)) == nil)
        // Norms over axis 0 of a [2, 2] kernel: columns (3, 4) and (0, 0).
        let w = Tensor(shape: [2, 2], values: [3, 0, 4, 0])
        #expect(try KerasConstraint.unitNorm(axes: [0]).apply(w).doubles.map { ($0 * 1e6).rounded() / 1e6 } == [0.6, 0, 0.8, 0])
        #expect(try KerasConstraint.nonNeg.apply(Tensor(shape: [3], values: [-1, 0, 2])).doubles == [0, 0, 2])
    }

    /// What Parity does not apply is refused, naming the layer and the setting.
    @Test(arguments: [("refused_wrapped", "activity_regularizer"), ("refused_time_distributed_bn", "BatchNormalization"),
                      ("refused_custom_regularizer", "kernel_regularizer"),
                      ("refused_orthogonal_conv", "rank-2 variable"), ("refused_nested_wrapper", "holding a layer with kernel_regularizer"),
                      ("refused_stochastic_depth", "drop_path_rate 0.1")])
    func refused(_ file: String, key: String) throws {
        let url = Fixtures.root.appendingPathComponent("train/keras/\(file).keras")
        let model = try KerasModel.load(url)
        #expect {
            _ = try KerasTrainable(model)
        } throws: { error in
            "\(error)".contains("'dense'") && "\(error)".contains(key)
        }
    }
}
