import Foundation
import ParityNN

/// Keras 3's losses on the TensorFlow backend (`keras/src/losses/losses.py`, the backend's
/// `keras/src/backend/tensorflow/nn.py`, the reduction of `keras/src/losses/loss.py`), checked against
/// Keras 3.15.1 / TensorFlow 2.21 by the fixtures of `scripts/make_training_fixtures.py`.
extension Loss {
    /// `squeeze_or_expand_to_same_rank(y_true, y_pred)` (`keras/src/losses/loss.py`), which
    /// `LossFunctionWrapper.call` applies before every loss: a trailing axis of 1 on one side is squeezed,
    /// or added to the other side when that side has rank 1. Returns the new target and prediction shapes.
    static func kerasSameRank(_ target: [Int], _ prediction: [Int]) -> (target: [Int], prediction: [Int]) {
        var (t, p) = (target, prediction)
        if t.count == p.count + 1, t.last == 1 {
            if p.count == 1 { p.append(1) } else { t.removeLast() }
        } else if p.count == t.count + 1, p.last == 1 {
            if t.count == 1 { t.append(1) } else { p.removeLast() }
        }
        return (t, p)
    }

    func prepareKeras(target: Tensor, predictionShape: [Int], dtype: DType, sampleWeight: Tensor?) throws -> LossTarget {
        var weights = try sampleWeight.map { sw -> Tensor in
            guard sw.shape.first == predictionShape.first, sw.rank <= predictionShape.count else {
                throw TrainError.badTarget(reason: "sample weights of shape \(sw.shape) for a batch of \(predictionShape.first ?? 0)")
            }
            return sw.cast(to: dtype)
        }
        if case .crossentropy(let form) = function, form.target == .classIndices {
            // SparseCategoricalCrossentropy: a trailing axis of 1 is squeezed; the indices index the last axis.
            var shape = target.shape
            if shape.count == predictionShape.count, shape.last == 1 { shape.removeLast() }
            guard shape == Array(predictionShape.dropLast()), let classes = predictionShape.last else {
                throw TrainError.badTarget(reason: "class indices of shape \(target.shape) for a prediction of shape \(predictionShape) (expected \(Array(predictionShape.dropLast())))")
            }
            let (rows, mask) = try oneHot(try classIndices(target), shape: shape, classes: classes, ignored: form.ignoredClass, dtype: dtype)
            return LossTarget(values: rows, mask: form.ignoredClass == nil ? nil : mask, weights: weights, predictionShape: predictionShape)
        }
        guard target.dtype.isFloatingPoint || target.dtype == .int64 else {
            throw TrainError.badTarget(reason: "a \(target.dtype) target for \(className)")
        }
        let (targetShape, shape) = Self.kerasSameRank(target.shape, predictionShape)
        guard targetShape == shape else {
            throw TrainError.badTarget(reason: "target of shape \(target.shape) for a prediction of shape \(predictionShape) (\(className) needs the same shape, up to a trailing 1)")
        }
        var values = try target.cast(to: dtype).reshaped(targetShape)
        switch function {
        case .hinge:
            // `convert_binary_labels_to_hinge`: labels all in {0, 1} (checked over the batch) become ±1.
            if values.doubles.allSatisfy({ $0 == 0 || $0 == 1 }) {
                values = try values.combining(Tensor(repeating: 2, shape: [], dtype: dtype), .multiply)
                    .combining(Tensor(repeating: 1, shape: [], dtype: dtype), .subtract)
            }
        case .klDivergence:
            // `kl_divergence` clips the target to [ε, 1]; it gets no gradient.
            values = try values.map(.clip(lower: NormalizationDefaults.kerasBackendEpsilon, upper: 1))
        default:
            break
        }
        if let w = weights, w.rank < shape.count - 1 {
            // The per-sample values drop the last axis; a [batch] weight broadcasts over the rest from the left.
            weights = try w.reshaped(w.shape + Array(repeating: 1, count: shape.count - 1 - w.rank))
        }
        return LossTarget(values: values, mask: nil, weights: weights, predictionShape: shape)
    }

