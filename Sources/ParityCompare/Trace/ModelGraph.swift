import Foundation
import ParityKeras
import ParityTorch

/// One side of a comparison as a dataflow graph of tensors: the ops in an order where every op's inputs are
/// computed before it, each op a function of its input tensors that runs in any float dtype.
///
/// A Keras model gives one op per layer call, nested models opened (their layers are ops of their own, scoped
/// by the nested model's name); a torch.export program gives one op per node of its graph, each result of a
/// multi-output node (`getitem` in Python) a tensor of its own. Weights live inside the ops, so a part of the
/// graph can be rerun on other tensors (``run(_:given:fallback:dtype:)``): that is how one model's layer is
/// judged on the other model's inputs.
struct ModelGraph: @unchecked Sendable {
    struct TensorInfo {
        /// The Keras layer (`conv`, `block/conv` inside a nested model, `lstm:1` for a second result, `conv#1`
        /// for a second call) or the graph value (`linear_1`, `getitem_3`).
        var name: String
        /// The op computing it (`nil` for a model input) and which of its results it is.
        var producer: Int?
        var slot: Int
    }

    enum Origin {
        /// A Keras layer call: the layer as loaded, the same layer built with exact constants (the Float64
        /// referee's), and the call index.
        case keras(KerasNetwork.Layer, exact: KerasNetwork.Layer, call: Int)
        case torch(TorchNode)
    }

    struct Op {
        var name: String
        /// The Keras class (`Conv2D`) or ATen target (`aten.conv2d.default`).
        var kind: String
        /// Enclosing nested Keras models, or the `nn_module_stack` paths (outermost first, root excluded).
        var scope: [String]
        var inputs: [Int]
        var outputs: [Int]
        var origin: Origin
        var evaluate: ([Tensor], DType) throws -> [Tensor]
        /// ``evaluate`` with the float32 constants the op reads that were computed before the export (`.pt2`
        /// non-persistent buffers and lifted constants: rotary `inv_freq`) scaled by 1 + 2⁻²⁴, one float32
        /// rounding; `nil` when it reads none. See ``TracedModel/constantSlack``.
        var perturbed: (([Tensor], DType) throws -> [Tensor])? = nil

        /// The innermost PyTorch module path or Keras nested model (`""`: the root).
        var module: String { scope.last ?? "" }
    }

    var tensors: [TensorInfo] = []
    var ops: [Op] = []
    /// The model's input tensors and their names (Keras input layer names; `.pt2` user input names).
    var inputs: [Int] = []
    var inputNames: [String] = []
    var outputs: [Int] = []

    mutating func addTensor(_ name: String, producer: Int?, slot: Int) -> Int {
        tensors.append(TensorInfo(name: name, producer: producer, slot: slot))
        return tensors.count - 1
    }

    /// Runs every op on the model inputs in `dtype` (floating inputs cast to it, integer ones kept); returns
    /// each tensor's value (`nil` for results nothing computed). `progress` sees each op's index.
    func run(_ inputValues: [Tensor], dtype: DType, perturbingConstants: Bool = false, progress: ((Int) -> Void)? = nil) throws -> [Tensor?] {
        var values = [Tensor?](repeating: nil, count: tensors.count)
        for (id, value) in zip(inputs, inputValues) { values[id] = value.dtype.isFloatingPoint ? value.cast(to: dtype) : value }
        for (index, op) in ops.enumerated() {
            let args = try op.inputs.map { id -> Tensor in
                guard let v = values[id] else { throw CompareError.unsupported("\(op.name) reads \(tensors[id].name), which was not computed") }
                return v
            }
            let results = try (perturbingConstants ? op.perturbed ?? op.evaluate : op.evaluate)(args, dtype)
            for (slot, id) in op.outputs.enumerated() where slot < results.count { values[id] = results[slot] }
            progress?(index)
        }
        return values
    }

    /// Reruns the ops `region` (indices in graph order) with `given` tensors in place of the traced ones; every
    /// other tensor an op reads comes from `fallback` (the same side's trace in the same dtype). Returns the
    /// values the region computed, with `given`.
    func run(_ region: [Int], given: [Int: Tensor], fallback: [Tensor?], dtype: DType) throws -> [Int: Tensor] {
        var values = given.mapValues { $0.dtype.isFloatingPoint ? $0.cast(to: dtype) : $0 }
        for index in region {
            let op = ops[index]
            let args = try op.inputs.map { id -> Tensor in
                guard let v = values[id] ?? fallback[id] else { throw CompareError.unsupported("\(op.name) reads \(tensors[id].name), which was not computed") }
                return v
            }
            let results = try op.evaluate(args, dtype)
            for (slot, id) in op.outputs.enumerated() where slot < results.count { values[id] = results[slot] }
        }
        return values
    }

