import ParityKeras
import ParityNN
import ParityTorch

/// In-place writes (`copy_`, `add_`, `relu_`, … — what torch.export keeps for `x[:, 1:] = y`,
/// `x[:, 0] += 1`, `nn.ReLU(inplace=True)`) as functional Keras values.
///
/// The written value is the functional form's result (`copy_` / `fill_`: the source broadcast to
/// the written tensor's shape and cast to its dtype). When the written tensor is a view whose base (or another
/// view of the same storage) is read afterwards — timm MViTv2's
/// `attn[:, :, 1:, 1:] = (attn[:, :, 1:, 1:] + rel_h + rel_w)` — the base is rebuilt around the new
/// part through the chain of `slice` (step 1) / `select` views that made it, PyTorch's
/// `slice_scatter` / `select_scatter`: for each view from the outermost in, the untouched leading and
/// trailing blocks of the axis (`GetItem` slices) and the new part (`ExpandDims` for a `select`) joined
/// by `Concatenate` on that axis. Data movement only, so the result is exact. The base then stands
/// for the written storage in every later read. Refused: a write through another view (`view`,
/// `permute`, a strided slice) or into a constant when that storage is read later, and a later read of
/// a view made before the write (it would miss the write).
extension TorchToKeras {
    /// Which graph values share storage (views and in-place results with the tensor they view or
    /// write) and which are the same tensor (in-place results and `alias` with their input), as
    /// union-find classes by name; where each value is made and the last node that reads it.
    struct Aliasing {
        struct Classes {
            var parent: [String: String] = [:]
            /// Each class's members by its root (``group()`` fills it once the unions are done).
            var groups: [String: [String]] = [:]
            func find(_ name: String) -> String {
                var name = name
                while let p = parent[name], p != name { name = p }
                return name
            }
            mutating func union(_ a: String, _ b: String) {
                let (ra, rb) = (find(a), find(b))
                if ra != rb { parent[ra] = rb }
            }
            mutating func group() {
                groups = Dictionary(grouping: Set(parent.keys).union(parent.values), by: find).mapValues { $0.sorted() }
            }
            /// The members of `name`'s class (itself included).
            func members(of name: String) -> [String] { groups[find(name)] ?? [name] }
        }
        var storage = Classes(), identity = Classes()
        var producer: [String: (node: TorchNode, index: Int)] = [:]
        var lastRead: [String: Int] = [:]
        let outputs: Set<String>

        init(_ nodes: [TorchNode], outputs: [String]) {
            self.outputs = Set(outputs)
            for (index, node) in nodes.enumerated() {
                for case let output? in node.outputs { producer[output] = (node, index) }
                for name in node.arguments.flatMap(\.value.tensorNames) { lastRead[name] = index }
                let writes = ATenTable.isInPlace(node.target)
                guard ParityTorch.Aliasing.isView(node.target) || writes, let base = ParityTorch.Aliasing.source(of: node) else { continue }
                for case let output? in node.outputs {
                    storage.union(output, base)
                    if writes || node.target == "aten.alias.default" { identity.union(output, base) }
                }
            }
            storage.group()
            identity.group()
        }

        /// Whether a node after `index` (or the program's outputs) reads `name`.
        func readAfter(_ index: Int, _ name: String) -> Bool { (lastRead[name] ?? -1) > index || outputs.contains(name) }

        /// `members`, keeping those made before node `index` (graph inputs included).
        func before(_ index: Int, _ members: [String]) -> [String] { members.filter { (producer[$0]?.index ?? -1) < index } }
    }

    /// Converts the in-place node `c` (`copy_`, `fill_`, or an operator with a functional form): binds its
    /// outputs and the written tensor (and the tensors it is an in-place result of) to the new value
    /// and, when that tensor is a view of storage read later, rebuilds the base (see the extension's
    /// summary).
    static func write(_ c: NodeConversion, index: Int, aliasing: Aliasing, env: inout [String: TorchOperand]) throws {
        guard case .tensor(let mutated)? = c.node.argument("self") else { throw c.refuse("an in-place operator without a 'self' tensor") }
        let value: KerasValue
        var results: [TorchOperand]
        if let source = filling[c.node.target] {
            value = try copied(c, from: source)
            results = [.value(value)]
        } else {
            guard let family = family(for: c.target) else { throw c.refuse("no Keras layer or operation computes \(c.target) exactly") }
            results = try family.convert(c)
            guard case .value(let v)? = results.first else { throw c.refuse("the functional form \(c.target) computes no tensor") }
            value = v
        }
        let same = aliasing.before(index, aliasing.identity.members(of: mutated))
        for name in same { env[name] = .value(value) }
        for (output, result) in zip(c.node.outputs, results) { if let output { env[output] = result } }

        let shared = aliasing.before(index, aliasing.storage.members(of: mutated)).filter { !same.contains($0) }
        guard let read = shared.first(where: { aliasing.readAfter(index, $0) }) else { return }
        // The chain of slice / select views from the base to the written tensor.
        var views: [TorchNode] = [], base = mutated
        while let (view, _) = aliasing.producer[base], ["aten.slice.Tensor", "aten.select.int"].contains(view.target),
              let source = view.arguments.first?.value.tensorNames.first {
            views.insert(view, at: 0)
            base = source
        }
        guard !views.isEmpty else {
            let through = aliasing.producer[mutated].map(\.node.target) ?? "a view"
            throw c.refuse("writes in place through a view (\(through)) of '\(read)', which is read later; only writes through slice / select views are rebuilt")
        }
        guard case .value(let old)? = env[base] else {
            throw c.refuse("writes through a view of '\(base)', a constant computed while converting, which is read later: a write of activations into a constant is not rebuilt")
        }
        let rebuilt = try scattered(c, into: old, views: views[...], value: value)
        let whole = aliasing.before(index, aliasing.identity.members(of: base))
        for name in whole { env[name] = .value(rebuilt) }
        if let stale = shared.first(where: { !whole.contains($0) && aliasing.readAfter(index, $0) }) {
            throw c.refuse("'\(stale)' shares its storage with '\(base)' and is read later: the write is rebuilt into '\(base)' (through its slice / select views) but not into '\(stale)'")
        }
    }

