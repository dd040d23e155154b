import ParityNN

/// KerasHub (`keras_hub`) models and layers. A KerasHub backbone's config holds only its constructor
/// arguments (`BertBackbone(vocabulary_size, num_layers, …)`): its `__init__` builds a functional graph
/// in Python. Parity rebuilds that graph as a Keras functional config from the same arguments (one
/// builder per backbone class, `KerasHub+Backbones.swift`), so the model runs through the ordinary
/// functional machinery and its weights are read from the paths KerasHub's saving uses: `layers/<class
/// in snake case>[_n]` in `model.layers` order, sub-layers under their attribute names
/// (`layers/transformer_encoder/_self_attention_layer/query_dense/vars/0`).
public enum KerasHub {
    /// Whether a module is KerasHub's (`keras_hub.src.…`, or `keras_nlp` for older files).
    public static func isHubModule(_ module: String) -> Bool { module.hasPrefix("keras_hub") || module.hasPrefix("keras_nlp") }

    /// Whether a config entry is a KerasHub model whose config holds constructor arguments (no `layers`).
    public static func isBackbone(_ entry: KerasJSON) -> Bool {
        guard let module = entry["module"]?.string, isHubModule(module), entry["config"]?["layers"] == nil else { return false }
        let className = entry["class_name"]?.string ?? ""
        return backbones[className] != nil || className.hasSuffix("Backbone")
    }

    /// The functional config Parity builds for a KerasHub backbone entry, or nil when `root` is not one.
    public static func functionalConfig(_ root: KerasJSON) throws -> KerasJSON? {
        guard isBackbone(root) else { return nil }
        let className = root["class_name"]?.string ?? "?"
        let arguments = KerasLayerConfig(className: className, name: root["config"]?["name"]?.string ?? className,
                                         config: root["config"] ?? .null, weights: [], module: root["module"]?.string)
        guard let builder = backbones[className] else {
            throw KerasError.pythonCode(name: arguments.name, className: className, module: arguments.module ?? "keras_hub",
                                        reason: "its config holds only constructor arguments, and Parity rebuilds the graphs of \(backbones.keys.sorted().joined(separator: ", ")) only")
        }
        var graph = HubGraph()
        try builder(arguments, &graph)
        return graph.config(name: arguments.name)
    }

    typealias BackboneBuilder = @Sendable (KerasLayerConfig, inout HubGraph) throws -> Void

    /// KerasHub layer classes Parity runs, by class name.
    static let layers: [String: KerasLayers.Factory] = [embeddingLayers, transformerLayers, decoderLayers, visionLayers]
        .reduce(into: [:]) { table, family in table.merge(family) { first, _ in first } }

    /// Builds a KerasHub layer, or fails naming it and the supported classes.
    static func makeLayer(_ layer: KerasLayerConfig) throws -> any Model {
        guard let factory = layers[layer.className] else {
            throw KerasError.unsupportedLayer(name: layer.name, className: "\(layer.className) (\(layer.module ?? "keras_hub"))", supported: layers.keys.sorted())
        }
        return try factory(layer)
    }

    /// An activation named in a KerasHub layer config: Keras's names, or KerasHub's `gelu_approximate`
    /// (`keras.activations.gelu(x, approximate=True)`, `keras_hub/src/utils/keras_utils.py`).
    static func activation(_ layer: KerasLayerConfig, _ key: String = "activation") throws -> Activation? {
        guard let v = layer.config[key], !v.isNull else { return nil }
        let name = v.string ?? v["config"]?.string ?? v["class_name"]?.string ?? "?"
        if name == "gelu_approximate" { return .unary(.gelu(approximate: true)) }
        return try KerasLayerConfig.activation(named: name, layer: layer.name, constants: layer.constants)
    }
}

