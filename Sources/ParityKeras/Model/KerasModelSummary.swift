/// What `parity inspect` shows of a Keras model: each layer with its class, output shapes, parameter
/// count and the config values that decide how its result compares with another framework's.
public struct KerasModelSummary: Sendable, Encodable {
    /// One layer of the summary.
    public struct LayerSummary: Sendable, Encodable {
        /// The layer's name.
        public var name: String
        /// Its class.
        public var className: String
        /// One shape per output of each call, batch axis included (traced with `batch`).
        public var outputShapes: [[Int]]
        /// Its weight elements.
        public var parameters: Int
        /// Convention-relevant settings as written in the file (`epsilon`, `padding`, `data_format`, …).
        public var settings: [String: String]
    }

    /// The model's name.
    public var model: String
    /// The kind of file (``KerasModel/Format``).
    public var format: String
    /// The Keras version the file records, when it does.
    public var kerasVersion: String?
    /// The model's inputs, described.
    public var inputs: [String]
    /// Every layer, nested models' layers included.
    public var layers: [LayerSummary]
    /// The weight elements of the whole model.
    public var totalParameters: Int

    /// Config keys that change results between frameworks (docs/conventions.md).
    static let conventionKeys = [
        "activation", "recurrent_activation", "epsilon", "momentum", "padding", "data_format", "strides",
        "dilation_rate", "groups", "depth_multiplier", "output_padding", "axis", "center", "scale", "rms_scaling",
        "reset_after", "return_sequences", "return_state", "go_backwards", "merge_mode", "use_bias", "units",
        "filters", "kernel_size", "pool_size", "interpolation", "size", "negative_slope", "max_value", "threshold",
        "approximate", "num_heads", "key_dim", "value_dim", "target_shape", "dims", "rate", "cropping",
    ]

    /// Traces the model in graph mode with batch size `batch` (unknown sizes in the input shapes become 1)
    /// to read every layer's output shapes.
    public init(_ model: KerasModel, batch: Int = 1) throws {
        let network = model.network
        self.model = network.name
        format = model.format.rawValue
        kerasVersion = model.kerasVersion
        inputs = zip(network.inputs, network.inputShapes).map { "\($0.layer) \([batch] + $1.map { $0 ?? 1 })" }
        var shapes: [String: [[Int]]] = [:]
        for (ref, shape) in zip(network.inputs, network.inputShapes) { shapes[ref.layer] = [[batch] + shape.map { $0 ?? 1 }] }
        let types = zip(network.inputShapes, network.inputDTypes).map { shape, dtype in
            TensorType(dtype.hasPrefix("int") ? .int64 : .float32, [batch] + shape.map { $0 ?? 1 })
        }
        _ = try Graph.trace(inputs: types) { b, xs in
            try network.outputs(xs, in: b) { layer, _, results in
                shapes[layer.name, default: []] += results.map { b.shape(of: $0) }
            }
        }
        layers = KerasModelSummary.flatten(network).map { layer in
            var settings: [String: String] = [:]
            for key in Self.conventionKeys {
                if let value = layer.config[key], !value.isNull { settings[key] = "\(value)".replacingOccurrences(of: "\"", with: "") }
            }
            return LayerSummary(name: layer.name, className: layer.className, outputShapes: shapes[layer.name] ?? [],
                                parameters: layer.parameters, settings: settings)
        }
        totalParameters = layers.reduce(0) { $0 + $1.parameters }
    }

    /// Every layer, nested models' layers following the nested model's own entry.
    static func flatten(_ network: KerasNetwork) -> [KerasNetwork.Layer] {
        network.layers.flatMap { layer in
            [layer] + ((layer.model as? KerasNetwork).map(flatten) ?? [])
        }
    }
}
