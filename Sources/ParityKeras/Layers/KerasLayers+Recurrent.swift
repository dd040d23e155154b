import ParityNN

/// SimpleRNN, GRU, LSTM and Bidirectional (`keras/src/layers/rnn/`). Keras 3 on a CPU runs the
/// generic per-step loop with each cell's `implementation=2` formulas (the cuDNN paths need a GPU).
extension KerasLayers {
    static let recurrent: [String: Factory] = [
        "SimpleRNN": { try simpleRNN($0) }, "GRU": { try gru($0) }, "LSTM": { try lstm($0) },
        "Bidirectional": bidirectional, "TimeDistributed": timeDistributed,
    ]

    struct SequenceOptions {
        var units: Int
        var useBias: Bool
        var returnSequences: Bool
        var returnState: Bool
        var goBackwards: Bool
    }

    static func sequenceOptions(_ layer: KerasLayerConfig) throws -> SequenceOptions {
        func flag(_ key: String) throws -> Bool { try layer.has(key) ? layer.bool(key) : false }
        if try flag("stateful") { throw KerasError.unsupportedSetting(layer: layer.name, key: "stateful", value: "true") }
        let units = try layer.int("units")
        guard units >= 1 else { throw KerasError.badConfig(layer: layer.name, key: "units", found: "\(units)") }
        return SequenceOptions(units: units, useBias: try layer.has("use_bias") ? layer.bool("use_bias") : true,
                               returnSequences: try flag("return_sequences"), returnState: try flag("return_state"),
                               goBackwards: try flag("go_backwards"))
    }

    /// An activation a recurrent cell applies elementwise (`key` missing means `default`).
    static func elementwise(_ layer: KerasLayerConfig, _ key: String, default fallback: UnaryFunction) throws -> UnaryFunction {
        guard layer.has(key) else { return fallback }
        switch try layer.activation(key) {
        case .unary(let f)?: return f
        default: throw KerasError.unsupportedSetting(layer: layer.name, key: key, value: "\(layer.config[key] ?? .null) (a recurrent cell needs an elementwise activation)")
        }
    }

    static func simpleRNN(_ layer: KerasLayerConfig) throws -> SimpleRNN {
        let o = try sequenceOptions(layer)
        let inputs = dimension(layer, weight: 0, axis: 0)
        let w = try layer.weights(shapes: [[inputs, o.units], [o.units, o.units]] + (o.useBias ? [[o.units]] : []))
        var rnn = SimpleRNN(kernel: w[0], recurrentKernel: w[1], bias: o.useBias ? w[2] : nil,
                            activation: layer.has("activation") ? try layer.activation() : .unary(.tanh),
                            returnSequences: o.returnSequences, returnState: o.returnState, goBackwards: o.goBackwards)
        (rnn.dropout, rnn.recurrentDropout) = (try rate(layer, "dropout"), try rate(layer, "recurrent_dropout"))
        return rnn
    }

    /// Bias `[2, 3u]` (input row, recurrent row) with `reset_after`, else `[3u]`.
    static func gru(_ layer: KerasLayerConfig) throws -> GRU {
        let o = try sequenceOptions(layer)
        let resetAfter = try layer.has("reset_after") ? layer.bool("reset_after") : true
        let inputs = dimension(layer, weight: 0, axis: 0), u3 = 3 * o.units
        let w = try layer.weights(shapes: [[inputs, u3], [o.units, u3]] + (o.useBias ? [resetAfter ? [2, u3] : [u3]] : []))
        // A reset-after bias `[2, 3u]` stays stacked (the GRU slices its rows), so training differentiates it as stored.
        let stacked = o.useBias && resetAfter ? w[2] : nil
        var gru = GRU(kernel: w[0], recurrentKernel: w[1], inputBias: o.useBias && !resetAfter ? w[2] : nil, recurrentBias: nil, resetAfter: resetAfter,
                      gateOrder: .keras, activation: try elementwise(layer, "activation", default: .tanh),
                      recurrentActivation: try elementwise(layer, "recurrent_activation", default: .sigmoid),
                      returnSequences: o.returnSequences, returnState: o.returnState, goBackwards: o.goBackwards, stackedBias: stacked)
        (gru.dropout, gru.recurrentDropout) = (try rate(layer, "dropout"), try rate(layer, "recurrent_dropout"))
        return gru
    }

