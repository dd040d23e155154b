/// One argument of a layer or operation call as a Keras 3 functional config records it
/// (`inbound_nodes[i].args` / `kwargs`, written by `serialize_node` in `keras/src/models/functional.py`):
/// a keras tensor, a plain value (a Python number, string, `None`, or one of
/// `serialization_lib`'s special forms `__slice__`, `__ellipsis__`, `__numpy__`, `__tensor__`), or a
/// list / dict of arguments. Tuples are saved as lists (GetItem turns a list key back into a tuple).
public indirect enum KerasArgument<Value> {
    /// A keras tensor.
    case tensor(Value)
    /// A plain value, as the config writes it.
    case constant(KerasJSON)
    /// A list (or tuple) of arguments.
    case list([KerasArgument<Value>])
    /// Keys in sorted order: the order `keras.tree.flatten` visits a dict in.
    case dict([(key: String, value: KerasArgument<Value>)])

    /// Every tensor, depth first, dict entries in key order.
    public var tensors: [Value] {
        switch self {
        case .tensor(let value): return [value]
        case .constant: return []
        case .list(let items): return items.flatMap(\.tensors)
        case .dict(let entries): return entries.flatMap(\.value.tensors)
        }
    }

    /// The same structure with each tensor replaced by `transform(tensor)`.
    public func map<T>(_ transform: (Value) throws -> T) rethrows -> KerasArgument<T> {
        switch self {
        case .tensor(let value): return .tensor(try transform(value))
        case .constant(let json): return .constant(json)
        case .list(let items): return .list(try items.map { try $0.map(transform) })
        case .dict(let entries): return .dict(try entries.map { ($0.key, try $0.value.map(transform)) })
        }
    }

    /// The value when the argument is a single tensor.
    public var tensor: Value? {
        if case .tensor(let value) = self { return value }
        return nil
    }

    /// The JSON value when the argument holds no tensor.
    public var constant: KerasJSON? {
        if case .constant(let json) = self { return json }
        return nil
    }
}

extension KerasArgument: Sendable where Value: Sendable {}

/// A call of a layer or operation: positional and keyword arguments (Keras's `Node.arguments`).
public struct KerasCall<Value> {
    /// The positional arguments.
    public var args: [KerasArgument<Value>]
    /// The keyword arguments.
    public var kwargs: [(key: String, value: KerasArgument<Value>)]

    /// A call; the parameters are the properties of the same names.
    public init(args: [KerasArgument<Value>], kwargs: [(key: String, value: KerasArgument<Value>)] = []) {
        self.args = args
        self.kwargs = kwargs
    }

    /// Every tensor the call reads: positional arguments first, then keyword arguments in key order.
    public var tensors: [Value] { args.flatMap(\.tensors) + kwargs.flatMap(\.value.tensors) }

    /// The same call with each tensor replaced by `transform(tensor)`.
    public func map<T>(_ transform: (Value) throws -> T) rethrows -> KerasCall<T> {
        KerasCall<T>(args: try args.map { try $0.map(transform) }, kwargs: try kwargs.map { ($0.key, try $0.value.map(transform)) })
    }

    /// Positional argument `index`, else keyword argument `name` (Python's binding of a call's arguments).
    public func argument(_ index: Int, _ name: String) -> KerasArgument<Value>? {
        if index < args.count { return args[index] }
        return keyword(name)
    }

    /// Keyword argument `name`, if given.
    public func keyword(_ name: String) -> KerasArgument<Value>? { kwargs.first { $0.key == name }?.value }
}

extension KerasCall: Sendable where Value: Sendable {}

extension KerasCall where Value == KerasNetwork.TensorRef {
    /// Reads an inbound node: the Keras 3 form `{"args": [...], "kwargs": {...}}`, or the Keras 2 form
    /// `[[layer, node, tensor, kwargs], ...]` (positional tensors; its kwargs hold no tensors).
    static func parse(_ node: KerasJSON, layer: String) throws -> KerasCall {
        if let args = node["args"] {
            let positional: [KerasArgument<Value>]
            switch try KerasCall.argument(args, layer: layer) {
            case .list(let items): positional = items
            case let other: positional = [other]
            }
            var keywords: [(key: String, value: KerasArgument<Value>)] = []
            if case .object(let fields) = node["kwargs"] ?? .null {
                for key in fields.keys.sorted() { keywords.append((key, try KerasCall.argument(fields[key]!, layer: layer))) }
            }
            return KerasCall(args: positional, kwargs: keywords)
        }
        guard let legacy = node.array else { throw KerasError.badConfig(layer: layer, key: "inbound_nodes", found: "\(node)") }
        let refs = try legacy.map { entry -> KerasArgument<Value> in
            guard let e = entry.array, e.count >= 3, let l = e[0].string, let n = e[1].int, let t = e[2].int else {
                throw KerasError.badConfig(layer: layer, key: "inbound_nodes", found: "\(entry)")
            }
            return .tensor(KerasNetwork.TensorRef(layer: l, node: n, tensor: t))
        }
        // Positional tensors (a merge layer reads them all; MultiHeadAttention query, value, key).
        return KerasCall(args: refs)
    }

    static func argument(_ value: KerasJSON, layer: String) throws -> KerasArgument<Value> {
        switch value {
        case .array(let items): return .list(try items.map { try argument($0, layer: layer) })
        case .object(let fields):
            if let className = fields["class_name"]?.string {
                guard className == "__keras_tensor__" else { return .constant(value) }
                guard let history = fields["config"]?["keras_history"]?.array, history.count >= 3,
                      let l = history[0].string, let n = history[1].int, let t = history[2].int else {
                    throw KerasError.badConfig(layer: layer, key: "keras_history", found: "\(value)")
                }
                return .tensor(KerasNetwork.TensorRef(layer: l, node: n, tensor: t))
            }
            return .dict(try fields.keys.sorted().map { ($0, try argument(fields[$0]!, layer: layer)) })
        default: return .constant(value)
        }
    }
}

/// A layer or operation that reads its call's whole argument structure (keyword arguments, constants,
/// nested lists), not just the tensors in it: Keras operation nodes (`x + 3.0`, `x[:, 0]`) and layers
/// called with keyword tensors (`TransformerEncoder(x, padding_mask=m)`).
public protocol KerasCallable: MultiOutputModel {
    /// Applies the layer or operation to its call's whole argument structure and returns every output.
    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value]
}

/// What a call needs from the network running it.
public struct KerasCallContext: Sendable {
    /// The layer's name, for errors.
    public var layer: String
    /// The float dtype the model computes in (Keras's `floatx`, float32, unless the run says otherwise):
    /// the dtype of Python floats and of integer values promoted to floats.
    public var floatDType: DType

    /// A context; the parameters are the properties of the same names.
    public init(layer: String, floatDType: DType) {
        self.layer = layer
        self.floatDType = floatDType
    }
}

extension KerasCallable {
    /// Called with positional tensors only (as other Parity code calls a layer).
    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value] {
        let floatDType = inputs.map { b.type(of: $0).dtype }.first(where: \.isFloatingPoint) ?? .float32
        return try outputs(KerasCall(args: inputs.map { .tensor($0) }), context: KerasCallContext(layer: "\(Self.self)", floatDType: floatDType), in: b)
    }
}
