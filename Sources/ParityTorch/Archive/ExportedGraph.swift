import Foundation
import ParityFormats

/// One argument of a serialized node (`Argument` in `torch/_export/serde/schema.py`: a tagged union
/// written as a one-key object, `{"as_int": 3}`, `{"as_tensor": {"name": "x"}}`, ...).
public indirect enum TorchArgument: Sendable {
    /// Python `None` (`as_none`).
    case none
    /// A graph value, by name (`as_tensor`).
    case tensor(String)
    /// A list of graph values (`as_tensors`).
    case tensors([String])
    /// A list of graph values or `None` (`as_optional_tensors`).
    case optionalTensors([String?])
    /// `as_int`.
    case int(Int)
    /// `as_ints`.
    case ints([Int])
    /// `as_float`.
    case float(Double)
    /// `as_floats`.
    case floats([Double])
    /// `as_bool`.
    case bool(Bool)
    /// `as_bools`.
    case bools([Bool])
    /// `as_string`.
    case string(String)
    /// `as_strings`.
    case strings([String])
    /// `ScalarType` code (7 float32, 8 float64, 5 int64, 12 bool, ...).
    case scalarType(Int)
    /// `MemoryFormat` code (`as_memory_format`).
    case memoryFormat(Int)
    /// `Layout` code (`as_layout`).
    case layout(Int)
    /// A device (`as_device`), such as `cpu`.
    case device(String)
    /// A subgraph of a higher-order op (`as_graph`), such as a `cond` branch.
    case graph(name: String, graph: ExportedGraph)
    /// A list of sizes some of which are symbolic (`as_sym_ints`, a dynamic dimension): an int, or the
    /// name of the graph value (`sym_size`, `_operator.mul`, …) that holds it. A single symbolic int
    /// (`as_sym_int`) is read as ``tensor(_:)``: the value is a 0-d int64 tensor, known once the input
    /// shapes are.
    case symInts([SymbolicInt])
    /// A kind this reader keeps only by name (symbolic ints, custom objects...): refused when used.
    case other(kind: String)

    /// The names of the graph values this argument reads.
    public var tensorNames: [String] {
        switch self {
        case .tensor(let n): return [n]
        case .tensors(let ns): return ns
        case .optionalTensors(let ns): return ns.compactMap { $0 }
        case .symInts(let list): return list.compactMap { if case .name(let n) = $0 { return n } else { return nil } }
        default: return []
        }
    }
}

/// One element of an `as_sym_ints` list.
public enum SymbolicInt: Sendable, Hashable {
    /// A known size.
    case int(Int)
    /// The graph value holding a symbolic size, by name.
    case name(String)
}

/// A module on a node's `nn_module_stack`: its fully qualified path (`block.inner`, `""` for the
/// root) and class (`torch.nn.modules.linear.Linear`).
public struct ModuleFrame: Sendable, Hashable {
    /// The module's fully qualified path.
    public var path: String
    /// The module's class.
    public var className: String

    /// A frame; the parameters are the properties of the same names.
    public init(path: String, className: String) {
        self.path = path
        self.className = className
    }
}

/// One call in the graph: an ATen overload (`aten.conv2d.default`) or a higher-order op
/// (`higher_order.cond`), with named arguments, output names and the module stack that called it.
public struct TorchNode: Sendable {
    /// The operator without the `torch.ops.` prefix: `aten.linear.default`.
    public var target: String
    /// The node's name in the graph.
    public var name: String
    /// The arguments by the operator schema's names, in order.
    public var arguments: [(name: String, value: TorchArgument)]
    /// One slot per output (nil where torch serialized none).
    public var outputs: [String?]
    /// Outermost first; the last frame is the innermost module.
    public var moduleStack: [ModuleFrame]

    /// A node built in code (a converted model's forward, ``TorchProgram/init(source:graph:inputs:outputs:weights:)``).
    public init(target: String, name: String, arguments: [(name: String, value: TorchArgument)], outputs: [String?], moduleStack: [ModuleFrame]) {
        self.target = target
        self.name = name
        self.arguments = arguments
        self.outputs = outputs
        self.moduleStack = moduleStack
    }

    /// The innermost module's path (`""` at the root).
    public var modulePath: String { moduleStack.last?.path ?? "" }
    /// The innermost module's class (`?` when unknown).
    public var moduleClass: String { moduleStack.last?.className ?? "?" }

    /// The argument named `name`, if the node has it.
    public func argument(_ name: String) -> TorchArgument? { arguments.first { $0.name == name }?.value }
}

/// Shape and dtype of a graph value, from `tensor_values`.
public struct TorchTensorMeta: Sendable, Hashable {
    /// The `ScalarType` code (7 float32, 8 float64, 5 int64, 12 bool, ...).
    public var scalarType: Int
    /// The shape; ``dynamic`` (-1) where the export made the dimension symbolic (`dynamic_shapes`).
    public var shape: [Int]

