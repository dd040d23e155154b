import ParityNN

/// The Keras layer classes Parity runs, each mapped from its config and weights to a Parity layer.
///
/// One table: adding a class is one entry in one family's table (`KerasLayers+<Family>.swift`).
public enum KerasLayers {
    /// Builds a Parity layer from a Keras layer's config and weights.
    public typealias Factory = @Sendable (KerasLayerConfig) throws -> any Model

    /// Every supported class, by Keras class name.
    public static let factories: [String: Factory] = [core, identities, convolution, pooling, normalization, reshaping, merging, activations, recurrent, attention, preprocessing, applications]
        .reduce(into: [:]) { table, family in table.merge(family) { first, _ in first } }

    /// Every Keras layer class Parity runs, sorted.
    public static var supportedClasses: [String] { factories.keys.sorted() }

    /// Builds the Parity layer for a Keras layer (or a KerasHub layer), or fails naming the layer, its
    /// class and the list of supported classes; a `Lambda` layer or a custom class (registered by the
    /// user's own Python code) fails saying that its behaviour is Python code.
    public static func make(_ layer: KerasLayerConfig) throws -> any Model {
        let module = layer.module ?? "keras.layers"
        if layer.className == "Lambda" && isKerasModule(module) {
            throw KerasError.pythonCode(name: layer.name, className: "Lambda", module: module,
                                        reason: "its function is Python bytecode stored in the config (marshalled by `python_utils.func_dump`), which only Python can run; rewrite it with Keras layers or keras.ops calls")
        }
        if KerasHub.isHubModule(module) { return try KerasHub.makeLayer(layer) }
        guard isKerasModule(module) else {
            let registered = layer.registeredName.map { ", registered as '\($0)'" } ?? ""
            throw KerasError.pythonCode(name: layer.name, className: layer.className, module: module,
                                        reason: "a custom class\(registered): its call() is Python code outside Keras, which Parity cannot run")
        }
        guard let factory = factories[layer.className] else {
            throw KerasError.unsupportedLayer(name: layer.name, className: layer.className, supported: supportedClasses)
        }
        return try factory(layer)
    }

    /// Modules whose classes are Keras's own: `keras.layers`, `keras.src.…` (including the layers
    /// keras.applications defines, e.g. ConvNeXt's `LayerScale`), and the bare `keras` of models.
    static func isKerasModule(_ module: String) -> Bool {
        module == "keras" || module.hasPrefix("keras.") || module.hasPrefix("tf_keras") || module.hasPrefix("tensorflow.python.keras")
    }

    /// Dense, Activation, Dropout (its rate kept; the identity at inference).
    static let core: [String: Factory] = [
        "InputLayer": identity, "Dropout": { Dropout(rate: try $0.double("rate"), active: false) },
        "Dense": dense, "Activation": activation, "EinsumDense": einsumDense,
    ]

    /// ``inferenceIdentities``, each built as the identity.
    static let identities: [String: Factory] = Dictionary(uniqueKeysWithValues: inferenceIdentities.map { ($0, identity) })

    /// The layers that are the identity at inference and random in training: the spatial dropouts and
    /// noise layers (`keras/src/layers/regularization/`) and keras.applications ConvNeXt's drop path
    /// `StochasticDepth` (`keras/src/applications/convnext.py`: `return x` unless training). The loader
    /// builds them as the identity; the converter to PyTorch passes the value on; training refuses or
    /// replaces them.
    public static let inferenceIdentities: Set<String> = [
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "StochasticDepth",
    ]

    @Sendable static func identity(_ layer: KerasLayerConfig) throws -> any Model { Identity() }

    @Sendable static func dense(_ layer: KerasLayerConfig) throws -> any Model {
        let units = try layer.int("units")
        let useBias = try layer.bool("use_bias")
        let inputs = layer.weights.first?.shape.first ?? 0
        let weights = try layer.weights(shapes: useBias ? [[inputs, units], [units]] : [[inputs, units]])
        return Dense(kernel: weights[0], bias: useBias ? weights[1] : nil, activation: try layer.activation())
    }

    /// `EinsumDense(equation, output_shape, bias_axes, activation)`: kernel, then a bias shaped to
    /// broadcast against the output when `bias_axes` names any (`keras/src/layers/core/einsum_dense.py`).
    @Sendable static func einsumDense(_ layer: KerasLayerConfig) throws -> any Model {
        let equation = try layer.string("equation")
        let hasBias = try layer.has("bias_axes") && !layer.string("bias_axes").isEmpty
        try layer.require("quantization_config", in: [.null])
        guard layer.weights.count == (hasBias ? 2 : 1) else {
            throw KerasError.weightMismatch(layer: layer.name, message: "expects \(hasBias ? "a kernel and a bias" : "a kernel"); the file has \(layer.weights.map(\.shape))")
        }
        return EinsumDense(equation: equation, kernel: layer.weights[0], bias: hasBias ? layer.weights[1] : nil, activation: try layer.activation())
    }

    @Sendable static func activation(_ layer: KerasLayerConfig) throws -> any Model {
        if let activation = try layer.activation() { return ActivationLayer(activation) }
        return Identity()
    }
}
