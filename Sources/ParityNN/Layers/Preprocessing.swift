/// `x·scale + offset` (Keras `Rescaling`, `keras/src/layers/preprocessing/rescaling.py`). Keras casts
/// the Python `scale` and `offset` with `tf.cast`, which goes through a Float32 tensor, so in Float64
/// they are the Float32-rounded values (`float32Constants`).
public struct Rescaling: Model {
    /// One value, or one per channel (broadcast along the last axis, as Keras's `x * scale` with a
    /// list scale does for channels-last images).
    public var scale: [Double]
    /// One value, or one per channel, as `scale`.
    public var offset: [Double]
    /// Whether `scale` and `offset` are rounded to Float32 first, as Keras's `tf.cast` does.
    public var float32Constants: Bool

    /// One scale and one offset for every element.
    public init(scale: Double, offset: Double = 0, float32Constants: Bool = true) {
        self.init(scales: [scale], offsets: [offset], float32Constants: float32Constants)
    }

    /// One scale and one offset per channel.
    public init(scales: [Double], offsets: [Double], float32Constants: Bool = true) {
        self.scale = scales
        self.offset = offsets
        self.float32Constants = float32Constants
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        func constant(_ values: [Double]) -> B.Value {
            let rounded = float32Constants ? values.map { Double(Float($0)) } : values
            return b.constant(Tensor(shape: rounded.count == 1 ? [] : [rounded.count], values: rounded).cast(to: b.type(of: x).dtype))
        }
        return try b.add(b.multiply(x, constant(scale)), constant(offset))
    }
}

/// Feature standardisation with fixed statistics: `(x − mean) / max(sqrt(variance), ε)`, ε = 1e-7
/// (Keras `Normalization`, `keras/src/layers/preprocessing/normalization.py`, `invert=False`), with
/// `mean` and `variance` already shaped to broadcast against the input.
public struct FeatureNormalization: Model {
    /// The mean subtracted, broadcast against the input.
    public var mean: Tensor
    /// The variance whose square root divides, broadcast against the input.
    public var variance: Tensor
    /// The floor of the divisor.
    public var epsilon: Double

    /// A layer; the parameters are the properties of the same names.
    public init(mean: Tensor, variance: Tensor, epsilon: Double = NormalizationDefaults.kerasBackendEpsilon) {
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