    /// The op indices that compute `target` from `frontier`: ancestors of `target`'s producer (itself
    /// included) that depend on a frontier tensor, in graph order. Empty when `target` is itself on the frontier.
    func region(from frontier: Set<Int>, to target: Int, dependence: Dependence) -> [Int] {
        guard !frontier.contains(target), let producer = tensors[target].producer else { return [] }
        var needed = Set<Int>()
        var stack = [producer]
        while let op = stack.popLast() {
            guard needed.insert(op).inserted else { continue }
            for input in ops[op].inputs where !frontier.contains(input) {
                guard let p = tensors[input].producer, dependence.dependsOnAny(input, frontier) else { continue }
                stack.append(p)
            }
        }
        return needed.sorted()
    }
}

/// Which tensors each tensor of a ``ModelGraph`` depends on (its ancestors), as bit sets.
struct Dependence {
    private var bits: [[UInt64]]
    private let words: Int

    init(_ graph: ModelGraph) {
        words = (graph.tensors.count + 63) / 64
        bits = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: graph.tensors.count)
        for op in graph.ops {
            var union = [UInt64](repeating: 0, count: words)
            for input in op.inputs {
                union[input / 64] |= 1 << UInt64(input % 64)
                for w in 0..<words { union[w] |= bits[input][w] }
            }
            for output in op.outputs { bits[output] = union }
        }
    }

    /// Whether `tensor` is computed from `ancestor` (not itself).
    func depends(_ tensor: Int, on ancestor: Int) -> Bool { bits[tensor][ancestor / 64] & (1 << UInt64(ancestor % 64)) != 0 }

    func dependsOnAny(_ tensor: Int, _ ancestors: Set<Int>) -> Bool { ancestors.contains { depends(tensor, on: $0) } }

    /// `tensor` is one of `ancestors` or computed from all of them.
    func descends(_ tensor: Int, fromAll ancestors: Set<Int>) -> Bool { ancestors.allSatisfy { $0 == tensor || depends(tensor, on: $0) } }
}

extension ModelGraph {
    /// The graph of a Keras network, nested models opened. `exact` is the same network built with exact
    /// constants (``KerasConstants/exact``), whose layers compute the Float64 runs.
    init(keras network: KerasNetwork, exact: KerasNetwork) throws {
        inputNames = network.inputs.map(\.layer)
        inputs = network.inputs.map { addTensor($0.layer, producer: nil, slot: 0) }
        outputs = try addNetwork(network, exact: exact, scope: [], inputs: inputs)
    }

    private mutating func addNetwork(_ network: KerasNetwork, exact: KerasNetwork, scope: [String], inputs inputIDs: [Int]) throws -> [Int] {
        var ids: [KerasNetwork.TensorRef: Int] = [:]
        for (ref, id) in zip(network.inputs, inputIDs) { ids[ref] = id }
        // How many results of each call something reads.
        var used: [String: Int] = [:]
        for layer in network.layers { for call in layer.calls { for ref in call { used["\(ref.layer)#\(ref.node)", default: 1] = Swift.max(used["\(ref.layer)#\(ref.node)", default: 1], ref.tensor + 1) } } }
        for ref in network.outputs { used["\(ref.layer)#\(ref.node)", default: 1] = Swift.max(used["\(ref.layer)#\(ref.node)", default: 1], ref.tensor + 1) }
        let prefix = scope.isEmpty ? "" : scope.joined(separator: "/") + "/"
        for (layerIndex, call) in network.schedule {
            let layer = network.layers[layerIndex], exactLayer = exact.layers[layerIndex]
            let args = try layer.calls[call].map { ref -> Int in
                guard let id = ids[ref] else { throw CompareError.unsupported("\(layer.name) reads \(ref), which no layer computes") }
                return id
            }
            let results: [Int]
            if let nested = layer.model as? KerasNetwork, let nestedExact = exactLayer.model as? KerasNetwork {
                results = try addNetwork(nested, exact: nestedExact, scope: scope + [layer.name], inputs: args)
            } else {
                let name = prefix + layer.name + (call == 0 ? "" : "#\(call)")
                let count = used["\(layer.name)#\(call)", default: 1]
                let index = ops.count
                let outs = (0..<count).map { addTensor($0 == 0 ? name : "\(name):\($0)", producer: index, slot: $0) }
                let (model, exactModel, arguments) = (layer.model, exactLayer.model, layer.arguments[call])
                ops.append(Op(name: name, kind: layer.className, scope: scope, inputs: args, outputs: outs,
                              origin: .keras(layer, exact: exactLayer, call: call),
                              evaluate: { inputs, dtype in try Self.runKeras(dtype == .float64 ? exactModel : model, layer: name, arguments, inputs, dtype) }))
                results = outs
            }
            for (slot, id) in results.enumerated() { ids[KerasNetwork.TensorRef(layer: layer.name, node: call, tensor: slot)] = id }
        }
        return try network.outputs.map { ref in
            guard let id = ids[ref] else { throw CompareError.unsupported("\(network.name)'s output \(ref) is never computed") }
            return id
        }
    }

