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
/// steps last to first and returns the sequence in that (reversed) order, as Keras does.
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
        let x = inputs[0]
        let shape = b.shape(of: x)
        guard shape.count == 3, kernel.shape == [shape[2], 4 * units],
              recurrentKernel.shape == [units, 4 * units], bias.shape == [4 * units] else {
            throw TensorError.shapeMismatch(
                op: "LSTM", expected: "input [batch, time, \(kernel.shape.first ?? 0)] with kernel [in, 4u], recurrent kernel [u, 4u], bias [4u]",
                received: [shape, kernel.shape, recurrentKernel.shape, bias.shape])
        }
        let (w, u, bias) = (b.weight(kernel, like: x), b.weight(recurrentKernel, like: x), b.weight(self.bias, like: x))
        let zeros = b.constant(Tensor.zeros([shape[0], units], dtype: b.type(of: x).dtype))
        // The input projection of every step in one matmul before the loop (as Keras's and PyTorch's
        // fused kernels do): each element still sums its `features` products in the same order, so
        // the result is bit-identical to projecting step by step.
        let projected = try b.reshape(b.matmul(b.reshape(x, [shape[0] * shape[1], shape[2]]), w), [shape[0], shape[1], 4 * units])
        let op = RecurrentSequence(cell: .lstm(activation: activation, recurrentActivation: recurrentActivation), reversed: goBackwards,
                                   outputBias: true)
        let run = try b.recurrence(op, [projected, zeros, zeros, u, bias])
        return run.outputs(returnSequences: returnSequences, returnState: returnState)
    }
}