    func kerasValue<B: Builder>(_ p: B.Value, producer: OutputProducer<B.Value>?, target t: B.Value, mask: B.Value?, weights: B.Value?,
                                in b: B) throws -> B.Value {
        let eps = NormalizationDefaults.kerasBackendEpsilon
        let perSample: B.Value
        func logits(_ kind: String) throws -> B.Value? {
            switch (producer, kind) {
            case (.softmax(let axis, let z)?, "softmax"):
                let rank = b.shape(of: z).count
                guard (try? Shape.axis(axis, rank: rank, op: "softmax")) == rank - 1 else { return nil }
                return try b.reshape(z, b.shape(of: p))
            case (.sigmoid(let z)?, "sigmoid"): return try b.reshape(z, b.shape(of: p))
            default: return nil
            }
        }
        switch function {
        case .squaredError:
            let d = try b.subtract(t, p)
            perSample = try b.lastAxisMean(b.multiply(d, d))
        case .absoluteError:
            perSample = try b.lastAxisMean(b.unary(.abs, b.subtract(t, p)))
        case .huber(let delta):
            let error = try b.subtract(p, t)
            let absError = try b.unary(.abs, error)
            let half = b.scalar(0.5, like: p)
            let quadratic = try b.multiply(half, b.multiply(error, error))
            let linear = try b.subtract(b.multiply(b.scalar(delta, like: p), absError), b.multiply(half, b.scalar(delta * delta, like: p)))
            perSample = try b.lastAxisMean(b.where_(b.binary(.lessEqual, absError, b.scalar(delta, like: p)), quadratic, linear))
        case .smoothL1, .hingeEmbedding, .cosineEmbedding:
            throw TrainError.unsupportedModel("\(className) is a PyTorch loss")
        case .logCosh:
            // `x + softplus(−2x) − log 2`, TensorFlow's softplus.
            let x = try b.subtract(p, t)
            let softplus = try b.unary(.softplus(beta: 1, threshold: 20), b.multiply(x, b.scalar(-2, like: x)))
            perSample = try b.lastAxisMean(b.subtract(b.add(x, softplus), b.scalar(Double(Float(0.6931471805599453)), like: x)))
        case .poisson(_, let epsilon, _):
            let logRate = try b.unary(.log, b.add(p, b.scalar(epsilon, like: p)))
            perSample = try b.lastAxisMean(b.subtract(p, b.multiply(t, logRate)))
        case .binaryCrossentropy(let fromLogits, let smoothing, _, _):
            var target = t
            if smoothing != 0 {
                target = try b.add(b.multiply(t, b.scalar(1 - smoothing, like: t)), b.scalar(0.5 * smoothing, like: t))
            }
            let elementwise: B.Value
            if let z = try logits("sigmoid") ?? (fromLogits ? p : nil) {
                elementwise = try b.sigmoidCrossEntropyWithLogits(labels: target, logits: z)
            } else {
                let q = try b.clipByValue(p, eps, 1 - eps)
                let positive = try b.multiply(target, b.unary(.log, q))
                let negative = try b.multiply(b.subtract(b.scalar(1, like: t), target), b.unary(.log, b.subtract(b.scalar(1, like: q), q)))
                elementwise = try b.negate(b.add(positive, negative))
            }
            perSample = try b.lastAxisMean(elementwise)
        case .crossentropy(let form):
            var q = p
            var recovered = try logits("softmax")
            if form.ignoredClass != nil, let mask {
                // `y_pred = where(valid, y_pred, 0)` comes first, so the softmax is no longer the producer.
                q = try b.where_(b.broadcast(b.reshape(mask, b.shape(of: mask) + [1]), to: b.shape(of: p)), p, b.scalar(0, like: p))
                recovered = nil
            }
            var labels = t
            if form.labelSmoothing != 0 {
                let classes = Double(b.shape(of: p).last ?? 1)
                labels = try b.add(b.multiply(t, b.scalar(1 - form.labelSmoothing, like: t)), b.scalar(form.labelSmoothing / classes, like: t))
            }
            if let z = recovered ?? (form.input == .logits ? q : nil) {
                perSample = try b.apply(SoftmaxCrossEntropy(gradient: .fused), [z, labels])
            } else if form.target == .classIndices {
                // Clip, log, then `sparse_softmax_cross_entropy_with_logits` on the log-probabilities
                // (which renormalises the clipped probabilities).
                let logQ = try b.unary(.log, b.clipByValue(q, eps, 1 - eps))
                perSample = try b.apply(SoftmaxCrossEntropy(gradient: .fused), [logQ, labels])
            } else {
                let normalised = try b.divide(q, b.broadcast(b.reduce(.sum, q, axes: [-1], keepDims: true), to: b.shape(of: q)))
                let logQ = try b.unary(.log, b.clipByValue(normalised, eps, 1 - eps))
                perSample = try b.negate(b.reduce(.sum, b.multiply(labels, logQ), axes: [-1]))
            }
        case .klDivergence:
            let q = try b.clipByValue(p, eps, 1)
            perSample = try b.reduce(.sum, b.multiply(t, b.unary(.log, b.divide(t, q))), axes: [-1])
        case .cosineSimilarity(let axis):
            func normalise(_ x: B.Value) throws -> B.Value {
                // Keras 3.15 `ops.nn._normalize`: `x·min(rsqrt(Σx²), 1/ε)`.
                let squareSum = try b.reduce(.sum, b.multiply(x, x), axes: [axis], keepDims: true)
                let inv = try b.apply(Binary(.minimum, ties: .first), [b.unary(.reciprocal, b.unary(.sqrt, squareSum)), b.scalar(1 / eps, like: x)])
                return try b.multiply(x, b.broadcast(inv, to: b.shape(of: x)))
            }
            perSample = try b.negate(b.reduce(.sum, b.multiply(normalise(t), normalise(p)), axes: [axis]))
        case .hinge(let squared):
            var margin = try b.tfMaximum(b.subtract(b.scalar(1, like: p), b.multiply(t, p)), 0)
            if squared { margin = try b.multiply(margin, margin) }
            perSample = try b.lastAxisMean(margin)
        case .categoricalHinge:
            let positive = try b.reduce(.sum, b.multiply(t, p), axes: [-1])
            let negative = try b.reduce(.max, b.multiply(b.subtract(b.scalar(1, like: t), t), p), axes: [-1])
            perSample = try b.tfMaximum(b.add(b.subtract(negative, positive), b.scalar(1, like: p)), 0)
        }
        return try kerasReduce(perSample, mask: mask, weights: weights, in: b)
    }

