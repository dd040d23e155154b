/// A fully connected layer in Keras's convention: `activation(x·kernel + bias)` with `kernel` of
/// shape `[in, out]` (`keras/src/layers/core/dense.py`). PyTorch's `nn.Linear` stores the transpose,
/// `weight` `[out, in]` (docs/conventions.md, A.1).
public struct Dense: Model {
    public var kernel: Tensor
    public var bias: Tensor?
    public var activation: UnaryFunction?

    public init(kernel: Tensor, bias: Tensor?, activation: UnaryFunction? = nil) {
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        var y = try b.matmul(inputs[0], b.weight(kernel, like: inputs[0]))
        if let bias { y = try b.add(y, b.weight(bias, like: inputs[0])) }
        if let activation { y = try b.unary(activation, y) }
        return y
    }
}
