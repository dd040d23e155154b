import ParityNN

/// The layers keras.applications defines for its own models (`keras/src/applications/`): ConvNeXt's
/// `LayerScale` (`x·gamma`, one gamma per channel) and Inception-ResNet-v2's `CustomScaleLayer`
/// (`inputs[0] + inputs[1]·scale`); ConvNeXt's `StochasticDepth` is among ``inferenceIdentities``.
extension KerasLayers {
    static let applications: [String: Factory] = [
        "LayerScale": { layer in
            let dim = try layer.int("projection_dim")
            let gamma = try layer.weights(shapes: [[dim]])[0]
            return ScaleByWeights(scale: gamma)
        },
        "CustomScaleLayer": { layer in ScaledResidual(scale: try layer.double("scale")) },
    ]
}

/// `x·scale` with `scale` a weight broadcast against the input's trailing axes (ConvNeXt's `LayerScale`).
public struct ScaleByWeights: Model {
    public var scale: Tensor

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try b.multiply(inputs[0], b.constant(scale.cast(to: b.type(of: inputs[0]).dtype)))
    }
}

/// `inputs[0] + inputs[1]·scale`, the Python float taking the tensors' dtype (weakly typed, as TensorFlow
/// converts it): Inception-ResNet-v2's `CustomScaleLayer`.
public struct ScaledResidual: Model {
    public var scale: Double

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        guard inputs.count == 2 else { throw TensorError.invalidArgument(op: "CustomScaleLayer", message: "takes 2 inputs; received \(inputs.count)") }
        return try b.add(inputs[0], b.multiply(inputs[1], b.scalar(scale, like: inputs[1])))
    }
}
