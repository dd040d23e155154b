import ParityKeras
import ParityNN

/// A Keras 3 Functional model described as data: its layers (class, config, the tensors each call
/// reads, weights in `layer.weights` order with the PyTorch tensor each came from), inputs and
/// outputs. ``config`` is what `config.json` holds (Keras 3's `inbound_nodes` format with
/// `__keras_tensor__` arguments, `keras/src/models/functional.py`), ``layerWeights`` what
/// `ParityKeras/KerasArchiveWriter/init(config:layerWeights:metadata:)` places in `model.weights.h5`.
public struct KerasModelSource: Sendable {
    /// Output `tensor` of the (only) call of `layer`.
    public struct TensorRef: Sendable, Hashable {
        /// The layer's name.
        public var layer: String
        /// The index of the output among the call's outputs.
        public var tensor: Int
    }

    /// One Keras weight, with the PyTorch tensor it came from and how.
    public struct Weight: Sendable {
        /// The Keras weight's name in its layer (`kernel`, `recurrent_kernel`, `moving_variance`).
        public var name: String
        /// The weight's value, in Keras's layout.
        public var tensor: Tensor
        /// The state_dict key (`conv.weight`), or several when the weight combines them (an LSTM's bias).
        public var sources: [String]
        /// The shapes of the ``sources`` tensors.
        public var sourceShapes: [[Int]]
        /// What was done: `transpose`, `permute (2, 3, 1, 0)`, `b_ih + b_hh (Float32 sum)`, ...
        public var transform: String
    }

    /// A call argument of a Keras operation node: one of the node's input tensors (by index into
    /// ``Layer/inputs``), a constant (a Python number, list, or `__numpy__` array), or a list of them.
    public indirect enum Argument: Sendable {
        /// The node's input tensor at this index.
        case tensor(Int)
        /// A constant, as the config writes it.
        case constant(KerasJSON)
        /// A list of arguments.
        case list([Argument])
    }

    /// One layer called once, or one Keras operation node (`module` `keras.src.ops.*`, no weights).
    public struct Layer: Sendable {
        /// The layer's name.
        public var name: String
        /// The Keras class (`Conv2D`) or operation (`Add`).
        public var className: String
        /// The layer's own config (`name`, `trainable` and `dtype` are added by ``config``).
        public var config: JSONObject
        /// The tensors the call reads.
        public var inputs: [TensorRef]
        /// Each input's Keras shape, batch axis first (`nil`).
        public var inputShapes: [[Int?]]
        /// Each input's dtype (`float32`, or `int64` token ids).
        public var inputDTypes: [String]
        /// The weights, in `layer.weights` order.
        public var weights: [Weight]
        /// Merge layers take their inputs as one list argument.
        public var takesList: Bool
        /// `keras.layers`, or the operation's module (`keras.src.ops.numpy`, `keras.src.ops.core`, …).
        public var module: String = "keras.layers"
        /// The call's positional arguments (`nil`: the inputs in order, as one list when ``takesList``):
        /// an operation's tensors and constants, a recurrent layer's `(sequence, [initial states])`.
        public var arguments: [Argument]? = nil
        /// An operation's keyword arguments.
        public var keywords: JSONObject = [:]

        /// Whether this is a Keras operation node rather than a layer.
        public var isOperation: Bool { module.hasPrefix("keras.src.ops.") }
    }

    /// The model's name.
    public var name: String
    /// The layers and operation nodes.
    public var layers: [Layer]
    /// The model's inputs (input layers).
    public var inputs: [TensorRef]
    /// The model's outputs.
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
        return copy.inKerasOrder()
    }

    /// The layers in the order Keras holds them once it rebuilds the model (`map_graph` in
    /// `keras/src/ops/function.py`): by decreasing depth from the outputs, ties by first visit of a
    /// depth-first walk from the outputs. `model.layers` has this order, and the weights file names
    /// each layer by its class and its rank among layers in it (``ParityKeras/KerasSavedLayout``), so
    /// the config must list them so too.
    func inKerasOrder() -> KerasModelSource {
        let byName = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let inputNames = Set(inputs.map(\.layer))
        var index: [String: Int] = [:], finished: Set<String> = [], decreasing: [String] = []
        for output in outputs {
            // Iterative depth-first walk (`_build_map_helper`): a layer is finished after its inputs.
            var stack: [(name: String, next: Int)] = [(output.layer, 0)]
            while let top = stack.last {
                if top.next == 0 {
                    if finished.contains(top.name) { stack.removeLast(); continue }
                    if index[top.name] == nil { index[top.name] = index.count }
                }
                let parents = inputNames.contains(top.name) ? [] : byName[top.name]?.inputs.map(\.layer) ?? []
                if top.next < parents.count {
                    stack[stack.count - 1].next += 1
                    let parent = parents[top.next]
                    if !finished.contains(parent) { stack.append((parent, 0)) }
                } else {
                    finished.insert(top.name)
                    decreasing.append(top.name)
                    stack.removeLast()
                }
            }
        }
        var depth: [String: Int] = [:], order: [String] = []
        for name in decreasing.reversed() {
            let d = depth[name, default: 0]
            depth[name] = d
            order.append(name)
            for parent in byName[name]?.inputs.map(\.layer) ?? [] where finished.contains(parent) {
                depth[parent] = max(d + 1, depth[parent, default: 0])
            }
        }
        for input in inputs where depth[input.layer] == nil {
            depth[input.layer] = 0
            index[input.layer] = -1
            order.append(input.layer)
        }
        let first = Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let sorted = order.sorted { a, b in
            if depth[a]! != depth[b]! { return depth[a]! > depth[b]! }
            if index[a]! != index[b]! { return index[a]! < index[b]! }
            return first[a]! < first[b]!
        }
        var copy = self
        copy.layers = sorted.compactMap { byName[$0] }
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
            if layer.className != "InputLayer" && !layer.isOperation {
                config["trainable"] = config["trainable"] ?? .bool(true)
                config["dtype"] = .string("float32")
            }
            let tensors = layer.inputs.indices.map { history(layer.inputs[$0], shape: layer.inputShapes[$0], dtype: layer.inputDTypes[$0]) }
            func json(_ argument: Argument) -> KerasJSON {
                switch argument {
                case .tensor(let index): return tensors[index]
                case .constant(let value): return value
                case .list(let items): return .array(items.map(json))
                }
            }
            let args: KerasJSON
            if let arguments = layer.arguments { args = .array(arguments.map(json)) } else {
                args = layer.takesList ? .array([.array(tensors)]) : .array(tensors)
            }
            return .object([
                "module": .string(layer.module), "class_name": .string(layer.className), "config": .object(config),
                "registered_name": layer.isOperation ? .string(layer.className) : .null, "name": .string(layer.name),
                "inbound_nodes": .array(layer.inputs.isEmpty ? [] : [.object(["args": args, "kwargs": .object(layer.keywords)])]),
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
