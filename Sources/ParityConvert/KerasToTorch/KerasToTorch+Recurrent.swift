import ParityKeras
import ParityNN
import ParityTorch

/// LSTM, GRU and SimpleRNN → `nn.LSTM` / `nn.GRU` / `nn.RNN` with `batch_first=True` (Keras's layout),
/// and Bidirectional over them → the same module with `bidirectional=True`. Weights are transposed
/// (`(in, k·u)` → `(k·u, in)`); Keras's one bias goes to `bias_ih_l0` and `bias_hh_l0` is zeros (copying
/// it into both would add it twice); a GRU's gate blocks are reordered from Keras's `[z, r, h]` to
/// PyTorch's `[r, z, n]`, and its `(2, 3u)` bias splits into `b_ih` (row 0) and `b_hh` (row 1). LSTM
/// gates `[i, f, c, o]` are already PyTorch's `[i, f, g, o]`. A SimpleRNN with `activation='relu'` is
/// `nn.RNN(nonlinearity='relu')`. `return_sequences=False` keeps the last step; `go_backwards` flips the
/// time axis first (Keras keeps the outputs in that reversed order). `return_state=True` adds the final
/// states after the output, as Keras does: `h` (and `c` for an LSTM), `(batch, units)` each, which are
/// PyTorch's `h_n[0]` (and `c_n[0]`).
///
/// Two Keras layers have no PyTorch module and become helper modules written into model.py, in Keras's
/// gate order with its one bias, run as a loop over time (unrolled step by step in the ATen program):
/// a GRU with `reset_after=False` (`h̃ = tanh(x·W_h + b_h + (r ⊙ h)·U_h)`, the reset gate before the
/// recurrent matmul) is `GRUResetBefore`, and an LSTM whose activations are not tanh and sigmoid is
/// `KerasLSTM` (Keras's formula with its `activation` and `recurrent_activation`).
///
/// Bidirectional: PyTorch's output holds `[forward, backward]` with the backward half back in time order,
/// as Keras's; without `return_sequences` Keras's backward result is the backward pass's final state,
/// PyTorch's `h_n[1]`, not `output[:, -1, H:]`. `merge_mode=None` returns the two halves as two outputs;
/// `return_state` adds the forward layer's states, then the backward layer's. Over a helper module the
/// two directions are two helper submodules, the backward one reading the flipped sequence (Keras's
/// backward layer has `go_backwards=True`) and its steps flipped back into time order.
enum RecurrentLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["LSTM", "GRU", "SimpleRNN", "Bidirectional"]

    /// The Keras class.
    enum Kind: String {
        case lstm = "LSTM", gru = "GRU", rnn = "SimpleRNN"
        var gates: Int { self == .lstm ? 4 : (self == .gru ? 3 : 1) }
        var module: String { self == .lstm ? "LSTM" : (self == .gru ? "GRU" : "RNN") }
        /// Keras's states, in its `return_state` order.
        var states: [String] { self == .lstm ? ["h", "c"] : ["h"] }

        /// `h` or `(h, c)`: how PyTorch's recurrent modules return the final states.
        func statePattern(_ names: [String]) -> String { self == .lstm ? "(\(names.joined(separator: ", ")))" : names[0] }
    }

    /// A helper module written into model.py for a Keras layer no PyTorch module computes.
    enum Helper: String {
        case gruResetBefore = "GRUResetBefore", kerasLSTM = "KerasLSTM"

        var source: String { self == .gruResetBefore ? RecurrentLayers.resetBeforeHelper : RecurrentLayers.kerasLSTMHelper }
    }

    /// The activations the `KerasLSTM` helper takes, by Keras name: the keys of its Python `activations`
    /// (``helperActivationTable``).
    static let helperActivations = ["tanh", "sigmoid", "relu", "hard_sigmoid"]

    /// The helper's Python `activations`: each of ``helperActivations`` as ``ActivationTable`` spells it in
    /// `torch.nn.functional` (Keras's constants included).
    static let helperActivationTable = "{" + helperActivations.compactMap { name in
        ActivationTable.keras(name)?.functional.map { "\"\(name)\": lambda x: \($0)" }
    }.joined(separator: ", ") + "}"

    /// The ATen call of a helper activation, from ``ActivationTable`` (Keras 3's hard_sigmoid is
    /// `relu6(x + 3) / 6`, PyTorch's `hardsigmoid`).
    static func helperATen(_ name: String) -> String? { helperActivations.contains(name) ? ActivationTable.keras(name)?.aten : nil }

    /// One recurrent layer's settings, read and checked.
    struct Settings: Equatable {
        var kind: Kind
        var units: Int
        var useBias: Bool
        var returnSequences: Bool
        var returnState: Bool
        var goBackwards: Bool
        var resetAfter: Bool
        /// Keras's `activation`: tanh, relu for a SimpleRNN (`nn.RNN(nonlinearity='relu')`), or one of
        /// ``helperActivations`` for an LSTM.
        var activation: String
        /// Keras's `recurrent_activation` (nil for a SimpleRNN, which has none).
        var recurrentActivation: String?

        /// The helper module this layer needs, or nil when `nn.LSTM` / `nn.GRU` / `nn.RNN` computes it.
        var helper: Helper? {
            switch kind {
            case .gru: resetAfter ? nil : .gruResetBefore
            case .lstm: activation == "tanh" && recurrentActivation == "sigmoid" ? nil : .kerasLSTM
            case .rnn: nil
            }
        }

        /// The ATen call of the PyTorch module.
        var target: String {
            switch kind {
            case .lstm: "aten.lstm.input"
            case .gru: "aten.gru.input"
            case .rnn: activation == "relu" ? "aten.rnn_relu.input" : "aten.rnn_tanh.input"
            }
        }

        /// The PyTorch module's constructor: `nn.RNN(features, units, batch_first=True, ...)`, or the helper's.
        func constructor(features: Int, bidirectional: Bool) -> String {
            if let helper {
                let activations = helper == .kerasLSTM ? ", activation='\(activation)', recurrent_activation='\(recurrentActivation!)'" : ""
                return "\(helper.rawValue)(\(features), \(units)\(activations))"
            }
            var options = ["\(features)", "\(units)", "batch_first=True"]
            if activation != "tanh" { options.append("nonlinearity='\(activation)'") }
            if bidirectional { options.append("bidirectional=True") }
            if !useBias { options.append("bias=False") }
            return "nn.\(kind.module)(\(options.joined(separator: ", ")))"
        }
    }

    /// The settings and Keras weights (kernel, recurrent kernel[, bias]) of a recurrent layer the loader
    /// built (the loader refused `stateful`), checked against what PyTorch's modules and the helpers compute.
    static func settings(_ c: LayerConversion, _ model: any Model) throws -> (Settings, [Tensor]) {
        func name(_ f: UnaryFunction?) -> String { f.map { ActivationTable.entry(for: .unary($0))?.keras ?? "\($0)" } ?? "linear" }
        let s: Settings, weights: [Tensor]
        switch model {
        case let m as SimpleRNN:
            let activation: String
            switch m.activation {
            case nil: activation = "linear"
            case let a?: activation = ActivationTable.entry(for: a)?.keras ?? "\(a)"
            }
            s = Settings(kind: .rnn, units: m.units, useBias: m.bias != nil, returnSequences: m.returnSequences, returnState: m.returnState,
                         goBackwards: m.goBackwards, resetAfter: true, activation: activation, recurrentActivation: nil)
            weights = [m.kernel, m.recurrentKernel] + (m.bias.map { [$0] } ?? [])
        case let m as GRU:
            let bias = m.resetAfter ? m.stackedBias : m.inputBias
            s = Settings(kind: .gru, units: m.units, useBias: bias != nil, returnSequences: m.returnSequences, returnState: m.returnState,
                         goBackwards: m.goBackwards, resetAfter: m.resetAfter, activation: name(m.activation), recurrentActivation: name(m.recurrentActivation))
            weights = [m.kernel, m.recurrentKernel] + (bias.map { [$0] } ?? [])
        case let m as LSTM:
            s = Settings(kind: .lstm, units: m.units, useBias: m.useBias, returnSequences: m.returnSequences, returnState: m.returnState,
                         goBackwards: m.goBackwards, resetAfter: true, activation: name(m.activation), recurrentActivation: name(m.recurrentActivation))
            weights = [m.kernel, m.recurrentKernel] + (m.useBias ? [m.bias] : [])
        default:
            throw c.refuse("layer", "\(type(of: model))", "converts LSTM, GRU and SimpleRNN")
        }
        let (activation, recurrent) = (s.activation, s.recurrentActivation)
        switch s.kind {
        case .rnn:
            guard ["tanh", "relu"].contains(activation) else { throw c.refuse("activation", activation, "nn.RNN's nonlinearity is tanh or relu") }
        case .gru:
            guard activation == "tanh" else { throw c.refuse("activation", activation, "nn.GRU uses tanh") }
            guard recurrent == "sigmoid" else { throw c.refuse("recurrent_activation", recurrent!, "nn.GRU's gates use sigmoid") }
        case .lstm:
            let takes = "the KerasLSTM helper takes \(helperActivations.sorted().joined(separator: ", "))"
            guard helperATen(activation) != nil else { throw c.refuse("activation", activation, takes) }
            guard helperATen(recurrent!) != nil else { throw c.refuse("recurrent_activation", recurrent!, takes) }
        }
        return (s, weights)
    }

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let shape = c.inputShapes[0]
        guard shape.count == 3 else { throw ConvertError.shape(layer: c.name, message: "expects (batch, time, features); received \(shape)") }
        if c.className == "Bidirectional" { return try bidirectional(c) }
        let (s, w) = try settings(c, c.layer.model)
        var x = c.kerasInput()
        if s.goBackwards { x = flip(c, x) }
        let sequences = s.returnSequences ? c.output : (c.writer.sequential ? "x" : "\(c.output)_sequence")
        let states = s.returnState ? s.kind.states.map { c.writer.variable(for: "\(c.output)_\($0)") } : []
        let pattern = states.isEmpty ? "_" : s.kind.statePattern(states)
        let sequence: String, finals: [String]
        if let helper = s.helper {
            let module = declare(c, s, helper, features: shape[2], suffix: "", comment: helperComment(s))
            let params = try helperParameters(c, w, s, suffix: "", source: "")
            c.writer.line("\(sequences), \(pattern) = \(module)(\(x.python))")
            let run = unroll(c, s, x: x.graph, params: params, reversed: false)
            sequence = Nodes(c).stack(run.steps)
            finals = run.states
        } else {
            let comment = s.kind == .gru ? "Keras reset_after=True: PyTorch's formula" : (s.kind == .lstm ? "Keras's one bias is bias_ih_l0; bias_hh_l0 is zeros" : nil)
            let module = c.submodule(s.constructor(features: shape[2], bidirectional: false), comment: comment)
            let params = try parameters(c, w, s, suffix: "", source: "")
            c.writer.line("\(sequences), \(pattern) = \(module)(\(x.python))")
            if !states.isEmpty {
                c.writer.line("\(states.joined(separator: ", ")) = \(states.map { $0 + "[0]" }.joined(separator: ", "))"
                              + "  # Keras return_state: \(s.kind.states.joined(separator: ", ")) without PyTorch's direction axis")
            }
            let results = run(c, x, s, params: params, directions: 1)
            sequence = results[0]
            finals = s.returnState ? results.dropFirst().map { Nodes(c).select($0, dim: 0, index: 0) } : []
        }
        let output = s.returnSequences ? TorchValue(graph: sequence, python: sequences, perm: [0, 1, 2])
            : c.apply("\(sequences)[:, -1]", "aten.select.int", [("self", .tensor(sequence)), ("dim", .int(1)), ("index", .int(-1))], perm: [0, 1],
                      comment: "Keras return_sequences=False: the last step")
        return [output] + (s.returnState ? zip(finals, states).map { TorchValue(graph: $0, python: $1, perm: [0, 1]) } : [])
    }

    /// `torch.flip(x, [1])`: in the program, the time steps unbound and stacked in reverse.
    static func flip(_ c: LayerConversion, _ x: TorchValue) -> TorchValue {
        let steps = c.inputShapes[0][1]
        c.writer.line("\(c.output) = torch.flip(\(x.python), [1])  # Keras go_backwards: read from the last step (outputs stay in that order)")
        let parts = c.writer.node("aten.unbind.int", [("self", .tensor(x.graph)), ("dim", .int(1))], outputs: steps, module: c.module)
        let graph = c.writer.node("aten.stack.default", [("tensors", .tensors(parts.reversed())), ("dim", .int(1))], module: c.module)[0]
        return TorchValue(graph: graph, python: c.output, perm: x.perm)
    }

    /// PyTorch's `weight_ih_l0{suffix}, weight_hh_l0{suffix}[, bias_ih_l0{suffix}, bias_hh_l0{suffix}]`; returns their graph names.
    static func parameters(_ c: LayerConversion, _ w: [Tensor], _ s: Settings, suffix: String, source: String) throws -> [String] {
        try c.parameters(ParameterTable.rows(s.kind.rawValue, .init(bias: s.useBias))!, w, nameSuffix: suffix, source: source)
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

    /// A result of the converted layer: its graph name, the Python expression computing it (a variable
    /// already when `isVariable`), and its rank (in Keras's layout).
    struct Part {
        var graph: String
        var python: String
        var rank: Int
        var isVariable = false
    }

    static func bidirectional(_ c: LayerConversion) throws -> [TorchValue] {
        let layer = try c.typed(Bidirectional.self)
        let merge = layer.merge?.rawValue
        let (s, forwardWeights) = try settings(c, layer.forward)
        let (backward, backwardWeights) = try settings(c, layer.backward)
        var b = backward
        b.goBackwards.toggle()
        guard b == s else { throw c.refuse("backward_layer", s.kind.rawValue, "PyTorch's reverse direction has the forward direction's settings") }
        guard !s.goBackwards else { throw c.refuse("layer.go_backwards", "true", "a forward layer reading backwards is not converted") }
        let className = s.kind.rawValue
        let features = c.inputShapes[0][2]
        let (forwardName, backwardName) = layer.names
        let x = c.kerasInput()
        let w = c.writer
        let title = "Keras Bidirectional(\(className)), merge_mode \(merge.map { "'\($0)'" } ?? "None")"
        // The forward and backward results, or (PyTorch's own output already holding them) their concatenation.
        let y: (Part, Part)?, states: [Part]
        var concatenated: TorchValue?
        if let helper = s.helper {
            // Two helper modules: Keras's backward layer reads the sequence from its last step.
            var runs: [(steps: [String], states: [String])] = [], sequences: [String] = [], finals: [[String]] = []
            for (direction, weights, source) in [("forward", forwardWeights, forwardName), ("backward", backwardWeights, backwardName)] {
                let reversed = direction == "backward"
                let module = declare(c, s, helper, features: features, suffix: "_\(direction)", comment: "\(title), \(direction): \(helperComment(s))")
                let params = try helperParameters(c, weights, s, suffix: "_\(direction)", source: "\(source)/")
                let names = s.kind.states.map { w.variable(for: "\(c.output)_\(direction)_\($0)") }
                let sequence = s.returnSequences ? w.variable(for: "\(c.output)_\(direction)_sequence") : "_"
                // h is the result without return_sequences; the states are outputs with return_state.
                let used = names.indices.map { s.returnState || ($0 == 0 && !s.returnSequences) ? names[$0] : "_" }
                let pattern = used.allSatisfy { $0 == "_" } ? "_" : s.kind.statePattern(used)
                let input = reversed ? "torch.flip(\(x.python), [1])" : x.python
                w.line("\(sequence), \(pattern) = \(module)(\(input))" + (reversed ? "  # Keras's backward layer reads from the last step" : ""))
                runs.append(unroll(c, s, x: x.graph, params: params, reversed: reversed))
                sequences.append(sequence)
                finals.append(names)
            }
            if s.returnSequences {
                let nodes = Nodes(c)
                y = (Part(graph: nodes.stack(runs[0].steps), python: sequences[0], rank: 3, isVariable: true),
                     Part(graph: nodes.stack(runs[1].steps.reversed()), python: "torch.flip(\(sequences[1]), [1])", rank: 3))
            } else {
                y = (Part(graph: runs[0].states[0], python: finals[0][0], rank: 2, isVariable: true),
                     Part(graph: runs[1].states[0], python: finals[1][0], rank: 2, isVariable: true))
            }
            states = s.returnState ? (0..<2).flatMap { d in zip(runs[d].states, finals[d]).map { Part(graph: $0, python: $1, rank: 2, isVariable: true) } } : []
        } else {
            let module = c.submodule(s.constructor(features: features, bidirectional: true), comment: title)
            let params = try parameters(c, forwardWeights, s, suffix: "", source: "\(forwardName)/")
                + parameters(c, backwardWeights, s, suffix: "_reverse", source: "\(backwardName)/")
            let results = run(c, x, s, params: params, directions: 2)
            let names = s.kind.states.map { w.sequential ? $0 : "\(c.output)_\($0)" }
            let nodes = Nodes(c)
            func final(_ state: Int, _ direction: Int) -> Part {
                Part(graph: nodes.select(results[1 + state], dim: 0, index: direction), python: "\(names[state])[\(direction)]", rank: 2)
            }
            if s.returnSequences {
                let sequences = w.sequential ? "x" : "\(c.output)_sequence"
                let pattern = s.returnState ? s.kind.statePattern(names) : "_"
                w.line("\(sequences), \(pattern) = \(module)(\(x.python))  # [forward, backward], the backward half in time order as in Keras")
                if merge == "concat" {
                    concatenated = TorchValue(graph: results[0], python: sequences, perm: [0, 1, 2])
                    y = nil
                } else {
                    let parts = w.node("aten.split_with_sizes.default", [("self", .tensor(results[0])), ("split_sizes", .ints([s.units, s.units])), ("dim", .int(2))],
                                       outputs: 2, module: c.module)
                    y = (Part(graph: parts[0], python: "\(sequences)[..., :\(s.units)]", rank: 3), Part(graph: parts[1], python: "\(sequences)[..., \(s.units):]", rank: 3))
                }
            } else {
                let pattern = "_, " + (s.kind == .lstm ? "(\(names[0]), \(s.returnState ? names[1] : "_"))" : names[0])
                w.line("\(pattern) = \(module)(\(x.python))  # final states: Keras's backward result is h_n[1], not output[:, -1]")
                y = (final(0, 0), final(0, 1))
            }
            states = s.returnState ? (0..<2).flatMap { d in s.kind.states.indices.map { final($0, d) } } : []
        }
        let output = y.map { merged(c, merge, $0) } ?? [concatenated!]
        return output + assign(c, states, names: s.returnState ? (0..<2).flatMap { d in
            s.kind.states.map { "\(c.output)_\(d == 0 ? "forward" : "backward")_\($0)" }
        } : [], comment: "Keras return_state: the forward layer's \(s.kind.states.joined(separator: ", ")), then the backward layer's")
    }

    /// Bidirectional's output from the forward and backward results: merged (`merge_mode`), or both (None).
    static func merged(_ c: LayerConversion, _ merge: String?, _ y: (Part, Part)) -> [TorchValue] {
        let w = c.writer
        guard let merge else {
            return assign(c, [y.0, y.1], names: ["\(c.output)_forward", "\(c.output)_backward"], comment: "Keras merge_mode None: [forward, backward]")
        }
        func node(_ target: String, _ arguments: [(String, TorchArgument)]) -> String { w.node(target, arguments, module: c.module)[0] }
        let graph: String, text: String
        switch merge {
        case "concat":
            graph = node("aten.cat.default", [("tensors", .tensors([y.0.graph, y.1.graph])), ("dim", .int(-1))])
            text = "torch.cat([\(y.0.python), \(y.1.python)], dim=-1)"
        case "sum":
            graph = node("aten.add.Tensor", [("self", .tensor(y.0.graph)), ("other", .tensor(y.1.graph))])
            text = "\(y.0.python) + \(y.1.python)"
        case "mul":
            graph = node("aten.mul.Tensor", [("self", .tensor(y.0.graph)), ("other", .tensor(y.1.graph))])
            text = "\(y.0.python) * \(y.1.python)"
        default:
            let sum = node("aten.add.Tensor", [("self", .tensor(y.0.graph)), ("other", .tensor(y.1.graph))])
            graph = node("aten.div.Tensor", [("self", .tensor(sum)), ("other", .float(2))])
            text = "(\(y.0.python) + \(y.1.python)) / 2"
        }
        w.line("\(c.output) = \(text)  # Keras merge_mode '\(merge)'")
        return [TorchValue(graph: graph, python: c.output, perm: Array(0..<y.0.rank))]
    }

    /// `a, b = <expression a>, <expression b>  # comment`: parts as outputs of the layer in variables made
    /// from `names` (a part already in such a variable keeps it).
    static func assign(_ c: LayerConversion, _ parts: [Part], names: [String], comment: String) -> [TorchValue] {
        let variables = zip(parts, names).map { part, name in part.isVariable ? part.python : c.writer.variable(for: name) }
        let assigned = zip(parts, variables).filter { !$0.0.isVariable }
        if !assigned.isEmpty {
            c.writer.line("\(assigned.map(\.1).joined(separator: ", ")) = \(assigned.map(\.0.python).joined(separator: ", "))  # \(comment)")
        }
        return zip(parts, variables).map { TorchValue(graph: $0.graph, python: $1, perm: Array(0..<$0.rank)) }
    }
}

