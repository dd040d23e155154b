import ParityKeras
import ParityNN

/// A Keras 3 Functional model described as data: its layers (class, config, the tensors each call
/// reads, weights in `layer.weights` order with the PyTorch tensor each came from), inputs and
/// outputs. ``config`` is what `config.json` holds (Keras 3's `inbound_nodes` format with
/// `__keras_tensor__` arguments, `keras/src/models/functional.py`), ``layerWeights`` what
/// ``ParityKeras/KerasArchiveWriter/init(config:layerWeights:metadata:)`` places in `model.weights.h5`.
public struct KerasModelSource: Sendable {
    /// Output `tensor` of the (only) call of `layer`.
    public struct TensorRef: Sendable, Hashable {
        public var layer: String
        public var tensor: Int
    }

    /// One Keras weight, with the PyTorch tensor it came from and how.
    public struct Weight: Sendable {
        /// The Keras weight's name in its layer (`kernel`, `recurrent_kernel`, `moving_variance`).
        public var name: String
        public var tensor: Tensor
        /// The state_dict key (`conv.weight`), or several when the weight combines them (an LSTM's bias).
        public var sources: [String]
        public var sourceShapes: [[Int]]
        /// What was done: `transpose`, `permute (2, 3, 1, 0)`, `b_ih + b_hh (Float32 sum)`, ...
        public var transform: String
    }

    /// One layer called once.
    public struct Layer: Sendable {
        public var name: String
        public var className: String
        /// The layer's own config (`name`, `trainable` and `dtype` are added by ``config``).
        public var config: JSONObject
        public var inputs: [TensorRef]
        /// Each input's Keras shape, batch axis first (`nil`).
        public var inputShapes: [[Int?]]
        /// Each input's dtype (`float32`, or `int64` token ids).
        public var inputDTypes: [String]
        public var weights: [Weight]
        /// Merge layers take their inputs as one list argument.
        public var takesList: Bool
    }

    public var name: String
    public var layers: [Layer]
    public var inputs: [TensorRef]
    public var outputs: [TensorRef]

    /// Only the layers some output depends on, in order (a conversion may create layers for values
    /// nothing reads, e.g. the reshaped final state of an LSTM whose sequence alone is used).
    func pruned() -> KerasModelSource {
        var needed = Set(outputs.map(\.layer)).union(inputs.map(\.layer))
        for layer in layers.reversed() where needed.contains(layer.name) {
            needed.formUnion(layer.inputs.map(\.layer))
        }
        var copy = self
        copy.layers = layers.filter { needed.contains($0.name) }
        return copy
    }

    /// `{"module": "keras.src.models.functional", "class_name": "Functional", "config": {...}, ...}` as Keras 3 writes it.
    public var config: KerasJSON {
        func history(_ ref: TensorRef, shape: [Int?], dtype: String) -> KerasJSON {
            .object(["class_name": .string("__keras_tensor__"), "config": .object([
                "shape": .array(shape.map { $0.map(KerasJSON.int) ?? .null }),
                "dtype": .string(dtype),
                "keras_history": .array([.string(ref.layer), .int(0), .int(ref.tensor)]),
            ])])
        }
        func endpoints(_ refs: [TensorRef]) -> KerasJSON {
            let triples = refs.map { KerasJSON.array([.string($0.layer), .int(0), .int($0.tensor)]) }
            return triples.count == 1 ? triples[0] : .array(triples)
        }
        let entries = layers.map { layer -> KerasJSON in
            var config = layer.config
            config["name"] = .string(layer.name)
            if layer.className != "InputLayer" {
                config["trainable"] = .bool(true)
                config["dtype"] = .string("float32")
            }
            let arguments = layer.inputs.indices.map { history(layer.inputs[$0], shape: layer.inputShapes[$0], dtype: layer.inputDTypes[$0]) }
            let args: KerasJSON = layer.takesList ? .array([.array(arguments)]) : .array(arguments)
            return .object([
                "module": .string("keras.layers"), "class_name": .string(layer.className), "config": .object(config),
                "registered_name": .null, "name": .string(layer.name),
                "inbound_nodes": .array(layer.inputs.isEmpty ? [] : [.object(["args": args, "kwargs": .object([:])])]),
            ])
        }
        return .object([
            "module": .string("keras.src.models.functional"), "class_name": .string("Functional"), "registered_name": .string("Functional"),
            "config": .object([
                "name": .string(name), "trainable": .bool(true), "layers": .array(entries),
                "input_layers": endpoints(inputs), "output_layers": endpoints(outputs),
            ]),
            "build_config": .object(["input_shape": .null]), "compile_config": .object([:]),
        ])
    }

    /// Each layer's weights by layer name, in `layer.weights` order.
    public var layerWeights: [String: [Tensor]] {
        var table: [String: [Tensor]] = [:]
        for layer in layers where !layer.weights.isEmpty { table[layer.name] = layer.weights.map(\.tensor) }
        return table
    }

    /// Each PyTorch tensor and the Keras weight it became, with the transform.
    public var mapping: [String] {
        let rows = layers.flatMap { layer in
            layer.weights.map { w in
                (zip(w.sources, w.sourceShapes).map { "\($0) \(Self.shapeText($1))" }.joined(separator: ", "),
                 "\(layer.name)/\(w.name) \(Self.shapeText(w.tensor.shape)): \(w.transform)")
            }
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width + 1 - $0.0.count) + "→ " + $0.1 }
    }

    static func shapeText(_ shape: [Int]) -> String { "(" + shape.map(String.init).joined(separator: ", ") + ")" }
}
