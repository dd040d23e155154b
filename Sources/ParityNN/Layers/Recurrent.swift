/// A fully connected recurrent layer in Keras's convention (`keras/src/layers/rnn/simple_rnn.py`):
/// `h = activation((x·kernel + bias) + h·recurrentKernel)`, `kernel` `[features, units]`,
/// `recurrentKernel` `[units, units]`, one optional `bias`. PyTorch's `nn.RNN` stores both matrices
/// transposed and has two biases (docs/conventions.md, D.15). Inputs: the sequence, then optionally
/// the initial state `[batch, units]` (Keras's `initial_state`; zeros without it).
public struct SimpleRNN: MultiOutputModel {
    public var kernel: Tensor
    public var recurrentKernel: Tensor
    public var bias: Tensor?
    public var activation: Activation?
    public var returnSequences: Bool
    public var returnState: Bool
    public var goBackwards: Bool
    /// Keras's `dropout` on the step input, in a training step only (``Dropout/sequenceInput(rate:)``).
    public var dropout: Double = 0
    /// Keras's `recurrent_dropout`: in a training step, the previous output times one mask `[batch, units]` per
    /// sequence (`SimpleRNNCell.call`: `prev_output * rec_dp_mask`), drawn after the input's.
    public var recurrentDropout: Double = 0

    public init(kernel: Tensor, recurrentKernel: Tensor, bias: Tensor?, activation: Activation? = .unary(.tanh),
                returnSequences: Bool = false, returnState: Bool = false, goBackwards: Bool = false) {
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.bias = bias
        self.activation = activation
        self.returnSequences = returnSequences
        self.returnState = returnState
        self.goBackwards = goBackwards
    }

    public var units: Int { recurrentKernel.shape[0] }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let x = dropout > 0 ? try Dropout.sequenceInput(rate: dropout)([inputs[0]], in: b) : inputs[0]
        let shape = b.shape(of: x)
        guard shape.count == 3, kernel.shape == [shape[2], units], recurrentKernel.shape == [units, units], bias.map({ $0.shape == [units] }) ?? true else {
            throw TensorError.shapeMismatch(op: "SimpleRNN", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, u], recurrent kernel [u, u], bias [u]",
                                            received: [shape, kernel.shape, recurrentKernel.shape, bias?.shape ?? []])
        }
        let (w, u) = (b.weight(kernel, like: x), b.weight(recurrentKernel, like: x))
        let zeros = try initialStates(inputs, count: 1, batch: shape[0], units: units, layer: "SimpleRNN", like: x, in: b)[0]
        // (x·kernel + bias) for every step at once, then h = activation(that + h·recurrentKernel).
        var projected = try b.matmul(b.reshape(x, [shape[0] * shape[1], shape[2]]), w)
        if let bias = self.bias { projected = try b.add(projected, b.weight(bias, like: x)) }
        projected = try b.reshape(projected, [shape[0], shape[1], units])
        // recurrent_dropout's mask (SimpleRNN's cell has one gate).
        let recurrentMask = try b.trainingStep.flatMap {
            try Dropout.gateMasks(rate: recurrentDropout, gates: 1, batch: shape[0], width: units, step: $0, like: x, in: b)?[0]
        }
        let run: RecurrenceResult<B.Value>
        // The fused recurrence for an elementwise activation (or none) without a recurrent mask; else step by step.
        var fused: UnaryFunction??
        if recurrentMask == nil {
            switch activation {
            case nil: fused = .some(nil)
            case .unary(let f)?: fused = .some(f)
            default: fused = nil
            }
        }
        switch fused {
        case .some(let function):
            run = try b.recurrence(RecurrentSequence(cell: .simple(activation: function), reversed: goBackwards), [projected, zeros, u])
        case nil:
            var h = zeros, steps: [B.Value] = []
            for i in 0..<shape[1] {
                let t = goBackwards ? shape[1] - 1 - i : i
                let xt = try b.reshape(b.slice(projected, [.all, SliceAxis(start: t, end: t + 1)]), [shape[0], units])
                let previous = try recurrentMask.map { try b.multiply(h, $0) } ?? h
                let z = try b.add(xt, b.matmul(previous, u))
                h = try activation.map { try $0.apply(z, in: b) } ?? z
                steps.append(try b.reshape(h, [shape[0], 1, units]))
            }
            run = RecurrenceResult(sequence: try b.concat(steps, axis: 1), states: [h])
        }
        return run.outputs(returnSequences: returnSequences, returnState: returnState)
    }
}

