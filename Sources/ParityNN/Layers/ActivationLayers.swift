/// Keras's general rectifier (`keras/src/activations/activations.py`, `ReLU.static_call`), with its
/// evaluation order kept:
///
///     slope ≠ 0, no max, threshold 0:  leaky_relu(x, slope)
///     neg = relu(threshold − x)  (relu(−x) when threshold is 0), or 1 when slope is 0
///     y = threshold ≠ 0 ? (x > threshold ? x : 0) : relu(x)   (relu6 when max is 6)
///     y = clip(y, 0, max)                                       (when max is set and not 6)
///     y = y − slope·neg
///
/// `float32Constants`: TensorFlow turns the threshold used in the comparison and `max_value` into
/// tensors with `tf.cast(python_float, dtype)`, which goes through a Float32 tensor, and passes the
/// leaky slope as a Float32 op attribute; so in Float64 those three are Float32-rounded while
/// `threshold − x` and `slope·neg` use the exact Python values.
public struct ReLU: Model {
    public var negativeSlope: Double
    public var maxValue: Double?
    public var threshold: Double
    public var float32Constants: Bool

    public init(negativeSlope: Double = 0, maxValue: Double? = nil, threshold: Double = 0, float32Constants: Bool = true) {
        self.negativeSlope = negativeSlope
        self.maxValue = maxValue
        self.threshold = threshold
        self.float32Constants = float32Constants
    }

    func cast(_ v: Double) -> Double { float32Constants ? Double(Float(v)) : v }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        var x = inputs[0]
        var negativePart: B.Value?
        if negativeSlope != 0 {
            if maxValue == nil && threshold == 0 { return try b.unary(.leakyRelu(slope: cast(negativeSlope)), x) }
            let shifted = threshold != 0 ? try b.add(b.negate(x), b.scalar(threshold, like: x)) : try b.negate(x)
            negativePart = try b.unary(.relu, shifted)
        }
        var clipMax = maxValue != nil
        if threshold != 0 {
            let above = try b.binary(.greater, x, b.scalar(cast(threshold), like: x))
            x = try b.apply(Select(), [above, x, b.scalar(0, like: x)])
        } else if maxValue == 6 {
            x = try b.unary(.relu6, x)
            clipMax = false
        } else {
            x = try b.unary(.relu, x)
        }
        if clipMax, let maxValue { x = try b.unary(.clip(lower: 0, upper: cast(maxValue)), x) }
        if let negativePart { x = try b.subtract(x, b.multiply(b.scalar(negativeSlope, like: x), negativePart)) }
        return x
    }
}

/// Parametric ReLU in Keras's form (`keras/src/layers/activations/prelu.py`):
/// `relu(x) + (−alpha)·relu(−x)`, `alpha` shaped like the input without its batch axis, with size 1
/// along `shared_axes`. PyTorch's `nn.PReLU` has one alpha or one per channel (axis 1).
public struct PReLU: Model {
    public var alpha: Tensor
    public init(alpha: Tensor) { self.alpha = alpha }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let negAlpha = try b.negate(b.reshape(b.weight(alpha, like: x), [1] + alpha.shape))
        return try b.add(b.unary(.relu, x), b.multiply(negAlpha, b.unary(.relu, b.negate(x))))
    }
}
