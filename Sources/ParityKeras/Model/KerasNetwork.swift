import Foundation

/// Where a layer's variables live in a Keras file, and what the layer is: everything a
/// ``KerasWeightSource`` needs to hand back its weights in `layer.weights` order.
public struct KerasLayerLocation: Sendable, Hashable {
    /// The user-visible layer name (`config.name`), the key of legacy `.h5` files.
    public var name: String
    /// The layer's class (`Conv2D`).
    public var className: String
    /// Keras 3's path in `model.weights.h5`: `layers/<snake_case class>[_n]`, nested models adding
    /// `layers/...` again (``KerasSavedLayout``); ends in `""` for a layer Keras does not save (a
    /// Sequential's InputLayer).
    public var path: [String]
    /// Names of the enclosing nested models, outermost first (legacy files key nested weights by them).
    public var parents: [String]
}

/// Hands a layer its weights (Keras 3 `.weights.h5`, legacy `.h5`, or a test's in-memory table).
public protocol KerasWeightSource {
    /// The layer's variables in `layer.weights` order.
    func weights(for layer: KerasLayerLocation) throws -> [Tensor]
    /// The layer's variables by sub-object (Keras 3 files: `_self_attention_layer/query_dense`, ...);
    /// sources that keep no sub-objects hand back the flat list as the layer's own.
    func variables(for layer: KerasLayerLocation) throws -> KerasVariables
}

extension KerasWeightSource {
    public func variables(for layer: KerasLayerLocation) throws -> KerasVariables { KerasVariables(own: try weights(for: layer)) }
}

/// A layer's variables as Keras 3 saves them (``KerasSavedLayout``): its own (`vars/0`, `vars/1`, ...)
/// and those of the sub-objects it holds, by attribute name (a TransformerEncoder's
/// `_self_attention_layer`, whose `query_dense` holds a kernel and a bias).
public struct KerasVariables: Sendable, Equatable {
    /// The layer's own variables, in order.
    public var own: [Tensor]
    /// The sub-objects' variables, by attribute name.
    public var children: [String: KerasVariables]

    /// Variables; the parameters are the properties of the same names.
    public init(own: [Tensor] = [], children: [String: KerasVariables] = [:]) {
        self.own = own
        self.children = children
    }

    /// The sub-object at a `/`-separated attribute path (empty variables where it is missing).
    public subscript(path: String) -> KerasVariables {
        path.split(separator: "/").reduce(self) { $0.children[String($1)] ?? KerasVariables() }
    }

    /// Whether there are no variables, here or in any sub-object.
    public var isEmpty: Bool { own.isEmpty && children.values.allSatisfy(\.isEmpty) }

    /// Every variable in `layer.weights` order: own first, then the sub-objects, those named in
    /// `subObjectOrder` first in that order, the others sorted by name (as the file lists them).
    public func flattened(subObjectOrder: [String] = []) -> [Tensor] {
        let names = children.keys.sorted()
        let ordered = subObjectOrder.filter(names.contains) + names.filter { !subObjectOrder.contains($0) }
        return own + ordered.flatMap { children[$0]!.flattened() }
    }
}

/// A Keras model (Sequential or Functional, possibly with nested models and shared layers) as a graph
/// of calls to Parity layers, built from the model's config and weights.
///
/// Functional wiring follows Keras 3's `inbound_nodes` format: each call's `args` (and keras tensors in
/// `kwargs`) name `[layer, node index, tensor index]`; a layer called twice has two nodes.
public struct KerasNetwork: MultiOutputModel, @unchecked Sendable {
    /// A tensor in the network: output `tensor` of call `node` of `layer`.
    public struct TensorRef: Hashable, Sendable, CustomStringConvertible {
        /// The layer's name.
        public var layer: String
        /// The index of the call (node) of the layer.
        public var node: Int
        /// The index of the output among the call's outputs.
        public var tensor: Int
        public var description: String { "\(layer)[\(node)][\(tensor)]" }

        /// A reference; the parameters are the properties of the same names.
        public init(layer: String, node: Int, tensor: Int) {
            self.layer = layer
            self.node = node
            self.tensor = tensor
        }
    }

