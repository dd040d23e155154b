/// A long short-term memory layer (the cell: `RecurrentSequence`) in Keras's convention (`keras/src/layers/rnn/lstm.py`, `LSTMCell`
/// with `implementation=2`): input `[batch, time, features]`, `kernel` `[features, 4·units]`,
/// `recurrentKernel` `[units, 4·units]`, one `bias` `[4·units]`, gate blocks in the order input,
/// forget, cell, output. Per step
///
///     z = (x·kernel + h·recurrentKernel) + bias
///     c = f·c + i·activation(z_c),   h = o·activation(c)
///
/// with `i, f, o = recurrentActivation(z_i, z_f, z_o)`. PyTorch's `nn.LSTM` uses the same gate order
/// with transposed weights and two biases (docs/conventions.md, D.13). Returns the last `h`, or every
/// step's `h` (`[batch, time, units]`) when `returnSequences` is set; with `returnState` the outputs
/// are that, then the final `h` and `c` (Keras `return_state=True`). `goBackwards` processes the
/// steps last to first and returns the sequence in that (reversed) order, as Keras does. Inputs: the
/// sequence, then optionally the initial `h` and `c` `[batch, units]` (Keras's `initial_state`).
public struct LSTM: MultiOutputModel {
    public var kernel: Tensor
    public var recurrentKernel: Tensor
    public var bias: Tensor
    public var activation: UnaryFunction
    public var recurrentActivation: UnaryFunction
    public var returnSequences: Bool
    public var returnState: Bool
    public var goBackwards: Bool
    /// Whether the layer has a bias (Keras `use_bias`); without one, ``bias`` is zeros, which changes no value.
    public var useBias: Bool
    /// Keras's `dropout` on the step input, in a training step only (``Dropout/sequenceInput(rate:)``; one mask per
    /// gate with ``recurrentDropout``).
    public var dropout: Double = 0
    /// Keras's `recurrent_dropout`: in a training step the layer runs Keras's `implementation=1` cell, which it
    /// selects, with four masks on the state (and four on the input with ``dropout``), one per gate.
    public var recurrentDropout: Double = 0

    public init(kernel: Tensor, recurrentKernel: Tensor, bias: Tensor,
                activation: UnaryFunction = .tanh, recurrentActivation: UnaryFunction = .sigmoid,
                returnSequences: Bool = false, returnState: Bool = false, goBackwards: Bool = false, useBias: Bool = true) {
        self.useBias = useBias
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.bias = bias
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
        self.returnState = returnState
        self.goBackwards = goBackwards
    }

