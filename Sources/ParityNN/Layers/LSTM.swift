/// A long short-term memory layer in Keras's convention (`keras/src/layers/rnn/lstm.py`): input
/// `[batch, time, features]`, `kernel` `[features, 4·units]`, `recurrentKernel` `[units, 4·units]`,
/// one `bias` `[4·units]`, gate blocks in the order input, forget, cell, output. Per step
///
///     z = x·kernel + h·recurrentKernel + bias
///     c = f·c + i·activation(z_c),   h = o·activation(c)
///
/// with `i, f, o = recurrentActivation(z_i, z_f, z_o)`. PyTorch's `nn.LSTM` uses the same gate order
/// with transposed weights and two biases (docs/conventions.md, D.13). Returns the last `h`, or every
/// step's `h` (`[batch, time, units]`) when `returnSequences` is set.
public struct LSTM: Model {
    public var kernel: Tensor
    public var recurrentKernel: Tensor
    public var bias: Tensor
    public var activation: UnaryFunction
    public var recurrentActivation: UnaryFunction
    public var returnSequences: Bool

    public init(kernel: Tensor, recurrentKernel: Tensor, bias: Tensor,
                activation: UnaryFunction = .tanh, recurrentActivation: UnaryFunction = .sigmoid,
                returnSequences: Bool = false) {
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.bias = bias
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.returnSequences = returnSequences
    }

    public var units: Int { recurrentKernel.shape[0] }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let shape = b.shape(of: x)
        guard shape.count == 3, shape[2] == kernel.shape[0], kernel.shape == [shape[2], 4 * units],
              recurrentKernel.shape == [units, 4 * units], bias.shape == [4 * units] else {
            throw TensorError.shapeMismatch(
                op: "LSTM", expected: "input [batch, time, \(kernel.shape[0])] with kernel [in, 4u], recurrent kernel [u, 4u], bias [4u]",
                received: [shape, kernel.shape, recurrentKernel.shape, bias.shape])
        }
        let (batch, steps) = (shape[0], shape[1])
        let (w, u, bias) = (b.weight(kernel, like: x), b.weight(recurrentKernel, like: x), b.weight(self.bias, like: x))
        let dtype = b.type(of: x).dtype
        var h = b.constant(Tensor.zeros([batch, units], dtype: dtype))
        var c = h
        var outputs: [B.Value] = []
        for t in 0..<steps {
            let xt = try b.reshape(b.slice(x, [.all, SliceAxis(start: t, end: t + 1)]), [batch, shape[2]])
            let z = try b.add(b.add(b.matmul(xt, w), b.matmul(h, u)), bias)
            let gates = try b.split(z, sizes: Array(repeating: units, count: 4), axis: 1)
            let i = try b.unary(recurrentActivation, gates[0])
            let f = try b.unary(recurrentActivation, gates[1])
            let g = try b.unary(activation, gates[2])
            let o = try b.unary(recurrentActivation, gates[3])
            c = try b.add(b.multiply(f, c), b.multiply(i, g))
            h = try b.multiply(o, b.unary(activation, c))
            if returnSequences { outputs.append(try b.reshape(h, [batch, 1, units])) }
        }
        return returnSequences ? try b.concat(outputs, axis: 1) : h
    }
}
