/// The normalisation presets, one value each (docs/conventions.md C.11, C.11.1, C.12): every loader,
/// ATen kernel, converter, diagnosis and the catalog read them from here.
public enum NormalizationDefaults {
    /// Keras's default `epsilon` of BatchNormalization, LayerNormalization and GroupNormalization
    /// (`keras/src/layers/normalization/*.py`).
    public static let kerasEpsilon = 1e-3
    /// PyTorch's default `eps` of every normalisation module and functional: `nn.BatchNorm*d`, `nn.LayerNorm`,
    /// `nn.GroupNorm`, `nn.InstanceNorm*d` (`torch/nn/modules/batchnorm.py`, `normalization.py`, `instancenorm.py`).
    public static let pyTorchEpsilon = 1e-5
    /// Keras's BatchNormalization `momentum`: the share of the old running statistic kept.
    public static let kerasMomentum = 0.99
    /// PyTorch's `nn.BatchNorm*d` `momentum`: the share of the new batch statistic taken.
    public static let pyTorchMomentum = 0.1
    /// Keras's fuzz factor `keras.config.epsilon()` (`keras/src/backend/config.py`): the floor of Normalization's
    /// standard deviation, Dot's normalisation cap, the default of the `keras.ops` normalisations and the clip
    /// of the probability losses.
    public static let kerasBackendEpsilon = 1e-7
}

/// Batch normalization at inference, from stored statistics.
///
/// Keras (`keras/src/layers/normalization/batch_normalization.py` → TensorFlow's
/// `tf.nn.batch_normalization`, `tensorflow/python/ops/nn_impl.py`) folds the scale first:
/// `inv = gamma / sqrt(var + ε)`, `y = x·inv + (beta − mean·inv)`; PyTorch (`F.batch_norm`) centres
/// first: `y = (x − mean) / sqrt(var + ε) · gamma + beta`. Same math, different rounding
/// (``Form``). Epsilon differs by default: Keras 1e-3, PyTorch 1e-5 (docs/conventions.md, C.11).
public struct BatchNorm: Model {
    /// The order a framework evaluates the normalization in.
    public enum Form: Sendable, Hashable {
        /// `x·inv + (beta − mean·inv)`, `inv = rsqrt(var + ε)·gamma` (TensorFlow / Keras).
        case foldedScale
        /// `(x − mean)·rsqrt(var + ε)·gamma + beta` (PyTorch).
        case centered
    }

    public var mean: Tensor
    public var variance: Tensor
    public var gamma: Tensor?
    public var beta: Tensor?
    public var epsilon: Double
    /// The channel axis (negative counts from the end; Keras default −1, PyTorch 1).
    public var axis: Int
    public var form: Form
    /// How a training step uses batch statistics and moves `mean` and `variance` (``BatchNormTraining``);
    /// `nil` for a layer that stays in inference mode while training (a frozen Keras layer).
    public var training: BatchNormTraining?

    /// The training rule the file records (Keras's momentum), kept for the converters and for ParityTrain,
    /// which sets ``training`` to it when the layer trains; it changes no computation itself.
    public var recordedTraining: BatchNormTraining?

    public init(mean: Tensor, variance: Tensor, gamma: Tensor?, beta: Tensor?, epsilon: Double, axis: Int = -1,
                form: Form = .foldedScale, training: BatchNormTraining? = nil, recordedTraining: BatchNormTraining? = nil) {
        self.training = training
        self.recordedTraining = recordedTraining
        self.mean = mean
        self.variance = variance
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
        self.axis = axis
        self.form = form
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let shape = b.shape(of: x)
        let axis = try Shape.axis(self.axis, rank: shape.count, op: "BatchNorm")
        guard shape[axis] == mean.count else {
            throw TensorError.shapeMismatch(op: "BatchNorm", expected: "axis \(axis) of size \(mean.count)", received: [shape])
        }
        if let step = b.trainingStep, let training { return try trainingCall(x, in: b, step: step, training: training) }
        var broadcastShape = Array(repeating: 1, count: shape.count)
        broadcastShape[axis] = shape[axis]
        func param(_ t: Tensor) throws -> B.Value { try b.reshape(b.weight(t, like: x), broadcastShape) }
        let rstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(param(variance), b.scalar(epsilon, like: x))))
        let m = try param(mean)
        switch form {
        case .foldedScale:
            let inv = try gamma.map { try b.multiply(rstd, param($0)) } ?? rstd
            let shift = try b.multiply(m, inv)
            let offset = try beta.map { try b.subtract(param($0), shift) } ?? b.negate(shift)
            return try b.add(b.multiply(x, inv), offset)
        case .centered:
            var y = try b.multiply(b.subtract(x, m), rstd)
            if let gamma { y = try b.multiply(y, param(gamma)) }
            if let beta { y = try b.add(y, param(beta)) }
            return y
        }
    }
}