/// The helper modules, `GRUResetBefore` and `KerasLSTM`: their source, state_dict entries and the loop
/// they run, unrolled in the ATen program.
extension RecurrentLayers {
    static let resetBeforeHelper = """
    class GRUResetBefore(nn.Module):
        \"\"\"Keras GRU with reset_after=False: the reset gate multiplies the state before the recurrent
        matmul, h~ = tanh(x W_h + b_h + (r * h) U_h), which nn.GRU (reset after the matmul) cannot
        express. Weights are PyTorch-shaped (out, in) but keep Keras's gate order [z, r, h] and its one
        bias; h' = z * h + (1 - z) * h~. Batch first; returns every step's output and the final state
        h, (batch, hidden_size).\"\"\"

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
            return torch.stack(outputs, 1), h
    """

    static let kerasLSTMHelper = """
    class KerasLSTM(nn.Module):
        \"\"\"Keras LSTM with activations nn.LSTM cannot take (it has tanh and sigmoid only), in Keras's
        order: z = x K + h U + b, split into gates [i, f, c, o]; c' = f * c + i * activation(z_c) and
        h' = o * activation(c'), where i, f, o = recurrent_activation(z_i, z_f, z_o). Keras 3's
        hard_sigmoid is relu6(x + 3) / 6, PyTorch's F.hardsigmoid. Weights are PyTorch-shaped (out, in)
        but keep Keras's gate order and its one bias (zeros when it has none). Batch first; returns
        every step's output and the final (h, c), each (batch, hidden_size).\"\"\"

        activations = \(helperActivationTable)

        def __init__(self, input_size, hidden_size, activation, recurrent_activation):
            super().__init__()
            self.hidden_size = hidden_size
            self.activation = self.activations[activation]
            self.recurrent_activation = self.activations[recurrent_activation]
            self.weight_ih = nn.Parameter(torch.zeros(4 * hidden_size, input_size))
            self.weight_hh = nn.Parameter(torch.zeros(4 * hidden_size, hidden_size))
            self.bias = nn.Parameter(torch.zeros(4 * hidden_size))

        def forward(self, x):
            h = x.new_zeros(x.shape[0], self.hidden_size)
            c = x.new_zeros(x.shape[0], self.hidden_size)
            outputs = []
            for t in range(x.shape[1]):
                z = F.linear(x[:, t], self.weight_ih) + F.linear(h, self.weight_hh) + self.bias
                z_i, z_f, z_c, z_o = z.chunk(4, 1)
                c = self.recurrent_activation(z_f) * c + self.recurrent_activation(z_i) * self.activation(z_c)
                h = self.recurrent_activation(z_o) * self.activation(c)
                outputs.append(h)
            return torch.stack(outputs, 1), (h, c)
    """