/// A functional graph being written as Keras writes one (`config.layers` with `inbound_nodes` of
/// `__keras_tensor__` references), in the order KerasHub's `model.layers` lists the layers (which
/// fixes their saved names, `layers/<class>_<n>`).
/// KerasHub's normalisation epsilons (keras_hub 0.32): a layer's `__init__` default, used when its saved
/// config has none, and the constants a backbone passes to its layers without saving them in its config
/// (those are read from nowhere else: KerasHub rebuilds the graph from the backbone's arguments).
enum HubEpsilon {
    /// `BertBackbone` passes `epsilon=1e-12` to its embeddings LayerNormalization and `layer_norm_epsilon=1e-12`
    /// to every TransformerEncoder, and saves neither (`keras_hub/src/models/bert/bert_backbone.py:117, 133`).
    static let bert = 1e-12
    /// `DistilBertBackbone`, likewise (`keras_hub/src/models/distil_bert/distil_bert_backbone.py:104, 120`).
    static let distilBert = 1e-12
    /// `GPT2Backbone`: its TransformerDecoders and the final LayerNormalization, not saved
    /// (`keras_hub/src/models/gpt2/gpt2_backbone.py:118, 128`).
    static let gpt2 = 1e-5
    /// `LlamaBackbone(layer_norm_epsilon=1e-6)`, saved in its config (`keras_hub/src/models/llama/llama_backbone.py:101, 206`).
    static let llamaBackbone = 1e-6
    /// `MistralBackbone(layer_norm_epsilon=1e-6)`, saved (`keras_hub/src/models/mistral/mistral_backbone.py:105, 194`).
    static let mistralBackbone = 1e-6
    /// `GemmaBackbone(layer_norm_epsilon=1e-6)`, saved (`keras_hub/src/models/gemma/gemma_backbone.py:101, 197`).
    static let gemmaBackbone = 1e-6
    /// `LlamaLayerNorm(epsilon=1e-6)` (`keras_hub/src/models/llama/llama_layernorm.py:11`).
    static let llamaLayerNorm = 1e-6
    /// `MistralLayerNormalization(epsilon=1e-6)` (`keras_hub/src/models/mistral/mistral_layer_norm.py:11`).
    static let mistralLayerNorm = 1e-6
    /// Gemma's `RMSNormalization(epsilon=1e-6)` (`keras_hub/src/models/gemma/rms_normalization.py:6`).
    static let gemmaRMSNorm = 1e-6
    /// `LlamaTransformerDecoder(layer_norm_epsilon=1e-5)` (`keras_hub/src/models/llama/llama_decoder.py:30`).
    static let llamaDecoder = 1e-5
    /// `MistralTransformerDecoder(layer_norm_epsilon=1e-5)` (`keras_hub/src/models/mistral/mistral_transformer_decoder.py:30`).
    static let mistralDecoder = 1e-5
    /// `GemmaDecoderBlock(layer_norm_epsilon=1e-6)` (`keras_hub/src/models/gemma/gemma_decoder_block.py:28`).
    static let gemmaDecoder = 1e-6
    /// `TransformerEncoder` / `TransformerDecoder(layer_norm_epsilon=1e-05)`
    /// (`keras_hub/src/layers/modeling/transformer_encoder.py:81`, `transformer_decoder.py:95`).
    static let transformer = 1e-5
    /// `ViTEncoder(layer_norm_epsilon=1e-6)` (`keras_hub/src/models/vit/vit_layers.py:342`; `ViTBackbone` saves
    /// its own, `vit_backbone.py:62, 165`, which the builder passes on).
    static let vitEncoder = 1e-6
}

struct HubGraph {
    /// A tensor of the graph: output `index` of layer `layer`'s only call.
    struct Ref {
        var layer: String
        var index: Int = 0
        var json: KerasJSON {
            .object(["class_name": .string("__keras_tensor__"),
                     "config": .object(["keras_history": .array([.string(layer), .int(0), .int(index)])])])
        }
    }

    private(set) var entries: [KerasJSON] = []
    private var inputs: [(String, Ref)] = []
    private var outputs: KerasJSON = .null

    mutating func input(_ name: String, shape: [Int?], dtype: String) -> Ref {
        entries.append(.object(["class_name": .string("InputLayer"), "module": .string("keras.layers"), "name": .string(name),
                                "config": .object(["name": .string(name), "dtype": .string(dtype),
                                                   "batch_shape": .array([.null] + shape.map { $0.map { .int($0) } ?? .null })]),
                                "inbound_nodes": .array([])]))
        let t = Ref(layer: name)
        inputs.append((name, t))
        return t
    }

    /// A layer (`module` `keras.layers` or KerasHub's) called on `args` and keyword `kwargs`.
    @discardableResult
    mutating func layer(_ className: String, _ name: String, module: String = "keras.layers", config: JSONObject = [:],
                        _ args: [KerasJSON], kwargs: JSONObject = [:]) -> Ref {
        var fields = config
        fields["name"] = .string(name)
        entries.append(.object(["class_name": .string(className), "module": .string(module), "name": .string(name),
                                "config": .object(fields),
                                "inbound_nodes": .array([.object(["args": .array(args), "kwargs": .object(kwargs)])])]))
        return Ref(layer: name)
    }