    /// `reduce_weighted_values` (`keras/src/losses/loss.py`): a mask becomes weights `total/valid` (for
    /// the mean reductions), sample weights multiply the values, then the sum is divided by the number of
    /// values (`sum_over_batch_size`) or by the sum of the sample weights (`mean_with_sample_weight`).
    func kerasReduce<B: Builder>(_ values: B.Value, mask: B.Value?, weights: B.Value?, in b: B) throws -> B.Value {
        var values = values
        let count = Double(Shape.count(b.shape(of: values)))
        var weight = weights
        if let mask {
            var maskWeight = mask
            if reduction == .sumOverBatchSize || reduction == .mean {
                let valid = try b.reduce(.sum, mask, axes: [])
                let total = b.scalar(Double(Shape.count(b.shape(of: mask))), like: mask)
                // divide_no_nan: 0 when nothing is valid.
                let ratio = try b.where_(b.binary(.greater, valid, b.scalar(0, like: valid)), b.divide(total, b.tfMaximum(valid, 1e-30)), b.scalar(0, like: valid))
                maskWeight = try b.multiply(mask, b.broadcast(ratio, to: b.shape(of: mask)))
            }
            values = try b.where_(mask, values, b.scalar(0, like: values))
            weight = try weight.map { try b.multiply($0, maskWeight) } ?? maskWeight
        }
        if let weight { values = try b.multiply(values, weight) }
        let total = try b.reduce(.sum, values, axes: [])
        switch reduction {
        case .sum: return total
        case .meanWithSampleWeight:
            guard let weights else { return try b.divide(total, b.scalar(count, like: total)) }
            return try b.divide(total, b.reduce(.sum, weights, axes: []))
        case .sumOverBatchSize, .mean, .batchMean:
            return try b.divide(total, b.scalar(count, like: total))
        }
    }
}

