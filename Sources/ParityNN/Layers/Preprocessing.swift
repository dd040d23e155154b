/// `x·scale + offset` (Keras `Rescaling`, `keras/src/layers/preprocessing/rescaling.py`). Keras casts
/// the Python `scale` and `offset` with `tf.cast`, which goes through a Float32 tensor, so in Float64
/// they are the Float32-rounded values (`float32Constants`).
public struct Rescaling: Model {
    public var scale: Double
    public var offset: Double
    public var float32Constants: Bool

    public init(scale: Double, offset: Double = 0, float32Constants: Bool = true) {
        self.scale = scale
        self.offset = offset
        self.float32Constants = float32Constants
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let (s, o) = float32Constants ? (Double(Float(scale)), Double(Float(offset))) : (scale, offset)
        return try b.add(b.multiply(x, b.scalar(s, like: x)), b.scalar(o, like: x))
    }
}

/// Feature standardisation with fixed statistics: `(x − mean) / max(sqrt(variance), ε)`, ε = 1e-7
/// (Keras `Normalization`, `keras/src/layers/preprocessing/normalization.py`, `invert=False`), with
/// `mean` and `variance` already shaped to broadcast against the input.
public struct FeatureNormalization: Model {
    public var mean: Tensor
    public var variance: Tensor
    public var epsilon: Double

    public init(mean: Tensor, variance: Tensor, epsilon: Double = 1e-7) {
        self.mean = mean
        self.variance = variance
        self.epsilon = epsilon
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let std = try b.binary(.maximum, b.unary(.sqrt, b.weight(variance, like: x)), b.scalar(epsilon, like: x))
        return try b.divide(b.subtract(x, b.weight(mean, like: x)), std)
    }
}
