import ParityNN

/// How an in-place operator on a view reaches the tensor it views, the way PyTorch's functionalization
/// pass (`torch/_subclasses/functional_tensor.py`) rewrites it: torch.export keeps `x[:, 1:3].fill_(v)`
/// as a `slice` followed by `fill_` on the slice, and the write must land in `x` and in every other
/// view of `x` read afterwards.
///
/// Parity's values are never aliased, so the interpreter records, for every value that a view operator
/// produced, its base (the tensor that is not a view) and the view nodes that derive it from the base.
/// An in-place node computes its new value functionally, then:
/// 1. the positions of the mutated view inside its base are found by replaying the view nodes on an
///    index tensor (`0..<n` shaped like the base): view operators only move elements, so the replay
///    gives, for every element of the view, its flat position in the base;
/// 2. the base is rewritten with the new values at those positions (one ``Remap`` over the base and
///    the new values concatenated);
/// 3. every recorded view of that base is derived again from the new base.
struct ViewChain {
    var base: String
    /// The view nodes from the base, each with the output slot taken (`split` has several).
    var steps: [(node: TorchNode, slot: Int)]
}

/// The view operators and the tensor a view or an in-place node reads (public: the converter to Keras
/// reads the same list), and the replay of view chains the interpreter writes through.
public enum Aliasing {
    /// Operators whose outputs alias their first tensor argument (`self`/`input`). `reshape` and
    /// `flatten` alias a contiguous input, which every input is in Parity.
    public static let viewTargets: Set<String> = [
        "aten.view.default", "aten._unsafe_view.default", "aten.reshape.default", "aten.flatten.using_ints", "aten.unflatten.int",
        "aten.permute.default", "aten.transpose.int", "aten.t.default", "aten.swapaxes.default", "aten.swapdims.default",
        "aten.movedim.int", "aten.unsqueeze.default", "aten.squeeze.default", "aten.squeeze.dim", "aten.squeeze.dims",
        "aten.expand.default", "aten.slice.Tensor", "aten.select.int", "aten.narrow.default", "aten.alias.default",
        "aten.detach.default", "aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int",
        "aten.diagonal.default", "aten.view_as.default", "aten.expand_as.default", "aten.unfold.default", "aten.as_strided.default",
    ]

    public static func isView(_ target: String) -> Bool { viewTargets.contains(target) }

    /// The name of the tensor a view node reads, or an in-place node writes: its first tensor argument,
    /// or the `out` argument of an `out=` overload.
    public static func source(of node: TorchNode) -> String? {
        // An `out=` overload writes into its `out` argument.
        if node.target.hasSuffix(".out"), case .tensor(let name)? = node.argument("out") { return name }
        for argument in node.arguments { if case .tensor(let name) = argument.value { return name } }
        return nil
    }

    /// `base` put through `steps` on builder `b`; other tensor arguments of the steps (`view_as`'s
    /// `other`) come from `lookup`.
    static func replay<C: Builder>(_ steps: [(node: TorchNode, slot: Int)], from base: C.Value, on b: C, floatType: DType,
                                   lookup: (String) throws -> C.Value) throws -> C.Value {
        var value = base
        for (node, slot) in steps {
            guard let family = ATenTable.family(for: node.target), let source = source(of: node) else {
                throw TorchError.unsupportedOperator(target: node.target, node: node.name, modulePath: node.modulePath, moduleClass: node.moduleClass)
            }
            var env: [String: C.Value] = [:]
            for name in node.arguments.flatMap({ $0.value.tensorNames }) where name != source { env[name] = try lookup(name) }
            env[source] = value
            let results = try family.lower(ATenCall(b: b, node: node, env: env, known: [:], floatType: floatType))
            guard slot < results.count else {
                throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath, message: "view output \(slot) is not produced")
            }
            value = results[slot]
        }
        return value
    }

    /// For every element of the view `steps` derive from a base of `shape`, its flat position in the base.
    static func positions(_ steps: [(node: TorchNode, slot: Int)], baseShape shape: [Int], floatType: DType,
                          known: [String: Tensor]) throws -> Tensor {
        let context = EagerContext()
        let iota = Tensor(shape: shape, int64: (0..<Shape.count(shape)).map(Int64.init))
        return try replay(steps, from: context.constant(iota), on: context, floatType: floatType) { name in
            guard let tensor = known[name] else {
                throw TorchError.unsupportedArgument(target: "in-place write", node: name, modulePath: "",
                                                     message: "a view whose shape depends on a value computed at run time ('\(name)') cannot be written through")
            }
            return context.constant(tensor)
        }.tensor
    }

    /// `base` with `value` (broadcast to the positions' shape, in the base's dtype) written at `positions`.
    static func overwrite<C: Builder>(_ base: C.Value, at positions: Tensor, with value: C.Value, on b: C) throws -> C.Value {
        let shape = b.shape(of: base)
        let n = Shape.count(shape)
        guard let flat = positions.int64s else { throw TensorError.unsupportedDType(op: "in-place write", dtype: positions.dtype) }
        var map = Array(0..<n)
        for (j, p) in flat.enumerated() { map[Int(p)] = n + j }
        let written = try b.reshape(b.broadcast(b.cast(value, to: b.type(of: base).dtype), to: positions.shape), [flat.count])
        let joined = try b.concat([b.reshape(base, [n]), written], axis: 0)
        return try b.apply(Remap(indices: map, innerShape: shape, batchRank: 0, label: "in-place write"), [joined])
    }
}