/// A gated recurrent unit (the cell: `RecurrentSequence/GRUCell`). Keras's convention (`keras/src/layers/rnn/gru.py`, `GRUCell` with
/// `implementation=2`), gate blocks `[z, r, h]` in `kernel` `[features, 3u]` and `recurrentKernel`
/// `[units, 3u]`:
///
///     xz, xr, xh = x·kernel + inputBias
///     resetAfter:  rz, rr, rh = h·recurrentKernel + recurrentBias;   rh = r·rh
///     otherwise:   rz, rr = h·recurrentKernel[:, :2u];               rh = (r·h)·recurrentKernel[:, 2u:]
///     z = σ(xz + rz), r = σ(xr + rr), h̃ = activation(xh + rh),   h = z·h + (1 − z)·h̃
///
/// `resetAfter` (Keras 3 / TF2 default, bias `[2, 3u]`) equals PyTorch's `nn.GRU` after reordering
/// its `[r, z, n]` blocks; `resetAfter: false` (Keras 2 default, bias `[3u]`) applies the reset
/// before the recurrent product, which `nn.GRU` cannot express (docs/conventions.md, D.14).
/// Inputs: the sequence, then optionally the initial state `[batch, units]` (Keras's `initial_state`).
/// A recurrent layer with Keras's `dropout` (on the step input) and `recurrent_dropout` (on the state), both applied
/// in a training step only: SimpleRNN, LSTM and GRU.
public protocol RecurrentDropout: Model {
    var dropout: Double { get set }
    var recurrentDropout: Double { get set }
}

extension SimpleRNN: RecurrentDropout {}
extension LSTM: RecurrentDropout {}
extension GRU: RecurrentDropout {}

extension Dropout {
    /// Keras's recurrent `dropout` (`DropoutRNNCell.get_dropout_mask`): one mask per sequence on the step input
    /// `[batch, features]`, drawn once per call and applied at every step, i.e. a mask `[batch, 1, features]`
    /// over `[batch, time, features]`.
    public static func sequenceInput(rate: Double) -> Dropout { Dropout(rate: rate, noiseShape: [nil, 1, nil]) }

    /// Keras's per-gate masks of an `implementation=1` cell (`DropoutRNNCell.get_dropout_mask` /
    /// `get_recurrent_dropout_mask`): `gates` masks `(1/(1 − rate))·mask` of shape `[batch, width]`, drawn in gate
    /// order from the step's shared stream, as Keras's dropout of ones makes them; `nil` when `rate` is 0.
    static func gateMasks<B: Builder>(rate: Double, gates: Int, batch: Int, width: Int, step: any TrainingStep,
                                      like x: B.Value, in b: B) throws -> [B.Value]? {
        guard rate > 0 else { return nil }
        let dtype = b.type(of: x).dtype
        return try (0..<gates).map { _ in
            try b.multiply(b.constant(step.dropoutMask(rate: rate, shape: [batch, width], dtype: dtype)), b.scalar(1 / (1 - rate), like: x))
        }
    }
}

public struct GRU: MultiOutputModel {
    /// The order of the three gate blocks along the weights' gate axis, one value per framework
    /// (docs/conventions.md D.14): the Keras layer, the ATen `gru` kernel and ParityConvert's parameter
    /// table (which derives the block reorder from the two) read it from here.
    public struct GateOrder: Sendable, Hashable {
        /// The blocks' names, in block order.
        public var names: [String]
        /// Block index of the update gate, the reset gate and the candidate.
        public var update: Int, reset: Int, candidate: Int

        /// Keras `[z, r, h]` (`keras/src/layers/rnn/gru.py`).
        public static let keras = GateOrder(names: ["z", "r", "h"], update: 0, reset: 1, candidate: 2)
        /// PyTorch `[r, z, n]` (`torch/nn/modules/rnn.py`, `GRU`).
        public static let pyTorch = GateOrder(names: ["r", "z", "n"], update: 1, reset: 0, candidate: 2)

