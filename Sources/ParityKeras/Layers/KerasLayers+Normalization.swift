import ParityNN

/// BatchNormalization (inference), LayerNormalization and GroupNormalization (`keras/src/layers/normalization/`).
extension KerasLayers {
    static let normalization: [String: Factory] = [
        "BatchNormalization": batchNormalization, "LayerNormalization": layerNormalization, "GroupNormalization": groupNormalization,
    ]

    /// Weights: gamma (if `scale`), beta (if `center`), each `(channels)`. `groups = -1` is one group
    /// per channel (instance normalization).
    @Sendable static func groupNormalization(_ layer: KerasLayerConfig) throws -> any Model {
        let axes = try layer.axes()
        guard axes.count == 1 else { throw KerasError.unsupportedSetting(layer: layer.name, key: "axis", value: "\(axes)") }
        let hasGamma = try layer.bool("scale"), hasBeta = try layer.bool("center")
        let channels = layer.weights.first?.count ?? 0
        let weights = try layer.weights(shapes: Array(repeating: [channels], count: (hasGamma ? 1 : 0) + (hasBeta ? 1 : 0)))
        var groups = try layer.int("groups")
        if groups == -1 { groups = channels }
        guard groups >= 1 else { throw KerasError.badConfig(layer: layer.name, key: "groups", found: "\(groups)") }
        return GroupNorm(groups: groups, axis: axes[0], epsilon: try layer.double("epsilon"), gamma: hasGamma ? weights[0] : nil,
                         beta: hasBeta ? weights.last : nil)
    }

    /// Weights in `layer.weights` order: gamma (if `scale`), beta (if `center`), moving mean, moving variance.
    @Sendable static func batchNormalization(_ layer: KerasLayerConfig) throws -> any Model {
        let axes = try layer.axes()
        guard axes.count == 1 else { throw KerasError.unsupportedSetting(layer: layer.name, key: "axis", value: "\(axes)") }
        try layer.require("renorm", in: [.bool(false)])
        let scale = try layer.bool("scale"), center = try layer.bool("center")
        let channels = layer.weights.last?.count ?? 0
        let weights = try layer.weights(shapes: Array(repeating: [channels], count: 2 + (scale ? 1 : 0) + (center ? 1 : 0)))
        var rest = weights[...]
        let gamma = scale ? rest.removeFirst() : nil
        let beta = center ? rest.removeFirst() : nil
        // Keras's training rule with the file's momentum, recorded; the layer runs in inference mode until
        // ParityTrain sets `training` to it.
        let momentum = try layer.has("momentum") ? layer.double("momentum") : NormalizationDefaults.kerasMomentum
        return BatchNorm(mean: rest.removeFirst(), variance: rest.removeFirst(), gamma: gamma, beta: beta,
                         epsilon: try layer.double("epsilon"), axis: axes[0], form: .foldedScale, recordedTraining: .keras(momentum: momentum))
    }

    /// Weights: gamma (if `scale` or `rms_scaling`), beta (if `center` and not `rms_scaling`), each
    /// shaped like the normalised axes.
    @Sendable static func layerNormalization(_ layer: KerasLayerConfig) throws -> any Model {
        let axes = try layer.axes()
        let rms = try layer.has("rms_scaling") ? layer.bool("rms_scaling") : false
        let hasGamma = try layer.bool("scale") || rms, hasBeta = try layer.bool("center") && !rms
        let shape = layer.weights.first?.shape ?? []
        let weights = try layer.weights(shapes: Array(repeating: shape, count: (hasGamma ? 1 : 0) + (hasBeta ? 1 : 0)))
        return LayerNorm(axes: axes, epsilon: try layer.double("epsilon"), gamma: hasGamma ? weights[0] : nil,
                         beta: hasBeta ? weights.last : nil, rmsScaling: rms)
    }
}
