import ParityKeras
import ParityNN

extension Diagnosis {
    /// `batchnorm-epsilon`: Keras BatchNormalization rebuilt with B's epsilon (the batch-norm node's `eps`,
    /// else PyTorch's default 1e-5; conventions.md C.11).
    static func batchNormEpsilon(_ c: Context) throws -> [Hypothesis] {
        guard c.layer.className == "BatchNormalization", let bn = c.layer.model as? BatchNorm,
              case let epsilonA = bn.epsilon else { return [] }
        let node = c.node("batch_norm")
        let epsilonB = float(node, "eps") ?? NormalizationDefaults.pyTorchEpsilon
        guard epsilonB != epsilonA else { return [] }
        let module = c.moduleClass(node).flatMap { $0.hasPrefix("BatchNorm") ? $0 : nil } ?? "BatchNorm\(Swift.max(1, c.inputs[0].rank - 2))d"
        return [Hypothesis(cause: .batchNormEpsilon, a: "epsilon \(short(epsilonA))", b: "epsilon \(short(epsilonB))" + notRead(float(node, "eps") != nil),
                           fix: "nn.\(module)(\(bn.mean.count), eps=\(short(epsilonA)))", kerasFix: "keras.layers.BatchNormalization(epsilon=\(short(epsilonB)))",
                           rerun: try rerunning(c.layer, config: ["epsilon": .double(epsilonB)]))]
    }

    /// `layernorm-epsilon`: Keras LayerNormalization rebuilt with B's epsilon (the layer-norm node's `eps`,
    /// else PyTorch's default 1e-5; conventions.md C.12).
    static func layerNormEpsilon(_ c: Context) throws -> [Hypothesis] {
        guard c.layer.className == "LayerNormalization", let epsilonA = (c.layer.model as? LayerNorm)?.epsilon else { return [] }
        let node = c.node("layer_norm")
        let epsilonB = float(node, "eps") ?? NormalizationDefaults.pyTorchEpsilon
        guard epsilonB != epsilonA else { return [] }
        let shape = c.inputs[0].shape.last.map { "\($0)" } ?? "..."
        return [Hypothesis(cause: .layerNormEpsilon, a: "epsilon \(short(epsilonA))", b: "epsilon \(short(epsilonB))" + notRead(float(node, "eps") != nil),
                           fix: "nn.LayerNorm(\(shape), eps=\(short(epsilonA)))", kerasFix: "keras.layers.LayerNormalization(epsilon=\(short(epsilonB)))",
                           rerun: try rerunning(c.layer, config: ["epsilon": .double(epsilonB)]))]
    }

    /// `training-mode`: B's batch norm computes batch statistics (`training=True`: the module was exported
    /// or run without `.eval()`); A's layer rerun normalising with its input's own biased batch statistics
    /// (conventions.md C.11).
    static func trainingMode(_ c: Context) throws -> [Hypothesis] {
        guard c.layer.className == "BatchNormalization", let bn = c.layer.model as? BatchNorm,
              let node = c.nodes.first(where: { $0.target.contains("batch_norm") && bool($0, "training") == true }) else { return [] }
        let epsilon = float(node, "eps") ?? NormalizationDefaults.pyTorchEpsilon
        let axis = bn.axis < 0 ? bn.axis + c.inputs[0].rank : bn.axis
        return [Hypothesis(cause: .trainingMode, a: "inference: moving mean and variance", b: "training: batch statistics (training=True in B's graph)",
                           fix: "call model.eval() before exporting or running the PyTorch model", kerasFix: "call model.eval() before exporting or running the PyTorch model",
                           rerun: { inputs, dtype in
                               let x = inputs[0].cast(to: dtype)
                               let (mean, variance) = try batchStatistics(x, axis: axis)
                               var live = bn
                               live.mean = mean
                               live.variance = variance
                               live.epsilon = epsilon
                               return try run(live, [x], dtype)
                           })]
    }

    /// Mean and biased variance of `x` over every axis but `axis` (what a training-mode batch norm uses).
    static func batchStatistics(_ x: Tensor, axis: Int) throws -> (Tensor, Tensor) {
        let channels = x.shape[axis]
        let moved = try x.permuted([axis] + x.shape.indices.filter { $0 != axis })
        let values = moved.doubles
        let n = values.count / Swift.max(1, channels)
        var mean = [Double](repeating: 0, count: channels), variance = mean
        for ch in 0..<channels {
            let row = values[(ch * n)..<((ch + 1) * n)]
            let m = row.reduce(0, +) / Double(n)
            mean[ch] = m
            variance[ch] = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)
        }
        return (Tensor(shape: [channels], values: mean).cast(to: x.dtype), Tensor(shape: [channels], values: variance).cast(to: x.dtype))
    }
}
