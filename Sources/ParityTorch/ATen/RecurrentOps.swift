import ParityNN

/// `aten.lstm.input`, `aten.gru.input`, `aten.rnn_tanh.input`, `aten.rnn_relu.input` with flat weights, `num_layers`,
/// `bidirectional` and `batch_first`, in PyTorch's cell formulas (`aten/src/ATen/native/RNN.cpp`):
///
///     LSTM: gates = (h·W_hhᵀ + b_hh) + (x·W_ihᵀ + b_ih), chunks [i, f, g, o];
///           c' = σ(f)·c + σ(i)·tanh(g),  h' = σ(o)·tanh(c')
///     GRU:  ig = x·W_ihᵀ + b_ih, hg = h·W_hhᵀ + b_hh, chunks [r, z, n];
///           r = σ(hg_r + ig_r), z = σ(hg_z + ig_z), n = tanh(ig_n + r·hg_n)  (reset after the matmul);
///           h' = (h − n)·z + n
///     RNN:  h' = tanh((h·W_hhᵀ + b_hh) + (x·W_ihᵀ + b_ih))  (relu for `rnn_relu`, `nonlinearity='relu'`)
///
/// `params` per layer and direction: `w_ih, w_hh[, b_ih, b_hh]` (two biases), layer-major, forward
/// then reverse; outputs `(output, h_n[, c_n])` with `h_n` `[layers·directions, batch, hidden]`.
/// The reverse direction reads the sequence backwards and its outputs are put back in time order.
/// LSTM projections (`proj_size`) and unbatched input are refused.
enum RecurrentOps: ATenFamily {
    static let targets: Set<String> = ["aten.lstm.input", "aten.gru.input", "aten.rnn_tanh.input", "aten.rnn_relu.input"]

    enum Kind { case lstm, gru, rnnTanh, rnnRelu }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let kind: Kind
        switch c.target {
        case "aten.lstm.input": kind = .lstm
        case "aten.gru.input": kind = .gru
        case "aten.rnn_relu.input": kind = .rnnRelu
        default: kind = .rnnTanh
        }
        let x = try c.floating(c.tensor("input"))
        // LSTM takes `Tensor[] hx` (h0, c0); GRU and RNN one `Tensor hx`.
        let hx = kind == .lstm ? try c.tensors("hx") : [try c.tensor("hx")]
        let params = try c.tensors("params")
        let hasBiases = try c.bool("has_biases"), layers = try c.int("num_layers")
        let directions = try c.bool("bidirectional") ? 2 : 1, batchFirst = try c.bool("batch_first")
        if try c.bool("train", default: false), try c.double("dropout", default: 0) > 0 {
            throw c.unsupported("recurrent dropout in training mode is random: export the model after .eval()")
        }
        let perDirection = hasBiases ? 4 : 2
        guard params.count == layers * directions * perDirection else {
            throw c.unsupported("\(params.count) weights for \(layers) layer(s) × \(directions) direction(s) (LSTM proj_size is not mapped)")
        }
        guard c.rank(x) == 3, hx.count == (kind == .lstm ? 2 : 1) else {
            throw c.unsupported("unbatched input \(c.shape(x)) or \(hx.count) initial states")
        }
        var sequence = batchFirst ? x : try b.permute(x, [1, 0, 2])
        let batch = c.shape(sequence)[0]
        func linear(_ v: B.Value, _ w: B.Value, _ bias: B.Value?) throws -> B.Value {
            let y = try b.matmul(v, b.transposeMatrix(w))
            return try bias.map { try b.add(y, $0) } ?? y
        }
        func initial(_ states: B.Value, _ index: Int) throws -> B.Value {
            let s = c.shape(states)
            return try b.reshape(b.slice(states, [SliceAxis(start: index, end: index + 1)]), [s[1], s[2]])
        }
        var finalH: [B.Value] = [], finalC: [B.Value] = []
        for layer in 0..<layers {
            var outputs: [B.Value] = []
            for direction in 0..<directions {
                let index = layer * directions + direction
                let p = Array(params[(index * perDirection)..<((index + 1) * perDirection)])
                let (wih, whh) = (p[0], p[1])
                let (bih, bhh): (B.Value?, B.Value?) = hasBiases ? (p[2], p[3]) : (nil, nil)
                let hidden = c.shape(whh)[1]
                var states = [try initial(hx[0], index)]
                if kind == .lstm { states.append(try initial(hx[1], index)) }
                // x·W_ihᵀ + b_ih for every step at once (bit-identical to per step), then the cell
                // per step with W_hhᵀ transposed once (RecurrentSequence, PyTorch's formulas).
                let steps = c.shape(sequence)[1]
                let projected = try b.reshape(linear(b.reshape(sequence, [batch * steps, c.shape(sequence)[2]]), wih, bih),
                                              [batch, steps, c.shape(wih)[0]])
                let cell: RecurrentSequence.Cell
                switch kind {
                case .lstm: cell = .lstm(activation: .tanh, recurrentActivation: .sigmoid)
                case .gru: cell = .gru(RecurrentSequence.GRUCell(update: GRU.GateOrder.pyTorch.update, reset: GRU.GateOrder.pyTorch.reset,
                                                                             candidate: GRU.GateOrder.pyTorch.candidate, resetAfter: true, mix: .torch))
                case .rnnTanh: cell = .simple(activation: .tanh)
                case .rnnRelu: cell = .simple(activation: .relu)
                }
                let op = RecurrentSequence(cell: cell, reversed: direction == 1, recurrentBias: bhh != nil)
                let run = try b.recurrence(op, [projected] + states + [b.transposeMatrix(whh)] + (bhh.map { [$0] } ?? []))
                outputs.append(direction == 1 ? try b.slice(run.sequence, [.all, SliceAxis(step: -1)]) : run.sequence)
                finalH.append(try b.reshape(run.states[0], [1, batch, hidden]))
                if kind == .lstm { finalC.append(try b.reshape(run.states[1], [1, batch, hidden])) }
            }
            sequence = directions == 2 ? try b.concat(outputs, axis: 2) : outputs[0]
        }
        let output = batchFirst ? sequence : try b.permute(sequence, [1, 0, 2])
        var results = [output, try b.concat(finalH, axis: 0)]
        if kind == .lstm { results.append(try b.concat(finalC, axis: 0)) }
        return results
    }
}