    /// One layer (or operation node) of the network with its calls.
    public struct Layer: @unchecked Sendable {
        /// The layer's name.
        public var name: String
        /// The layer's class (`Conv2D`), or the operation's (`Add`).
        public var className: String
        /// The entry's `module` (`keras.layers`, `keras.src.ops.numpy`, `keras_hub.src.…`), when the file records it.
        public var module: String?
        /// The layer's config as the file holds it.
        public var config: KerasJSON
        /// Where its variables live in the file.
        public var location: KerasLayerLocation
        /// The Parity layer (or nested network) that computes it.
        public var model: any Model
        /// The layer's variables as the file stores them, in `layer.weights` order (empty for a nested
        /// model, whose layers hold their own).
        public var weights: [Tensor]
        /// The same variables by sub-object, as a Keras 3 file keeps them.
        public var variables: KerasVariables
        /// Weight elements the layer holds (0 for a nested model, whose layers count their own).
        public var parameters: Int
        /// Each call's arguments as the config records them (tensors, constants, keyword arguments).
        public var arguments: [KerasCall<TensorRef>]
        /// Each call's input tensors (positional first, then keyword arguments in key order).
        public var calls: [[TensorRef]]
        /// A Keras operation (`keras.src.ops.*`, e.g. the `x + 3.0` of MobileNetV3) rather than a layer:
        /// it has no variables and no place in the weights file.
        public var isOperation: Bool { KerasOperations.isOperation(module: module) }
    }

    /// The model's name.
    public var name: String
    /// Every layer and operation node, in the config's order.
    public var layers: [Layer]
    /// The model's inputs, in order.
    public var inputs: [TensorRef]
    /// The model's outputs, in order.
    public var outputs: [TensorRef]
    /// The shape of each input without the batch axis (`nil` where Keras left it unknown), and its dtype.
    public var inputShapes: [[Int?]]
    /// The dtype of each input (`float32`, `int32`, …).
    public var inputDTypes: [String]
    /// The float dtype the model computes in. `nil`: the dtype of its float inputs. Models whose inputs
    /// are all integers (token ids into an Embedding) need it set to run in Float64; a layer result in
    /// another float dtype is cast to it (exactly, for an embedding lookup of Float32 weights).
    public var computeDType: DType?
    /// How TensorFlow's Float32 constants and kernels are reproduced (``KerasConstants``).
    public let constants: KerasConstants
    /// The config the network was built from (`{"class_name", "config", ...}`).
    public let config: KerasJSON
    /// Where the network sits in the file (for ``with(constants:)``).
    let path: [String]
    let parents: [String]
    /// `(layer index, call index)` in an order where every call's inputs are computed before it.
    public internal(set) var schedule: [(Int, Int)]

    /// A name for each output: its layer's name, with the node and tensor index appended where one
    /// layer gives several outputs (a nested model's dict of outputs).
    public var outputNames: [String] {
        let counts = outputs.reduce(into: [String: Int]()) { $0[$1.layer, default: 0] += 1 }
        return outputs.map { counts[$0.layer]! > 1 ? "\($0.layer)_\($0.node)_\($0.tensor)" : $0.layer }
    }

