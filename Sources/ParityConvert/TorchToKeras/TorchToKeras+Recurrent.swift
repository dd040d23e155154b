import ParityKeras
import ParityNN
import ParityTorch

/// One-layer, one-direction `aten.lstm` / `aten.gru` from zero initial states → LSTM / GRU with
/// `return_sequences` and `return_state`, on the sequence held (batch, time, features) — a time-first
/// sequence (`batch_first=False`) is read through its held layout, never by moving Keras's batch axis.
///
/// - LSTM: gates `[i, f, g, o]` are Keras's `[i, f, c, o]`; kernel = `weight_ih_l0ᵀ`, recurrent_kernel =
///   `weight_hh_l0ᵀ`, bias = `bias_ih_l0 + bias_hh_l0`: PyTorch adds the two biases to the gates
///   separately, Keras adds their sum once, so the result is exact up to the rounding of that Float32
///   sum (stated in the conversion's notes).
/// - GRU: PyTorch's `n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn))` is Keras's `reset_after=True`; gate
///   blocks `[r, z, n]` → Keras's `[z, r, h]` in kernel and recurrent_kernel (then transposed), bias
///   rows `[bias_ih, bias_hh]`, each reordered: exact.
/// - Outputs: the sequence, then `h_n` (and `c_n`) as `(1, N, H)` (a Reshape of Keras's `(N, H)` state).
/// Refused: several layers, bidirectional, non-zero initial states, recurrent dropout in training.
enum RecurrentOps: TorchToKerasFamily {
    static let targets: Set<String> = ["aten.lstm.input", "aten.gru.input"]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        let lstm = c.target == "aten.lstm.input"
        let layers = try c.int("num_layers"), bidirectional = try c.bool("bidirectional"), batchFirst = try c.bool("batch_first")
        guard layers == 1, !bidirectional else {
            throw c.refuse("num_layers=\(layers), bidirectional=\(bidirectional): one layer in one direction is converted (stack Keras layers by hand otherwise)")
        }
        if try c.bool("train", default: false), try c.double("dropout", default: 0) > 0 { throw c.refuse("recurrent dropout in training mode is random") }
        let states: [String]
        switch c.node.argument("hx") {
        case .tensors(let names)?: states = names
        case .tensor(let name)?: states = [name]
        default: throw c.refuse("'hx' is neither a tensor nor a list of tensors")
        }
        for state in states {
            guard case .zeros? = c.operand(named: state) else {
                throw c.refuse("the initial state '\(state)' is not zeros: Keras's recurrent layers start from zeros unless given initial_state tensors")
            }
        }
        guard case .tensors(let names)? = c.node.argument("params") else { throw c.refuse("'params' is not a list of tensors") }
        let params = try names.map { try c.weight(named: $0, argument: "params") }
        let hasBiases = try c.bool("has_biases")
        guard params.count == (hasBiases ? 4 : 2), params[0].tensor.rank == 2, params[1].tensor.rank == 2 else {
            throw c.refuse("\(params.count) weights for one layer (LSTM proj_size is not converted)")
        }
        let hidden = params[1].tensor.shape[1]
        let sequencePerm = batchFirst ? [0, 1, 2] : [1, 0, 2]
        let x = c.arrange(try c.value("input"), as: sequencePerm)
        var config: JSONObject = [
            "units": .int(hidden), "activation": .string("tanh"), "recurrent_activation": .string("sigmoid"), "use_bias": .bool(hasBiases),
            "return_sequences": .bool(true), "return_state": .bool(true), "go_backwards": .bool(false), "stateful": .bool(false),
            "unroll": .bool(false), "dropout": .double(0), "recurrent_dropout": .double(0),
        ]
        if !lstm { config["reset_after"] = .bool(true) }
        let rows = ParameterTable.rows(lstm ? "LSTM" : "GRU", .init(bias: hasBiases))!
        let weights = try c.kerasWeights(rows, [[params[0]], [params[1]]] + (hasBiases ? [[params[2], params[3]]] : []))
        let batch = x.torchShape[sequencePerm[0]]
        let layer = c.writer.layer(lstm ? "LSTM" : "GRU", name: c.layerName, config: config, inputs: [x], weights: weights)
        if lstm && hasBiases { c.writer.note(layer, "\(layer): Keras bias = bias_ih + bias_hh, exact up to the rounding of that Float32 sum") }
        let sequence = KerasValue(ref: .init(layer: layer, tensor: 0), perm: sequencePerm, torchShape: try c.outputShape(0), dtype: "float32")
        let finals = (1...(lstm ? 2 : 1)).map { index in
            let state = KerasValue(ref: .init(layer: layer, tensor: index), perm: [0, 1], torchShape: [batch, hidden], dtype: "float32")
            let reshaped = c.writer.layer("Reshape", name: c.layerName + "_state", config: ["target_shape": .ints([1, hidden])], inputs: [state])
            return TorchOperand.value(KerasValue(ref: .init(layer: reshaped, tensor: 0), perm: [1, 0, 2], torchShape: [1, batch, hidden], dtype: "float32"))
        }
        return [.value(sequence)] + finals
    }

}
