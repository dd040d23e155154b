import Foundation

/// Where Keras 3 keeps each object's variables in `model.weights.h5`: the one place Parity computes
/// these paths, for reading files and for writing them (`keras/src/saving/saving_lib.py`,
/// `_save_state`, `_save_container_state`, `H5IOStore`).
///
/// - The model is the root: its own variables (none for Sequential and Functional) go to `/vars`.
/// - A model's `layers` list is a container: each item is named by its class in snake case
///   (`naming.to_snake_case`: `Conv2D` → `conv2d`, `LeakyReLU` → `leaky_re_lu`), with `_1`, `_2`, ...
///   on repeats (`_get_unique_name`), never by the layer's own name. A Sequential's `layers` leaves
///   out its InputLayer; a Functional's includes its InputLayers. A nested model is saved as
///   `functional` whatever its class (`Model` configs are Functional models).
/// - Every named object gets a group `<path>/vars` with the string attribute `name` (the object's
///   Keras name, informational: Keras finds variables by path), holding the object's own
///   variables as datasets `0`, `1`, ... in creation order.
/// - Sub-objects nest under the attribute that holds them (``subObjects(of:)``): an RNN's `cell`,
///   Bidirectional's `forward_layer` / `backward_layer`, MultiHeadAttention's projections.
public enum KerasSavedLayout {
    /// The saved names of a container's items, given their classes (`nil` for an operation node, which
    /// `Functional.layers` leaves out): `nil` for an item a container does not save (a Sequential's
    /// InputLayer, an operation).
    public static func containerItemNames(classNames: [String?], sequential: Bool) -> [String?] {
        var used: [String: Int] = [:]
        return classNames.map { className in
            guard let className, !(sequential && className == "InputLayer") else { return nil }
            let base = snakeCase(className == "Model" ? "Functional" : className)
            guard let count = used[base] else {
                used[base] = 0
                return base
            }
            used[base] = count + 1
            return "\(base)_\(count + 1)"
        }
    }

    /// Keras's `naming.to_snake_case` (`keras/src/utils/naming.py`): `(.)([A-Z][a-z]+)` → `\1_\2`,
    /// then `([a-z])([A-Z])` → `\1_\2`, lowercased.
    public static func snakeCase(_ name: String) -> String {
        var text = name
        for pattern in ["(.)([A-Z][a-z]+)", "([a-z])([A-Z])"] {
            let regex = try! NSRegularExpression(pattern: pattern)  // constant patterns
            text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1_$2")
        }
        return text.lowercased()
    }

    /// The group holding the variables of the object at `path` (`[]` for the model): `vars`,
    /// `layers/dense/vars`, `layers/lstm/cell/vars`.
    public static func variablesGroup(_ path: [String]) -> String {
        (path + ["vars"]).joined(separator: "/")
    }

    /// The attributes under which a layer class keeps sub-objects with variables, in the order their
    /// variables come in `layer.weights`; `[]` for layers that hold all their variables themselves.
    public static func subObjects(of className: String) -> [String] {
        switch className {
        case "SimpleRNN", "GRU", "LSTM": return ["cell"]
        case "Bidirectional": return ["forward_layer", "backward_layer"]
        case "TimeDistributed": return ["layer"]
        case "MultiHeadAttention": return ["query_dense", "key_dense", "value_dense", "output_dense"]
        default: return []
        }
    }