    /// A Keras layer call run eagerly in `dtype` (its floating results cast to it, as ``KerasNetwork`` does):
    /// `inputs` are the call's tensors in ``KerasCall/tensors`` order; a layer or operation that reads the whole
    /// call (constants, keyword arguments: `x[:, 0]`, `mha(q, v, attention_mask=m)`) gets it with them in place.
    static func runKeras(_ model: any Model, layer: String, _ call: KerasCall<KerasNetwork.TensorRef>, _ inputs: [Tensor], _ dtype: DType) throws -> [Tensor] {
        let context = EagerContext()
        let xs = inputs.map { context.constant($0.dtype.isFloatingPoint ? $0.cast(to: dtype) : $0) }
        let results: [EagerContext.Value]
        if let callable = model as? any KerasCallable {
            var next = 0
            let filled = try call.map { _ -> EagerContext.Value in
                guard next < xs.count else { throw CompareError.unsupported("a Keras call reads more tensors than it was given") }
                defer { next += 1 }
                return xs[next]
            }
            results = try callable.outputs(filled, context: KerasCallContext(layer: layer, floatDType: dtype), in: context)
        } else if let multi = model as? any MultiOutputModel {
            results = try multi.outputs(xs, in: context)
        } else {
            results = [try model(xs, in: context)]
        }
        return results.map { $0.tensor.dtype.isFloatingPoint ? $0.tensor.cast(to: dtype) : $0.tensor }
    }

    /// The graph of a torch.export program: one op per top-level node, weights and constants inside the ops.
    init(torch program: TorchProgram) throws {
        var ids: [String: Int] = [:]
        var precomputed: [String: Tensor] = [:]
        for input in program.inputs {
            switch input.kind {
            case .buffer(_, persistent: false), .tensorConstant:
                if let value = program.parameter(named: input.name), value.dtype == .float32 { precomputed[input.name] = value }
            default: break
            }
        }
        let wide = WideWeights(program)
        for (name, _) in program.userInputs {
            inputNames.append(name)
            let id = addTensor(name, producer: nil, slot: 0)
            ids[name] = id
            inputs.append(id)
        }
        for node in program.graph.nodes {
            let reads = node.arguments.flatMap { $0.value.tensorNames }.filter { ids[$0] != nil }
            var seen = Set<String>()
            let names = reads.filter { seen.insert($0).inserted }
            let index = ops.count
            let outs = node.outputs.enumerated().compactMap { slot, name -> Int? in
                guard let name else { return nil }
                let id = addTensor(name, producer: index, slot: slot)
                ids[name] = id
                return id
            }
            // Keep each output's slot in the node's result list.
            let slots = node.outputs.enumerated().compactMap { $1 == nil ? nil : $0 }
            let weights = Set(node.arguments.flatMap { $0.value.tensorNames }).filter { ids[$0] == nil }.sorted()
            ops.append(Op(name: node.name, kind: node.target, scope: node.moduleStack.map(\.path).filter { !$0.isEmpty },
                          inputs: names.map { ids[$0]! }, outputs: outs, origin: .torch(node),
                          evaluate: { inputs, dtype in
                              var values = Dictionary(uniqueKeysWithValues: zip(names, inputs))
                              if dtype == .float64 { for name in weights { values[name] = wide.tensor(name) } }
                              let results = try program.evaluate(node, values: values, dtype: dtype)
                              return slots.map { $0 < results.count ? results[$0] : Tensor.zeros([0]) }
                          }))
            let constants = Set(node.arguments.flatMap { $0.value.tensorNames }).compactMap { name in precomputed[name].map { (name, $0) } }
            if !constants.isEmpty {
                ops[index].perturbed = { inputs, dtype in
                    var values = Dictionary(uniqueKeysWithValues: zip(names, inputs))
                    for (name, c) in constants { values[name] = Tensor(shape: c.shape, values: c.doubles.map { $0 * (1 + 0x1p-24) }) }
                    let results = try program.evaluate(node, values: values, dtype: dtype)
                    return slots.map { $0 < results.count ? results[$0] : Tensor.zeros([0]) }
                }
            }
        }
        outputs = try program.outputs.map { name in
            guard let id = ids[name] else { throw CompareError.unsupported("the program's output \(name) is never computed") }
            return id
        }
    }
}

/// A program's floating parameters, buffers and constants cast to Float64 once: every Float64 run of a node
/// (the trace, each local rerun, each hypothesis) reads them instead of casting the stored Float32 again.
final class WideWeights: @unchecked Sendable {
    private let program: TorchProgram
    private var cache: [String: Tensor] = [:]
    private let lock = NSLock()

    init(_ program: TorchProgram) { self.program = program }

    /// The Float64 value bound to a graph input name (`nil`: not a weight, or not floating).
    func tensor(_ name: String) -> Tensor? {
        lock.lock()
        defer { lock.unlock() }
        if let t = cache[name] { return t }
        guard let t = program.parameter(named: name), t.dtype.isFloatingPoint else { return nil }
        let wide = t.cast(to: .float64)
        cache[name] = wide
        return wide
    }
}

extension TorchProgram {
    /// The parameter, buffer or constant bound to a graph input name (`nil` for user inputs and node outputs).
    func parameter(named name: String) -> Tensor? {
        guard let input = inputs.first(where: { $0.name == name }) else { return nil }
        switch input.kind {
        case .parameter(let fqn), .buffer(let fqn, _), .tensorConstant(let fqn): return weights[fqn] ?? constants[fqn]
        case .userInput: return nil
        }
    }
}
