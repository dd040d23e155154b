import ParityNN

/// Embedding, UpSampling, Resizing, Rescaling, Normalization.
extension KerasLayers {
    static let preprocessing: [String: Factory] = [
        // Keras 3's own ReversibleEmbedding (KerasHub's subclasses it).
        "ReversibleEmbedding": { try KerasHub.reversibleEmbedding($0) },
        "Embedding": { layer in
            let vocabulary = try layer.int("input_dim"), dim = try layer.int("output_dim")
            try layer.require("quantization_config", in: [.null])
            // A mask changes what downstream RNNs and attention compute; Parity does not propagate masks,
            // so it refuses rather than silently differ from Keras.
            if layer.config["mask_zero"]?.bool == true {
                throw KerasError.unsupportedSetting(layer: layer.name, key: "mask_zero", value: "true (Keras masks are not propagated yet)")
            }
            return Embedding(embeddings: try layer.weights(shapes: [[vocabulary, dim]])[0])
        },
        "UpSampling1D": { layer in Upsampling(factors: [try layer.int("size")]) },
        "UpSampling2D": { layer in
            let factors = try layer.ints("size", count: 2), format = try layer.dataFormat()
            guard factors.allSatisfy({ $0 >= 1 }) else { throw KerasError.badConfig(layer: layer.name, key: "size", found: "\(factors)") }
            switch try layer.has("interpolation") ? layer.string("interpolation") : "nearest" {
            case "nearest": return Upsampling(factors: factors, dataFormat: format)
            case "bilinear": return UpsamplingByResize(factors: factors, dataFormat: format, float32Compute: layer.constants == .tensorFlow)
            case let other: throw KerasError.unsupportedSetting(layer: layer.name, key: "interpolation", value: other)
            }
        },
        "UpSampling3D": { layer in Upsampling(factors: try layer.ints("size", count: 3), dataFormat: try layer.dataFormat()) },
        "Resizing": { layer in
            let size = [try layer.int("height"), try layer.int("width")]
            guard size.allSatisfy({ $0 >= 1 }) else { throw KerasError.badConfig(layer: layer.name, key: "height/width", found: "\(size)") }
            for key in ["crop_to_aspect_ratio", "pad_to_aspect_ratio", "antialias"] { try layer.require(key, in: [.bool(false)]) }
            let name = try layer.has("interpolation") ? layer.string("interpolation") : "bilinear"
            guard let method = ImageResize.Method(rawValue: name) else { throw KerasError.unsupportedSetting(layer: layer.name, key: "interpolation", value: name) }
            return ImageResize(size: size, method: method, dataFormat: try layer.dataFormat(), float32Compute: layer.constants == .tensorFlow)
        },
        "Rescaling": { layer in
            func values(_ key: String, default fallback: Double) throws -> [Double] {
                guard layer.has(key) else { return [fallback] }
                let v = try layer.value(key)
                if let d = v.double { return [d] }
                guard let items = v.array, !items.isEmpty, items.allSatisfy({ $0.double != nil }) else {
                    throw KerasError.badConfig(layer: layer.name, key: key, found: "\(v)")
                }
                return items.map { $0.double! }
            }
            return Rescaling(scales: try values("scale", default: 1), offsets: try values("offset", default: 0),
                             float32Constants: layer.constants == .tensorFlow)
        },
        "Normalization": normalizationLayer,
    ]

    /// Mean and variance from the config (`mean`, `variance`; Keras converts those Python lists to
    /// Float32 tensors, so they are Float32-rounded) or from the weights (mean, variance, count).
    /// The statistics' shape is the kept axes' sizes; they broadcast against the input's trailing
    /// kept axes.
    @Sendable static func normalizationLayer(_ layer: KerasLayerConfig) throws -> any Model {
        if try layer.has("invert") && layer.bool("invert") { throw KerasError.unsupportedSetting(layer: layer.name, key: "invert", value: "true") }
        let axes = try layer.has("axis") ? layer.axes() : [-1]
        let mean: Tensor, variance: Tensor
        let inConfig = layer.has("mean") && layer.has("variance")
        if inConfig {
            func values(_ key: String) throws -> Tensor {
                let v = try layer.value(key)
                if let d = v.double { return Tensor(shape: [], values: [layer.constant(d)]) }
                guard let items = v.array, items.allSatisfy({ $0.double != nil }) else { throw KerasError.badConfig(layer: layer.name, key: key, found: "\(v)") }
                return Tensor(shape: [items.count], values: items.map { layer.constant($0.double!) })
            }
            (mean, variance) = (try values("mean"), try values("variance"))
        } else {
            guard layer.weights.count == 3 || layer.weights.count == 2, layer.weights[0].shape == layer.weights[1].shape else {
                throw KerasError.weightMismatch(layer: layer.name, message: "expects mean, variance (and count) of one shape; the file has \(layer.weights.map(\.shape))")
            }
            (mean, variance) = (layer.weights[0], layer.weights[1])
        }
        guard mean.shape == variance.shape else {
            throw KerasError.badConfig(layer: layer.name, key: "variance", found: "shape \(variance.shape) for mean \(mean.shape)")
        }
        return BroadcastNormalization(axes: axes, mean: mean, variance: variance, statisticsInConfig: inConfig)
    }
}

/// Keras `Normalization`: statistics for the kept `axes`, reshaped against the input at call time.
public struct BroadcastNormalization: Model {
    /// The kept axes (Keras's `axis`, default `-1`); the statistics' shape is their sizes.
    public var axes: [Int]
    /// The mean and variance, shaped as the kept axes (Float32-rounded when they came from the config).
    public var mean: Tensor
    public var variance: Tensor
    /// Whether the statistics are the config's `mean` / `variance` lists rather than the layer's weights.
    public var statisticsInConfig: Bool

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let shape = b.shape(of: inputs[0])
        let kept = try axes.map { try Shape.axis($0, rank: shape.count, op: "Normalization") }.sorted()
        var broadcast = Array(repeating: 1, count: shape.count)
        if mean.rank > 0 {
            guard mean.rank <= kept.count else {
                throw TensorError.shapeMismatch(op: "Normalization", expected: "statistics for axes \(kept)", received: [shape, mean.shape])
            }
            for i in 1...mean.rank { broadcast[kept[kept.count - i]] = mean.shape[mean.rank - i] }
        }
        let model = FeatureNormalization(mean: try mean.reshaped(broadcast), variance: try variance.reshaped(broadcast))
        return try model(inputs, in: b)
    }
}

/// `UpSampling2D(interpolation="bilinear")`: `tf.image.resize` to the input size times the factors.
public struct UpsamplingByResize: Model {
    /// The factor per spatial axis.
    public var factors: [Int]
    /// Where the channel axis is.
    public var dataFormat: DataFormat
    /// Whether the resize computes in Float32 (TensorFlow's CPU kernel).
    public var float32Compute: Bool

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let shape = b.shape(of: inputs[0])
        let spatial = dataFormat == .channelsLast ? Array(shape.dropFirst().dropLast()) : Array(shape.dropFirst(2))
        return try ImageResize(size: zip(spatial, factors).map { $0 * $1 }, method: .bilinear, dataFormat: dataFormat, float32Compute: float32Compute)(inputs, in: b)
    }
}