    /// Without `use_bias` the bias is zeros: adding 0 after the products changes no value.
    static func lstm(_ layer: KerasLayerConfig) throws -> LSTM {
        let o = try sequenceOptions(layer)
        let inputs = dimension(layer, weight: 0, axis: 0), u4 = 4 * o.units
        let w = try layer.weights(shapes: [[inputs, u4], [o.units, u4]] + (o.useBias ? [[u4]] : []))
        var lstm = LSTM(kernel: w[0], recurrentKernel: w[1], bias: o.useBias ? w[2] : Tensor.zeros([u4]),
                        activation: try elementwise(layer, "activation", default: .tanh),
                        recurrentActivation: try elementwise(layer, "recurrent_activation", default: .sigmoid),
                        returnSequences: o.returnSequences, returnState: o.returnState, goBackwards: o.goBackwards, useBias: o.useBias)
        (lstm.dropout, lstm.recurrentDropout) = (try rate(layer, "dropout"), try rate(layer, "recurrent_dropout"))
        return lstm
    }

    /// A dropout rate of the config (0 when missing), clipped to [0, 1] as the cells clip it.
    static func rate(_ layer: KerasLayerConfig, _ key: String) throws -> Double {
        guard layer.has(key) else { return 0 }
        return Swift.min(1, Swift.max(0, try layer.double(key)))
    }

    /// `layer` (forward) and `backward_layer` configs, each `{"class_name", "config"}`; weights are the
    /// forward layer's then the backward layer's (`layer.weights` order).
    /// `TimeDistributed(layer)`: the wrapped layer (its weights under the `layer` sub-object) applied to every
    /// step of `[N, T, …]`: the batch and time axes merged into one, the layer run once, the axes split again
    /// (`keras/src/layers/rnn/time_distributed.py` maps the layer over the steps; each step's values are the
    /// same computation).
    @Sendable static func timeDistributed(_ layer: KerasLayerConfig) throws -> any Model {
        let spec = try layer.value("layer")
        guard let className = spec["class_name"]?.string, let config = spec["config"], case .object = config else {
            throw KerasError.badConfig(layer: layer.name, key: "layer", found: "\(spec)")
        }
        let inner = KerasLayerConfig(className: className, name: "\(layer.name)/\(config["name"]?.string ?? "layer")", config: config,
                                     weights: layer.weights, module: spec["module"]?.string, registeredName: spec["registered_name"]?.string,
                                     constants: layer.constants)
        return TimeDistributed(layer: try KerasLayers.make(inner), className: className, name: layer.name)
    }

