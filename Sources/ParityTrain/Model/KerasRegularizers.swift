import ParityKeras
import ParityNN

/// A Keras weight regularizer, `keras/src/regularizers/regularizers.py` (Keras 3): `L1(l1)` is
/// `l1 · sum(|x|)`, `L2(l2)` is `l2 · sum(x²)`, `L1L2(l1, l2)` the two added (a zero factor's term left out),
/// each computed in the variable's dtype on the variable's value before the step.
public struct KerasRegularizer: Sendable, Equatable {
    /// The L1 factor (0: no L1 term).
    public var l1: Double
    /// The L2 factor (0: no L2 term).
    public var l2: Double

    /// A regularizer; the parameters are the properties of the same names.
    public init(l1: Double = 0, l2: Double = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    /// The config keys a regularizer can sit under, with the variable each regularizes (the last part of its
    /// Keras path). `activity_regularizer` (a penalty on the layer's output) is not among them: Parity refuses it.
    public static let variableKeys: [(key: String, variable: String)] = [
        ("kernel_regularizer", "kernel"), ("bias_regularizer", "bias"), ("recurrent_regularizer", "recurrent_kernel"),
        ("embeddings_regularizer", "embeddings"), ("depthwise_regularizer", "depthwise_kernel"),
        ("pointwise_regularizer", "pointwise_kernel"), ("gamma_regularizer", "gamma"), ("beta_regularizer", "beta"),
        ("alpha_regularizer", "alpha"),
    ]

    /// The regularizer a layer config records, serialized as `{"class_name": "L2", "config": {"l2": 0.01}}` (a
    /// string identifier given to the layer is saved so too); `nil` for any other class.
    public init?(config value: KerasJSON) {
        guard let className = value["class_name"]?.string else { return nil }
        let config = value["config"]
        func factor(_ name: String) -> Double? {
            guard let entry = config?[name] else { return 0 }
            return entry.isNull ? 0 : entry.double
        }
        guard let l1 = factor("l1"), let l2 = factor("l2") else { return nil }
        switch className {
        case "L1", "l1": self.init(l1: l1)
        case "L2", "l2": self.init(l2: l2)
        case "L1L2", "l1_l2": self.init(l1: l1, l2: l2)
        default: return nil
        }
    }

    /// The penalty of `x`, as `L1L2.__call__` computes it: `l1 · sum(|x|)`, then `+ l2 · sum(x²)`.
    public func penalty<B: Builder>(_ x: B.Value, in b: B) throws -> B.Value? {
        let axes = Array(0..<b.shape(of: x).count)
        var total: B.Value? = nil
        if l1 != 0 {
            total = try b.multiply(b.scalar(l1, like: x), b.reduce(.sum, b.unary(.abs, x), axes: axes, keepDims: false))
        }
        if l2 != 0 {
            let term = try b.multiply(b.scalar(l2, like: x), b.reduce(.sum, b.multiply(x, x), axes: axes, keepDims: false))
            total = try total.map { try b.add($0, term) } ?? term
        }
        return total
    }
}