/// Layer normalization over one or more axes, in Keras 3's formula (`keras/src/ops/nn.py`,
/// `_layer_normalization`, TensorFlow backend): `mean`, `var = mean((x − mean)²)` over `axes`
/// (`tf.nn.moments`), `inv = rsqrt(var + ε)·gamma`, `y = x·inv + (beta − mean·inv)`.
/// With `rmsScaling` (Keras's deprecated `rms_scaling=True`): `y = x·rsqrt(var + ε)·gamma`, where `var`
/// is still the *centred* variance (`ops.var`), not the mean square, and beta is never used: not
/// `torch.nn.RMSNorm`. Keras normalises any axes; PyTorch's `LayerNorm` only trailing ones, eps 1e-5
/// vs Keras 1e-3 (docs/conventions.md, C.12).
public struct LayerNorm: Model {

    public var axes: [Int]
    public var epsilon: Double
    /// Shaped like the input's normalised axes.
    public var gamma: Tensor?
    public var beta: Tensor?
    public var rmsScaling: Bool

    public init(axes: [Int], epsilon: Double, gamma: Tensor?, beta: Tensor?, rmsScaling: Bool = false) {
        self.axes = axes
        self.epsilon = epsilon
        self.gamma = gamma
        self.beta = beta
        self.rmsScaling = rmsScaling
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let shape = b.shape(of: x)
        let axes = try self.axes.map { try Shape.axis($0, rank: shape.count, op: "LayerNorm") }.sorted()
        var broadcastShape = Array(repeating: 1, count: shape.count)
        for axis in axes { broadcastShape[axis] = shape[axis] }
        let paramCount = Shape.count(axes.map { shape[$0] })
        for p in [gamma, beta].compactMap({ $0 }) where p.count != paramCount {
            throw TensorError.shapeMismatch(op: "LayerNorm", expected: "parameters of \(paramCount) elements for axes \(axes)", received: [shape, p.shape])
        }
        func param(_ t: Tensor) throws -> B.Value { try b.reshape(b.weight(t, like: x), broadcastShape) }
        let mean = try b.reduce(.mean, x, axes: axes, keepDims: true)
        let centred = try b.subtract(x, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: axes, keepDims: true)
        var inv = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(epsilon, like: x))))
        if rmsScaling {
            var y = try b.multiply(x, inv)
            if let gamma { y = try b.multiply(y, param(gamma)) }
            return y
        }
        if let gamma { inv = try b.multiply(inv, param(gamma)) }
        var offset = try b.negate(b.multiply(mean, inv))
        if let beta { offset = try b.add(offset, param(beta)) }
        return try b.add(b.multiply(x, inv), offset)
    }
}

/// Keras 3's GroupNormalization (`keras/src/layers/normalization/group_normalization.py`): the
/// channel axis split into `groups` × `channels/groups`, `mean`, `var = mean((x − mean)²)` per sample
/// and group (`ops.moments` over every other axis), `inv = rsqrt(var + ε)·gamma`,
/// `y = x·inv + (beta − mean·inv)`: PyTorch's `group_norm` structure (`scale = rstd·gamma`,
/// `y = x·scale + (beta − mean·scale)`), its statistics summed in another order.
public struct GroupNorm: Model {
    public var groups: Int
    /// The channel axis (negative counts from the end; Keras's default −1).
    public var axis: Int
    public var epsilon: Double
    /// Shaped `(channels)`.
    public var gamma: Tensor?
    public var beta: Tensor?

    public init(groups: Int, axis: Int, epsilon: Double, gamma: Tensor?, beta: Tensor?) {
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.gamma = gamma
        self.beta = beta
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        let shape = b.shape(of: x)
        let axis = try Shape.axis(self.axis, rank: shape.count, op: "GroupNorm")
        let channels = shape[axis]
        guard axis > 0, groups >= 1, channels % groups == 0 else {
            throw TensorError.shapeMismatch(op: "GroupNorm", expected: "a non-batch axis whose size is a multiple of \(groups) groups", received: [shape])
        }
        for p in [gamma, beta].compactMap({ $0 }) where p.count != channels {
            throw TensorError.shapeMismatch(op: "GroupNorm", expected: "parameters of \(channels) elements", received: [shape, p.shape])
        }
        var grouped = shape
        grouped.replaceSubrange(axis...axis, with: [groups, channels / groups])
        var broadcast = Array(repeating: 1, count: grouped.count)
        broadcast[axis] = groups
        broadcast[axis + 1] = channels / groups
        let reduced = Array(1..<grouped.count).filter { $0 != axis }
        func param(_ t: Tensor) throws -> B.Value { try b.reshape(b.weight(t, like: x), broadcast) }
        let g = try b.reshape(x, grouped)
        let mean = try b.reduce(.mean, g, axes: reduced, keepDims: true)
        let centred = try b.subtract(g, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: reduced, keepDims: true)
        var inv = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(epsilon, like: x))))
        if let gamma { inv = try b.multiply(inv, param(gamma)) }
        var offset = try b.negate(b.multiply(mean, inv))
        if let beta { offset = try b.add(offset, param(beta)) }
        return try b.reshape(b.add(b.multiply(g, inv), offset), shape)
    }
}