        /// Block `j` of `self` is block `order[j]` of `other` (the same gate).
        public func blocks(from other: GateOrder) -> [Int] {
            (0..<3).map { j in j == update ? other.update : (j == reset ? other.reset : other.candidate) }
        }
    }

    public var kernel: Tensor
    public var recurrentKernel: Tensor
    public var inputBias: Tensor?
    public var recurrentBias: Tensor?
    /// Both biases stacked `[2, 3u]` (input row, recurrent row) as Keras stores a `reset_after` GRU's
    /// bias; used in place of ``inputBias`` and ``recurrentBias`` when set, so that a training step
    /// differentiates the variable Keras has.
    public var stackedBias: Tensor?
    public var resetAfter: Bool
    public var gateOrder: GateOrder
    public var activation: UnaryFunction
    public var recurrentActivation: UnaryFunction
    public var returnSequences: Bool
    public var returnState: Bool
    public var goBackwards: Bool
    /// Keras's `dropout` on the step input, in a training step only (``Dropout/sequenceInput(rate:)``; one mask per
    /// gate with ``recurrentDropout``).
    public var dropout: Double = 0
    /// Keras's `recurrent_dropout`: in a training step the layer runs Keras's `implementation=1` cell, which it
    /// selects, with three masks on the state (and three on the input with ``dropout``), one per gate.
    public var recurrentDropout: Double = 0

    public init(kernel: Tensor, recurrentKernel: Tensor, inputBias: Tensor?, recurrentBias: Tensor?, resetAfter: Bool,
                gateOrder: GateOrder = .keras, activation: UnaryFunction = .tanh,
                recurrentActivation: UnaryFunction = .sigmoid, returnSequences: Bool = false, returnState: Bool = false,
                goBackwards: Bool = false, stackedBias: Tensor? = nil) {
        self.stackedBias = stackedBias
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.inputBias = inputBias
        self.recurrentBias = recurrentBias
        self.resetAfter = resetAfter
        self.gateOrder = gateOrder
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
        self.returnState = returnState
        self.goBackwards = goBackwards
    }

