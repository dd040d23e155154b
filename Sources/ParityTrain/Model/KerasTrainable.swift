import ParityKeras
import ParityNN

/// A Keras model made ready to train as `model.fit` trains it (Keras 3, TensorFlow backend):
///
/// - BatchNormalization layers use batch statistics and move `moving_mean`/`moving_variance` with Keras's
///   momentum (`BatchNormTraining/keras(momentum:)`), except in a layer with `trainable: false`, which
///   stays in inference mode (`if training and self.trainable`);
/// - Dropout and SpatialDropout apply the step's shared mask (`Dropout`);
/// - variables are named as `load_model(...).weights` names them (`KerasVariableNames`).
///
/// MultiHeadAttention's `dropout` applies the step's shared mask to the attention probabilities, the recurrent
/// layers' `dropout` and `recurrent_dropout` theirs (each direction of a Bidirectional its own, forward first).
/// Weight and activity regularizers (L1, L2, L1L2, OrthogonalRegularizer) add their penalties to the loss (``penalties(variables:in:)``,
/// ``trainingOutputs(_:in:dtype:)``), constraints project the variables after each update (``constrain(_:)``).
/// Those of a Bidirectional's or TimeDistributed's layer apply too, except a Bidirectional's layers' activity
/// regularizers (refused; Keras ignores a TimeDistributed layer's). Other regularizers and constraints, training-mode
/// layers inside TimeDistributed and random layers without a mask (GaussianNoise, GaussianDropout, AlphaDropout)
/// are refused by name rather than silently left out.
public struct KerasTrainable: TrainableModel {
    /// The model's network, its layers prepared for training.
    public var network: KerasNetwork
    public let variables: [TrainingVariable]
    public let name: String
    /// BatchNormalization rules replacing the file's, by layer name (a comparison tries the other side's
    /// momentum or running variance, or trains a frozen layer with batch statistics); empty in a plain run.
    public var batchNormRules: [String: BatchNormTraining] = [:]
    /// BatchNormalization, Dropout and recurrent layers (their `dropout`, `recurrent_dropout`) run in inference mode
    /// although `fit` would train them (a comparison tries the other side's mode); empty in a plain run.
    public var inferenceLayers: Set<String> = []
    /// The weight regularizers `fit` adds to the loss, by variable index, in the variables' order (the model's
    /// `trainable_weights` order `Layer._get_regularization_losses` follows).
    public var regularizers: [(index: Int, regularizer: KerasRegularizer)]
    /// The activity regularizers, by layer name.
    public var activityRegularizers: [String: KerasRegularizer] = [:]
    /// The weight constraints the optimizer applies after each update, by variable index.
    public var constraints: [(index: Int, constraint: KerasConstraint)]
    public var framework: Framework { .keras }
    public var inputNames: [String] { network.inputs.map(\.layer) }
    public var outputCount: Int { network.outputs.count }

    /// The model read from a Keras file; throws ``TrainError`` naming a layer that cannot train faithfully.
    public init(_ model: KerasModel, name: String = "the Keras model") throws {
        try self.init(network: model.network, name: name)
    }

