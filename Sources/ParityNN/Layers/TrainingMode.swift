/// What a layer sees of the training step it runs in. A builder that runs a training step conforms
/// (ParityTrain's `TrainingBuilder`); at inference nothing conforms and every layer runs as before.
///
/// Variables are named by the tensor a layer was built with (its "handle", as a Keras `Variable` or a
/// PyTorch buffer): the builder hands back the variable's current value for it and records the value a
/// layer assigns to it (a running statistic).
public protocol TrainingStep: AnyObject {
    /// The keep-mask (1 kept, 0 dropped) of dropout call number `site` of this step, shaped `shape`:
    /// drawn once per step and site, so that two models compared step by step drop the same units
    /// (the frameworks' own random streams cannot be matched).
    func dropoutMask(rate: Double, shape: [Int], dtype: DType) throws -> Tensor
    /// Records `value` (a value of the builder running the step) as the new value of the state
    /// variable whose handle is `variable`, taking effect after the step (Keras `variable.assign`,
    /// PyTorch's in-place buffer update).
    func assign<V>(_ variable: Tensor, _ value: V) throws
}

extension Builder {
    /// The training step this builder runs, or `nil` at inference.
    public var trainingStep: (any TrainingStep)? { self as? any TrainingStep }
}

/// Inverted dropout: at inference the identity; in a training step `x·scale·mask` with
/// `scale = 1/(1 − rate)` and the step's shared keep-mask (``TrainingStep/dropoutMask(rate:shape:dtype:)``).
///
/// Keras (`keras/src/layers/regularization/dropout.py` → TensorFlow's `stateless_dropout`,
/// `tensorflow/python/ops/nn_ops.py`, `_dropout`) multiplies `x` by the scale, then by the mask;
/// PyTorch (`aten/src/ATen/native/Dropout.cpp`, `_dropout_impl`) divides the mask by `1 − p`, then
/// multiplies: the same numbers, since the mask is 0 or 1. `noiseShape` broadcasts one mask element
/// over the axes where it is 1 (Keras `noise_shape`, `SpatialDropout` drops whole channels).
public struct Dropout: Model {
    /// The fraction of elements dropped in training.
    public var rate: Double
    /// The mask's shape with `nil` for "the input's size on this axis" (Keras `noise_shape`), or `nil`
    /// for a mask shaped like the input.
    public var noiseShape: [Int?]?
    /// Whether a training step drops (`false`: the identity everywhere, as a loaded layer runs until
    /// ParityTrain enables it; the rate is kept for the converters).
    public var active: Bool

    /// A layer; the parameters are the properties of the same names.
    public init(rate: Double, noiseShape: [Int?]? = nil, active: Bool = true) {
        self.rate = rate
        self.noiseShape = noiseShape
        self.active = active
    }

    /// Keras `SpatialDropout1D/2D/3D` (channels last): one mask element per sample and channel.
    public static func spatial(rate: Double, rank: Int, channelsFirst: Bool = false) -> Dropout {
        let ones = Array(repeating: Optional(1), count: rank - 2)
        return Dropout(rate: rate, noiseShape: channelsFirst ? [nil, nil] + ones : [nil] + ones + [nil])
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        guard active, let step = b.trainingStep, rate > 0 else { return x }
        let shape = b.shape(of: x)
        let maskShape: [Int]
        if let noiseShape {
            guard noiseShape.count == shape.count else {
                throw TensorError.shapeMismatch(op: "Dropout", expected: "a noise shape of rank \(shape.count)", received: [shape])
            }
            maskShape = zip(noiseShape, shape).map { $0 ?? $1 }
        } else {
            maskShape = shape
        }
        guard rate < 1 else { return try b.multiply(x, b.scalar(0, like: x)) }
        let dtype = b.type(of: x).dtype
        let mask = try step.dropoutMask(rate: rate, shape: maskShape, dtype: dtype)
        let scaled = try b.multiply(x, b.scalar(1 / (1 - rate), like: x))
        return try b.multiply(scaled, b.broadcast(b.constant(mask), to: shape))
    }
}