    public var units: Int { recurrentKernel.shape[0] }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        if recurrentDropout > 0, let step = b.trainingStep {
            let shape = b.shape(of: inputs[0])
            let states = try initialStates(inputs, count: 2, batch: shape.first ?? 0, units: units, layer: "LSTM", like: inputs[0], in: b)
            return try gateMasked(inputs[0], initial: (states[0], states[1]), step: step, in: b).outputs(returnSequences: returnSequences, returnState: returnState)
        }
        let x = dropout > 0 ? try Dropout.sequenceInput(rate: dropout)([inputs[0]], in: b) : inputs[0]
        let shape = b.shape(of: x)
        guard shape.count == 3, kernel.shape == [shape[2], 4 * units],
              recurrentKernel.shape == [units, 4 * units], bias.shape == [4 * units] else {
            throw TensorError.shapeMismatch(
                op: "LSTM", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, 4u], recurrent kernel [u, 4u], bias [4u]",
                received: [shape, kernel.shape, recurrentKernel.shape, bias.shape])
        }
        let (w, u, bias) = (b.weight(kernel, like: x), b.weight(recurrentKernel, like: x), b.weight(self.bias, like: x))
        let states = try initialStates(inputs, count: 2, batch: shape[0], units: units, layer: "LSTM", like: x, in: b)
        // The input projection of every step in one matmul before the loop (as Keras's and PyTorch's
        // fused kernels do): each element still sums its `features` products in the same order, so
        // the result is bit-identical to projecting step by step.
        let projected = try b.reshape(b.matmul(b.reshape(x, [shape[0] * shape[1], shape[2]]), w), [shape[0], shape[1], 4 * units])
        let op = RecurrentSequence(cell: .lstm(activation: activation, recurrentActivation: recurrentActivation), reversed: goBackwards,
                                   outputBias: true)
        let run = try b.recurrence(op, [projected, states[0], states[1], u, bias])
        return run.outputs(returnSequences: returnSequences, returnState: returnState)
    }

    /// Keras's `implementation=1` cell (`LSTMCell.call`, `_compute_carry_and_output`), step by step: per gate
    /// g ∈ (i, f, c, o), `z_g = ((x·m_g)·kernel_g + bias_g) + (h·r_g)·recurrentKernel_g`, the masks `(1/(1 − rate))·mask`
    /// drawn once per sequence, the four input masks `[batch, features]` (with ``dropout``) before the four state masks
    /// `[batch, units]`, as `get_dropout_mask` and `get_recurrent_dropout_mask` draw them at the first step.
    func gateMasked<B: Builder>(_ x: B.Value, initial: (h: B.Value, c: B.Value), step: any TrainingStep, in b: B) throws -> RecurrenceResult<B.Value> {
        let shape = b.shape(of: x)
        guard shape.count == 3, kernel.shape == [shape[2], 4 * units], recurrentKernel.shape == [units, 4 * units], bias.shape == [4 * units] else {
            throw TensorError.shapeMismatch(op: "LSTM", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, 4u], recurrent kernel [u, 4u], bias [4u]",
                                            received: [shape, kernel.shape, recurrentKernel.shape, bias.shape])
        }
        let (n, steps, features, u) = (shape[0], shape[1], shape[2], units)
        let inputMasks = try Dropout.gateMasks(rate: dropout, gates: 4, batch: n, width: features, step: step, like: x, in: b)
        let stateMasks = try Dropout.gateMasks(rate: recurrentDropout, gates: 4, batch: n, width: u, step: step, like: x, in: b)
        func gate(_ w: B.Value, _ g: Int) throws -> B.Value { try b.slice(w, [.all, SliceAxis(start: g * u, end: (g + 1) * u)]) }
        let w = b.weight(kernel, like: x), r = b.weight(recurrentKernel, like: x), bias = b.weight(self.bias, like: x)
        let kernels = try (0..<4).map { try gate(w, $0) }, recurrent = try (0..<4).map { try gate(r, $0) }
        let biases = try (0..<4).map { try b.slice(bias, [SliceAxis(start: $0 * u, end: ($0 + 1) * u)]) }
        var (h, c) = initial
        var outputs: [B.Value] = []
        for i in 0..<steps {
            let t = goBackwards ? steps - 1 - i : i
            let xt = try b.reshape(b.slice(x, [.all, SliceAxis(start: t, end: t + 1)]), [n, features])
            let z = try (0..<4).map { g -> B.Value in
                var projected = try b.matmul(inputMasks.map { try b.multiply(xt, $0[g]) } ?? xt, kernels[g])
                if useBias { projected = try b.add(projected, biases[g]) }
                return try b.add(projected, b.matmul(stateMasks.map { try b.multiply(h, $0[g]) } ?? h, recurrent[g]))
            }
            let (input, forget, output) = (try b.unary(recurrentActivation, z[0]), try b.unary(recurrentActivation, z[1]), try b.unary(recurrentActivation, z[3]))
            c = try b.add(b.multiply(forget, c), b.multiply(input, b.unary(activation, z[2])))
            h = try b.multiply(output, b.unary(activation, c))
            outputs.append(try b.reshape(h, [n, 1, u]))
        }
        return RecurrenceResult(sequence: try b.concat(outputs, axis: 1), states: [h, c])
    }
}
