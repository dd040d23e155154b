import ParityNN

/// PyTorch's losses (`torch/nn/modules/loss.py` → `torch/nn/functional.py` → ATen:
/// `aten/src/ATen/native/Loss.cpp`, `LossNLL.cpp`, `PointwiseOps`), checked against PyTorch 2.15 by the
/// fixtures of `scripts/make_training_fixtures.py`. Inputs are taken as given: no logits recovery, no
/// clipping besides `binary_cross_entropy`'s log clamp.
extension Loss {
    func prepareTorch(target: Tensor, predictionShape: [Int], dtype: DType) throws -> LossTarget {
        switch function {
        case .crossentropy(let form):
            guard predictionShape.count <= 2, let classes = predictionShape.last else {
                throw TrainError.unsupportedModel("\(className) on an input of shape \(predictionShape): Parity maps (N, C) and (C,) inputs (put the classes last)")
            }
            if form.input == .logProbabilities, target.dtype != .int64 {
                throw TrainError.badTarget(reason: "NLLLoss takes class indices (an int64 target); received a \(target.dtype) target")
            }
            if target.dtype == .int64 {  // PyTorch decides by the target's dtype: class indices, else probabilities
                guard target.shape == Array(predictionShape.dropLast()) else {
                    throw TrainError.badTarget(reason: "class indices of shape \(target.shape) for an input of shape \(predictionShape) (expected \(Array(predictionShape.dropLast())))")
                }
                let indices = try classIndices(target)
                let (rows, mask) = try oneHot(indices, shape: target.shape, classes: classes, ignored: form.ignoredClass, dtype: dtype)
                var weights: Tensor?
                if let w = form.classWeights {
                    guard w.count == classes else {
                        throw TrainError.badArgument(name: "weight", value: "\(w.count) values", reason: "one per class: the input has \(classes) classes")
                    }
                    let perTarget = zip(indices, mask.doubles).map { c, valid in valid == 0 ? 0 : w[Int(c)] }
                    weights = Tensor(shape: target.shape, values: perTarget).cast(to: dtype)
                }
                return LossTarget(values: rows, mask: mask, weights: weights, predictionShape: predictionShape)
            }
            guard target.shape == predictionShape else {
                throw TrainError.badTarget(reason: "class probabilities of shape \(target.shape) for an input of shape \(predictionShape) (a \(target.dtype) target is read as probabilities; class indices must be int64)")
            }
            let weights = try form.classWeights.map { w -> Tensor in
                guard w.count == classes else {
                    throw TrainError.badArgument(name: "weight", value: "\(w.count) values", reason: "one per class: the input has \(classes) classes")
                }
                return Tensor(shape: [classes], values: w).cast(to: dtype)
            }
            return LossTarget(values: target.cast(to: dtype), mask: nil, weights: weights, predictionShape: predictionShape)
        case .binaryCrossentropy(_, _, _, let weight):
            guard target.shape == predictionShape else {
                throw TrainError.badTarget(reason: "\(className) needs a target of the input's shape \(predictionShape); received \(target.shape)")
            }
            if let weight {
                // `weight.expand(target.size())`: broadcast from the right.
                guard (try? Shape.broadcast(predictionShape, [weight.count], op: className)) == predictionShape else {
                    throw TrainError.badArgument(name: "\(className) weight", value: "\(weight.count) values",
                                                 reason: "must broadcast to the input's shape \(predictionShape)")
                }
                guard target.dtype.isFloatingPoint else { throw TrainError.badTarget(reason: "\(className) needs a floating-point target; received \(target.dtype)") }
                let c = EagerContext()
                let w = try c.broadcast(c.constant(Tensor(shape: [weight.count], values: weight).cast(to: dtype)), to: predictionShape).tensor
                return LossTarget(values: target.cast(to: dtype), mask: nil, weights: w, predictionShape: predictionShape)
            }
        case .cosineEmbedding:
            guard target.shape == predictionShape, predictionShape.count == 2 else {
                throw TrainError.badTarget(reason: "CosineEmbeddingLoss compares rows: Parity maps an input of shape (N, D) against a target (x₂) of the same shape; received \(predictionShape) and \(target.shape)")
            }
        default:
            guard (try? Shape.broadcast(predictionShape, target.shape, op: className)) != nil else {
                throw TrainError.badTarget(reason: "target of shape \(target.shape) does not broadcast with the input's shape \(predictionShape)")
            }
        }
        guard target.dtype.isFloatingPoint || target.dtype == .int64 else { throw TrainError.badTarget(reason: "a \(target.dtype) target") }
        return LossTarget(values: target.cast(to: dtype), mask: nil, weights: nil, predictionShape: predictionShape)
    }