/// How a BatchNorm layer trains: batch statistics normalise the batch, and the running statistics
/// move toward them. The two frameworks' conventions as values:
///
/// - Keras (`keras/src/layers/normalization/batch_normalization.py`, `call` with `training=True`):
///   `moving = moving·momentum + batch·(1 − momentum)`, momentum 0.99, the batch variance biased
///   (`tf.nn.moments`), the same variance normalising and updating.
/// - PyTorch (`torch/nn/modules/batchnorm.py`; `aten/src/ATen/native/Normalization.cpp`,
///   `batch_norm_cpu_update_stats_template`): `running = momentum·batch + (1 − momentum)·running`,
///   momentum 0.1, the running variance updated with the unbiased variance `var·n/(n − 1)` (n the
///   elements per channel) while the batch is normalised with the biased one.
public struct BatchNormTraining: Sendable, Hashable, CustomStringConvertible {
    /// Which weight `momentum` is.
    public enum MomentumForm: Sendable, Hashable {
        /// `momentum` is the share of the old running value kept (Keras).
        case keepsRunning
        /// `momentum` is the share of the batch statistic taken (PyTorch).
        case takesBatch
    }

    public var momentum: Double
    public var form: MomentumForm
    /// Whether the running variance is updated with `n/(n − 1)` times the batch variance.
    public var unbiasedRunningVariance: Bool

    public init(momentum: Double, form: MomentumForm, unbiasedRunningVariance: Bool) {
        self.momentum = momentum
        self.form = form
        self.unbiasedRunningVariance = unbiasedRunningVariance
    }

    public static func keras(momentum: Double = NormalizationDefaults.kerasMomentum) -> BatchNormTraining {
        BatchNormTraining(momentum: momentum, form: .keepsRunning, unbiasedRunningVariance: false)
    }

    public static func pyTorch(momentum: Double = NormalizationDefaults.pyTorchMomentum) -> BatchNormTraining {
        BatchNormTraining(momentum: momentum, form: .takesBatch, unbiasedRunningVariance: true)
    }

    /// The share of the old running value kept.
    public var keptShare: Double { form == .keepsRunning ? momentum : 1 - momentum }

    public var description: String {
        "momentum \(momentum) (\(form == .keepsRunning ? "share kept, Keras" : "share of the batch, PyTorch")), "
            + (unbiasedRunningVariance ? "unbiased running variance" : "biased running variance")
    }

    /// The new running statistic, in the framework's order of operations.
    public func updated<B: Builder>(_ running: B.Value, batch: B.Value, in b: B) throws -> B.Value {
        switch form {
        case .keepsRunning:
            return try b.add(b.multiply(running, b.scalar(momentum, like: running)), b.multiply(batch, b.scalar(1 - momentum, like: batch)))
        case .takesBatch:
            return try b.add(b.multiply(batch, b.scalar(momentum, like: batch)), b.multiply(running, b.scalar(1 - momentum, like: running)))
        }
    }
}

extension BatchNorm {
    /// The training-step forward: normalise with the batch's mean and biased variance over every axis
    /// but the channel axis (in this layer's ``Form``), and assign the running statistics their
    /// updated values through `step`.
    func trainingCall<B: Builder>(_ x: B.Value, in b: B, step: any TrainingStep, training: BatchNormTraining) throws -> B.Value {
        let shape = b.shape(of: x)
        let axis = try Shape.axis(self.axis, rank: shape.count, op: "BatchNorm")
        let reduced = (0..<shape.count).filter { $0 != axis }
        let n = reduced.reduce(1) { $0 * shape[$1] }
        var broadcastShape = Array(repeating: 1, count: shape.count)
        broadcastShape[axis] = shape[axis]
        func param(_ t: Tensor) throws -> B.Value { try b.reshape(b.weight(t, like: x), broadcastShape) }
        let mean = try b.reduce(.mean, x, axes: reduced, keepDims: true)
        let centred = try b.subtract(x, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: reduced, keepDims: true)
        let rstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(epsilon, like: x))))
        let y: B.Value
        switch form {
        case .foldedScale:
            let inv = try gamma.map { try b.multiply(rstd, param($0)) } ?? rstd
            let shift = try b.multiply(mean, inv)
            let offset = try beta.map { try b.subtract(param($0), shift) } ?? b.negate(shift)
            y = try b.add(b.multiply(x, inv), offset)
        case .centered:
            var out = try b.multiply(centred, rstd)
            if let gamma { out = try b.multiply(out, param(gamma)) }
            if let beta { out = try b.add(out, param(beta)) }
            y = out
        }
        let channels = [shape[axis]]
        let batchMean = try b.reshape(mean, channels)
        var batchVariance = try b.reshape(variance, channels)
        if training.unbiasedRunningVariance {
            batchVariance = try b.multiply(batchVariance, b.scalar(Double(n) / Double(max(n - 1, 1)), like: x))
        }
        try step.assign(self.mean, training.updated(b.weight(self.mean, like: x), batch: batchMean, in: b))
        try step.assign(self.variance, training.updated(b.weight(self.variance, like: x), batch: batchVariance, in: b))
        return y
    }
}
