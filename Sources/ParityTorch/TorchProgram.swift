import Foundation
import ParityFormats
import ParityNN

/// A torch.export program read from a `.pt2` archive: its ATen graph, its signature and its weights,
/// run with PyTorch's semantics on Parity's engine (eagerly or as a static graph, with gradients).
///
/// ```swift
/// let program = try TorchProgram.load(url)
/// let y = try program.run([x], mode: .eager)
/// ```
public struct TorchProgram: Sendable {
    /// What a graph input is bound to (`InputSpec` in the schema).
    public enum InputKind: Sendable, Hashable {
        /// The parameter with this fully qualified name (`conv1.weight`).
        case parameter(fqn: String)
        /// The buffer with this name; a persistent one is in the state_dict.
        case buffer(fqn: String, persistent: Bool)
        /// A tensor constant lifted out of the module.
        case tensorConstant(fqn: String)
        /// An input the caller gives to ``run(_:mode:dtype:)``.
        case userInput
    }

    /// One graph input and what it is bound to.
    public struct Input: Sendable {
        /// The input's name in the graph.
        public var name: String
        /// What it is bound to.
        public var kind: InputKind

        /// An input named `name` bound as `kind`.
        public init(name: String, kind: InputKind) {
            self.name = name
            self.kind = kind
        }
    }

    /// Major versions of `schema_version` this reader understands (torch 2.15 writes 8.20).
    public static let supportedSchemaMajors = [8]

    /// Where the program came from (the archive's path), for messages.
    public let source: String
    /// The PyTorch version that exported it, as the archive records it.
    public let torchVersion: String
    /// The serialization schema version the archive records.
    public let schemaVersion: (major: Int, minor: Int)
    /// The ATen graph.
    public let graph: ExportedGraph
    /// Every graph input and what it is bound to, in the signature's order.
    public let inputs: [Input]
    /// The user-visible outputs' graph names, in order.
    public let outputs: [String]
    /// The state_dict (parameters and persistent buffers) by fully qualified name, as stored.
    public private(set) var weights: [String: Tensor]
    /// Lifted tensor constants and non-persistent buffers.
    public let constants: [String: Tensor]
    /// Parameters saved with `requires_grad: false` (frozen with `requires_grad_(False)` before the export).
    public var frozenParameters: Set<String> = []

    /// Reads `url`. Every operator is checked before anything runs: an unmapped one throws
    /// ``TorchError/unsupportedOperator(target:node:modulePath:moduleClass:)`` naming its module.
    public static func load(_ url: URL) throws -> TorchProgram {
        let program = try read(url)
        if let node = program.unsupportedNodes.first {
            throw TorchError.unsupportedOperator(target: node.target, node: node.name, modulePath: node.modulePath, moduleClass: node.moduleClass)
        }
        return program
    }