    public var units: Int { recurrentKernel.shape[0] }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let step = recurrentDropout > 0 ? b.trainingStep : nil
        let x = dropout > 0 && step == nil ? try Dropout.sequenceInput(rate: dropout)([inputs[0]], in: b) : inputs[0]
        let shape = b.shape(of: x)
        let biasesFit = [inputBias, recurrentBias].allSatisfy { $0.map { $0.shape == [3 * units] } ?? true }
            && (stackedBias.map { $0.shape == [2, 3 * units] && resetAfter } ?? true)
        guard shape.count == 3, kernel.shape == [shape[2], 3 * units], recurrentKernel.shape == [units, 3 * units], biasesFit,
              resetAfter || recurrentBias == nil else {
            throw TensorError.shapeMismatch(op: "GRU", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, 3u], recurrent kernel [u, 3u], biases [3u] (a recurrent bias only with resetAfter)",
                                            received: [shape, kernel.shape, recurrentKernel.shape, inputBias?.shape ?? [], recurrentBias?.shape ?? []])
        }
        let w = b.weight(kernel, like: x), rw = b.weight(recurrentKernel, like: x)
        var inBias = inputBias.map { b.weight($0, like: x) }, recBias = recurrentBias.map { b.weight($0, like: x) }
        if let stackedBias {
            // Keras's [2, 3u] bias as one variable (its rows: input bias, recurrent bias).
            let rows = try b.split(b.weight(stackedBias, like: x), sizes: [1, 1], axis: 0)
            (inBias, recBias) = (try b.reshape(rows[0], [3 * units]), try b.reshape(rows[1], [3 * units]))
        }
        let zeros = try initialStates(inputs, count: 1, batch: shape[0], units: units, layer: "GRU", like: x, in: b)[0]
        if let step {
            return try gateMasked(x, initial: zeros, step: step, kernel: w, recurrentKernel: rw, inputBias: inBias, recurrentBias: recBias, in: b)
                .outputs(returnSequences: returnSequences, returnState: returnState)
        }
        // x·kernel + inputBias for every step at once, then the cell per step.
        var projected = try b.matmul(b.reshape(x, [shape[0] * shape[1], shape[2]]), w)
        if let inBias { projected = try b.add(projected, inBias) }
        projected = try b.reshape(projected, [shape[0], shape[1], 3 * units])
        let cell = RecurrentSequence.GRUCell(update: gateOrder.update, reset: gateOrder.reset, candidate: gateOrder.candidate, resetAfter: resetAfter, mix: .keras,
                                             activation: activation, recurrentActivation: recurrentActivation)
        let op = RecurrentSequence(cell: .gru(cell), reversed: goBackwards, recurrentBias: recBias != nil)
        let run = try b.recurrence(op, [projected, zeros, rw] + (recBias.map { [$0] } ?? []))
        return run.outputs(returnSequences: returnSequences, returnState: returnState)
    }

    /// Keras's `implementation=1` cell (`GRUCell.call`), step by step: per gate g, `x_g = (x·m_g)·kernel_g + inputBias_g`,
    /// `rec_g = (h·r_g)·recurrentKernel_g (+ recurrentBias_g)`; `z = σ(x_z + rec_z)`, `r = σ(x_r + rec_r)`, the candidate
    /// `activation(x_h + r·rec_h)` (reset after) or `activation(x_h + (r·(h·r_h))·recurrentKernel_h)`, then
    /// `h = z·h + (1 − z)·candidate`. Masks `(1/(1 − rate))·mask`, drawn once per sequence: the three input masks
    /// (with ``dropout``) before the three state masks.
    func gateMasked<B: Builder>(_ x: B.Value, initial: B.Value, step: any TrainingStep, kernel w: B.Value, recurrentKernel rw: B.Value, inputBias: B.Value?,
                                recurrentBias: B.Value?, in b: B) throws -> RecurrenceResult<B.Value> {
        let shape = b.shape(of: x)
        let (n, steps, features, u) = (shape[0], shape[1], shape[2], units)
        // Masks in Keras's order z, r, h; blocks by the layer's gate order.
        let inputMasks = try Dropout.gateMasks(rate: dropout, gates: 3, batch: n, width: features, step: step, like: x, in: b)
        let stateMasks = try Dropout.gateMasks(rate: recurrentDropout, gates: 3, batch: n, width: u, step: step, like: x, in: b)
        let blocks = [gateOrder.update, gateOrder.reset, gateOrder.candidate]
        func columns(_ m: B.Value, _ g: Int) throws -> B.Value { try b.slice(m, [.all, SliceAxis(start: blocks[g] * u, end: (blocks[g] + 1) * u)]) }
        func entries(_ v: B.Value?, _ g: Int) throws -> B.Value? { try v.map { try b.slice($0, [SliceAxis(start: blocks[g] * u, end: (blocks[g] + 1) * u)]) } }
        var h = initial
        var outputs: [B.Value] = []
        for i in 0..<steps {
            let t = goBackwards ? steps - 1 - i : i
            let xt = try b.reshape(b.slice(x, [.all, SliceAxis(start: t, end: t + 1)]), [n, features])
            let projected = try (0..<3).map { g -> B.Value in
                let p = try b.matmul(inputMasks.map { try b.multiply(xt, $0[g]) } ?? xt, columns(w, g))
                return try entries(inputBias, g).map { try b.add(p, $0) } ?? p
            }
            let previous = try (0..<3).map { g in try stateMasks.map { try b.multiply(h, $0[g]) } ?? h }
            let recurrent = try (0..<2).map { g -> B.Value in
                let p = try b.matmul(previous[g], columns(rw, g))
                return try entries(resetAfter ? recurrentBias : nil, g).map { try b.add(p, $0) } ?? p
            }
            let z = try b.unary(recurrentActivation, b.add(projected[0], recurrent[0]))
            let r = try b.unary(recurrentActivation, b.add(projected[1], recurrent[1]))
            let candidateState: B.Value
            if resetAfter {
                var p = try b.matmul(previous[2], columns(rw, 2))
                if let bias = try entries(recurrentBias, 2) { p = try b.add(p, bias) }
                candidateState = try b.multiply(r, p)
            } else {
                candidateState = try b.matmul(b.multiply(r, previous[2]), columns(rw, 2))
            }
            let candidate = try b.unary(activation, b.add(projected[2], candidateState))
            h = try b.add(b.multiply(z, h), b.multiply(b.subtract(b.scalar(1, like: z), z), candidate))
            outputs.append(try b.reshape(h, [n, 1, u]))
        }
        return RecurrenceResult(sequence: try b.concat(outputs, axis: 1), states: [h])
    }
}

