/// The fused losses whose gradient is a framework's own rule rather than the chain rule through their
/// forward (the two frameworks' kernels differ exactly there).

/// Softmax cross-entropy of `logits` against `labels` (both `[…, C]` along `axis`), one value per row:
/// `Σ labels·(logsumexp(logits) − logits)`, max-shifted. The gradient with respect to the logits is
/// a value (``Gradient``); the labels get none (they are data).
public struct SoftmaxCrossEntropy: Op {
    /// The gradient with respect to the logits.
    public enum Gradient: Sendable, Hashable {
        /// `softmax − labels`: TensorFlow's fused kernel (`tensorflow/core/kernels/xent_op.h`, "backprop:
        /// prob - labels"), which Keras's `softmax_cross_entropy_with_logits` calls. It assumes every row
        /// of labels sums to 1.
        case fused
        /// `softmax·Σlabels − labels`, the chain rule: PyTorch's `cross_entropy` with probability targets
        /// through `_log_softmax_backward_data`.
        case chainRule
    }

    /// The class axis.
    public var axis: Int
    /// Which gradient rule.
    public var gradient: Gradient

    /// The op; the parameters are the properties of the same names.
    public init(axis: Int = -1, gradient: Gradient) {
        self.axis = axis
        self.gradient = gradient
    }

    public var name: String { "softmax cross-entropy (\(gradient == .fused ? "fused gradient" : "chain rule"))" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        let dtype = try expectSameFloat(inputs)
        guard inputs[0].shape == inputs[1].shape else {
            throw TensorError.shapeMismatch(op: name, expected: "logits and labels of one shape", received: inputs.map(\.shape))
        }
        let shape = inputs[0].shape
        let axis = try Shape.axis(self.axis, rank: shape.count, op: name)
        return TensorType(dtype, shape.enumerated().filter { $0.offset != axis }.map(\.element))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let logSoftmax = try inputs[0].softmax(axis: axis, logarithm: true)
        let terms = try inputs[1].combining(logSoftmax, .multiply)
        return try terms.reduce(.sum, axes: [axis]).map(.negate)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (logits, labels) = (inputs[0], inputs[1])
        let shape = b.shape(of: logits)
        let axis = try Shape.axis(self.axis, rank: shape.count, op: name)
        var kept = shape
        kept[axis] = 1
        let probabilities = try b.softmax(logits, axis: axis)
        let local: B.Value
        switch gradient {
        case .fused:
            local = try b.subtract(probabilities, labels)
        case .chainRule:
            let total = try b.broadcast(b.reduce(.sum, labels, axes: [axis], keepDims: true), to: shape)
            local = try b.subtract(b.multiply(probabilities, total), labels)
        }
        return [try b.multiply(local, b.broadcast(b.reshape(g, kept), to: shape)), nil]
    }
}

/// PyTorch's `binary_cross_entropy` of probabilities `p` against targets `t`, elementwise
/// (`aten/src/ATen/native/Loss.cpp`): `(t − 1)·max(log1p(−p), −100) − t·max(log p, −100)`, and its own
/// backward `g·(p − t) / max(p·(1 − p), 1e-12)`, which ignores the −100 clamp: a saturated `p` (exactly
/// 0 or 1 in Float32) gets `(p − t)·10¹²` or 0, not the chain rule's 0.
public struct TorchBinaryCrossEntropy: Op {
    /// The floor of each `log` (ATen's clamp).
    public static let logFloor = -100.0
    /// The floor of the backward's denominator.
    public static let gradientEpsilon = 1e-12

    /// The op.
    public init() {}

    public var name: String { "binary cross-entropy (ATen)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        let dtype = try expectSameFloat(inputs)
        guard inputs[0].shape == inputs[1].shape else {
            throw TensorError.shapeMismatch(op: name, expected: "input and target of one shape", received: inputs.map(\.shape))
        }
        return TensorType(dtype, inputs[0].shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        func loss<T: FloatElement>(_ p: [T], _ t: [T]) -> [T] {
            let floor = T(Self.logFloor)
            return zip(p, t).map { p, t in (t - 1) * Swift.max(T.log(onePlus: -p), floor) - t * Swift.max(T.log(p), floor) }
        }
        switch (inputs[0].storage, inputs[1].storage) {
        case let (.float32(p), .float32(t)): return Tensor(shape: inputs[0].shape, values: loss(p, t))
        case let (.float64(p), .float64(t)): return Tensor(shape: inputs[0].shape, values: loss(p, t))
        default: throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype))
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (p, t) = (inputs[0], inputs[1])
        let spread = try b.multiply(b.subtract(b.scalar(1, like: p), p), p)
        let denominator = try b.binary(.maximum, spread, b.scalar(Self.gradientEpsilon, like: p))
        return [try b.divide(b.multiply(g, b.subtract(p, t)), denominator), nil]
    }
}
