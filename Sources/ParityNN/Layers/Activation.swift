/// An activation as a layer applies it: an elementwise `UnaryFunction` or a (log-)softmax over an
/// axis. Keras names map onto these in the Keras importer; PyTorch's modules in the PyTorch importer.
public enum Activation: Sendable, Hashable, CustomStringConvertible {
    /// An elementwise function.
    case unary(UnaryFunction)
    /// The softmax along `axis`.
    case softmax(axis: Int)
    /// The log-softmax along `axis`.
    case logSoftmax(axis: Int)

    /// The activation of `x`, with `b`'s ops.
    public func apply<B: Builder>(_ x: B.Value, in b: B) throws -> B.Value {
        switch self {
        case .unary(let function): return try b.unary(function, x)
        case .softmax(let axis): return try b.apply(Softmax(axis: axis, logarithm: false), [x])
        case .logSoftmax(let axis): return try b.apply(Softmax(axis: axis, logarithm: true), [x])
        }
    }

    public var description: String {
        switch self {
        case .unary(let f): return "\(f)"
        case .softmax(let axis): return "softmax(axis: \(axis))"
        case .logSoftmax(let axis): return "logSoftmax(axis: \(axis))"
        }
    }
}

/// A layer that only applies an ``Activation`` (Keras `Activation`, `ReLU`, `Softmax`, …).
public struct ActivationLayer: Model {
    public var activation: Activation
    public init(_ activation: Activation) { self.activation = activation }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try activation.apply(inputs[0], in: b)
    }
}

/// A layer that returns its input unchanged: inference-time Dropout, SpatialDropout, GaussianNoise,
/// and Keras's `InputLayer`.
public struct Identity: Model {
    public init() {}
    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value { inputs[0] }
}

extension Activation {
    /// The activation `model` applies: a Dense, EinsumDense or convolution layer's `activation` after its
    /// own computation, or an ``ActivationLayer``'s (`nil`: none). Converters and diagnosis read it here
    /// from the layer the loader built.
    public static func applied(by model: any Model) -> Activation? {
        switch model {
        case let m as ActivationLayer: return m.activation
        case let m as Dense: return m.activation
        case let m as EinsumDense: return m.activation
        case let m as Convolution: return m.activation
        case let m as DepthwiseConvolution: return m.convolution.activation
        case let m as SeparableConvolution: return m.pointwise.activation
        case let m as TransposedConvolution: return m.activation
        default: return nil
        }
    }
}