    /// Why the layer is a helper module (the submodule's comment).
    static func helperComment(_ s: Settings) -> String {
        s.kind == .gru ? "Keras reset_after=False: no nn.GRU equivalent"
            : "Keras activation '\(s.activation)', recurrent_activation '\(s.recurrentActivation!)': no nn.LSTM equivalent"
    }

    /// Writes the helper's source into model.py (once) and declares `self.<module><suffix>`; returns it.
    static func declare(_ c: LayerConversion, _ s: Settings, _ helper: Helper, features: Int, suffix: String, comment: String) -> String {
        c.writer.helper(helper.rawValue, helper.source)
        return c.submodule(s.constructor(features: features, bidirectional: false), comment: comment, suffix: suffix)
    }

    /// The helper's `weight_ih`, `weight_hh` (transposed, in Keras's gate order) and `bias` (Keras's, or
    /// zeros); returns their graph names.
    static func helperParameters(_ c: LayerConversion, _ w: [Tensor], _ s: Settings, suffix: String, source: String) throws -> [String] {
        let rows = ParameterTable.recurrentHelper.map { row in var row = row; row.module = suffix; return row }
        let names = try c.parameters(Array(rows.prefix(s.useBias ? 3 : 2)), w, source: source)
        return s.useBias ? names
            : names + [c.parameter("bias", Tensor.zeros([s.kind.gates * s.units]), from: nil, transform: "zeros (Keras use_bias=False)", suffix: suffix)]
    }