    /// Reads `url` without checking operator support (for inspection).
    public static func read(_ url: URL) throws -> TorchProgram {
        let archive = try PT2Archive(url: url)
        let file = archive.file
        guard let model = archive.modelNames.first else { throw TorchError.missingRecord(file: file, record: archive.prefix + "models/<name>.json") }
        let json: JSONValue
        do { json = try JSONValue.parse(try archive.require("models/\(model).json")) } catch let error as TorchError { throw error } catch {
            throw TorchError.malformedProgram(file: file, path: "models/\(model).json", reason: "invalid JSON (\(error))")
        }
        guard let major = json["schema_version"]?["major"]?.int else {
            throw TorchError.malformedProgram(file: file, path: "schema_version", reason: "missing major version")
        }
        let minor = json["schema_version"]?["minor"]?.int ?? 0
        guard supportedSchemaMajors.contains(major) else {
            throw TorchError.unsupportedSchema(file: file, major: major, minor: minor, supported: supportedSchemaMajors)
        }
        guard let module = json["graph_module"], let graphJSON = module["graph"], let signature = module["signature"] else {
            throw TorchError.malformedProgram(file: file, path: "graph_module", reason: "needs 'graph' and 'signature'")
        }
        let graph: ExportedGraph
        do { graph = try GraphParser.graph(graphJSON, path: "graph_module.graph") } catch let failure as GraphParser.Failure {
            throw TorchError.malformedProgram(file: file, path: failure.path, reason: failure.reason)
        }
        var inputs: [Input] = []
        for (i, spec) in (signature["input_specs"]?.array ?? []).enumerated() {
            let path = "signature.input_specs[\(i)]"
            guard let (kind, body) = spec.object?.first else { throw TorchError.malformedProgram(file: file, path: path, reason: "empty spec") }
            let name = body["arg"]?["name"]?.string ?? body["arg"]?["as_tensor"]?["name"]?.string
            guard let name else { throw TorchError.malformedProgram(file: file, path: path, reason: "\(kind) without a tensor argument") }
            switch kind {
            case "parameter": inputs.append(Input(name: name, kind: .parameter(fqn: body["parameter_name"]?.string ?? name)))
            case "buffer":
                inputs.append(Input(name: name, kind: .buffer(fqn: body["buffer_name"]?.string ?? name, persistent: body["persistent"]?.bool ?? true)))
            case "tensor_constant": inputs.append(Input(name: name, kind: .tensorConstant(fqn: body["tensor_constant_name"]?.string ?? name)))
            case "user_input": inputs.append(Input(name: name, kind: .userInput))
            default: throw TorchError.malformedProgram(file: file, path: path, reason: "input kind '\(kind)' is not supported")
            }
        }
        var outputs: [String] = []
        for (i, spec) in (signature["output_specs"]?.array ?? []).enumerated() {
            guard let (kind, body) = spec.object?.first else { continue }
            guard kind == "user_output" else {
                throw TorchError.malformedProgram(file: file, path: "signature.output_specs[\(i)]",
                                                  reason: "output kind '\(kind)' (state mutation) is not supported: export the model in eval mode")
            }
            guard let name = body["arg"]?["as_tensor"]?["name"]?.string else {
                throw TorchError.malformedProgram(file: file, path: "signature.output_specs[\(i)]", reason: "only tensor outputs are supported")
            }
            outputs.append(name)
        }
        guard inputs.map(\.name) == graph.inputs else {
            throw TorchError.malformedProgram(file: file, path: "signature.input_specs", reason: "does not list the graph's inputs in order")
        }
        let weights = try archive.payload(config: "data/weights/\(model)_weights_config.json", directory: "data/weights/")
        let constants = try archive.payload(config: "data/constants/\(model)_constants_config.json", directory: "data/constants/")
        for input in inputs {
            switch input.kind {
            case .parameter(let fqn), .buffer(let fqn, _), .tensorConstant(let fqn):
                guard weights[fqn] != nil || constants[fqn] != nil else {
                    throw TorchError.missingRecord(file: file, record: "a payload for '\(fqn)' in the weights or constants config")
                }
            case .userInput: break
            }
        }
        var program = TorchProgram(source: file, torchVersion: json["torch_version"]?.string ?? "?", schemaVersion: (major, minor), graph: graph,
                                   inputs: inputs, outputs: outputs, weights: weights, constants: constants)
        program.frozenParameters = archive.frozenParameters(config: "data/weights/\(model)_weights_config.json")
        return program
    }

    /// Nodes whose operator has no mapping, in graph order (cond branches included).
    public var unsupportedNodes: [TorchNode] { graph.allNodes.filter { ATenTable.family(for: $0.target) == nil } }

    /// The user inputs' names and their exported dtype and shape.
    public var userInputs: [(name: String, meta: TorchTensorMeta?)] {
        inputs.filter { $0.kind == .userInput }.map { ($0.name, graph.tensorMeta[$0.name]) }
    }

    /// The state_dict keys the program reads (parameters and persistent buffers).
    public var stateDictKeys: [String] {
        inputs.compactMap {
            switch $0.kind {
            case .parameter(let fqn): return fqn
            case .buffer(let fqn, true): return fqn
            default: return nil
            }
        }
    }

