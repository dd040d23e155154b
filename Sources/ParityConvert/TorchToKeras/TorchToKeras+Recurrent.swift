import ParityKeras
import ParityNN
import ParityTorch

/// `aten.lstm` / `aten.gru` / `aten.rnn_tanh` / `aten.rnn_relu` (`nn.RNN`) →
/// LSTM / GRU / SimpleRNN layers with `return_sequences` and
/// `return_state`, on the sequence held (batch, time, features) — a time-first sequence
/// (`batch_first=False`) is read through its held layout, never by moving Keras's batch axis.
///
/// - LSTM: gates `[i, f, g, o]` are Keras's `[i, f, c, o]`; kernel = `weight_ih_lkᵀ`, recurrent_kernel =
///   `weight_hh_lkᵀ`, bias = `bias_ih_lk + bias_hh_lk`: PyTorch adds the two biases to the gates
///   separately, Keras adds their sum once, so the result is exact up to the rounding of that Float32
///   sum (stated in the conversion's notes).
/// - GRU: PyTorch's `n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn))` is Keras's `reset_after=True`; gate
///   blocks `[r, z, n]` → Keras's `[z, r, h]` in kernel and recurrent_kernel (then transposed), bias
///   rows `[bias_ih, bias_hh]`, each reordered: exact.
/// - RNN (`nonlinearity="tanh"` / `"relu"`): SimpleRNN with that `activation`; kernel = `weight_ih_lkᵀ`,
///   recurrent_kernel = `weight_hh_lkᵀ`, bias = `bias_ih_lk + bias_hh_lk`. PyTorch computes
///   `act((x·W_ihᵀ + b_ih) + (h·W_hhᵀ + b_hh))` (`aten/src/ATen/native/RNN.cpp`: the input projection
///   of every step first, then each step's hidden one), Keras `act((x·W + (b_ih + b_hh)) + h·U)`
///   (`SimpleRNNCell.call`): the same terms added in another order, so exact up to a few Float32
///   roundings of the pre-activation per step (stated in the conversion's notes).
/// - `bidirectional=True`: each layer is `Bidirectional(…, merge_mode="concat")` whose `backward_layer`
///   (`go_backwards=True`, the `_reverse` weights) Keras flips back into time order, so its output is
///   PyTorch's `[forward, reverse]` on the feature axis.
/// - `num_layers > 1`: consecutive layers, each reading the previous one's sequence (PyTorch's
///   inter-layer dropout acts in training only, refused there).
/// - Outputs: the last layer's sequence, then `h_n` (and `c_n`) as `(layers·directions, N, H)` in
///   PyTorch's order (layer by layer, forward before reverse): each Keras `(N, H)` state reshaped to
///   `(N, 1, H)`, joined by a Concatenate when there are several.
/// - Initial states `hx` other than zeros (graph inputs, computed, or constants such as a learned `h0`,
///   held as stored constants): slice `k = layer·directions + direction` of each (`Take` on its first
///   axis) passed as the layer's `initial_state` (`[h]` / `[h, c]`; Bidirectional: forward's then
///   backward's), the positional argument Keras's `RNN.call` and `Bidirectional.call` take.
/// Refused: LSTM `proj_size` (Keras's LSTM has no projection of `h`), recurrent dropout in training.
enum RecurrentOps: TorchToKerasFamily {
    static let targets: Set<String> = ["aten.lstm.input", "aten.gru.input", "aten.rnn_tanh.input", "aten.rnn_relu.input"]
    /// The Keras class, the PyTorch gate blocks per weight, and the cell's activation of each operator.
    static let kinds: [String: (className: String, gates: Int, activation: String)] = [
        "aten.lstm.input": ("LSTM", 4, "tanh"), "aten.gru.input": ("GRU", 3, "tanh"),
        "aten.rnn_tanh.input": ("SimpleRNN", 1, "tanh"), "aten.rnn_relu.input": ("SimpleRNN", 1, "relu"),
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        guard let kind = kinds[c.target] else { throw c.refuse("not a recurrent operator") }
        let lstm = kind.className == "LSTM"
        let layers = try c.int("num_layers"), bidirectional = try c.bool("bidirectional"), batchFirst = try c.bool("batch_first")
        let directions = bidirectional ? 2 : 1
        guard layers >= 1 else { throw c.refuse("num_layers=\(layers)") }
        if try c.bool("train", default: false), try c.double("dropout", default: 0) > 0 { throw c.refuse("recurrent dropout in training mode is random") }
        let states: [String]
        switch c.node.argument("hx") {
        case .tensors(let names)?: states = names
        case .tensor(let name)?: states = [name]
        default: throw c.refuse("'hx' is neither a tensor nor a list of tensors")
        }
        // Given initial states (graph inputs, computed values or constants): each layer's and
        // direction's `(N, H)` slice, passed as Keras's `initial_state`; all zeros: none (Keras's default).
        let given = try states.contains { n in if case .zeros? = c.operand(named: n) { return false } else { return true } }
            ? states.map { try initialState(c, $0) } : nil
        guard case .tensors(let names)? = c.node.argument("params") else { throw c.refuse("'params' is not a list of tensors") }
        let params = try names.map { try c.weight(named: $0, argument: "params") }
        let hasBiases = try c.bool("has_biases")
        let perDirection = hasBiases ? 4 : 2
        if lstm && params.count == (perDirection + 1) * layers * directions {
            throw c.refuse("LSTM with proj_size: PyTorch's h is weight_hr_l·(o·tanh(c)), a projection of the cell's output to proj_size; Keras's LSTM has no projection (its h is o·tanh(c), of the cell's size) and no Keras layer runs a recurrence through one")
        }
        guard params.count == perDirection * layers * directions,
              stride(from: 0, to: params.count, by: perDirection).allSatisfy({ params[$0].tensor.rank == 2 && params[$0 + 1].tensor.rank == 2 }),
              params[1].tensor.shape[1] == params[1].tensor.shape[0] / kind.gates else {
            throw c.refuse("\(params.count) weights for \(layers) layer(s) in \(directions) direction(s) (LSTM proj_size is not converted)")
        }
        let hidden = params[1].tensor.shape[1]
        let sequencePerm = batchFirst ? [0, 1, 2] : [1, 0, 2]
        let className = kind.className
        var x = c.arrange(try c.value("input"), as: sequencePerm)
        let batch = x.torchShape[sequencePerm[0]]
        var config: JSONObject = [
            "units": .int(hidden), "activation": .string(kind.activation), "use_bias": .bool(hasBiases),
            "return_sequences": .bool(true), "return_state": .bool(true), "go_backwards": .bool(false), "stateful": .bool(false),
            "unroll": .bool(false), "dropout": .double(0), "recurrent_dropout": .double(0),
        ]
        if className != "SimpleRNN" { config["recurrent_activation"] = .string("sigmoid") }
        if className == "GRU" { config["reset_after"] = .bool(true) }
        let rows = ParameterTable.rows(className, .init(bias: hasBiases))!
        let stateCount = lstm ? 2 : 1
        // Keras's (N, H) final states, by state (h, then c) in PyTorch's order of layers and directions.
        var finals = Array(repeating: [KerasValue](), count: stateCount)
        var sequenceShape = x.torchShape
        sequenceShape[2] = hidden * directions
        for layerIndex in 0..<layers {
            let weights = try (0..<directions).map { direction -> [KerasModelSource.Weight] in
                let p = Array(params[((layerIndex * directions + direction) * perDirection)...].prefix(perDirection))
                return try c.kerasWeights(rows, [[p[0]], [p[1]]] + (hasBiases ? [[p[2], p[3]]] : []))
            }
            let base = layerIndex == 0 ? c.layerName : "\(c.layerName)_l\(layerIndex)"
            // Keras's initial_state: per direction its [h] or [h, c] (Bidirectional: forward's, then backward's).
            let initial = try given.map { values in
                try (0..<directions).flatMap { direction in
                    try values.map { value -> KerasValue in
                        let k = layerIndex * directions + direction
                        let name = c.writer.operation("Take", module: "numpy", name: "\(base)_initial_state", config: ["axis": .int(value.position(of: 0))],
                                                      arguments: [.value(value), .constant(.int(k))])
                        let taken = KerasValue(ref: .init(layer: name, tensor: 0), perm: value.perm.filter { $0 != 0 }.map { $0 - 1 },
                                               torchShape: Array(value.torchShape.dropFirst()), dtype: value.dtype)
                        return c.writer.arrange(taken, as: [0, 1], name: "\(base)_initial_state")
                    }
                }
            } ?? []
            let inputs = [x] + initial
            let arguments: [KerasModelSource.Argument]? = initial.isEmpty ? nil : [.tensor(0), .list(initial.indices.map { .tensor($0 + 1) })]
            let layer: String
            if bidirectional {
                func inner(_ prefix: String, backwards: Bool) -> KerasJSON {
                    var inner = config
                    inner["name"] = .string("\(prefix)_\(base)")
                    inner["go_backwards"] = .bool(backwards)
                    inner["trainable"] = .bool(true)
                    inner["dtype"] = .string("float32")
                    return .object(["module": .string("keras.layers"), "class_name": .string(className), "config": .object(inner), "registered_name": .null])
                }
                layer = c.writer.layer("Bidirectional", name: base, config: [
                    "merge_mode": .string("concat"), "layer": inner("forward", backwards: false), "backward_layer": inner("backward", backwards: true),
                ], inputs: inputs, weights: weights.flatMap { $0 }, arguments: arguments)
            } else {
                layer = c.writer.layer(className, name: base, config: config, inputs: inputs, weights: weights[0], arguments: arguments)
            }
            if lstm && hasBiases { c.writer.note(layer, "\(layer): Keras bias = bias_ih + bias_hh, exact up to the rounding of that Float32 sum") }
            if className == "SimpleRNN" && hasBiases {
                c.writer.note(layer, "\(layer): Keras bias = bias_ih + bias_hh, added before the recurrent term (PyTorch adds each bias to its own product): exact up to a few Float32 roundings of the pre-activation per step")
            }
            x = KerasValue(ref: .init(layer: layer, tensor: 0), perm: sequencePerm, torchShape: sequenceShape, dtype: "float32")
            // Outputs after the sequence: each direction's states in turn (Keras's `[h, c]`, forward then backward).
            for direction in 0..<directions {
                for state in 0..<stateCount {
                    let index = 1 + direction * stateCount + state
                    finals[state].append(KerasValue(ref: .init(layer: layer, tensor: index), perm: [0, 1], torchShape: [batch, hidden], dtype: "float32"))
                }
            }
        }
        let sequence = KerasValue(ref: x.ref, perm: sequencePerm, torchShape: try c.outputShape(0), dtype: "float32")
        let stacked = finals.map { parts -> TorchOperand in
            let reshaped = parts.map { state in
                let layer = c.writer.layer("Reshape", name: c.layerName + "_state", config: ["target_shape": .ints([1, hidden])], inputs: [state])
                return KerasValue(ref: .init(layer: layer, tensor: 0), perm: [1, 0, 2], torchShape: [1, batch, hidden], dtype: "float32")
            }
            guard reshaped.count > 1 else { return .value(reshaped[0]) }
            let joined = c.writer.layer("Concatenate", name: c.layerName + "_states", config: ["axis": .int(1)], inputs: reshaped, takesList: true)
            return .value(KerasValue(ref: .init(layer: joined, tensor: 0), perm: [1, 0, 2], torchShape: [reshaped.count, batch, hidden], dtype: "float32"))
        }
        return [.value(sequence)] + stacked
    }

    /// A given initial state `(layers·directions, N, H)`: the activation, or a constant (a learned
    /// `h0`, folded while converting) as a stored constant, which is a node of the graph.
    static func initialState(_ c: NodeConversion, _ name: String) throws -> KerasValue {
        switch c.operand(named: name) {
        case .value(let v)?: return v
        case .zeros(let shape)?: return c.writer.storedConstant(Tensor.zeros(shape), name: c.layerName + "_initial_state")
        default:
            let tensor = try c.weight(named: name, argument: "hx").tensor
            return c.writer.storedConstant(tensor, name: c.layerName + "_initial_state")
        }
    }
}