    /// The helper's loop over `x`'s steps (from the last when `reversed`, as a `go_backwards` layer
    /// reads them), node by node: each step's output in the order computed, and the final states `[h(, c)]`.
    static func unroll(_ c: LayerConversion, _ s: Settings, x: String, params: [String], reversed: Bool) -> (steps: [String], states: [String]) {
        let n = Nodes(c)
        let (batch, length, units) = (c.inputShapes[0][0], c.inputShapes[0][1], s.units)
        var h = n.zeros([batch, units])
        var outputs: [String] = []
        let order = reversed ? Array((0..<length).reversed()) : Array(0..<length)
        if s.kind == .gru {
            let sizes = [units, units, units]
            let (w, u, b) = (n.split(params[0], sizes, dim: 0), n.split(params[1], sizes, dim: 0), n.split(params[2], sizes, dim: 0))
            for t in order {
                let xt = n.select(x, dim: 1, index: t)
                let z = n.unary("aten.sigmoid.default", n.add(n.linear(xt, w[0], b[0]), n.linear(h, u[0], nil)))
                let r = n.unary("aten.sigmoid.default", n.add(n.linear(xt, w[1], b[1]), n.linear(h, u[1], nil)))
                let candidate = n.unary("aten.tanh.default", n.add(n.linear(xt, w[2], b[2]), n.linear(n.mul(r, h), u[2], nil)))
                let oneMinusZ = n("aten.rsub.Scalar", [("self", .tensor(z)), ("other", .float(1))])[0]
                h = n.add(n.mul(z, h), n.mul(oneMinusZ, candidate))
                outputs.append(h)
            }
            return (outputs, [h])
        }
        let activation = helperATen(s.activation)!, recurrent = helperATen(s.recurrentActivation!)!
        var cell = n.zeros([batch, units])
        for t in order {
            let xt = n.select(x, dim: 1, index: t)
            let z = n.split(n.add(n.add(n.linear(xt, params[0], nil), n.linear(h, params[1], nil)), params[2]), [units, units, units, units], dim: 1)
            cell = n.add(n.mul(n.unary(recurrent, z[1]), cell), n.mul(n.unary(recurrent, z[0]), n.unary(activation, z[2])))
            h = n.mul(n.unary(recurrent, z[3]), n.unary(activation, cell))
            outputs.append(h)
        }
        return (outputs, [h, cell])
    }