/// Runs a recurrent layer forwards and a second one backwards over the same sequence and merges
/// them (`keras/src/layers/rnn/bidirectional.py`). The backward layer must process the steps last
/// to first (`goBackwards`); its sequence output is flipped back into time order before merging, so
/// with `returnSequences` false its half is the backward pass's final state (PyTorch `h_n[1]`, not
/// `out[:, -1, H:]`; docs/conventions.md, D.16). Outputs: the merged output (two outputs, forward
/// then backward, when `merge` is nil), then the forward and the backward states when the layers
/// return them.
public struct Bidirectional: MultiOutputModel {
    public enum MergeMode: String, Sendable, Hashable {
        case concat, sum, mul, ave
    }

    public var forward: any MultiOutputModel
    public var backward: any MultiOutputModel
    public var merge: MergeMode?
    public var returnSequences: Bool
    /// How many outputs after the first are states (per direction).
    public var stateCount: Int
    /// The two wrapped layers' names (Keras's `forward_lstm`, `backward_lstm`), which name their weights.
    public var names: (forward: String, backward: String)

    public init(forward: any MultiOutputModel, backward: any MultiOutputModel, merge: MergeMode?, returnSequences: Bool, stateCount: Int,
                names: (forward: String, backward: String) = ("forward", "backward")) {
        self.names = names
        self.forward = forward
        self.backward = backward
        self.merge = merge
        self.returnSequences = returnSequences
        self.stateCount = stateCount
    }

    /// Inputs: the sequence, then optionally the initial states, the forward layer's first half and
    /// the backward layer's second (Keras's `initial_state` split in two).
    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let states = inputs.dropFirst()
        guard states.count % 2 == 0 else {
            throw TensorError.shapeMismatch(op: "Bidirectional", expected: "an even number of initial states (forward's, then backward's)",
                                            received: states.map { b.shape(of: $0) })
        }
        let half = states.count / 2
        let fw = try forward.outputs([inputs[0]] + states.prefix(half), in: b), bw = try backward.outputs([inputs[0]] + states.suffix(half), in: b)
        let y = fw[0]
        var yRev = bw[0]
        if returnSequences {
            let steps = b.shape(of: yRev)[1]
            yRev = try b.slice(yRev, [.all, SliceAxis(start: steps - 1, end: nil, step: -1)])
        }
        let merged: [B.Value]
        switch merge {
        case .concat: merged = [try b.concat([y, yRev], axis: -1)]
        case .sum: merged = [try b.add(y, yRev)]
        case .mul: merged = [try b.multiply(y, yRev)]
        case .ave: merged = [try b.divide(b.add(y, yRev), b.scalar(2, like: y))]
        case nil: merged = [y, yRev]
        }
        return merged + fw.dropFirst().prefix(stateCount) + bw.dropFirst().prefix(stateCount)
    }
}

/// The initial states of a recurrent layer: `inputs[1...]` (Keras's `initial_state`, each
/// `[batch, units]`) when given, else `count` zero states.
func initialStates<B: Builder>(_ inputs: [B.Value], count: Int, batch: Int, units: Int, layer: String, like x: B.Value, in b: B) throws -> [B.Value] {
    guard inputs.count > 1 else { return Array(repeating: b.constant(Tensor.zeros([batch, units], dtype: b.type(of: x).dtype)), count: count) }
    let states = Array(inputs.dropFirst())
    guard states.count == count, states.allSatisfy({ b.shape(of: $0) == [batch, units] }) else {
        throw TensorError.shapeMismatch(op: layer, expected: "\(count) initial state(s) [\(batch), \(units)]", received: states.map { b.shape(of: $0) })
    }
    return states
}
