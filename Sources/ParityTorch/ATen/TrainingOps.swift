import ParityNN

/// The operators a `.pt2` exported in training mode (`torch.export.export(model.train(), …)`) holds, run
/// as `model.train()` runs them inside a training step (a builder that is a ``TrainingStep``):
///
/// - `batch_norm` with running statistics: the batch is normalised with its own mean and biased variance
///   (`aten/src/ATen/native/Normalization.cpp`, CPU: `α = w·invstd`, `β = b − mean·α`, `y = x·α + β`) and the
///   buffers move to `(1 − momentum)·running + momentum·batch`, the variance unbiased (`n/(n − 1)`);
/// - `dropout` with the step's shared keep-mask, `x·mask/(1 − p)`.
///
/// Each node runs in the mode it was exported in: a module left in eval mode (`model.train(); model.bn.eval()`)
/// records `training=False` / `train=False` and runs on its running statistics, or as the identity, in a
/// training step too, as PyTorch trains an eval-mode module. In-place updates of buffers (`num_batches_tracked += 1`) are assigned by
/// the interpreter. Outside a training step, `batch_norm` and `dropout` run as their inference families do
/// (which refuse the training-mode flags).
enum TrainingOps: ATenFamily {
    static let targets: Set<String> = ["aten.batch_norm.default", "aten.dropout.default"]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let step = c.b.trainingStep
        switch c.target {
        case "aten.dropout.default":
            guard let step, try c.bool("train", default: false) else { return try EmbeddingOps.lower(c) }
            let x = try c.tensor("input")
            let p = try c.double("p", default: 0.5)
            guard p > 0 else { return [x] }
            guard p < 1 else { return [try c.b.multiply(x, c.b.scalar(0, like: x))] }
            let mask = try step.dropoutMask(rate: p, shape: c.shape(x), dtype: c.b.type(of: x).dtype)
            return [try c.b.multiply(x, c.b.multiply(c.b.constant(mask), c.b.scalar(1 / (1 - p), like: x)))]
        case "aten.batch_norm.default":
            guard let step, try c.bool("training", default: false) else { return try NormalizationOps.lower(c) }
            return [try trainingBatchNorm(c, step: step)]
        default:
            throw c.unsupported("not in the training table")
        }
    }

    static func trainingBatchNorm<B: Builder>(_ c: ATenCall<B>, step: any TrainingStep) throws -> B.Value {
        let b = c.b
        let x = try c.floating(c.tensor("input"))
        let shape = c.shape(x)
        guard shape.count >= 2 else { throw c.fail("input", "expected (N, C, …); received \(shape)") }
        let reduced = [0] + Array(2..<shape.count)
        let n = reduced.reduce(1) { $0 * shape[$1] }
        let perChannel = [shape[1]] + Array(repeating: 1, count: shape.count - 2)
        let momentum = try c.double("momentum", default: NormalizationDefaults.pyTorchMomentum)
        let eps = try c.double("eps", default: NormalizationDefaults.pyTorchEpsilon)
        let mean = try b.reduce(.mean, x, axes: reduced, keepDims: true)
        let centred = try b.subtract(x, mean)
        let variance = try b.reduce(.mean, b.multiply(centred, centred), axes: reduced, keepDims: true)
        let invstd = try b.unary(.reciprocal, b.unary(.sqrt, b.add(variance, b.scalar(eps, like: x))))
        let channels = [shape[1]]
        let flatInvstd = try b.reshape(invstd, channels), flatMean = try b.reshape(mean, channels)
        let alpha = try c.optionalTensor("weight").map { try b.multiply(flatInvstd, $0) } ?? flatInvstd
        let shift = try b.multiply(flatMean, alpha)
        let beta = try c.optionalTensor("bias").map { try b.subtract($0, shift) } ?? b.negate(shift)
        let y = try b.add(b.multiply(x, b.reshape(alpha, perChannel)), b.reshape(beta, perChannel))
        if let runningMean = try c.optionalTensor("running_mean"), let runningVar = try c.optionalTensor("running_var"),
           let meanBuffer = c.knownTensor("running_mean"), let varBuffer = c.knownTensor("running_var") {
            let unbiased = try b.multiply(b.reshape(variance, channels), b.scalar(Double(n) / Double(max(n - 1, 1)), like: x))
            let rule = BatchNormTraining.pyTorch(momentum: momentum)
            try step.assign(meanBuffer, rule.updated(runningMean, batch: flatMean, in: b))
            try step.assign(varBuffer, rule.updated(runningVar, batch: unbiased, in: b))
        }
        return y
    }
}
