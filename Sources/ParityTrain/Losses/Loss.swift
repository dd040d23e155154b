import ParityNN

/// A loss as a value: what is computed (``Function``, its constants explicit), in which framework's
/// convention, and how the per-element values are reduced to the scalar that is differentiated.
///
/// The same ``Function`` under Keras and under PyTorch differs exactly where the frameworks do
/// (docs/training.md): Keras averages over the last axis first and divides the weighted sum by the
/// number of values (`keras/src/losses/loss.py`, `reduce_values`), clips probabilities to
/// `[1e-7, 1 − 1e-7]` and recovers the logits of a final softmax or sigmoid
/// (`keras/src/backend/tensorflow/nn.py`); PyTorch averages over every element, or over the class
/// weights of the targets (`aten/src/ATen/native/LossNLL.cpp`), clamps `log` at −100
/// (`aten/src/ATen/native/Loss.cpp`), and takes its inputs as given.
public struct Loss: Sendable, Hashable, CustomStringConvertible {
    /// What a loss computes per element (`p` the prediction, `t` the target, `e = p − t`), its constants explicit.
    public enum Function: Sendable, Hashable {
        /// `(p − t)²` (Keras `MeanSquaredError`, PyTorch `MSELoss`).
        case squaredError
        /// `|p − t|` (Keras `MeanAbsoluteError`, PyTorch `L1Loss`).
        case absoluteError
        /// `½e²` for `|e| ≤ delta`, else `delta·(|e| − ½delta)` (Keras `Huber`, PyTorch `HuberLoss`).
        case huber(delta: Double)
        /// `½e²/beta` for `|e| < beta`, else `|e| − ½beta`: Huber divided by beta (PyTorch `SmoothL1Loss`).
        case smoothL1(beta: Double)
        /// `e + softplus(−2e) − log 2` (Keras `LogCosh`).
        case logCosh
        /// Keras `Poisson`: `p − t·log(p + epsilon)`, epsilon 1e-7. PyTorch `PoissonNLLLoss`: with
        /// `logInput`, `eᵖ − t·p`; else `p − t·log(p + epsilon)`, epsilon 1e-8; `full` adds Stirling's term.
        case poisson(logInput: Bool, epsilon: Double, full: Bool)
        /// Binary cross-entropy on probabilities or (`fromLogits`) logits, targets smoothed toward ½
        /// (Keras `BinaryCrossentropy`; PyTorch `BCELoss`, `BCEWithLogitsLoss` with `positiveWeight`). `weight`:
        /// PyTorch's rescaling weight, broadcast against the input from the right and multiplied into every element's loss
        /// before the reduction (`mean` stays the plain mean over elements).
        case binaryCrossentropy(fromLogits: Bool, labelSmoothing: Double, positiveWeight: [Double]?, weight: [Double]?)
        /// Cross-entropy over classes on probabilities, logits, or (`logProbabilities`) log-probabilities,
        /// against one-hot / soft targets or class indices (Keras `CategoricalCrossentropy` and
        /// `SparseCategoricalCrossentropy`; PyTorch `CrossEntropyLoss` and `NLLLoss`).
        case crossentropy(CrossentropyForm)
        /// `t·log(t/p)` on probabilities (Keras `KLDivergence`), or `t·(log t − x)` on log-probabilities
        /// `x` (PyTorch `KLDivLoss`; `logTarget`: `eᵗ·(t − x)`).
        case klDivergence(logInput: Bool, logTarget: Bool)
        /// `−cos(p, t)` along `axis` (Keras `CosineSimilarity`).
        case cosineSimilarity(axis: Int)
        /// `max(1 − t·p, 0)`, squared when `squared` (Keras `Hinge`, `SquaredHinge`).
        case hinge(squared: Bool)
        /// `max(max((1 − t)·p) − Σt·p + 1, 0)` (Keras `CategoricalHinge`).
        case categoricalHinge
        /// `x` where `t = 1`, `max(0, margin − x)` where `t = −1` (PyTorch `HingeEmbeddingLoss`).
        case hingeEmbedding(margin: Double)
        /// PyTorch `CosineEmbeddingLoss(x₁, x₂, y)` with the target as x₂ and y = 1 on every row: per row
        /// `1 − Σx₁x₂/√((Σx₁² + ε)(Σx₂² + ε))`, ε the float 1e-12 (`aten/src/ATen/native/Loss.cpp`, `cosine_embedding_loss`).
        /// Keras's `CosineSimilarity` is `−Σ x₁·min(1/‖x₁‖, 1e7) · x₂·min(1/‖x₂‖, 1e7)`: the same up to the constant 1 (the
        /// same gradient) while both norms exceed about 1e-6. `margin` acts only on y = −1 rows, which this form has none of.
        case cosineEmbedding(margin: Double)
    }