    /// A KerasHub layer.
    @discardableResult
    mutating func hub(_ className: String, _ name: String, config: JSONObject = [:], _ args: [KerasJSON],
                      kwargs: JSONObject = [:]) -> Ref {
        layer(className, name, module: "keras_hub.src.layers", config: config, args, kwargs: kwargs)
    }

    /// A `keras.ops` operation node (`module` `keras.src.ops.<family>`).
    mutating func operation(_ className: String, _ name: String, family: String = "numpy", config: JSONObject = [:],
                            _ args: [KerasJSON]) -> Ref {
        layer(className, name, module: "keras.src.ops.\(family)", config: config, args)
    }

    mutating func output(_ tensor: Ref) { outputs = .array([.string(tensor.layer), .int(0), .int(tensor.index)]) }

    mutating func outputs(_ named: [String: Ref]) {
        outputs = .object(JSONObject(named.mapValues { KerasJSON.array([.string($0.layer), .int(0), .int($0.index)]) }))
    }

    func config(name: String) -> KerasJSON {
        .object(["class_name": .string("Functional"), "module": .string("keras.src.models.functional"),
                 "config": .object(["name": .string(name), "layers": .array(entries),
                                    "input_layers": .object(JSONObject(inputs.map { ($0.0, KerasJSON.array([.string($0.1.layer), .int(0), .int(0)])) })),
                                    "output_layers": outputs])])
    }
}

/// KerasHub's attention masks (`keras_hub/src/layers/modeling/transformer_layer_utils.py`), as 0/1
/// values in the float dtype: `[B, 1, S]` from a padding mask, `[B, T, S]` otherwise.
enum HubMasks {
    /// `merge_padding_and_attention_mask`: the padding mask `[B, S]` as `[B, 1, S]` (cast to int32: a
    /// float mask is truncated), the attention mask `[B, T, S]`, their minimum when both are given.
    static func merge<B: Builder>(padding: B.Value?, attention: B.Value?, like x: B.Value, in b: B) throws -> B.Value? {
        let dtype = b.type(of: x).dtype
        func asInt(_ v: B.Value) throws -> B.Value {
            let f = try b.cast(v, to: .float64)
            return try b.cast(b.apply(ElementwiseMath(.trunc), [f]), to: dtype)
        }
        let padded = try padding.map { p -> B.Value in
            let s = b.shape(of: p)
            return try asInt(b.reshape(p, [s[0], 1] + Array(s.dropFirst())))
        }
        let attended = try attention.map(asInt)
        guard let padded else { return attended }
        guard let attended else { return padded }
        return try b.binary(.minimum, padded, attended)
    }

    /// `compute_causal_mask(batch, length, length)`: 1 where key position `j ≤` query position `i`.
    static func causal<B: Builder>(batch: Int, length: Int, like x: B.Value, in b: B) throws -> B.Value {
        let values = (0..<(length * length)).map { Double($0 % length <= $0 / length ? 1 : 0) }
        return try b.broadcast(b.constant(Tensor(shape: [1, length, length], values: values).cast(to: b.type(of: x).dtype)), to: [batch, length, length])
    }

    /// The decoders' self-attention mask: `minimum(merged padding/attention mask, causal mask)`.
    static func decoder<B: Builder>(padding: B.Value?, attention: B.Value?, like x: B.Value, in b: B) throws -> B.Value {
        let s = b.shape(of: x)
        let causal = try causal(batch: s[0], length: s[1], like: x, in: b)
        guard let merged = try merge(padding: padding, attention: attention, like: x, in: b) else { return causal }
        return try b.binary(.minimum, merged, causal)
    }
}

/// The variables of a KerasHub sub-layer, checked: `path` is the attribute path below the layer
/// (`_self_attention_layer/query_dense`), `count` how many it must hold.
extension KerasLayerConfig {
    func hubVariables(_ path: String, count: Int? = nil, optional: Bool = false) throws -> [Tensor] {
        let found = variables[path].own
        if found.isEmpty && optional { return [] }
        if let count, found.count != count {
            throw KerasError.weightMismatch(layer: name, message: "expects \(count) variables at \(path); the file has \(found.count) \(found.map(\.shape))")
        }
        guard !found.isEmpty else { throw KerasError.weightMismatch(layer: name, message: "has no variables at \(path)") }
        return found
    }

    func optionalInt(_ key: String) throws -> Int? { has(key) ? try int(key) : nil }
}