    /// A layer's entries in `model.weights.h5`: its own `vars` group and its sub-objects', with its
    /// variables (`weights`, in `layer.weights` order, as ``KerasNetwork`` hands them to layers)
    /// split among them as Keras keeps them.
    ///
    /// - Throws: ``KerasError/weightMismatch(layer:message:)`` when the weights cannot be split as
    ///   the class needs (an odd count for Bidirectional, not four equal parts for MultiHeadAttention).
    public static func entries(forLayer name: String, className: String, config: KerasJSON, weights: [Tensor],
                               at path: [String]) throws -> [KerasSavedVariables] {
        switch className {
        case "SimpleRNN", "GRU", "LSTM":
            return [KerasSavedVariables(path: path, name: name, variables: []),
                    KerasSavedVariables(path: path + ["cell"], name: snakeCase(className) + "_cell", variables: weights)]
        case "Bidirectional":
            guard weights.count % 2 == 0 else {
                throw KerasError.weightMismatch(layer: name, message: "a Bidirectional layer needs as many forward as backward weights; it has \(weights.count)")
            }
            let forward = config["layer"]
            let forwardName = forward?["config"]?["name"]?.string ?? "forward_\(name)"
            let backward = config["backward_layer"] ?? forward
            let backwardName = config["backward_layer"]?["config"]?["name"]?.string
                ?? "backward_" + (forwardName.hasPrefix("forward_") ? String(forwardName.dropFirst(8)) : forwardName)
            let half = weights.count / 2
            return [KerasSavedVariables(path: path, name: name, variables: [])]
                + (try entries(forLayer: forwardName, className: forward?["class_name"]?.string ?? "?", config: forward?["config"] ?? .null,
                               weights: Array(weights[..<half]), at: path + ["forward_layer"]))
                + (try entries(forLayer: backwardName, className: backward?["class_name"]?.string ?? "?", config: backward?["config"] ?? .null,
                               weights: Array(weights[half...]), at: path + ["backward_layer"]))
        case "TimeDistributed":
            let inner = config["layer"]
            return [KerasSavedVariables(path: path, name: name, variables: [])]
                + (try entries(forLayer: inner?["config"]?["name"]?.string ?? "layer", className: inner?["class_name"]?.string ?? "?",
                               config: inner?["config"] ?? .null, weights: weights, at: path + ["layer"]))
        case "MultiHeadAttention":
            guard weights.count % 4 == 0 else {
                throw KerasError.weightMismatch(layer: name, message: "MultiHeadAttention needs four equal groups of weights (query, key, value, output); it has \(weights.count)")
            }
            let share = weights.count / 4
            let projections = zip(subObjects(of: className), ["query", "key", "value", "attention_output"]).enumerated().map { index, names in
                KerasSavedVariables(path: path + [names.0], name: names.1, variables: Array(weights[(index * share)..<((index + 1) * share)]))
            }
            // Sub-layers without variables, saved too (their groups stay empty).
            return [KerasSavedVariables(path: path, name: name, variables: [])] + projections
                + [KerasSavedVariables(path: path + ["_dropout_layer"], name: "dropout", variables: []),
                   KerasSavedVariables(path: path + ["_softmax"], name: "softmax", variables: [])]
        default:
            return [KerasSavedVariables(path: path, name: name, variables: weights)]
        }
    }

    /// Every entry of a network, in the order Keras saves them: the model, then each saved layer
    /// (a nested model's own entry followed by its layers').
    public static func entries(for network: KerasNetwork, at path: [String] = []) throws -> [KerasSavedVariables] {
        var entries = [KerasSavedVariables(path: path, name: network.name, variables: [])]
        for layer in network.layers {
            guard let item = layer.location.path.last, !item.isEmpty else { continue }  // not saved
            if let nested = layer.model as? KerasNetwork {
                entries += try Self.entries(for: nested, at: layer.location.path)
            } else {
                entries += try Self.entries(forLayer: layer.name, className: layer.className, config: layer.config,
                                            weights: layer.weights, at: layer.location.path)
            }
        }
        return entries
    }
}

/// One object's entry in a Keras 3 weights file: where it is, its name, and its own variables.
public struct KerasSavedVariables: Sendable, Equatable {
    /// The object's path from the file's root: `["layers", "lstm", "cell"]`; `[]` for the model.
    public var path: [String]
    /// The Keras name of the object, written as the `name` attribute of its `vars` group.
    public var name: String
    /// The object's own variables, written as `vars/0`, `vars/1`, ...
    public var variables: [Tensor]

    public init(path: [String], name: String, variables: [Tensor]) {
        self.path = path
        self.name = name
        self.variables = variables
    }
}