    /// How a cross-entropy reads its input and target.
    public struct CrossentropyForm: Sendable, Hashable {
        /// What the prediction holds.
        public enum Input: Sendable, Hashable {
            /// Probabilities (after a softmax).
            case probabilities
            /// Logits (before a softmax).
            case logits
            /// Log-probabilities (after a log-softmax; PyTorch `NLLLoss`).
            case logProbabilities
        }
        /// What the target holds.
        public enum Target: Sendable, Hashable {
            /// One probability per class (one-hot or soft).
            case distribution
            /// One class index per row.
            case classIndices
        }
        /// What the prediction holds.
        public var input: Input
        /// What the target holds.
        public var target: Target
        /// The label smoothing factor (0: none).
        public var labelSmoothing: Double
        /// Targets equal to this class are left out (Keras `ignore_class`, PyTorch `ignore_index`, −100 by default).
        public var ignoredClass: Int?
        /// One weight per class (PyTorch `weight=`).
        public var classWeights: [Double]?

        /// A form; the parameters are the properties of the same names.
        public init(input: Input, target: Target, labelSmoothing: Double = 0, ignoredClass: Int? = nil, classWeights: [Double]? = nil) {
            self.input = input
            self.target = target
            self.labelSmoothing = labelSmoothing
            self.ignoredClass = ignoredClass
            self.classWeights = classWeights
        }
    }

    /// How the values become one scalar.
    public enum Reduction: String, Sendable, Hashable {
        /// Keras's default: the weighted sum over the number of values (`sum_over_batch_size`, also `mean`).
        case sumOverBatchSize = "sum_over_batch_size"
        /// Keras: the weighted sum over the sum of the sample weights.
        case meanWithSampleWeight = "mean_with_sample_weight"
        /// PyTorch's default: the mean over every element, or over the targets' class weights.
        case mean
        /// The sum.
        case sum
        /// PyTorch `KLDivLoss`: the sum over the batch size.
        case batchMean = "batchmean"
    }

    /// The framework whose convention the loss follows.
    public var framework: Framework
    /// What is computed per element.
    public var function: Function
    /// How the per-element values become one scalar.
    public var reduction: Reduction
    /// The class as the framework spells it (`CrossEntropyLoss`, `SparseCategoricalCrossentropy`).
    public var className: String
    /// The arguments given, as written (for reports and `description`).
    public var arguments: [String]

    /// A loss; the parameters are the properties of the same names. `Loss.parse(_:)` builds one from the
    /// framework's own spelling.
    public init(framework: Framework, function: Function, reduction: Reduction, className: String, arguments: [String] = []) {
        self.framework = framework
        self.function = function
        self.reduction = reduction
        self.className = className
        self.arguments = arguments
    }

    public var description: String { "\(className)(\(arguments.joined(separator: ", ")))" }
}

/// A target made ready for a loss: its values (class indices as one-hot rows), which elements count,
/// and a weight per value. All data (no gradient), fixed before a step runs.
public struct LossTarget: Sendable {
    /// The target in the prediction's float dtype, shaped for the loss.
    public var values: Tensor
    /// 1 where a value counts, 0 where its class is ignored (shaped like the per-sample values).
    public var mask: Tensor?
    /// A weight per value: Keras's sample weights (per sample), PyTorch's class weight of each target.
    public var weights: Tensor?
    /// The prediction's shape as the loss reads it (Keras squeezes or expands a trailing 1).
    public var predictionShape: [Int]

    /// `values`, then `mask` and `weights` where present.
    public var tensors: [Tensor] { [values] + [mask, weights].compactMap { $0 } }
}