    /// ``init(_:name:)`` for a network.
    public init(network: KerasNetwork, name: String = "the Keras model") throws {
        var network = network
        try Self.prepare(&network)
        self.network = network
        self.name = name
        var collected: [TrainingVariable] = []
        var regularizers: [(Int, KerasRegularizer)] = []
        var constraints: [(Int, KerasConstraint)] = []
        try Self.collect(network, into: &collected, regularizers: &regularizers, constraints: &constraints)
        self.regularizers = regularizers
        self.constraints = constraints
        var activity: [String: KerasRegularizer] = [:]
        try Self.gather(network) { layer in
            guard let value = layer.config["activity_regularizer"], !value.isNull else { return }
            guard let regularizer = KerasRegularizer(config: value) else {
                throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)) has activity_regularizer \(value): Parity applies \(KerasRegularizer.known) only")
            }
            activity[layer.name] = regularizer
        }
        activityRegularizers = activity
        // Names are unique in a model; layers of two nested models may share one, then the model prefixes it.
        var seen: [String: Int] = [:]
        for variable in collected { seen[variable.name, default: 0] += 1 }
        variables = collected
        if let duplicate = seen.first(where: { $0.value > 1 }) {
            throw TrainError.unsupportedModel("two variables are both named '\(duplicate.key)' (layers of nested models with one name)")
        }
    }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> [B.Value] {
        try trainingOutputs(inputs, in: b, dtype: dtype).outputs
    }

    /// The outputs, with each activity regularizer's penalty on each output of its layer's calls, in call order:
    /// `Layer.__call__` (`keras/src/layers/layer.py`) adds `regularizer(output) / batch` (`divide_no_nan` by the
    /// output's first dimension; a scalar output undivided), and `model.losses` lists them before the weight
    /// regularizers'.
    public func trainingOutputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> (outputs: [B.Value], penalties: [B.Value]) {
        var network = self.network
        network.computeDType = dtype
        if !batchNormRules.isEmpty || !inferenceLayers.isEmpty { Self.apply(batchNormRules, inference: inferenceLayers, to: &network) }
        guard !activityRegularizers.isEmpty else { return (try network.outputs(inputs, in: b), []) }
        var penalties: [B.Value] = []
        var failure: Error?
        let outputs = try network.outputs(inputs, in: b) { layer, _, results in
            guard failure == nil, let regularizer = activityRegularizers[layer.name] else { return }
            do {
                for output in results where b.type(of: output).dtype.isFloatingPoint {
                    guard var term = try regularizer.penalty(output, in: b) else { continue }
                    let shape = b.shape(of: output)
                    if let batch = shape.first, batch > 0 { term = try b.divide(term, b.scalar(Double(batch), like: term)) }
                    penalties.append(term)
                }
            } catch { failure = error }
        }
        if let failure { throw failure }
        return (outputs, penalties)
    }

    /// Keras 3's `compute_loss` (`keras/src/trainers/trainer.py`): the compiled loss, then each of `model.losses`
    /// summed in; the weight regularizers' penalties come last (`Layer.losses`), one per regularized trainable
    /// variable in the model's order.
    public func penalties<B: Builder>(variables: [B.Value], in b: B) throws -> [B.Value] {
        try regularizers.compactMap { try $0.regularizer.penalty(variables[$0.index], in: b) }
    }

    /// `BaseOptimizer.apply` (`keras/src/optimizers/base_optimizer.py`): after the update, each constrained trainable
    /// variable is assigned its constraint's projection.
    public func constrain(_ values: inout [Tensor]) throws {
        for (index, constraint) in constraints { values[index] = try constraint.apply(values[index]) }
    }

    /// The BatchNormalization layers trained with batch statistics, by name, with their rule.
    public var batchNormLayers: [(name: String, rule: BatchNormTraining)] {
        var found: [(String, BatchNormTraining)] = []
        Self.gather(network) { layer in
            guard layer.model is BatchNorm, !inferenceLayers.contains(layer.name) else { return }
            if let rule = batchNormRules[layer.name] ?? (layer.model as? BatchNorm)?.training { found.append((layer.name, rule)) }
        }
        return found
    }

    /// Every BatchNormalization layer by name, with whether `fit` trains it with batch statistics (a layer with
    /// `trainable: false` runs in inference mode, `if training and self.trainable` in
    /// `keras/src/layers/normalization/batch_normalization.py`).
    public var batchNormModes: [(name: String, training: Bool)] {
        var found: [(String, Bool)] = []
        Self.gather(network) { layer in
            if let bn = layer.model as? BatchNorm { found.append((layer.name, bn.training != nil)) }
        }
        return found
    }

    /// The Dropout and SpatialDropout layers `fit` trains, in the network's order, with their rates.
    public var dropoutLayers: [(name: String, rate: Double)] {
        var found: [(String, Double)] = []
        Self.gather(network) { layer in
            if let dropout = layer.model as? Dropout, dropout.rate > 0, !inferenceLayers.contains(layer.name) { found.append((layer.name, dropout.rate)) }
        }
        return found
    }

    /// The SimpleRNN, LSTM and GRU layers `fit` trains with dropout, with their `dropout` and `recurrent_dropout`;
    /// a Bidirectional wrapper by its own name, with the larger of its two directions' rates (the same unless a
    /// `backward_layer` is given).
    public var recurrentDropoutLayers: [(name: String, dropout: Double, recurrentDropout: Double)] {
        var found: [(String, Double, Double)] = []
        Self.gather(network) { layer in
            guard !inferenceLayers.contains(layer.name) else { return }
            let cells = Self.recurrentDropouts(layer.model)
            let (dropout, recurrent) = (cells.map(\.dropout).max() ?? 0, cells.map(\.recurrentDropout).max() ?? 0)
            if dropout > 0 || recurrent > 0 { found.append((layer.name, dropout, recurrent)) }
        }
        return found
    }

    /// The recurrent layers with Keras dropouts in `model`: itself, or a Bidirectional's two directions.
    static func recurrentDropouts(_ model: any Model) -> [any RecurrentDropout] {
        if let m = model as? any RecurrentDropout { return [m] }
        guard let bi = model as? Bidirectional else { return [] }
        return [bi.forward, bi.backward].compactMap { $0 as? any RecurrentDropout }
    }

    /// `model` (a recurrent layer or a Bidirectional of them) with its dropouts set to 0: inference mode.
    static func withoutRecurrentDropout(_ model: any Model) -> (any Model)? {
        func off(_ m: any Model) -> (any Model)? {
            guard var r = m as? any RecurrentDropout else { return nil }
            (r.dropout, r.recurrentDropout) = (0, 0)
            return r
        }
        if let r = off(model) { return r }
        guard var bi = model as? Bidirectional else { return nil }
        if let f = off(bi.forward) as? any MultiOutputModel { bi.forward = f }
        if let w = off(bi.backward) as? any MultiOutputModel { bi.backward = w }
        return bi
    }

    static func apply(_ rules: [String: BatchNormTraining], inference: Set<String>, to network: inout KerasNetwork) {
        for index in network.layers.indices {
            let name = network.layers[index].name
            if var nested = network.layers[index].model as? KerasNetwork {
                apply(rules, inference: inference, to: &nested)
                network.layers[index].model = nested
            } else if network.layers[index].model is Dropout, inference.contains(name) {
                network.layers[index].model = Dropout(rate: 0)  // inference mode: the identity, no mask drawn
            } else if inference.contains(name), let m = withoutRecurrentDropout(network.layers[index].model) {
                network.layers[index].model = m
            } else if var bn = network.layers[index].model as? BatchNorm {
                if inference.contains(name) {
                    bn.training = nil
                } else if let rule = rules[name] {
                    bn.training = rule
                }
                network.layers[index].model = bn
            }
        }
    }

    public func converted(to dtype: DType) throws -> KerasTrainable {
        var table: [KerasLayerLocation: [Tensor]] = [:]
        Self.gather(network) { layer in table[layer.location] = layer.weights.map { $0.dtype.isFloatingPoint ? $0.cast(to: dtype) : $0 } }
        let rebuilt = try KerasNetwork(config: network.config, weights: WeightTable(table: table), constants: network.constants)
        var copy = try KerasTrainable(network: rebuilt, name: name)
        copy.batchNormRules = batchNormRules
        copy.inferenceLayers = inferenceLayers
        copy.regularizers = regularizers
        copy.constraints = constraints
        copy.activityRegularizers = activityRegularizers
        return copy
    }

    struct WeightTable: KerasWeightSource {
        var table: [KerasLayerLocation: [Tensor]]
        func weights(for layer: KerasLayerLocation) throws -> [Tensor] {
            guard let found = table[layer] else {
                throw TrainError.unsupportedModel("no weights for layer '\(layer.name)' at \(layer.path.joined(separator: "/"))")
            }
            return found
        }
    }

    /// Every layer, nested models' layers included (a nested model itself is not one).
    static func gather(_ network: KerasNetwork, _ body: (KerasNetwork.Layer) throws -> Void) rethrows {
        for layer in network.layers {
            if let nested = layer.model as? KerasNetwork { try gather(nested, body) } else { try body(layer) }
        }
    }

    static func collect(_ network: KerasNetwork, into variables: inout [TrainingVariable],
                        regularizers: inout [(Int, KerasRegularizer)], constraints: inout [(Int, KerasConstraint)]) throws {
        for layer in network.layers {
            if let nested = layer.model as? KerasNetwork {
                try collect(nested, into: &variables, regularizers: &regularizers, constraints: &constraints)
                continue
            }
            guard !layer.weights.isEmpty else { continue }
            guard let entries = KerasVariableNames.entries(className: layer.className, layer: layer.name, config: layer.config, count: layer.weights.count),
                  entries.count == layer.weights.count else {
                throw TrainError.unsupportedModel("Parity does not know the variables of layer '\(layer.name)' (Keras class \(layer.className), \(layer.weights.count) weights)")
            }
            let frozen = layer.config["trainable"]?.bool == false
            for (index, (entry, weight)) in zip(entries, layer.weights).enumerated() {
                let trainable = entry.trainable && !frozen
                let config = variableConfig(layer, index: index)
                if trainable, let regularizer = try regularizer(of: entry.name, config: config, layer: layer) {
                    if let reason = regularizer.refusal(shape: weight.shape) {
                        throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)), variable '\(entry.name)': \(reason)")
                    }
                    regularizers.append((variables.count, regularizer))
                }
                if trainable, let constraint = try constraint(of: entry.name, config: config, layer: layer) {
                    constraints.append((variables.count, constraint))
                }
                variables.append(TrainingVariable(name: entry.name, value: weight, trainable: trainable))
            }
        }
    }

    /// The config that holds the regularizer and constraint of `layer`'s variable `index`: the layer's own, a
    /// TimeDistributed's wrapped layer, or a Bidirectional's wrapped layer (its first half of the variables) and `backward_layer` (the second half; without
    /// one, Keras rebuilds the backward layer from the wrapped layer's config, regularizers and constraints included).
    static func variableConfig(_ layer: KerasNetwork.Layer, index: Int) -> KerasJSON {
        guard wrapperClasses.contains(layer.className), let forward = layer.config["layer"]?["config"] else { return layer.config }
        if layer.className == "TimeDistributed" { return forward }
        return index < layer.weights.count / 2 ? forward : layer.config["backward_layer"]?["config"] ?? forward
    }

    /// The regularizer of the variable `name` (a Keras path whose last part names it: `kernel`, `bias`, …) that
    /// `config` (``variableConfig(_:index:)``) records, if any; throws naming the layer when Parity does not know it.
    static func regularizer(of name: String, config: KerasJSON, layer: KerasNetwork.Layer) throws -> KerasRegularizer? {
        let variable = name.split(separator: "/").last.map(String.init) ?? name
        guard let key = KerasRegularizer.variableKeys.first(where: { $0.variable == variable })?.key,
              let value = config[key], !value.isNull else { return nil }
        guard let regularizer = KerasRegularizer(config: value) else {
            throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)) has \(key) \(value): Parity applies \(KerasRegularizer.known) only")
        }
        return regularizer
    }

    /// The constraint of the variable `name` that `config` records (under its key in
    /// ``KerasConstraint/variableKeys``), if any; throws naming the layer when Parity does not know it.
    static func constraint(of name: String, config: KerasJSON, layer: KerasNetwork.Layer) throws -> KerasConstraint? {
        let variable = name.split(separator: "/").last.map(String.init) ?? name
        guard let key = KerasConstraint.variableKeys.first(where: { $0.variable == variable })?.key,
              let value = config[key], !value.isNull else { return nil }
        guard let constraint = KerasConstraint(config: value) else {
            throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)) has \(key) \(value): Parity applies MaxNorm, NonNeg, UnitNorm and MinMaxNorm only")
        }
        return constraint
    }

    /// The first regularizer, constraint, dropout or training-mode layer in `value` (a wrapped layer's nested layers),
    /// as `key value` or the class name; nil when it has none.
    static func nestedTrainingSetting(_ value: KerasJSON) -> String? {
        if let items = value.array { return items.lazy.compactMap(nestedTrainingSetting).first }
        guard let object = value.object else { return nil }
        if let name = object["class_name"]?.string, trainingModeClasses.contains(name) { return name }
        for (key, entry) in object {
            if settingKeys.contains(key), !entry.isNull { return "\(key) \(entry)" }
            if ["dropout", "recurrent_dropout"].contains(key), (entry.double ?? 0) > 0 { return "\(key) \(entry)" }
            if let found = nestedTrainingSetting(entry) { return found }
        }
        return nil
    }

    /// The layers whose training step differs from inference (statistics, masks, noise: BatchNormalization, Dropout
    /// and ParityKeras's ``KerasLayers/inferenceIdentities``): refused inside TimeDistributed.
    static let trainingModeClasses = Set(["BatchNormalization", "Dropout"]).union(KerasLayers.inferenceIdentities)

    /// The Keras wrappers whose wrapped layer's config holds the regularizers and constraints (``variableConfig(_:index:)``).
    static let wrapperClasses: Set<String> = ["Bidirectional", "TimeDistributed"]

    /// The keys of a variable's constraint and regularizer (a wrapper applies those of its wrapped layer,
    /// ``variableConfig(_:index:)``).
    static let variableSettingKeys = KerasConstraint.variableKeys.map(\.key) + KerasRegularizer.variableKeys.map(\.key)

    /// Every key of a training setting a layer config can hold: ``variableSettingKeys`` and `activity_regularizer`.
    static let settingKeys = ["activity_regularizer"] + variableSettingKeys

    /// Puts the network's layers in training mode (``KerasTrainable``).
    static func prepare(_ network: inout KerasNetwork) throws {
        for index in network.layers.indices {
            let layer = network.layers[index]
            if var nested = layer.model as? KerasNetwork {
                try prepare(&nested)
                network.layers[index].model = nested
                continue
            }
            let config = layer.config
            // A wrapper keeps its layer's regularizers inside its own config: weight regularizers and constraints apply
            // (``variableConfig(_:index:)``); a Bidirectional's layers' activity regularizers are refused. TimeDistributed
            // runs its layer's `call`, not `__call__` (`keras/src/layers/rnn/time_distributed.py`), so Keras adds no
            // activity penalty of the wrapped layer (`model.losses` is empty), and neither does Parity.
            let wrapper = wrapperClasses.contains(layer.className)
            let applied = Set(wrapper ? variableSettingKeys : [])
                .union(layer.className == "TimeDistributed" ? ["activity_regularizer"] : [])
            if layer.className == "TimeDistributed", let innerClass = config["layer"]?["class_name"]?.string {
                let inner = config["layer"]?["config"]
                let drops = ["dropout", "recurrent_dropout"].contains { (inner?[$0]?.double ?? 0) > 0 }
                if trainingModeClasses.contains(innerClass) || drops {
                    throw TrainError.unsupportedModel("layer '\(layer.name)' (TimeDistributed) wraps a \(innerClass) that trains differently from inference "
                                                      + "(batch statistics or dropout masks): Keras runs it once per time step in training, which Parity does not reproduce yet")
                }
            }
            for wrapped in ["layer", "backward_layer"] {
                guard let inner = config[wrapped]?["config"] else { continue }
                let innerClass = config[wrapped]?["class_name"]?.string ?? "layer"
                // Only the wrapped layer's own config is read (``variableConfig(_:index:)``): a layer nested deeper
                // (TimeDistributed(Bidirectional(LSTM(kernel_regularizer=…)))) would train without its settings.
                if let nested = inner.object?.values.lazy.compactMap(Self.nestedTrainingSetting).first {
                    throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)) wraps a \(innerClass) holding a layer with \(nested): "
                                                      + "Parity reads the settings of the wrapped layer only, and training without it would not be Keras's run")
                }
                for key in settingKeys
                where !applied.contains(key) && !(inner[key]?.isNull ?? true) {
                    throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)) wraps a \(innerClass) with \(key) \(inner[key]!): Parity does not yet apply \(key) inside \(layer.className), and training without it would not be Keras's run")
                }
            }
            let frozen = config["trainable"]?.bool == false
            switch layer.className {
            case "BatchNormalization":
                if var bn = layer.model as? BatchNorm, !frozen {
                    bn.training = bn.recordedTraining ?? .keras()
                    network.layers[index].model = bn
                }
            case "Dropout":
                let rate = config["rate"]?.double ?? 0
                let noise = config["noise_shape"]?.array.map { $0.map(\.int) }
                network.layers[index].model = Dropout(rate: rate, noiseShape: noise)
            case "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D":
                let rank = ["SpatialDropout1D": 3, "SpatialDropout2D": 4, "SpatialDropout3D": 5][layer.className]!
                network.layers[index].model = Dropout.spatial(rate: config["rate"]?.double ?? 0, rank: rank,
                                                              channelsFirst: config["data_format"]?.string == "channels_first")
            case "GaussianNoise", "GaussianDropout", "AlphaDropout":
                let amount = config["rate"]?.double ?? config["stddev"]?.double ?? 0
                if amount > 0 {
                    throw TrainError.unsupportedModel("layer '\(layer.name)' (\(layer.className)) draws random noise in training, which a shared mask cannot reproduce")
                }
            case "StochasticDepth":
                // keras/src/applications/convnext.py: in training, x / keep · floor(keep + uniform) per sample.
                if let rate = config["drop_path_rate"]?.double, rate > 0 {
                    throw TrainError.unsupportedModel("layer '\(layer.name)' (StochasticDepth) drops each sample's path at random in training "
                                                      + "(drop_path_rate \(rate)), which Parity does not reproduce yet")
                }
            default:
                break
            }
        }
    }
}