    func torchValue<B: Builder>(_ p: B.Value, target t: B.Value, mask: B.Value?, weights: B.Value?, in b: B) throws -> B.Value {
        let elements: B.Value
        switch function {
        case .squaredError:
            let d = try b.subtract(p, t)
            elements = try b.multiply(d, d)
        case .absoluteError:
            elements = try b.unary(.abs, b.subtract(p, t))
        case .huber(let delta):
            // `huber_loss`: z = |x − y|; z < δ ? ½z² : δ(z − ½δ).
            let d = try b.subtract(p, t)
            let z = try b.unary(.abs, d)
            let quadratic = try b.multiply(b.scalar(0.5, like: d), b.multiply(d, d))
            let linear = try b.multiply(b.scalar(delta, like: d), b.subtract(z, b.scalar(0.5 * delta, like: d)))
            elements = try b.where_(b.binary(.less, z, b.scalar(delta, like: z)), quadratic, linear)
        case .smoothL1(let beta):
            let d = try b.subtract(p, t)
            let z = try b.unary(.abs, d)
            if beta == 0 {
                elements = z
            } else {
                let quadratic = try b.divide(b.multiply(b.scalar(0.5, like: d), b.multiply(d, d)), b.scalar(beta, like: d))
                elements = try b.where_(b.binary(.less, z, b.scalar(beta, like: z)), quadratic, b.subtract(z, b.scalar(0.5 * beta, like: z)))
            }
        case .poisson(let logInput, let epsilon, let full):
            var loss = logInput
                ? try b.subtract(b.unary(.exp, p), b.multiply(t, p))
                : try b.subtract(p, b.multiply(t, b.unary(.log, b.add(p, b.scalar(epsilon, like: p)))))
            if full {
                // Stirling's term where t > 1: t·log t − t + ½·log(2πt).
                let safe = try b.tfMaximum(t, 1)
                let stirling = try b.add(b.subtract(b.multiply(safe, b.unary(.log, safe)), safe),
                                         b.multiply(b.scalar(0.5, like: t), b.unary(.log, b.multiply(b.scalar(2 * Double.pi, like: t), safe))))
                loss = try b.add(loss, b.where_(b.binary(.greater, t, b.scalar(1, like: t)), stirling, b.scalar(0, like: t)))
            }
            elements = loss
        case .binaryCrossentropy(let fromLogits, let smoothing, let positiveWeight, _):
            guard smoothing == 0 else { throw TrainError.unsupportedModel("PyTorch's binary cross-entropy has no label smoothing") }
            if fromLogits {
                // `binary_cross_entropy_with_logits`: (1 − t)·x − w_log·log_sigmoid(x), w_log = (pos_weight − 1)·t + 1.
                var logSigmoid = try b.unary(.logSigmoid, p)
                if let positiveWeight {
                    let shape = b.shape(of: p)
                    let pw = b.constant(try Tensor(shape: [positiveWeight.count], values: positiveWeight).cast(to: b.type(of: p).dtype).reshaped([positiveWeight.count]))
                    let logWeight = try b.add(b.multiply(b.subtract(b.broadcast(pw, to: shape), b.scalar(1, like: p)), t), b.scalar(1, like: p))
                    logSigmoid = try b.multiply(logSigmoid, logWeight)
                }
                elements = try b.subtract(b.multiply(b.subtract(b.scalar(1, like: t), t), p), logSigmoid)
            } else {
                elements = try b.apply(TorchBinaryCrossEntropy(), [p, t])
            }
        case .crossentropy(let form):
            return try torchCrossentropy(p, target: t, mask: mask, weights: weights, form: form, in: b)
        case .klDivergence(_, let logTarget):
            // `kl_div`: t·(log t − x) (0 where t = 0, as xlogy), or eᵗ·(t − x) with log_target.
            if logTarget {
                elements = try b.multiply(b.unary(.exp, t), b.subtract(t, p))
            } else {
                let positive = try b.binary(.greater, t, b.scalar(0, like: t))
                let logT = try b.unary(.log, b.where_(positive, t, b.scalar(1, like: t)))
                elements = try b.subtract(b.where_(positive, b.multiply(t, logT), b.scalar(0, like: t)), b.multiply(t, p))
            }
        case .hingeEmbedding(let margin):
            // `hinge_embedding_loss`: where(t ≠ 1, clamp_min(margin − x, 0), 0) + where(t ≠ −1, x, 0).
            let zero = b.scalar(0, like: p)
            let clamped = try b.tfMaximum(b.subtract(b.scalar(margin, like: p), p), 0)
            let notPositive = try b.subtract(b.scalar(1, like: t), b.binary(.equal, t, b.scalar(1, like: t)))
            let notNegative = try b.subtract(b.scalar(1, like: t), b.binary(.equal, t, b.scalar(-1, like: t)))
            elements = try b.add(b.where_(notPositive, clamped, zero), b.where_(notNegative, p, zero))
        case .cosineEmbedding:
            // 1 − Σx₁x₂/√((Σx₁² + ε)(Σx₂² + ε)) per row, y = 1 everywhere; ATen's EPSILON is a C++ float 1e-12
            // (9.99999996e-13 in a float64 run too: torch.cosine_embedding_loss on [1e-7, 0] twice gives 0.990099009862).
            let eps = b.scalar(Double(Float(1e-12)), like: p)
            let product = try b.reduce(.sum, b.multiply(p, t), axes: [1])
            let square1 = try b.add(b.reduce(.sum, b.multiply(p, p), axes: [1]), eps)
            let square2 = try b.add(b.reduce(.sum, b.multiply(t, t), axes: [1]), eps)
            let cosine = try b.divide(product, b.unary(.sqrt, b.multiply(square1, square2)))
            elements = try b.subtract(b.scalar(1, like: cosine), cosine)
        case .logCosh, .cosineSimilarity, .hinge, .categoricalHinge:
            throw TrainError.unsupportedModel("\(className) is a Keras loss")
        }
        if let weights { return try torchReduce(b.multiply(elements, weights), batch: b.shape(of: p).first ?? 1, in: b) }
        return try torchReduce(elements, batch: b.shape(of: p).first ?? 1, in: b)
    }

