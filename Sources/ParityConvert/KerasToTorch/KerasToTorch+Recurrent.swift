import ParityKeras
import ParityTorch

/// LSTM, GRU and SimpleRNN → `nn.LSTM` / `nn.GRU` / `nn.RNN` with `batch_first=True` (Keras's layout),
/// and Bidirectional over them → the same module with `bidirectional=True`. Weights are transposed
/// (`(in, k·u)` → `(k·u, in)`); Keras's one bias goes to `bias_ih_l0` and `bias_hh_l0` is zeros (copying
/// it into both would add it twice); a GRU's gate blocks are reordered from Keras's `[z, r, h]` to
/// PyTorch's `[r, z, n]`, and its `(2, 3u)` bias splits into `b_ih` (row 0) and `b_hh` (row 1). LSTM
/// gates `[i, f, c, o]` are already PyTorch's `[i, f, g, o]`. `return_sequences=False` keeps the last
/// step; `go_backwards` flips the time axis first (Keras keeps the outputs in that reversed order).
///
/// A GRU with `reset_after=False` applies the reset gate before the recurrent matmul,
/// `h̃ = tanh(x·W_h + b_h + (r ⊙ h)·U_h)`, which `nn.GRU` cannot express: it becomes the
/// `GRUResetBefore` helper module (a loop over time in Keras's gate order), unrolled step by step in
/// the ATen program.
///
/// Bidirectional: PyTorch's output holds `[forward, backward]` with the backward half back in time order,
/// as Keras's; without `return_sequences` Keras's backward result is the backward pass's final state,
/// PyTorch's `h_n[1]`, not `output[:, -1, H:]`.
enum RecurrentLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["LSTM", "GRU", "SimpleRNN", "Bidirectional"]

    enum Kind {
        case lstm, gru, rnn
        var gates: Int { self == .lstm ? 4 : (self == .gru ? 3 : 1) }
        var module: String { self == .lstm ? "LSTM" : (self == .gru ? "GRU" : "RNN") }
        var gateText: String { self == .gru ? "gates [z, r, h] → [r, z, n], " : (self == .lstm ? "gates [i, f, c, o] as [i, f, g, o], " : "") }

        init?(_ className: String) {
            switch className {
            case "LSTM": self = .lstm
            case "GRU": self = .gru
            case "SimpleRNN": self = .rnn
            default: return nil
            }
        }
    }

    /// One recurrent layer's settings, read and checked.
    struct Settings {
        var kind: Kind
        var units: Int
        var useBias: Bool
        var returnSequences: Bool
        var goBackwards: Bool
        var resetAfter: Bool
        /// Keras's `activation`: tanh, or relu for a SimpleRNN (`nn.RNN(nonlinearity='relu')`).
        var activation: String

        /// The ATen call of the PyTorch module.
        var target: String {
            switch kind {
            case .lstm: "aten.lstm.input"
            case .gru: "aten.gru.input"
            case .rnn: activation == "relu" ? "aten.rnn_relu.input" : "aten.rnn_tanh.input"
            }
        }

        /// The module's constructor: `nn.RNN(features, units, batch_first=True, ...)`.
        func constructor(features: Int, bidirectional: Bool) -> String {
            var options = ["\(features)", "\(units)", "batch_first=True"]
            if activation != "tanh" { options.append("nonlinearity='\(activation)'") }
            if bidirectional { options.append("bidirectional=True") }
            if !useBias { options.append("bias=False") }
            return "nn.\(kind.module)(\(options.joined(separator: ", ")))"
        }
    }

    static func settings(_ c: LayerConversion, _ k: KerasLayerConfig, kind: Kind) throws -> Settings {
        for key in ["stateful", "return_state"] where try k.has(key) && k.bool(key) {
            throw c.refuse(key, "true", "not converted yet")
        }
        let activation = try name(k, "activation") ?? "linear"
        guard activation == "tanh" || (kind == .rnn && activation == "relu") else {
            throw c.refuse("activation", activation, kind == .rnn ? "nn.RNN's nonlinearity is tanh or relu" : "PyTorch's \(kind.module) uses tanh")
        }
        if kind != .rnn {
            let recurrent = try name(k, "recurrent_activation")
            guard recurrent == "sigmoid" else { throw c.refuse("recurrent_activation", recurrent ?? "linear", "PyTorch's gates use sigmoid") }
        }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool { try k.has(key) ? k.bool(key) : fallback }
        return Settings(kind: kind, units: try k.int("units"), useBias: try flag("use_bias", true), returnSequences: try flag("return_sequences", false),
                        goBackwards: try flag("go_backwards", false), resetAfter: try flag("reset_after", true), activation: activation)
    }

    static func name(_ k: KerasLayerConfig, _ key: String) throws -> String? {
        guard let v = k.config[key], !v.isNull else { return nil }
        let name = v.string ?? v["config"]?.string ?? v["class_name"]?.string
        return name == "linear" ? nil : name
    }

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let shape = c.inputShapes[0]
        guard shape.count == 3 else { throw ConvertError.shape(layer: c.name, message: "expects (batch, time, features); received \(shape)") }
        if c.className == "Bidirectional" { return [try bidirectional(c)] }
        let s = try settings(c, c.keras, kind: Kind(c.className)!)
        var x = c.kerasInput()
        if s.goBackwards { x = flip(c, x) }
        if s.kind == .gru && !s.resetAfter { return [try resetBefore(c, x, s)] }
        let w = try weights(c, c.keras.weights, s, features: shape[2])
        let comment = s.kind == .gru ? "Keras reset_after=True: PyTorch's formula" : (s.kind == .lstm ? "Keras's one bias is bias_ih_l0; bias_hh_l0 is zeros" : nil)
        let module = c.submodule(s.constructor(features: shape[2], bidirectional: false), comment: comment)
        let params = try parameters(c, w, s, suffix: "", source: "")
        let sequences = s.returnSequences ? c.output : (c.writer.sequential ? "x" : "\(c.output)_sequence")
        c.writer.line("\(sequences), _ = \(module)(\(x.python))")
        let results = run(c, x, s, params: params, directions: 1)
        let output = TorchValue(graph: results[0], python: sequences, perm: [0, 1, 2])
        if s.returnSequences { return [output] }
        return [c.apply("\(sequences)[:, -1]", "aten.select.int", [("self", .tensor(output.graph)), ("dim", .int(1)), ("index", .int(-1))], perm: [0, 1],
                        comment: "Keras return_sequences=False: the last step")]
    }

    /// `torch.flip(x, [1])`: in the program, the time steps unbound and stacked in reverse.
    static func flip(_ c: LayerConversion, _ x: TorchValue) -> TorchValue {
        let steps = c.inputShapes[0][1]
        c.writer.line("\(c.output) = torch.flip(\(x.python), [1])  # Keras go_backwards: read from the last step (outputs stay in that order)")
        let parts = c.writer.node("aten.unbind.int", [("self", .tensor(x.graph)), ("dim", .int(1))], outputs: steps, module: c.module)
        let graph = c.writer.node("aten.stack.default", [("tensors", .tensors(parts.reversed())), ("dim", .int(1))], module: c.module)[0]
        return TorchValue(graph: graph, python: c.output, perm: x.perm)
    }

    /// The Keras weights checked: kernel, recurrent kernel[, bias].
    static func weights(_ c: LayerConversion, _ tensors: [Tensor], _ s: Settings, features: Int) throws -> [Tensor] {
        let width = s.kind.gates * s.units
        let biasShape = s.kind == .gru && s.resetAfter ? [2, width] : [width]
        let k = KerasLayerConfig(className: c.className, name: c.name, config: c.layer.config, weights: tensors)
        return try k.weights(shapes: [[features, width], [s.units, width]] + (s.useBias ? [biasShape] : []))
    }

    /// PyTorch's `weight_ih_l0{suffix}, weight_hh_l0{suffix}[, bias_ih_l0{suffix}, bias_hh_l0{suffix}]`; returns their graph names.
    static func parameters(_ c: LayerConversion, _ w: [Tensor], _ s: Settings, suffix: String, source: String) throws -> [String] {
        let units = s.units, width = s.kind.gates * units
        func reorder(_ t: Tensor) throws -> Tensor {
            guard s.kind == .gru else { return t }
            let blocks = try t.split(sizes: [units, units, units], axis: 0)
            return try Tensor.concatenate([blocks[1], blocks[0], blocks[2]], axis: 0)
        }
        let gates = s.kind.gateText
        var names = [
            c.parameter("weight_ih_l0" + suffix, try reorder(w[0].transposedMatrix()), from: source + "kernel", kerasShape: w[0].shape, transform: gates + "transpose"),
            c.parameter("weight_hh_l0" + suffix, try reorder(w[1].transposedMatrix()), from: source + "recurrent_kernel", kerasShape: w[1].shape, transform: gates + "transpose"),
        ]
        guard s.useBias else { return names }
        if s.kind == .gru {
            let rows = try w[2].split(sizes: [1, 1], axis: 0)
            names.append(c.parameter("bias_ih_l0" + suffix, try reorder(rows[0].reshaped([width])), from: source + "bias", kerasShape: w[2].shape,
                                     transform: gates + "bias split: row 0 (input bias)"))
            names.append(c.parameter("bias_hh_l0" + suffix, try reorder(rows[1].reshaped([width])), from: source + "bias", kerasShape: w[2].shape,
                                     transform: gates + "bias split: row 1 (recurrent bias)"))
        } else {
            names.append(c.parameter("bias_ih_l0" + suffix, w[2], from: source + "bias", kerasShape: w[2].shape, transform: "bias split: all of Keras's bias"))
            names.append(c.parameter("bias_hh_l0" + suffix, Tensor.zeros([width]), from: nil, transform: "zeros (bias split: Keras has one bias)"))
        }
        return names
    }

    /// The `aten.lstm` / `gru` / `rnn_tanh` / `rnn_relu` node from zero initial states; its outputs `(output, h_n[, c_n])`.
    static func run(_ c: LayerConversion, _ x: TorchValue, _ s: Settings, params: [String], directions: Int) -> [String] {
        let zeros = c.writer.node("aten.zeros.default", [("size", .ints([directions, c.inputShapes[0][0], s.units]))], module: c.module)[0]
        let states: TorchArgument = s.kind == .lstm ? .tensors([zeros, zeros]) : .tensor(zeros)
        return c.writer.node(s.target, [
            ("input", .tensor(x.graph)), ("hx", states), ("params", .tensors(params)), ("has_biases", .bool(s.useBias)), ("num_layers", .int(1)),
            ("dropout", .float(0)), ("train", .bool(false)), ("bidirectional", .bool(directions == 2)), ("batch_first", .bool(true)),
        ], outputs: s.kind == .lstm ? 3 : 2, module: c.module)
    }

    static func bidirectional(_ c: LayerConversion) throws -> TorchValue {
        let k = c.keras
        let merge = try k.value("merge_mode").string
        guard let merge, ["concat", "sum", "mul", "ave"].contains(merge) else {
            throw c.refuse("merge_mode", "\(try k.value("merge_mode"))", "merge_mode None returns two outputs, which is not converted yet")
        }
        guard let inner = k.config["layer"], let className = inner["class_name"]?.string, let innerConfig = inner["config"], let kind = Kind(className) else {
            throw c.refuse("layer", "\(k.config["layer"]?["class_name"] ?? .null)", "Bidirectional converts over LSTM, GRU and SimpleRNN")
        }
        let forward = KerasLayerConfig(className: className, name: c.name, config: innerConfig, weights: [])
        let s = try settings(c, forward, kind: kind)
        if let backward = k.config["backward_layer"], !backward.isNull {
            let b = try settings(c, KerasLayerConfig(className: className, name: c.name, config: backward["config"] ?? .null, weights: []), kind: kind)
            guard b.units == s.units, b.useBias == s.useBias, b.resetAfter == s.resetAfter, b.activation == s.activation, b.goBackwards != s.goBackwards,
                  backward["class_name"]?.string == className else {
                throw c.refuse("backward_layer", className, "PyTorch's reverse direction has the forward direction's settings")
            }
        }
        guard !s.goBackwards else { throw c.refuse("layer.go_backwards", "true", "a forward layer reading backwards is not converted") }
        guard kind != .gru || s.resetAfter else { throw c.refuse("layer.reset_after", "false", "nn.GRU cannot express the reset gate before the matmul") }
        let features = c.inputShapes[0][2]
        let half = k.weights.count / 2
        let forwardWeights = try weights(c, Array(k.weights[..<half]), s, features: features)
        let backwardWeights = try weights(c, Array(k.weights[half...]), s, features: features)
        let x = c.kerasInput()
        let module = c.submodule(s.constructor(features: features, bidirectional: true), comment: "Keras Bidirectional(\(className)), merge_mode '\(merge)'")
        let forwardName = innerConfig["name"]?.string ?? "forward"
        let backwardName = k.config["backward_layer"]?["config"]?["name"]?.string ?? "backward_\(forwardName)"
        let params = try parameters(c, forwardWeights, s, suffix: "", source: "\(forwardName)/")
            + parameters(c, backwardWeights, s, suffix: "_reverse", source: "\(backwardName)/")
        let results = run(c, x, s, params: params, directions: 2)
        let w = c.writer
        let units = s.units
        let parts: [String], python: (String, String)
        if s.returnSequences {
            let sequences = w.sequential ? "x" : "\(c.output)_sequence"
            w.line("\(sequences), _ = \(module)(\(x.python))  # [forward, backward], the backward half in time order as in Keras")
            if merge == "concat" { return TorchValue(graph: results[0], python: sequences, perm: [0, 1, 2]) }
            parts = w.node("aten.split_with_sizes.default", [("self", .tensor(results[0])), ("split_sizes", .ints([units, units])), ("dim", .int(2))],
                           outputs: 2, module: c.module)
            python = ("\(sequences)[..., :\(units)]", "\(sequences)[..., \(units):]")
        } else {
            let state = w.sequential ? "h" : "\(c.output)_h"
            let pattern = kind == .lstm ? "_, (\(state), _)" : "_, \(state)"
            w.line("\(pattern) = \(module)(\(x.python))  # final states: Keras's backward result is h_n[1], not output[:, -1]")
            parts = [0, 1].map { i in w.node("aten.select.int", [("self", .tensor(results[1])), ("dim", .int(0)), ("index", .int(i))], module: c.module)[0] }
            python = ("\(state)[0]", "\(state)[1]")
        }
        let graph: String, text: String
        switch merge {
        case "concat":
            graph = w.node("aten.cat.default", [("tensors", .tensors(parts)), ("dim", .int(-1))], module: c.module)[0]
            text = "torch.cat([\(python.0), \(python.1)], dim=-1)"
        case "sum":
            graph = w.node("aten.add.Tensor", [("self", .tensor(parts[0])), ("other", .tensor(parts[1]))], module: c.module)[0]
            text = "\(python.0) + \(python.1)"
        case "mul":
            graph = w.node("aten.mul.Tensor", [("self", .tensor(parts[0])), ("other", .tensor(parts[1]))], module: c.module)[0]
            text = "\(python.0) * \(python.1)"
        default:
            let sum = w.node("aten.add.Tensor", [("self", .tensor(parts[0])), ("other", .tensor(parts[1]))], module: c.module)[0]
            graph = w.node("aten.div.Tensor", [("self", .tensor(sum)), ("other", .float(2))], module: c.module)[0]
            text = "(\(python.0) + \(python.1)) / 2"
        }
        w.line("\(c.output) = \(text)  # Keras merge_mode '\(merge)'")
        return TorchValue(graph: graph, python: c.output, perm: s.returnSequences ? [0, 1, 2] : [0, 1])
    }

    static let resetBeforeHelper = """
    class GRUResetBefore(nn.Module):
        \"\"\"Keras GRU with reset_after=False: the reset gate multiplies the state before the recurrent
        matmul, h~ = tanh(x W_h + b_h + (r * h) U_h), which nn.GRU (reset after the matmul) cannot
        express. Weights are PyTorch-shaped (out, in) but keep Keras's gate order [z, r, h] and its one
        bias; h' = z * h + (1 - z) * h~. Batch first; returns every step's output.\"\"\"

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.weight_ih = nn.Parameter(torch.zeros(3 * hidden_size, input_size))
            self.weight_hh = nn.Parameter(torch.zeros(3 * hidden_size, hidden_size))
            self.bias = nn.Parameter(torch.zeros(3 * hidden_size))

        def forward(self, x):
            w_z, w_r, w_h = self.weight_ih.chunk(3)
            u_z, u_r, u_h = self.weight_hh.chunk(3)
            b_z, b_r, b_h = self.bias.chunk(3)
            h = x.new_zeros(x.shape[0], self.hidden_size)
            outputs = []
            for t in range(x.shape[1]):
                x_t = x[:, t]
                z = torch.sigmoid(F.linear(x_t, w_z, b_z) + F.linear(h, u_z))
                r = torch.sigmoid(F.linear(x_t, w_r, b_r) + F.linear(h, u_r))
                candidate = torch.tanh(F.linear(x_t, w_h, b_h) + F.linear(r * h, u_h))
                h = z * h + (1 - z) * candidate
                outputs.append(h)
            return torch.stack(outputs, 1)
    """

    static func resetBefore(_ c: LayerConversion, _ x: TorchValue, _ s: Settings) throws -> TorchValue {
        let shape = c.inputShapes[0]
        let (features, steps, units) = (shape[2], shape[1], s.units)
        let w = try weights(c, c.keras.weights, s, features: features)
        c.writer.helper("GRUResetBefore", resetBeforeHelper)
        let module = c.submodule("GRUResetBefore(\(features), \(units))", comment: "Keras reset_after=False: no nn.GRU equivalent")
        let order = "transpose (gates stay in Keras's order [z, r, h])"
        let wih = c.parameter("weight_ih", try w[0].transposedMatrix(), from: "kernel", kerasShape: w[0].shape, transform: order)
        let whh = c.parameter("weight_hh", try w[1].transposedMatrix(), from: "recurrent_kernel", kerasShape: w[1].shape, transform: order)
        let bias = s.useBias ? c.parameter("bias", w[2], from: "bias", kerasShape: w[2].shape, transform: "as is")
            : c.parameter("bias", Tensor.zeros([3 * units]), from: nil, transform: "zeros (Keras use_bias=False)")
        let sequences = s.returnSequences ? c.output : (c.writer.sequential ? "x" : "\(c.output)_sequence")
        c.writer.line("\(sequences) = \(module)(\(x.python))")
        let n = c.writer
        func node(_ target: String, _ arguments: [(String, TorchArgument)], outputs: Int = 1) -> [String] {
            n.node(target, arguments, outputs: outputs, module: c.module)
        }
        func chunks(_ value: String) -> [String] {
            node("aten.split_with_sizes.default", [("self", .tensor(value)), ("split_sizes", .ints([units, units, units])), ("dim", .int(0))], outputs: 3)
        }
        func linear(_ input: String, _ weight: String, _ bias: String?) -> String {
            node("aten.linear.default", [("input", .tensor(input)), ("weight", .tensor(weight)), ("bias", bias.map { .tensor($0) } ?? .none)])[0]
        }
        func binary(_ target: String, _ a: String, _ b: String) -> String { node(target, [("self", .tensor(a)), ("other", .tensor(b))])[0] }
        func unary(_ target: String, _ a: String) -> String { node(target, [("self", .tensor(a))])[0] }
        let (wz, wr, wh) = { (p: [String]) in (p[0], p[1], p[2]) }(chunks(wih))
        let (uz, ur, uh) = { (p: [String]) in (p[0], p[1], p[2]) }(chunks(whh))
        let (bz, br, bh) = { (p: [String]) in (p[0], p[1], p[2]) }(chunks(bias))
        var h = node("aten.zeros.default", [("size", .ints([shape[0], units]))])[0]
        var outputs: [String] = []
        for t in 0..<steps {
            let xt = node("aten.select.int", [("self", .tensor(x.graph)), ("dim", .int(1)), ("index", .int(t))])[0]
            let z = unary("aten.sigmoid.default", binary("aten.add.Tensor", linear(xt, wz, bz), linear(h, uz, nil)))
            let r = unary("aten.sigmoid.default", binary("aten.add.Tensor", linear(xt, wr, br), linear(h, ur, nil)))
            let candidate = unary("aten.tanh.default", binary("aten.add.Tensor", linear(xt, wh, bh), linear(binary("aten.mul.Tensor", r, h), uh, nil)))
            let keep = binary("aten.mul.Tensor", z, h)
            let oneMinusZ = node("aten.rsub.Scalar", [("self", .tensor(z)), ("other", .float(1))])[0]
            h = binary("aten.add.Tensor", keep, binary("aten.mul.Tensor", oneMinusZ, candidate))
            outputs.append(h)
        }
        let stacked = node("aten.stack.default", [("tensors", .tensors(outputs)), ("dim", .int(1))])[0]
        let output = TorchValue(graph: stacked, python: sequences, perm: [0, 1, 2])
        if s.returnSequences { return output }
        return c.apply("\(sequences)[:, -1]", "aten.select.int", [("self", .tensor(output.graph)), ("dim", .int(1)), ("index", .int(-1))], perm: [0, 1],
                       comment: "Keras return_sequences=False: the last step")
    }
}