extension Builder {
    /// `tf.nn.sigmoid_cross_entropy_with_logits` (`tensorflow/python/ops/nn_impl.py`):
    /// `where(z ≥ 0, z, 0) − z·t + log1p(exp(where(z ≥ 0, −z, z)))`, differentiated by the chain rule.
    func sigmoidCrossEntropyWithLogits(labels t: Value, logits z: Value) throws -> Value {
        let zero = scalar(0, like: z)
        let positive = try binary(.greaterEqual, z, zero)
        let reluLogits = try where_(positive, z, zero)
        let negAbs = try where_(positive, negate(z), z)
        // log1p(exp(x)) for x ≤ 0 is the softplus below its threshold.
        return try add(subtract(reluLogits, multiply(z, t)), unary(.softplus(beta: 1, threshold: 20), negAbs))
    }
}

extension Loss {
    /// Keras's `class_weight` as the per-row sample weights `fit` (on arrays) and `train_on_batch` make of it
    /// (`keras/src/trainers/data_adapters/data_adapter_utils.py`, `class_weight_to_sample_weights`): a row's class
    /// is the argmax of its target's last axis when that axis has more than one entry (one-hot rows, first maximum
    /// on ties), else the target squeezed and rounded half to even; its weight is `class_weight.get(class, 1.0)`
    /// (checked with Keras 3.15: `fit` on arrays and `train_on_batch` give a class without a key weight 1).
    public static func kerasClassWeights(_ classWeight: [Int: Double], target: Tensor) throws -> Tensor {
        guard let rows = target.shape.first, target.rank == 1 || target.rank == 2 else {
            throw TrainError.badTarget(reason: "class_weight needs one class per row (a target of rank 1 or 2, as Keras's fit); received shape \(target.shape)")
        }
        guard !classWeight.isEmpty, classWeight.keys.allSatisfy({ $0 >= 0 }) else {
            throw TrainError.badArgument(name: "class_weight", value: "\(classWeight)", reason: "needs class indices ≥ 0 as keys")
        }
        let values = target.doubles
        let width = target.rank == 1 ? 1 : values.count / Swift.max(rows, 1)
        let classes: [Int] = (0..<rows).map { row in
            let slice = values[(row * width)..<((row + 1) * width)]
            if width > 1, let top = slice.max() { return slice.firstIndex(of: top)! - row * width }
            return Int(slice.first!.rounded(.toNearestOrEven))
        }
        return Tensor(shape: [rows], values: classes.map { classWeight[$0] ?? 1 })
    }

    /// Parses a `class_weight` dict as written in Python: `{0: 1.0, 1: 2.5}` (braces optional).
    public static func parseClassWeights(_ text: String) throws -> [Int: Double] {
        var body = text.trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("{"), body.hasSuffix("}") { body = String(body.dropFirst().dropLast()) }
        var table: [Int: Double] = [:]
        for entry in body.split(separator: ",") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = entry.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let key = Int(parts[0]), let value = Double(parts[1]), value.isFinite else {
                throw TrainError.badSpec(spec: text, position: 0, reason: "expected {class: weight, ...} with integer classes and numbers; found '\(entry)'")
            }
            guard table[key] == nil else { throw TrainError.badSpec(spec: text, position: 0, reason: "class \(key) given twice") }
            table[key] = value
        }
        guard !table.isEmpty else { throw TrainError.badSpec(spec: text, position: 0, reason: "no class weights") }
        return table
    }
}