    /// The size recorded for a symbolic dimension.
    public static let dynamic = -1

    /// The metadata of a `scalarType` tensor of `shape` (a graph built in code).
    public init(scalarType: Int, shape: [Int]) {
        self.scalarType = scalarType
        self.shape = shape
    }

    /// Whether `shape` is one this value may take: equal, the dynamic dimensions taking any size.
    public func admits(_ shape: [Int]) -> Bool {
        shape.count == self.shape.count && zip(shape, self.shape).allSatisfy { $1 == Self.dynamic || $0 == $1 }
    }
}

/// A serialized FX graph (`Graph` in the schema): input names, nodes in execution order, outputs.
public struct ExportedGraph: Sendable {
    /// The graph's input names, in order.
    public var inputs: [String]
    /// The calls, in execution order.
    public var nodes: [TorchNode]
    /// The output names, in order.
    public var outputs: [String]
    /// The shape and dtype of each value, by name.
    public var tensorMeta: [String: TorchTensorMeta]

    /// A graph built in code; `tensorMeta` may be empty (shapes are then not checked before running).
    public init(inputs: [String], nodes: [TorchNode], outputs: [String], tensorMeta: [String: TorchTensorMeta] = [:]) {
        self.inputs = inputs
        self.nodes = nodes
        self.outputs = outputs
        self.tensorMeta = tensorMeta
    }

    /// Every node, nested `cond` branches included.
    public var allNodes: [TorchNode] {
        nodes.flatMap { node -> [TorchNode] in
            [node] + node.arguments.flatMap { arg -> [TorchNode] in
                if case .graph(_, let g) = arg.value { return g.allNodes }
                return []
            }
        }
    }
}

/// Parsing of `models/<name>.json` (schema major 8).
enum GraphParser {
    struct Failure: Error { let path: String; let reason: String }

    static func graph(_ json: JSONValue, path: String) throws -> ExportedGraph {
        guard let nodes = json["nodes"]?.array, let inputs = json["inputs"]?.array, let outputs = json["outputs"]?.array else {
            throw Failure(path: path, reason: "a graph needs 'inputs', 'nodes' and 'outputs' lists")
        }
        var meta: [String: TorchTensorMeta] = [:]
        for (name, value) in json["tensor_values"]?.object ?? [:] {
            if let m = try? tensorMeta(value, path: "\(path).tensor_values.\(name)") { meta[name] = m }
        }
        return ExportedGraph(
            inputs: try inputs.enumerated().map { i, v in
                guard let name = valueName(v) else {
                    throw Failure(path: "\(path).inputs[\(i)]", reason: "only tensor and symbolic int inputs are supported; received \(kinds(v))")
                }
                return name
            },
            nodes: try nodes.enumerated().map { try node($1, path: "\(path).nodes[\($0)]") },
            outputs: try outputs.enumerated().map { i, v in
                guard let name = valueName(v) else {
                    throw Failure(path: "\(path).outputs[\(i)]", reason: "only tensor and symbolic int outputs are supported; received \(kinds(v))")
                }
                return name
            },
            tensorMeta: meta)
    }

    static func tensorMeta(_ json: JSONValue, path: String) throws -> TorchTensorMeta {
        guard let dtype = json["dtype"]?.int, let sizes = json["sizes"]?.array else {
            throw Failure(path: path, reason: "tensor meta needs 'dtype' and 'sizes'")
        }
        return TorchTensorMeta(scalarType: dtype, shape: try sizes.map {
            if $0["as_expr"] != nil { return TorchTensorMeta.dynamic }
            guard let n = $0["as_int"]?.int else { throw Failure(path: path, reason: "a size is an int or a symbolic expression; received \(kinds($0))") }
            return n
        })
    }

    /// The name of a tensor or of a symbolic int, float or bool (`{"as_sym_int": {"as_name": "s"}}`).
    static func valueName(_ v: JSONValue) -> String? {
        if let n = v["as_tensor"]?["name"]?.string { return n }
        for kind in ["as_sym_int", "as_sym_float", "as_sym_bool"] { if let n = v[kind]?["as_name"]?.string { return n } }
        return nil
    }

    static func kinds(_ v: JSONValue) -> String { v.object.map { $0.keys.sorted().joined(separator: ",") } ?? "\(v)" }