    /// ATen nodes added in the layer's module.
    struct Nodes {
        let c: LayerConversion

        init(_ c: LayerConversion) { self.c = c }

        func callAsFunction(_ target: String, _ arguments: [(String, TorchArgument)], outputs: Int = 1) -> [String] {
            c.writer.node(target, arguments, outputs: outputs, module: c.module)
        }

        func zeros(_ shape: [Int]) -> String { self("aten.zeros.default", [("size", .ints(shape))])[0] }
        func select(_ v: String, dim: Int, index: Int) -> String { self("aten.select.int", [("self", .tensor(v)), ("dim", .int(dim)), ("index", .int(index))])[0] }
        /// `torch.stack(values, 1)`: steps `(batch, units)` into `(batch, time, units)`.
        func stack(_ values: [String]) -> String { self("aten.stack.default", [("tensors", .tensors(values)), ("dim", .int(1))])[0] }
        func split(_ v: String, _ sizes: [Int], dim: Int) -> [String] {
            self("aten.split_with_sizes.default", [("self", .tensor(v)), ("split_sizes", .ints(sizes)), ("dim", .int(dim))], outputs: sizes.count)
        }
        func linear(_ input: String, _ weight: String, _ bias: String?) -> String {
            self("aten.linear.default", [("input", .tensor(input)), ("weight", .tensor(weight)), ("bias", bias.map { .tensor($0) } ?? .none)])[0]
        }
        func add(_ a: String, _ b: String) -> String { self("aten.add.Tensor", [("self", .tensor(a)), ("other", .tensor(b))])[0] }
        func mul(_ a: String, _ b: String) -> String { self("aten.mul.Tensor", [("self", .tensor(a)), ("other", .tensor(b))])[0] }
        func unary(_ target: String, _ a: String) -> String { self(target, [("self", .tensor(a))])[0] }
    }
}
