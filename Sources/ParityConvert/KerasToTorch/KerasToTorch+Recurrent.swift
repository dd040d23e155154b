import ParityKeras
import ParityTorch

/// LSTM, GRU (`reset_after=True`) and SimpleRNN → `nn.LSTM` / `nn.GRU` / `nn.RNN` with
/// `batch_first=True` (Keras's layout). Weights are transposed (`(in, k·u)` → `(k·u, in)`); Keras's
/// one bias goes to `bias_ih_l0` and `bias_hh_l0` is zeros (copying it into both would add it twice);
/// a GRU's gate blocks are reordered from Keras's `[z, r, h]` to PyTorch's `[r, z, n]`, and its
/// `(2, 3u)` bias splits into `b_ih` (row 0) and `b_hh` (row 1). LSTM gates `[i, f, c, o]` are already
/// PyTorch's `[i, f, g, o]`. `return_sequences=False` keeps the last step of the output.
enum RecurrentLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["LSTM", "GRU", "SimpleRNN"]

    enum Kind {
        case lstm, gru, rnn
        var gates: Int { self == .lstm ? 4 : (self == .gru ? 3 : 1) }
        var module: String { self == .lstm ? "LSTM" : (self == .gru ? "GRU" : "RNN") }
        var target: String { self == .lstm ? "aten.lstm.input" : (self == .gru ? "aten.gru.input" : "aten.rnn_tanh.input") }
    }

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let kind: Kind = c.className == "LSTM" ? .lstm : (c.className == "GRU" ? .gru : .rnn)
        let k = c.keras
        for key in ["stateful", "return_state", "go_backwards"] where try k.has(key) && k.bool(key) {
            throw c.refuse(key, "true", "not converted yet")
        }
        let activation = try ActivationLayers.name(c, "activation")
        guard activation == "tanh" else { throw c.refuse("activation", activation ?? "linear", "PyTorch's recurrent layers use tanh (Parity runs no other)") }
        if kind != .rnn {
            let recurrent = try ActivationLayers.name(c, "recurrent_activation")
            guard recurrent == "sigmoid" else { throw c.refuse("recurrent_activation", recurrent ?? "linear", "PyTorch's gates use sigmoid") }
        }
        let resetAfter = try k.has("reset_after") ? k.bool("reset_after") : true
        if kind == .gru && !resetAfter {
            throw c.refuse("reset_after", "false", "the reset gate is applied before the recurrent matmul, which nn.GRU cannot express (no helper module yet)")
        }
        let units = try k.int("units")
        let useBias = try k.has("use_bias") ? k.bool("use_bias") : true
        let returnSequences = try k.has("return_sequences") ? k.bool("return_sequences") : false
        let shape = c.inputShapes[0]
        guard shape.count == 3 else { throw ConvertError.shape(layer: c.name, message: "expects (batch, time, features); received \(shape)") }
        let features = shape[2], width = kind.gates * units
        let biasShape = kind == .gru ? [2, width] : [width]
        let w = try k.weights(shapes: [[features, width], [units, width]] + (useBias ? [biasShape] : []))

        let gateText = kind == .gru ? "gates [z, r, h] → [r, z, n], " : (kind == .lstm ? "gates [i, f, c, o] as [i, f, g, o], " : "")
        func reorder(_ t: Tensor, axis: Int) throws -> Tensor {
            guard kind == .gru else { return t }
            let blocks = try t.split(sizes: [units, units, units], axis: axis)
            return try Tensor.concatenate([blocks[1], blocks[0], blocks[2]], axis: axis)
        }
        let x = c.kerasInput()
        var options = ["\(features)", "\(units)", "batch_first=True"]
        if !useBias { options.append("bias=False") }
        let comment = kind == .gru ? "Keras reset_after=True: PyTorch's formula" : (kind == .lstm ? "Keras's one bias is bias_ih_l0; bias_hh_l0 is zeros" : nil)
        let module = c.submodule("nn.\(kind.module)(\(options.joined(separator: ", ")))", comment: comment)
        var params = [
            c.parameter("weight_ih_l0", try reorder(w[0].transposedMatrix(), axis: 0), from: "kernel", kerasShape: w[0].shape, transform: gateText + "transpose"),
            c.parameter("weight_hh_l0", try reorder(w[1].transposedMatrix(), axis: 0), from: "recurrent_kernel", kerasShape: w[1].shape,
                        transform: gateText + "transpose"),
        ]
        if useBias {
            if kind == .gru {
                let rows = try w[2].split(sizes: [1, 1], axis: 0)
                params.append(c.parameter("bias_ih_l0", try reorder(rows[0].reshaped([width]), axis: 0), from: "bias", kerasShape: w[2].shape,
                                          transform: gateText + "bias split: row 0 (input bias)"))
                params.append(c.parameter("bias_hh_l0", try reorder(rows[1].reshaped([width]), axis: 0), from: "bias", kerasShape: w[2].shape,
                                          transform: gateText + "bias split: row 1 (recurrent bias)"))
            } else {
                params.append(c.parameter("bias_ih_l0", w[2], from: "bias", kerasShape: w[2].shape, transform: "bias split: all of Keras's bias"))
                params.append(c.parameter("bias_hh_l0", Tensor.zeros([width]), from: nil, transform: "zeros (bias split: Keras has one bias)"))
            }
        }
        let sequences = returnSequences ? c.output : (c.writer.sequential ? "x" : "\(c.output)_sequence")
        c.writer.line("\(sequences), _ = \(module)(\(x.python))")
        let zeros = c.writer.node("aten.zeros.default", [("size", .ints([1, shape[0], units]))], module: c.module)[0]
        let states: TorchArgument = kind == .lstm ? .tensors([zeros, zeros]) : .tensor(zeros)
        let results = c.writer.node(kind.target, [
            ("input", .tensor(x.graph)), ("hx", states), ("params", .tensors(params)), ("has_biases", .bool(useBias)), ("num_layers", .int(1)),
            ("dropout", .float(0)), ("train", .bool(false)), ("bidirectional", .bool(false)), ("batch_first", .bool(true)),
        ], outputs: kind == .lstm ? 3 : 2, module: c.module)
        let output = TorchValue(graph: results[0], python: sequences, perm: [0, 1, 2])
        if returnSequences { return [output] }
        return [c.apply("\(sequences)[:, -1]", "aten.select.int", [("self", .tensor(output.graph)), ("dim", .int(1)), ("index", .int(-1))], perm: [0, 1],
                        comment: "Keras return_sequences=False: the last step")]
    }
}