    @Sendable static func bidirectional(_ layer: KerasLayerConfig) throws -> any Model {
        let mergeValue = try layer.value("merge_mode")
        let merge: Bidirectional.MergeMode?
        if mergeValue.isNull { merge = nil } else {
            guard let name = mergeValue.string, let mode = Bidirectional.MergeMode(rawValue: name) else {
                throw KerasError.unsupportedSetting(layer: layer.name, key: "merge_mode", value: "\(mergeValue)")
            }
            merge = mode
        }
        func inner(_ key: String) throws -> (className: String, config: KerasJSON)? {
            guard layer.has(key) else { return nil }
            let v = try layer.value(key)
            guard let className = v["class_name"]?.string, let config = v["config"], case .object = config else {
                throw KerasError.badConfig(layer: layer.name, key: key, found: "\(v)")
            }
            return (className, config)
        }
        guard let forwardSpec = try inner("layer") else { throw KerasError.badConfig(layer: layer.name, key: "layer", found: "nothing") }
        var backwardSpec = try inner("backward_layer") ?? forwardSpec
        if try inner("backward_layer") == nil, case .object(var fields) = backwardSpec.config {
            fields["go_backwards"] = .bool(!(forwardSpec.config["go_backwards"]?.bool ?? false))
            backwardSpec.config = .object(fields)
        }
        guard layer.weights.count % 2 == 0 else {
            throw KerasError.weightMismatch(layer: layer.name, message: "expects the forward and backward layers' weights (an even count); the file has \(layer.weights.count)")
        }
        let half = layer.weights.count / 2
        func make(_ spec: (className: String, config: KerasJSON), _ weights: ArraySlice<Tensor>, _ suffix: String) throws -> any MultiOutputModel {
            let sub = KerasLayerConfig(className: spec.className, name: "\(layer.name)/\(spec.config["name"]?.string ?? suffix)",
                                       config: spec.config, weights: Array(weights), constants: layer.constants)
            switch spec.className {
            case "SimpleRNN": return try simpleRNN(sub)
            case "GRU": return try gru(sub)
            case "LSTM": return try lstm(sub)
            default: throw KerasError.unsupportedSetting(layer: layer.name, key: "layer", value: spec.className)
            }
        }
        let forward = try make(forwardSpec, layer.weights[..<half], "forward")
        let backward = try make(backwardSpec, layer.weights[half...], "backward")
        let fo = try sequenceOptions(KerasLayerConfig(className: forwardSpec.className, name: layer.name, config: forwardSpec.config, weights: []))
        let bo = try sequenceOptions(KerasLayerConfig(className: backwardSpec.className, name: layer.name, config: backwardSpec.config, weights: []))
        guard bo.goBackwards != fo.goBackwards, bo.returnSequences == fo.returnSequences, bo.returnState == fo.returnState else {
            throw KerasError.badConfig(layer: layer.name, key: "backward_layer", found: "go_backwards \(bo.goBackwards), return_sequences \(bo.returnSequences), return_state \(bo.returnState) against the forward layer's")
        }
        let states = fo.returnState ? (forwardSpec.className == "LSTM" ? 2 : 1) : 0
        // Keras names the backward layer `backward_<forward name>` when the config gives none.
        let forwardName = forwardSpec.config["name"]?.string ?? "forward"
        let backwardName = (layer.has("backward_layer") ? backwardSpec.config["name"]?.string : nil) ?? "backward_\(forwardName)"
        return Bidirectional(forward: forward, backward: backward, merge: merge, returnSequences: fo.returnSequences, stateCount: states,
                             names: (forwardName, backwardName))
    }
}

/// A layer applied to every step of its `[N, T, …]` input (``KerasLayers/timeDistributed(_:)``).
public struct TimeDistributed: Model {
    /// The wrapped layer, as the loader built it.
    public let layer: any Model
    /// The wrapped layer's Keras class.
    public let className: String
    /// The wrapper's name.
    public let name: String

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        guard let x = inputs.first else { throw KerasError.badConfig(layer: name, key: "inputs", found: "none") }
        let shape = b.shape(of: x)
        guard shape.count >= 3 else {
            throw KerasError.badConfig(layer: name, key: "input shape", found: "\(shape): TimeDistributed needs [batch, time, …]")
        }
        let merged = try b.reshape(x, [shape[0] * shape[1]] + shape.dropFirst(2))
        let y = try layer([merged], in: b)
        return try b.reshape(y, [shape[0], shape[1]] + b.shape(of: y).dropFirst())
    }
}

/// Keras's `RNN.call(sequences, initial_state=None, mask=None, training=False)` and
/// `Bidirectional.call(sequences, initial_state=None, …)`: the layer runs on the sequence and the
/// `initial_state` tensors (positional or keyword); an explicit `mask` is not read.
protocol KerasRecurrentCall: KerasCallable {}

extension KerasRecurrentCall {
    public func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        guard let sequence = call.argument(0, "sequences")?.tensor else {
            throw KerasError.badConfig(layer: context.layer, key: "inbound_nodes", found: "a call without a sequence tensor")
        }
        return try outputs([sequence] + (call.argument(1, "initial_state")?.tensors ?? []), in: b)
    }
}

extension SimpleRNN: KerasRecurrentCall {}
extension LSTM: KerasRecurrentCall {}
extension GRU: KerasRecurrentCall {}
extension Bidirectional: KerasRecurrentCall {}