    /// Builds the network described by a model config (`{"class_name": "Sequential" | "Functional" |
    /// "Model", "config": {...}}`), taking each layer's weights from `weights`.
    public init(config root: KerasJSON, weights: KerasWeightSource, path: [String] = [], parents: [String] = [],
                constants: KerasConstants = .tensorFlow) throws {
        self.config = root
        let root = try KerasHub.functionalConfig(root) ?? root
        self.path = path
        self.parents = parents
        self.constants = constants
        let className = root["class_name"]?.string ?? "?"
        guard let config = root["config"], let layerList = config["layers"]?.array else {
            throw KerasError.badConfig(layer: root["config"]?["name"]?.string ?? "model", key: "config.layers", found: "\(root["config"] ?? .null)")
        }
        name = config["name"]?.string ?? className
        var built: [Layer] = []
        let sequential = className == "Sequential"
        let savedNames = KerasSavedLayout.containerItemNames(classNames: layerList.map { entry in
                                                                 KerasOperations.isOperation(module: entry["module"]?.string) ? nil : entry["class_name"]?.string ?? "?" },
                                                             sequential: sequential)
        for (position, entry) in layerList.enumerated() {
            let layerClass = entry["class_name"]?.string ?? "?"
            let module = entry["module"]?.string
            let layerConfig = entry["config"] ?? .null
            let layerName = layerConfig["name"]?.string ?? entry["name"]?.string ?? "\(layerClass.lowercased())_\(position)"
            let location = KerasLayerLocation(name: layerName, className: layerClass, path: path + ["layers", savedNames[position] ?? ""],
                                              parents: parents)
            let model: any Model
            var layerWeights: [Tensor] = []
            var variables = KerasVariables()
            if KerasOperations.isOperation(module: module) {
                model = try KerasOperations.make(className: layerClass, module: module ?? "", name: layerName, config: layerConfig, constants: constants)
            } else if KerasNetwork.isModel(entry) {
                model = try KerasNetwork(config: entry, weights: weights, path: location.path, parents: parents + [layerName], constants: constants)
            } else {
                // An InputLayer has no variables (and a Sequential container does not even save it).
                variables = layerClass == "InputLayer" ? KerasVariables() : try weights.variables(for: location)
                layerWeights = variables.flattened(subObjectOrder: KerasSavedLayout.subObjects(of: layerClass))
                model = try KerasLayers.make(KerasLayerConfig(className: layerClass, name: layerName, config: layerConfig, weights: layerWeights,
                                                              variables: variables, module: module, registeredName: entry["registered_name"]?.string,
                                                              constants: constants))
            }
            var arguments: [KerasCall<TensorRef>] = []
            if sequential {
                arguments = layerClass == "InputLayer" ? [] : [KerasCall(args: [.tensor(built.last.map { TensorRef(layer: $0.name, node: 0, tensor: 0) }
                                                                                ?? TensorRef(layer: "\(name).input", node: 0, tensor: 0))])]
            } else {
                for node in entry["inbound_nodes"]?.array ?? [] {
                    arguments.append(try KerasCall.parse(node, layer: layerName))
                }
            }
            built.append(Layer(name: layerName, className: layerClass, module: module, config: layerConfig, location: location, model: model,
                               weights: layerWeights, variables: variables, parameters: layerWeights.reduce(0) { $0 + $1.count }, arguments: arguments,
                               calls: arguments.map(\.tensors)))
        }
        layers = built
        if sequential {
            let input = built.first { $0.className == "InputLayer" }
            let inputRef = input.map { TensorRef(layer: $0.name, node: 0, tensor: 0) } ?? TensorRef(layer: "\(name).input", node: 0, tensor: 0)
            if input != nil, let first = layers.firstIndex(where: { $0.className != "InputLayer" }) {
                layers[first].arguments = [KerasCall(args: [.tensor(inputRef)])]
                layers[first].calls = [[inputRef]]
            }
            inputs = [inputRef]
            outputs = layers.last(where: { $0.className != "InputLayer" }).map { [TensorRef(layer: $0.name, node: 0, tensor: 0)] } ?? [inputRef]
            let shape = input?.config["batch_shape"]?.array ?? config["build_input_shape"]?.array ?? []
            inputShapes = [shape.dropFirst().map(\.int)]
            inputDTypes = [input?.config["dtype"]?.string ?? "float32"]
        } else {
            inputs = try KerasNetwork.endpoints(config["input_layers"], model: name, key: "input_layers")
            // `output_layers` counts a nested Functional model's construction as its node 0 (Keras's
            // `functional_from_config` subtracts 1 for Functional layers); call arguments do not.
            let functional = Set(built.filter { $0.model is KerasNetwork && $0.className != "Sequential" }.map(\.name))
            outputs = try KerasNetwork.endpoints(config["output_layers"], model: name, key: "output_layers").map { ref in
                functional.contains(ref.layer) ? TensorRef(layer: ref.layer, node: ref.node - 1, tensor: ref.tensor) : ref
            }
            inputShapes = inputs.map { ref in
                (built.first { $0.name == ref.layer }?.config["batch_shape"]?.array ?? []).dropFirst().map(\.int)
            }
            inputDTypes = inputs.map { ref in built.first { $0.name == ref.layer }?.config["dtype"]?.string ?? "float32" }
        }
        schedule = try KerasNetwork.schedule(layers, inputs: inputs)
    }

