import ParityNN

/// How Keras-on-TensorFlow's scalar constants and Float32-only kernels reach a run.
///
/// TensorFlow turns some Python floats into tensors through Float32 (`tf.cast(0.7071067811865476, dtype)`
/// in exact gelu, the leaky-ReLU slope as a Float32 op attribute, MultiHeadAttention's `1/√key_dim`,
/// Rescaling and Normalization constants) and resizes bilinearly in Float32, even in a Float64 run. In a
/// Float32 run both choices give the same bits.
public enum KerasConstants: Sendable, Hashable {
    /// As Keras on TensorFlow computes: what Keras itself returns in Float64.
    case tensorFlow
    /// The constants as written (Python doubles) and every kernel in the run's dtype: the Float64 referee
    /// of the Float32 model, comparable with PyTorch's Float64 run (`parity compare`).
    case exact
}

/// One Keras layer as the file describes it: class, name, config and its weights in `layer.weights`
/// order (Keras's own variable order: e.g. Dense kernel then bias; BatchNormalization gamma, beta,
/// moving mean, moving variance, each present only when the config says so).
public struct KerasLayerConfig: Sendable {
    public var className: String
    public var name: String
    public var config: KerasJSON
    public var weights: [Tensor]
    /// The same variables by sub-object (``KerasVariables``), for layers that hold other layers.
    public var variables: KerasVariables
    /// The entry's `module` and `registered_name` (`keras_hub>TransformerEncoder`), when recorded.
    public var module: String?
    public var registeredName: String?
    public var constants: KerasConstants

    public init(className: String, name: String, config: KerasJSON, weights: [Tensor], variables: KerasVariables? = nil,
                module: String? = nil, registeredName: String? = nil, constants: KerasConstants = .tensorFlow) {
        self.className = className
        self.name = name
        self.config = config
        self.weights = weights
        self.variables = variables ?? KerasVariables(own: weights)
        self.module = module
        self.registeredName = registeredName
        self.constants = constants
    }

    /// A Python float as the layer's TensorFlow kernels see it: Float32-rounded (``KerasConstants/tensorFlow``)
    /// or as written (``KerasConstants/exact``).
    public func constant(_ x: Double) -> Double { KerasLayerConfig.constant(x, constants) }

    static func constant(_ x: Double, _ constants: KerasConstants) -> Double { constants == .tensorFlow ? Double(Float(x)) : x }

    // MARK: Typed access to config keys, with errors that name the layer and key

    public func value(_ key: String) throws -> KerasJSON {
        guard let value = config[key] else { throw KerasError.badConfig(layer: name, key: key, found: "nothing") }
        return value
    }

    public func int(_ key: String) throws -> Int { try typed(key, \.int) }
    public func double(_ key: String) throws -> Double { try typed(key, \.double) }
    public func bool(_ key: String) throws -> Bool { try typed(key, \.bool) }
    public func string(_ key: String) throws -> String { try typed(key, \.string) }

    private func typed<T>(_ key: String, _ read: KeyPath<KerasJSON, T?>) throws -> T {
        let v = try value(key)
        guard let typed = v[keyPath: read] else { throw KerasError.badConfig(layer: name, key: key, found: "\(v)") }
        return typed
    }

    /// A list of ints, or one int repeated `count` times (Keras accepts `kernel_size=3` for `(3, 3)`).
    public func ints(_ key: String, count: Int? = nil) throws -> [Int] {
        let v = try value(key)
        if let i = v.int, let count { return Array(repeating: i, count: count) }
        guard let a = v.array, a.allSatisfy({ $0.int != nil }), count == nil || a.count == count else {
            throw KerasError.badConfig(layer: name, key: key, found: "\(v)")
        }
        return a.map { $0.int! }
    }

    /// The weights, checked for count and shapes.
    public func weights(shapes: [[Int]]) throws -> [Tensor] {
        guard weights.count == shapes.count else {
            throw KerasError.weightMismatch(layer: name, message: "expects \(shapes.count) weight arrays \(shapes); the file has \(weights.count) \(weights.map(\.shape))")
        }
        for (weight, shape) in zip(weights, shapes) where weight.shape != shape {
            throw KerasError.weightMismatch(layer: name, message: "expects a weight of shape \(shape); the file has \(weight.shape)")
        }
        return weights
    }

    /// The activation a config names under `key` (`"relu"`, `"gelu"`, …; `"linear"` or missing is none),
    /// with Keras 3's constants (`keras/src/activations/activations.py`).
    public func activation(_ key: String = "activation") throws -> Activation? {
        guard let v = config[key], !v.isNull else { return nil }
        // Keras 3 may serialise an activation as {"class_name": "function", "config": "relu", ...}.
        let name = v.string ?? v["config"]?.string ?? v["class_name"]?.string
        guard let name else { throw KerasError.badConfig(layer: self.name, key: key, found: "\(v)") }
        return try KerasLayerConfig.activation(named: name, layer: self.name, constants: constants)
    }

    /// The activation Keras names `name`, from `ActivationTable` (`linear` is none).
    public static func activation(named name: String, layer: String, constants: KerasConstants = .tensorFlow) throws -> Activation? {
        if name == "linear" { return nil }
        guard let entry = ActivationTable.keras(name) else {
            throw KerasError.unsupportedSetting(layer: layer, key: "activation", value: name)
        }
        return constants == .tensorFlow ? entry.tensorFlow : entry.exact
    }
}

extension KerasLayerConfig {
    /// A LeakyReLU layer's slope: Keras 3's `negative_slope`, Keras 2's `alpha`, else the layer's default
    /// (`ActivationTable/kerasLeakyReLULayerSlope`). The loader, the converter and the diagnosis read it here.
    public func leakyReLUSlope() throws -> Double {
        try has("negative_slope") ? double("negative_slope") : (has("alpha") ? double("alpha") : ActivationTable.kerasLeakyReLULayerSlope)
    }
}