    /// The same program with the weights of a state_dict `.pt` (`torch.save(model.state_dict())`) or a
    /// `.safetensors` file, which must have exactly the program's keys and shapes.
    public func replacingWeights(from url: URL) throws -> TorchProgram {
        let named: [NamedArray]
        do {
            named = url.pathExtension == "safetensors" ? try SafeTensors.read(contentsOf: url).tensors : try TorchStateDict.read(contentsOf: url)
        } catch let error as FormatError {
            throw TorchError.unreadableArchive(file: url.path, reason: error.description)
        }
        var incoming: [String: Tensor] = [:]
        for (name, record) in named {
            do { incoming[name] = try record.toTensor() } catch { throw TorchError.invalidWeight(file: url.path, key: name, reason: "\(error)") }
        }
        let expected = stateDictKeys
        let missing = expected.filter { incoming[$0] == nil }
        let unexpected = incoming.keys.filter { !expected.contains($0) }.sorted()
        let shapes = expected.compactMap { key -> String? in
            guard let new = incoming[key], let old = weights[key] ?? constants[key], new.shape != old.shape else { return nil }
            return "\(key): \(new.shape) in the file, \(old.shape) in the program"
        }
        guard missing.isEmpty, unexpected.isEmpty, shapes.isEmpty else {
            throw TorchError.weightMismatch(file: url.path, missing: missing, unexpected: unexpected, shapeMismatches: shapes)
        }
        var copy = self
        for key in expected { copy.weights[key] = incoming[key] }
        return copy
    }

    /// Runs the program. Floating weights and inputs are cast to `dtype`, by default that of the
    /// first floating input (Float64 inputs give the Float64 reference with the same weights; a 16-bit
    /// float input runs in float32, its nodes rounding to it), or float32 when every input is an integer
    /// tensor. Integer and bool inputs are brought to the dtype the program was exported with (an int64
    /// array of 0/1 feeds a bool mask). An eager run holds each intermediate only until its last reader;
    /// `workingSet` meters what it holds (and stops it past its limit).
    public func run(_ inputs: [Tensor], mode: ExecutionMode, dtype: DType? = nil, workingSet: WorkingSet? = nil) throws -> [Tensor] {
        let expected = userInputs
        guard inputs.count == expected.count else {
            throw TorchError.inputMismatch(expected: "\(expected.count) input(s) \(expected.map(\.name))", received: "\(inputs.count)")
        }
        for (tensor, (name, meta)) in zip(inputs, expected) {
            if let meta, !meta.admits(tensor.shape) {
                let dims = meta.shape.map { $0 == TorchTensorMeta.dynamic ? "any" : "\($0)" }.joined(separator: ", ")
                throw TorchError.inputMismatch(expected: "'\(name)' of shape [\(dims)] (the export's dynamic dimensions take any size)",
                                               received: "\(tensor.shape)")
            }
        }
        let first = inputs.first { $0.dtype.isFloatingPoint }?.dtype
        let floatType = dtype ?? (first == .float64 ? .float64 : .float32)
        guard floatType == .float32 || floatType == .float64 else {
            throw TorchError.inputMismatch(expected: "float32 or float64 to run in", received: "\(floatType)")
        }
        let cast = zip(inputs, expected).map { tensor, input -> Tensor in
            let exported = input.meta.flatMap { ScalarTypes.dtype($0.scalarType) }
            if let exported, !exported.isFloatingPoint { return tensor.cast(to: exported) }
            return tensor.dtype.isFloatingPoint || exported != nil ? tensor.cast(to: floatType) : tensor
        }
        switch mode {
        case .eager:
            let context = EagerContext()
            return try outputs(cast.map(context.constant), in: context, floatType: floatType, workingSet: workingSet).map(\.tensor)
        case .graph(let optimizer):
            let traced = try Graph.trace(inputs: cast.map(TensorType.init(of:))) { b, xs in try outputs(xs, in: b, floatType: floatType) }
            return try GraphExecutor().run(optimizer.optimize(traced), inputs: cast)
        }
    }