    /// The same network with every layer rebuilt for `constants`, from its config and the weights already
    /// loaded (nothing is read again).
    public func with(constants: KerasConstants) throws -> KerasNetwork {
        var rebuilt = try KerasNetwork(config: config, weights: LoadedWeights(self), path: path, parents: parents, constants: constants)
        rebuilt.computeDType = computeDType
        return rebuilt
    }

    /// The weights of a built network (and its nested networks), handed back by location.
    struct LoadedWeights: KerasWeightSource {
        var table: [KerasLayerLocation: KerasVariables] = [:]

        init(_ network: KerasNetwork) {
            for layer in network.layers {
                if let nested = layer.model as? KerasNetwork {
                    table.merge(LoadedWeights(nested).table) { first, _ in first }
                } else {
                    table[layer.location] = layer.variables
                }
            }
        }

        func variables(for layer: KerasLayerLocation) throws -> KerasVariables {
            guard let found = table[layer] else {
                throw KerasError.weightMismatch(layer: layer.name, message: "no loaded weights at \(layer.path.joined(separator: "/"))")
            }
            return found
        }

        func weights(for layer: KerasLayerLocation) throws -> [Tensor] {
            try variables(for: layer).flattened(subObjectOrder: KerasSavedLayout.subObjects(of: layer.className))
        }
    }