    func torchReduce<B: Builder>(_ elements: B.Value, batch: Int, in b: B) throws -> B.Value {
        switch reduction {
        case .sum: return try b.reduce(.sum, elements, axes: [])
        case .batchMean: return try b.divide(b.reduce(.sum, elements, axes: []), b.scalar(Double(batch), like: elements))
        case .mean, .sumOverBatchSize, .meanWithSampleWeight: return try b.reduce(.mean, elements, axes: [])
        }
    }

    /// `cross_entropy` (`aten/src/ATen/native/LossNLL.cpp`): `nll_loss(log_softmax(x))` for class indices,
    /// with weighted mean Σw_y·l/Σw_y over the targets not ignored, and label smoothing
    /// `(1 − ε)·nll + ε/C·smooth`, `smooth = −Σ_c w_c·log p_c` normalised like the nll; for probability
    /// targets `−Σ_c w_c·t_c·log p_c` (t smoothed toward 1/C) averaged over the samples.
    func torchCrossentropy<B: Builder>(_ x: B.Value, target t: B.Value, mask: B.Value?, weights: B.Value?, form: CrossentropyForm,
                                        in b: B) throws -> B.Value {
        let logP: B.Value
        switch form.input {
        case .logits: logP = try b.apply(Softmax(axis: -1, logarithm: true), [x])
        case .logProbabilities: logP = x
        case .probabilities: throw TrainError.unsupportedModel("PyTorch's cross-entropy takes logits (CrossEntropyLoss) or log-probabilities (NLLLoss)")
        }
        let shape = b.shape(of: x)
        let classes = Double(shape.last ?? 1)
        let epsilon = form.labelSmoothing
        if mask == nil {  // probability targets (PyTorch decides by the target's dtype)
            var target = t
            if epsilon != 0 {
                target = try b.add(b.multiply(t, b.scalar(1 - epsilon, like: t)), b.scalar(epsilon / classes, like: t))
            }
            var terms = try b.multiply(logP, target)
            if let weights { terms = try b.multiply(terms, b.broadcast(weights, to: shape)) }
            let perSample = try b.negate(b.reduce(.sum, terms, axes: [-1]))
            return try torchReduce(perSample, batch: shape.first ?? 1, in: b)
        }
        guard let mask else { throw TrainError.badTarget(reason: "class indices without their mask") }
        // nll per target: −log p_y (the one-hot row is all zero where the target is ignored).
        var nll = try b.negate(b.reduce(.sum, b.multiply(logP, t), axes: [-1]))
        if let weights { nll = try b.multiply(nll, weights) }
        let normaliser = try b.reduce(.sum, weights ?? mask, axes: [])
        func reduce(_ v: B.Value) throws -> B.Value {
            switch reduction {
            case .sum: return try b.reduce(.sum, v, axes: [])
            default: return try b.divide(b.reduce(.sum, v, axes: []), normaliser)
            }
        }
        let nllLoss = try reduce(nll)
        guard epsilon != 0 else { return nllLoss }
        var weighted = logP
        if let classWeights = form.classWeights {
            let w = b.constant(Tensor(shape: [classWeights.count], values: classWeights).cast(to: b.type(of: x).dtype))
            weighted = try b.multiply(logP, b.broadcast(w, to: shape))
        }
        let smooth = try b.multiply(b.negate(b.reduce(.sum, weighted, axes: [-1])), mask)
        return try b.add(b.multiply(nllLoss, b.scalar(1 - epsilon, like: nllLoss)), b.multiply(reduce(smooth), b.scalar(epsilon / classes, like: nllLoss)))
    }
}
