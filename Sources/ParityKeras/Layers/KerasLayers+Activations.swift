import ParityNN

/// ReLU, LeakyReLU, PReLU, ELU, Softmax (`keras/src/layers/activations/`).
extension KerasLayers {
    static let activations: [String: Factory] = [
        "ReLU": { layer in
            let slope = try layer.has("negative_slope") ? layer.double("negative_slope") : 0
            let threshold = try layer.has("threshold") ? layer.double("threshold") : 0
            let maxValue = try layer.optionalDouble("max_value")
            guard slope >= 0 else { throw KerasError.badConfig(layer: layer.name, key: "negative_slope", found: "\(slope)") }
            guard threshold >= 0 else { throw KerasError.badConfig(layer: layer.name, key: "threshold", found: "\(threshold)") }
            if let maxValue, maxValue < 0 { throw KerasError.badConfig(layer: layer.name, key: "max_value", found: "\(maxValue)") }
            return ReLU(negativeSlope: slope, maxValue: maxValue, threshold: threshold, float32Constants: layer.constants == .tensorFlow)
        },
        // Keras 3 key `negative_slope` (Keras 2: `alpha`), else the layer default. TensorFlow's LeakyRelu takes
        // the slope as a Float32 attribute, so it is rounded to Float32 even in Float64: ReLU with only a
        // slope is that leaky_relu, and keeps the slope as written for the converters and diagnosis.
        "LeakyReLU": { layer in
            ReLU(negativeSlope: try layer.leakyReLUSlope(), float32Constants: layer.constants == .tensorFlow)
        },
        "PReLU": { layer in
            guard let alpha = layer.weights.first, layer.weights.count == 1 else {
                throw KerasError.weightMismatch(layer: layer.name, message: "expects 1 weight array (alpha); the file has \(layer.weights.count)")
            }
            return PReLU(alpha: alpha)
        },
        // tf `elu` then `where(x > 0, res, alpha·res)` when alpha ≠ 1 (keras/src/backend/tensorflow/nn.py).
        "ELU": { ActivationLayer(.unary(.elu(alpha: try $0.has("alpha") ? $0.double("alpha") : 1))) },
        "Softmax": { layer in
            let axes = try layer.has("axis") ? layer.axes() : [-1]
            guard axes.count == 1 else { throw KerasError.unsupportedSetting(layer: layer.name, key: "axis", value: "\(axes)") }
            return ActivationLayer(.softmax(axis: axes[0]))
        },
    ]
}