extension Loss {
    /// Checks `target` against a prediction of `predictionShape` and makes it ready (``LossTarget``).
    /// `sampleWeight` (Keras only): one weight per sample.
    public func prepare(target: Tensor, predictionShape: [Int], dtype: DType, sampleWeight: Tensor? = nil) throws -> LossTarget {
        switch framework {
        case .keras: return try prepareKeras(target: target, predictionShape: predictionShape, dtype: dtype, sampleWeight: sampleWeight)
        case .pyTorch:
            if sampleWeight != nil { throw TrainError.badTarget(reason: "PyTorch losses take no sample weights (weight the loss per class with weight=)") }
            return try prepareTorch(target: target, predictionShape: predictionShape, dtype: dtype)
        }
    }

    /// The scalar loss of `prediction` (produced by `producer`, when it is a softmax or sigmoid) against a
    /// prepared target whose tensors are given as builder values (`values`, then `mask` and `weights`
    /// when the target has them).
    public func value<B: Builder>(_ prediction: B.Value, producer: OutputProducer<B.Value>?, target: LossTarget, targetValues: [B.Value],
                                  in b: B) throws -> B.Value {
        var rest = targetValues.makeIterator()
        guard let values = rest.next() else { throw TrainError.badTarget(reason: "no target values") }
        let mask = target.mask == nil ? nil : rest.next()
        let weights = target.weights == nil ? nil : rest.next()
        var p = prediction
        if b.shape(of: p) != target.predictionShape { p = try b.reshape(p, target.predictionShape) }
        switch framework {
        case .keras: return try kerasValue(p, producer: producer, target: values, mask: mask, weights: weights, in: b)
        case .pyTorch: return try torchValue(p, target: values, mask: mask, weights: weights, in: b)
        }
    }
}

// MARK: Shared pieces

extension Builder {
    func scalarConstant(_ x: Double, _ dtype: DType) -> Value { constant(Tensor(repeating: x, shape: [], dtype: dtype)) }

    /// `tf.clip_by_value` (`tensorflow/python/ops/clip_ops.py`): `maximum(minimum(x, upper), lower)`, whose
    /// gradient passes at the bounds (TensorFlow's tie rule gives it to `x`).
    func clipByValue(_ x: Value, _ lower: Double, _ upper: Double) throws -> Value {
        let high = try apply(Binary(.minimum, ties: .first), [x, scalar(upper, like: x)])
        return try apply(Binary(.maximum, ties: .first), [high, scalar(lower, like: x)])
    }

    /// TensorFlow's `maximum(x, c)` with its tie rule (the gradient to `x` where `x == c`).
    func tfMaximum(_ x: Value, _ c: Double) throws -> Value {
        try apply(Binary(.maximum, ties: .first), [x, scalar(c, like: x)])
    }

    func where_(_ condition: Value, _ a: Value, _ b: Value) throws -> Value { try apply(Select(), [condition, a, b]) }

    func lastAxisMean(_ x: Value) throws -> Value { try reduce(.mean, x, axes: [-1]) }
}

/// Class indices as one-hot rows, with a 0/1 mask of the entries whose class is `ignored`.
func oneHot(_ indices: [Int64], shape: [Int], classes: Int, ignored: Int?, dtype: DType) throws -> (rows: Tensor, mask: Tensor) {
    var rows = [Double](repeating: 0, count: indices.count * classes)
    var mask = [Double](repeating: 1, count: indices.count)
    for (i, c) in indices.enumerated() {
        if let ignored, c == Int64(ignored) { mask[i] = 0; continue }
        guard c >= 0, c < Int64(classes) else {
            throw TrainError.badTarget(reason: "class index \(c) is outside [0, \(classes)) (the prediction has \(classes) classes)")
        }
        rows[i * classes + Int(c)] = 1
    }
    return (Tensor(shape: shape + [classes], values: rows).cast(to: dtype), Tensor(shape: shape, values: mask).cast(to: dtype))
}

/// Integer class indices from a target array (int64, or floats holding whole numbers as Keras accepts).
func classIndices(_ target: Tensor) throws -> [Int64] {
    if let ints = target.int64s { return ints }
    let values = target.doubles
    guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e15 }) else {
        throw TrainError.badTarget(reason: "class-index targets must be whole numbers; \(target.dtype) target has \(values.first { $0 != $0.rounded() } ?? .nan)")
    }
    return values.map { Int64($0) }
}
