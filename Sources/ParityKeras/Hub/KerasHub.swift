import ParityNN

/// KerasHub (`keras_hub`) models and layers. A KerasHub backbone's config holds only its constructor
/// arguments (`BertBackbone(vocabulary_size, num_layers, …)`): its `__init__` builds a functional graph
/// in Python. Parity rebuilds that graph as a Keras functional config from the same arguments (one
/// builder per backbone class, `KerasHub+<Model>.swift`), so the model runs through the ordinary
/// functional machinery and its weights are read from the paths KerasHub's saving uses (`layers/<class>`
/// in `model.layers` order, sub-layers by attribute).
public enum KerasHub {
    /// Whether a module is KerasHub's (`keras_hub.src.…`, or `keras_nlp` for older files).
    public static func isHubModule(_ module: String) -> Bool { module.hasPrefix("keras_hub") || module.hasPrefix("keras_nlp") }

    /// Whether a config entry is a KerasHub backbone (a model rebuilt from constructor arguments).
    public static func isBackbone(_ entry: KerasJSON) -> Bool {
        guard let module = entry["module"]?.string, isHubModule(module), entry["config"]?["layers"] == nil else { return false }
        return backbones[entry["class_name"]?.string ?? ""] != nil || (entry["class_name"]?.string ?? "").hasSuffix("Backbone")
    }

    /// The functional config Parity builds for a KerasHub backbone entry, or nil when `root` is not one.
    public static func functionalConfig(_ root: KerasJSON) throws -> KerasJSON? {
        guard isBackbone(root) else { return nil }
        let className = root["class_name"]?.string ?? "?"
        let name = root["config"]?["name"]?.string ?? className
        guard let builder = backbones[className] else {
            throw KerasError.pythonCode(name: name, className: className, module: root["module"]?.string ?? "keras_hub",
                                        reason: "its config holds only constructor arguments and Parity has no builder for this backbone; Parity rebuilds \(backbones.keys.sorted().joined(separator: ", "))")
        }
        return try builder(HubArguments(className: className, name: name, config: root["config"] ?? .null))
    }

    typealias Builder = @Sendable (HubArguments) throws -> KerasJSON

    /// Backbone classes Parity rebuilds, by class name.
    static let backbones: [String: Builder] = [:]

    /// KerasHub layer classes Parity runs, by class name.
    static let layers: [String: KerasLayers.Factory] = [:]

    /// Builds a KerasHub layer, or fails naming it and the supported classes.
    static func makeLayer(_ layer: KerasLayerConfig) throws -> any Model {
        guard let factory = layers[layer.className] else {
            throw KerasError.unsupportedLayer(name: layer.name, className: "\(layer.className) (\(layer.module ?? "keras_hub"))", supported: layers.keys.sorted())
        }
        return try factory(layer)
    }
}

/// A backbone's constructor arguments with typed access.
struct HubArguments {
    var className: String
    var name: String
    var config: KerasJSON
}
