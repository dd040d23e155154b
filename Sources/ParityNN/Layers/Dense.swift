/// A fully connected layer in Keras's convention: `activation(x·kernel + bias)` with `kernel` of
/// shape `[in, out]` (`keras/src/layers/core/dense.py`). PyTorch's `nn.Linear` stores the transpose,
/// `weight` `[out, in]` (docs/conventions.md, A.1).
public struct Dense: Model {
    /// `[inputs, units]`.
    public var kernel: Tensor
    /// `[units]`, or `nil` without a bias.
    public var bias: Tensor?
    /// Applied last, or `nil` for none.
    public var activation: Activation?

    /// A layer; the parameters are the properties of the same names.
    public init(kernel: Tensor, bias: Tensor?, activation: Activation? = nil) {
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
    }

    /// Inputs of rank > 2 multiply their last axis, as Keras's `ops.matmul(x, kernel)` does.
    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let shape = b.shape(of: x)
        guard let features = shape.last, kernel.rank == 2, features == kernel.shape[0] else {
            throw TensorError.shapeMismatch(op: "Dense", expected: "input [..., \(kernel.shape.first ?? 0)] for kernel \(kernel.shape)", received: [shape])
        }
        let rows = shape.count == 2 ? x : try b.reshape(x, [-1, features])
        var y = try b.matmul(rows, b.weight(kernel, like: x))
        if let bias { y = try b.add(y, b.weight(bias, like: x)) }
        if shape.count != 2 { y = try b.reshape(y, shape.dropLast() + [kernel.shape[1]]) }
        if let activation { y = try activation.apply(y, in: b) }
        return y
    }
}