    static func node(_ json: JSONValue, path: String) throws -> TorchNode {
        guard var target = json["target"]?.string, let inputs = json["inputs"]?.array, let outputs = json["outputs"]?.array else {
            throw Failure(path: path, reason: "a node needs 'target', 'inputs' and 'outputs'")
        }
        if target.hasPrefix("torch.ops.") { target.removeFirst("torch.ops.".count) }
        let name = json["name"]?.string ?? target
        var arguments: [(String, TorchArgument)] = []
        for (i, input) in inputs.enumerated() {
            guard let arg = input["arg"] else { throw Failure(path: "\(path).inputs[\(i)]", reason: "missing 'arg'") }
            arguments.append((input["name"]?.string ?? "", try argument(arg, path: "\(path).inputs[\(i)]")))
        }
        var outputNames: [String?] = []
        for output in outputs {
            if let n = valueName(output) { outputNames.append(n) }
            else if let list = output["as_tensors"]?.array { outputNames += list.map { $0["name"]?.string } }
            else { outputNames.append(nil) }
        }
        let metadata = json["metadata"]
        let stack = (metadata?["nn_module_stack"]?.string).map(moduleStack) ?? []
        return TorchNode(target: target, name: name, arguments: arguments, outputs: outputNames, moduleStack: stack)
    }

    /// `"L__self__,,__main__.M;L__self__block,block,pkg.Block"`: `key,path,class` per frame.
    static func moduleStack(_ text: String) -> [ModuleFrame] {
        text.split(separator: ";").compactMap { frame in
            let s = String(frame)
            guard let first = s.firstIndex(of: ","), let last = s.lastIndex(of: ","), first < last else { return nil }
            return ModuleFrame(path: String(s[s.index(after: first)..<last]), className: String(s[s.index(after: last)...]))
        }
    }

    /// A float in torch's schema: a JSON number, or the string `"Infinity"`, `"-Infinity"` or `"NaN"`, as
    /// `torch/_export/serde/serialize.py` (`_dataclass_to_dict`) writes non-finite floats for `json.dumps(allow_nan=False)`.
    static func float(_ v: JSONValue) -> Double? {
        switch v {
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string("NaN"): return .nan
        default: return v.double
        }
    }

    static func argument(_ json: JSONValue, path: String) throws -> TorchArgument {
        guard let object = json.object, let (kind, v) = object.first, object.count == 1 else {
            throw Failure(path: path, reason: "an argument is a one-key object; received \(kinds(json))")
        }
        func fail() -> Failure { Failure(path: path, reason: "malformed \(kind)") }
        switch kind {
        case "as_none": return .none
        case "as_tensor": guard let n = v["name"]?.string else { throw fail() }; return .tensor(n)
        case "as_tensors":
            guard let a = v.array else { throw fail() }
            return .tensors(try a.map { guard let n = $0["name"]?.string else { throw fail() }; return n })
        case "as_optional_tensors":
            guard let a = v.array else { throw fail() }
            return .optionalTensors(a.map { $0["as_tensor"]?["name"]?.string })
        case "as_optional_tensor":
            if let n = v["as_tensor"]?["name"]?.string { return .tensor(n) }
            return .none
        case "as_int": guard let i = v.int else { throw fail() }; return .int(i)
        case "as_ints": guard let a = v.array else { throw fail() }; return .ints(try a.map { guard let i = $0.int else { throw fail() }; return i })
        case "as_float": guard let d = float(v) else { throw fail() }; return .float(d)
        case "as_floats": guard let a = v.array else { throw fail() }; return .floats(try a.map { guard let d = float($0) else { throw fail() }; return d })
        case "as_bool": guard let b = v.bool else { throw fail() }; return .bool(b)
        case "as_bools": guard let a = v.array else { throw fail() }; return .bools(try a.map { guard let b = $0.bool else { throw fail() }; return b })
        case "as_string": guard let s = v.string else { throw fail() }; return .string(s)
        case "as_strings": guard let a = v.array else { throw fail() }; return .strings(a.compactMap(\.string))
        case "as_scalar_type": guard let i = v.int else { throw fail() }; return .scalarType(i)
        case "as_memory_format": return .memoryFormat(v.int ?? 0)
        case "as_layout": return .layout(v.int ?? 0)
        case "as_device": return .device(v["type"]?.string ?? "?")
        case "as_graph":
            guard let g = v["graph"] else { throw fail() }
            return .graph(name: v["name"]?.string ?? "", graph: try graph(g, path: "\(path).as_graph"))
        case "as_sym_int", "as_sym_float", "as_sym_bool":
            if let n = v["as_name"]?.string { return .tensor(n) }
            if let i = v["as_int"]?.int { return .int(i) }
            if let d = v["as_float"].flatMap(float) { return .float(d) }
            if let b = v["as_bool"]?.bool { return .bool(b) }
            throw fail()
        case "as_sym_ints":
            guard let a = v.array else { throw fail() }
            return .symInts(try a.map {
                if let n = $0["as_name"]?.string { return .name(n) }
                guard let i = $0["as_int"]?.int else { throw fail() }
                return .int(i)
            })
        default: return .other(kind: kind)
        }
    }
}