    /// The program's outputs on any builder: the weights become constants in `floatType`. `observe` sees
    /// every top-level node's results as they are computed, with the node (its `nn_module_stack` says which
    /// module called it); `parity compare` reads module outputs through it.
    public func outputs<B: Builder>(_ userValues: [B.Value], in b: B, floatType: DType,
                                    observe: ((_ node: TorchNode, _ results: [B.Value]) -> Void)? = nil,
                                    workingSet: WorkingSet? = nil) throws -> [B.Value] {
        var values: [B.Value] = []
        var known: [String: Tensor] = [:]
        var user = userValues.makeIterator()
        for input in inputs {
            switch input.kind {
            case .parameter(let fqn), .buffer(let fqn, _), .tensorConstant(let fqn):
                guard let stored = weights[fqn] ?? constants[fqn] else { throw TorchError.missingRecord(file: source, record: fqn) }
                let tensor = stored.dtype.isFloatingPoint ? stored.cast(to: floatType) : stored
                known[input.name] = tensor
                values.append(b.constant(tensor))
            case .userInput:
                guard let value = user.next() else { throw TorchError.inputMismatch(expected: "more inputs", received: "\(userValues.count)") }
                values.append(value)
            }
        }
        let interpreter = Interpreter(b: b, floatType: floatType, observe: observe, workingSet: workingSet)
        let results = try interpreter.run(graph, inputs: values, known: known)
        return try outputs.map { name in
            guard let index = graph.outputs.firstIndex(of: name) else {
                throw TorchError.malformedProgram(file: source, path: "signature.output_specs", reason: "output '\(name)' is not a graph output")
            }
            return results[index]
        }
    }

    /// Operators grouped by the module that called them, for `parity inspect`.
    public var summary: TorchProgramSummary { TorchProgramSummary(graph: graph) }
}

extension TorchProgram {
    /// A program built in code rather than read from a `.pt2` (a converted model's forward as ATen calls,
    /// `ParityConvert`): the same checks as ``load(_:)`` — every operator mapped, every parameter and
    /// buffer present — then it runs like a loaded one. `source` names it in errors.
    public init(source: String, graph: ExportedGraph, inputs: [Input], outputs: [String], weights: [String: Tensor]) throws {
        guard inputs.map(\.name) == graph.inputs else {
            throw TorchError.malformedProgram(file: source, path: "inputs", reason: "do not list the graph's inputs in order")
        }
        for input in inputs {
            switch input.kind {
            case .parameter(let fqn), .buffer(let fqn, _), .tensorConstant(let fqn):
                guard weights[fqn] != nil else { throw TorchError.missingRecord(file: source, record: fqn) }
            case .userInput: break
            }
        }
        self.init(source: source, torchVersion: "(built in code)", schemaVersion: (8, 0), graph: graph, inputs: inputs, outputs: outputs,
                  weights: weights, constants: [:])
        if let node = unsupportedNodes.first {
            throw TorchError.unsupportedOperator(target: node.target, node: node.name, modulePath: node.modulePath, moduleClass: node.moduleClass)
        }
    }
}

extension TorchProgram {
    /// The same program (inputs, outputs, weights, constants) with `graph` in place of its own: a
    /// rewriting of the graph that computes the same outputs (the converter to Keras inlines disabled
    /// autocast regions this way).
    public func replacingGraph(_ graph: ExportedGraph) -> TorchProgram {
        var copy = TorchProgram(source: source, torchVersion: torchVersion, schemaVersion: schemaVersion, graph: graph, inputs: inputs,
                                outputs: outputs, weights: weights, constants: constants)
        copy.frozenParameters = frozenParameters
        return copy
    }
}

/// The operators of a program grouped by module path (from `nn_module_stack`), in order of first use.
public struct TorchProgramSummary: Sendable, CustomStringConvertible {
    /// One module and the operators it calls itself.
    public struct Module: Sendable {
        /// The module's path.
        public var path: String
        /// The module's class.
        public var className: String
        /// Each operator and how many times the module calls it, in order of first use.
        public var operators: [(target: String, count: Int)]
    }

    /// The modules, in order of first use.
    public var modules: [Module]

    init(graph: ExportedGraph) {
        var modules: [Module] = []
        for node in graph.allNodes {
            let index = modules.firstIndex { $0.path == node.modulePath } ?? {
                modules.append(Module(path: node.modulePath, className: node.moduleClass, operators: []))
                return modules.count - 1
            }()
            if let op = modules[index].operators.firstIndex(where: { $0.target == node.target }) {
                modules[index].operators[op].count += 1
            } else {
                modules[index].operators.append((node.target, 1))
            }
        }
        self.modules = modules
    }

    public var description: String {
        modules.map { module in
            let ops = module.operators.map { $0.count > 1 ? "\($0.target) ×\($0.count)" : $0.target }.joined(separator: ", ")
            return "\(module.path.isEmpty ? "<root>" : module.path) (\(module.className)): \(ops)"
        }.joined(separator: "\n")
    }
}