    /// The in-place operators that replace a tensor's values, by the argument they take them from.
    static let filling = ["aten.copy_.default": "src", "aten.fill_.Scalar": "value", "aten.fill_.Tensor": "value"]

    /// `copy_(self, src)` / `fill_(self, value)`: the source broadcast to `self`'s shape and cast to
    /// its dtype; a constant source is `FullLike(self, value)` (a node of the graph that keeps the sign
    /// of a `-0.0`).
    static func copied(_ c: NodeConversion, from argument: String) throws -> KerasValue {
        let target = try c.value("self")
        let shape = target.torchShape, dtype = target.dtype
        var source: KerasValue
        switch try c.operationArgument(argument) {
        case .value(let v): source = c.inTorchOrder(v)
        case let constant:
            return try c.operation("FullLike", ["dtype": .string(dtype)], arguments: [.value(c.inTorchOrder(target)), constant], shape: shape, dtype: dtype)
        }
        if source.torchShape != shape {
            source = try c.operation("BroadcastTo", ["shape": .ints(shape)], arguments: [.value(source)], shape: shape, dtype: source.dtype)
        }
        if source.dtype != dtype {
            source = try c.operation("Cast", module: "core", ["dtype": .string(dtype)], arguments: [.value(source)], shape: shape, dtype: dtype)
        }
        return source
    }

    /// `base` with the part `views` select replaced by `value` (PyTorch's `slice_scatter` /
    /// `select_scatter`, outermost view first), as `GetItem` blocks and `Concatenate`.
    static func scattered(_ c: NodeConversion, into base: KerasValue, views: ArraySlice<TorchNode>, value: KerasValue) throws -> KerasValue {
        guard let view = views.first else {
            guard value.torchShape == base.torchShape else { throw c.refuse("writes a \(value.torchShape) value into a \(base.torchShape) view") }
            return c.arrange(value, as: base.perm)
        }
        func int(_ name: String, _ fallback: Int) -> Int { if case .int(let v)? = view.argument(name) { return v } else { return fallback } }
        let dim = try c.dim(int("dim", 0), rank: base.rank), size = base.torchShape[dim]
        func clamped(_ v: Int) -> Int { min(max(v < 0 ? v + size : v, 0), size) }
        let start: Int, end: Int, part: KerasValue
        if view.target == "aten.select.int" {
            let i = int("index", 0)
            start = i < 0 ? i + size : i
            end = start + 1
            let perm = base.perm.filter { $0 != dim }.map { $0 > dim ? $0 - 1 : $0 }
            var shape = base.torchShape
            shape.remove(at: dim)
            let selected = try c.operation("Take", ["axis": .int(base.position(of: dim))], arguments: [.value(base), .constant(.int(start))],
                                           perm: perm, shape: shape, dtype: base.dtype)
            let inner = try scattered(c, into: selected, views: views.dropFirst(), value: value)
            var partShape = base.torchShape
            partShape[dim] = 1
            part = try c.operation("ExpandDims", ["axis": .int(base.position(of: dim))], arguments: [.value(inner)],
                                   perm: base.perm, shape: partShape, dtype: base.dtype)
        } else {
            guard int("step", 1) == 1 else { throw c.refuse("writes through a strided slice (step \(int("step", 1))) of a tensor read later") }
            start = clamped(int("start", 0))
            end = max(start, clamped(int("end", size)))
            let sliced = try OperationNodes.take(c, base, dim: dim, start: start, end: end, step: 1)
            part = try scattered(c, into: sliced, views: views.dropFirst(), value: value)
        }
        var blocks: [KerasValue] = []
        if start > 0 { blocks.append(try OperationNodes.take(c, base, dim: dim, start: 0, end: start, step: 1)) }
        blocks.append(part)
        if end < size { blocks.append(try OperationNodes.take(c, base, dim: dim, start: end, end: size, step: 1)) }
        guard blocks.count > 1 else { return part }
        return try c.operation("Concatenate", ["axis": .int(base.position(of: dim))], arguments: [.list(blocks.map { .value($0) })],
                               perm: base.perm, shape: base.torchShape, dtype: base.dtype)
    }
}