    /// Runs the network and returns every output, in `output_layers` order. `observe` sees every layer
    /// call's results as they are computed (nested models report their own layers first). Each layer's
    /// results are held until the last call that reads them (``releases``); `workingSet` meters what the
    /// run holds after every call (and stops it past its limit).
    public func outputs<B: Builder>(_ inputValues: [B.Value], in b: B,
                                    observe: ((_ layer: Layer, _ call: Int, _ results: [B.Value]) -> Void)? = nil,
                                    workingSet: WorkingSet? = nil) throws -> [B.Value] {
        guard inputValues.count == inputs.count else {
            throw KerasError.badConfig(layer: name, key: "inputs", found: "\(inputValues.count) arrays for \(inputs.count) inputs \(inputs)")
        }
        var values: [TensorRef: B.Value] = [:]
        for (ref, value) in zip(inputs, inputValues) { values[ref] = value }
        // Keras computes in floatx (float32) unless a float input or the run says otherwise.
        let floatDType = computeDType ?? inputValues.map { b.type(of: $0).dtype }.first(where: \.isFloatingPoint) ?? .float32
        let releases = releases
        let inputRefs = Set(inputs)
        func heldBytes() -> Int {
            values.reduce(0) { inputRefs.contains($1.key) ? $0 : $0 + WorkingSet.bytes(of: b.type(of: $1.value)) }
        }
        for (step, (layerIndex, callIndex)) in schedule.enumerated() {
            let layer = layers[layerIndex]
            let call = try layer.arguments[callIndex].map { ref -> B.Value in
                guard let value = values[ref] else {
                    throw KerasError.badConfig(layer: layer.name, key: "inbound_nodes", found: "an input \(ref) that is never computed")
                }
                return value
            }
            let args = call.tensors
            var results: [B.Value]
            if var network = layer.model as? KerasNetwork {
                network.computeDType = network.computeDType ?? floatDType
                let run = { try network.outputs(args, in: b, observe: observe, workingSet: workingSet) }
                results = try workingSet.map { try $0.nested(holding: heldBytes(), run) } ?? run()
            } else if let callable = layer.model as? any KerasCallable {
                results = try callable.outputs(call, context: KerasCallContext(layer: layer.name, floatDType: floatDType), in: b)
            } else if let multi = layer.model as? any MultiOutputModel {
                results = try multi.outputs(args, in: b)
            } else {
                results = [try layer.model(args, in: b)]
            }
            results = try results.map { b.type(of: $0).dtype.isFloatingPoint ? try b.cast($0, to: floatDType) : $0 }
            for (index, result) in results.enumerated() {
                let ref = TensorRef(layer: layer.name, node: callIndex, tensor: index)
                if releases.kept.contains(ref) { values[ref] = result }
            }
            observe?(layer, callIndex, results)
            try workingSet?.sample(bytes: heldBytes(), values: values.count - inputRefs.count, at: "\(layer.name) (\(layer.className))")
            for ref in releases.after[step] { values[ref] = nil }
        }
        return try outputs.map { ref in
            guard let value = values[ref] else {
                throw KerasError.badConfig(layer: name, key: "output_layers", found: "\(ref), which no layer computes")
            }
            return value
        }
    }

    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        try outputs(inputs, in: b, observe: nil)
    }

    /// The values to drop after each step of ``schedule``: those no later call reads. The network's
    /// inputs (the caller's) and outputs are never dropped; a result no call reads is not kept at all.
    var releases: (after: [[TensorRef]], kept: Set<TensorRef>) {
        var lastRead: [TensorRef: Int] = [:]
        for (step, (layer, call)) in schedule.enumerated() {
            for ref in layers[layer].calls[call] { lastRead[ref] = step }
        }
        let kept = Set(inputs).union(outputs)
        var after = [[TensorRef]](repeating: [], count: schedule.count)
        for (ref, step) in lastRead where !kept.contains(ref) { after[step].append(ref) }
        return (after, kept.union(lastRead.keys))
    }


    // MARK: Config parsing

    /// `input_layers` / `output_layers`: one `[layer, node, tensor]`, a list of them, or (Keras 3 models
    /// with dict inputs or outputs, as KerasHub's backbones) a dict of them, flattened in key order as
    /// `keras.tree.flatten` does.
    static func endpoints(_ value: KerasJSON?, model: String, key: String) throws -> [TensorRef] {
        guard let value else { throw KerasError.badConfig(layer: model, key: key, found: "nothing") }
        var refs: [TensorRef] = []
        func collect(_ v: KerasJSON) throws {
            if let a = v.array, a.count >= 3, let l = a[0].string, let n = a[1].int, let i = a[2].int {
                refs.append(TensorRef(layer: l, node: n, tensor: i))
            } else if let items = v.array {
                for item in items { try collect(item) }
            } else if case .object(let fields) = v {
                for k in fields.keys.sorted() { try collect(fields[k]!) }
            } else {
                throw KerasError.badConfig(layer: model, key: key, found: "\(v)")
            }
        }
        try collect(value)
        guard !refs.isEmpty else { throw KerasError.badConfig(layer: model, key: key, found: "\(value)") }
        return refs
    }

    /// Whether a layer entry is a model: Sequential / Functional, or a class whose config holds only
    /// constructor arguments that Parity rebuilds as a functional graph (KerasHub's backbones).
    static func isModel(_ entry: KerasJSON) -> Bool {
        let className = entry["class_name"]?.string ?? ""
        return ["Sequential", "Functional", "Model"].contains(className) || KerasHub.isBackbone(entry)
    }

    /// A topological order of every layer call.
    static func schedule(_ layers: [Layer], inputs: [TensorRef]) throws -> [(Int, Int)] {
        var available = Set(inputs.map { $0.layer + "#\($0.node)" })
        var pending = layers.indices.flatMap { l in layers[l].calls.indices.map { (l, $0) } }
        var order: [(Int, Int)] = []
        while !pending.isEmpty {
            let ready = pending.filter { l, c in layers[l].calls[c].allSatisfy { available.contains($0.layer + "#\($0.node)") } }
            guard !ready.isEmpty else {
                let (l, c) = pending[0]
                throw KerasError.badConfig(layer: layers[l].name, key: "inbound_nodes",
                                           found: "inputs \(layers[l].calls[c]) that no layer produces (a cycle or a missing layer)")
            }
            for (l, c) in ready { available.insert(layers[l].name + "#\(c)") }
            order += ready
            pending.removeAll { p in ready.contains { $0 == p } }
        }
        return order
    }
}
