import ParityNN

/// View and layout operators. Values are always dense (a view is a copy with the same elements), so
/// `view`, `reshape` and `flatten` are one reshape; `slice` clamps its bounds as Python does; `gather`
/// needs a fixed index (a buffer or constant) and becomes one ``Remap``. `index.Tensor` with one
/// index tensor (`x[:, idx]`, any index shape, negative indices counting from the end) is a
/// ``Gather`` on that axis, the index's axes in place of the indexed one (PyTorch's rule when the
/// advanced indices are adjacent, as one is); several index tensors and boolean masks are refused.
/// `full(size, fill_value)` takes its dtype from `dtype`, else from the fill value (an int gives int64,
/// a float the run's float dtype, a bool a 1/0 mask); `full_like` from `self` unless `dtype` is given.
enum ShapeOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.view.default", "aten.reshape.default", "aten.flatten.using_ints", "aten.permute.default", "aten.transpose.int",
        "aten.unsqueeze.default", "aten.squeeze.default", "aten.squeeze.dim", "aten.expand.default", "aten.cat.default",
        "aten.stack.default", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int", "aten.slice.Tensor",
        "aten.select.int", "aten.index_select.default", "aten.gather.default", "aten.zeros.default",
        "aten.full.default", "aten.full_like.default", "aten.index.Tensor",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten.view.default", "aten.reshape.default":
            return [try b.reshape(c.tensor("self"), c.size(c.target == "aten.view.default" ? "size" : "shape", inferable: true))]
        case "aten.flatten.using_ints":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            if shape.isEmpty { return [try b.reshape(x, [1])] }
            let start = try c.dim(c.int("start_dim", default: 0), rank: shape.count), end = try c.dim(c.int("end_dim", default: -1), rank: shape.count)
            guard start <= end else { throw c.fail("start_dim", "start_dim \(start) comes after end_dim \(end)") }
            return [try b.reshape(x, Array(shape[..<start]) + [shape[start...end].reduce(1, *)] + Array(shape[(end + 1)...]))]
        case "aten.permute.default":
            let x = try c.tensor("self")
            return [try b.permute(x, c.ints("dims").map { try c.dim($0, rank: c.rank(x), "dims") })]
        case "aten.transpose.int":
            let x = try c.tensor("self")
            let rank = c.rank(x)
            if rank == 0 { return [x] }
            var order = Array(0..<rank)
            order.swapAt(try c.dim(c.int("dim0"), rank: rank), try c.dim(c.int("dim1"), rank: rank))
            return [try b.permute(x, order)]
        case "aten.unsqueeze.default":
            let x = try c.tensor("self")
            var shape = c.shape(x)
            let d = try c.dim(c.int("dim"), rank: shape.count + 1)
            shape.insert(1, at: d)
            return [try b.reshape(x, shape)]
        case "aten.squeeze.default", "aten.squeeze.dim":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            var drop = Set<Int>()
            if c.target == "aten.squeeze.dim" {
                let d = try c.dim(c.int("dim"), rank: shape.count)
                if !shape.isEmpty && shape[d] == 1 { drop.insert(d) }
            } else {
                drop = Set(shape.indices.filter { shape[$0] == 1 })
            }
            return [try b.reshape(x, shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))]
        case "aten.expand.default":
            let x = try c.tensor("self")
            let size = try c.size("size", inferable: true)
            var shape = c.shape(x)
            guard size.count >= shape.count else { throw c.fail("size", "\(size) has fewer axes than \(shape)") }
            shape = Array(repeating: 1, count: size.count - shape.count) + shape
            let target = zip(size, shape).map { $0 == -1 ? $1 : $0 }
            return [try b.broadcast(b.reshape(x, shape), to: target)]
        case "aten.cat.default":
            let parts = try c.tensors("tensors")
            guard let first = parts.first else { throw c.fail("tensors", "empty list") }
            let promoted = parts.contains { b.type(of: $0).dtype.isFloatingPoint } ? try parts.map(c.floating) : parts
            return [try b.concat(promoted, axis: c.dim(c.int("dim", default: 0), rank: c.rank(first)))]
        case "aten.stack.default":
            let parts = try c.tensors("tensors")
            guard let first = parts.first else { throw c.fail("tensors", "empty list") }
            var shape = c.shape(first)
            let d = try c.dim(c.int("dim", default: 0), rank: shape.count + 1)
            shape.insert(1, at: d)
            return [try b.concat(parts.map { try b.reshape($0, shape) }, axis: d)]
        case "aten.split_with_sizes.default":
            let x = try c.tensor("self")
            return try b.split(x, sizes: c.ints("split_sizes"), axis: c.dim(c.int("dim", default: 0), rank: c.rank(x)))
        case "aten.chunk.default":
            let x = try c.tensor("self")
            let axis = try c.dim(c.int("dim", default: 0), rank: c.rank(x))
            let chunks = try c.int("chunks")
            guard chunks >= 1 else { throw c.fail("chunks", "must be positive; received \(chunks)") }
            let n = c.shape(x)[axis]
            let size = (n + chunks - 1) / chunks
            let sizes = size == 0 ? [0] : stride(from: 0, to: n, by: size).map { Swift.min(size, n - $0) }
            return try b.split(x, sizes: sizes, axis: axis)
        case "aten.unbind.int":
            let x = try c.tensor("self")
            var shape = c.shape(x)
            let axis = try c.dim(c.int("dim", default: 0), rank: shape.count)
            let n = shape.remove(at: axis)
            return try b.split(x, sizes: Array(repeating: 1, count: n), axis: axis).map { try b.reshape($0, shape) }
        case "aten.slice.Tensor":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let axis = try c.dim(c.int("dim", default: 0), rank: shape.count)
            let size = shape[axis]
            let step = try c.int("step", default: 1)
            guard step >= 1 else { throw c.fail("step", "must be positive; received \(step)") }
            func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + size : v, 0), size) }
            let start = clamp(try c.optionalInt("start") ?? 0)
            let end = Swift.max(clamp(try c.optionalInt("end") ?? size), start)
            return [try b.slice(x, Array(repeating: .all, count: axis) + [SliceAxis(start: start, end: end, step: step)])]
        case "aten.select.int":
            let x = try c.tensor("self")
            var shape = c.shape(x)
            let axis = try c.dim(c.int("dim"), rank: shape.count)
            var index = try c.int("index")
            if index < 0 { index += shape[axis] }
            guard index >= 0, index < shape[axis] else { throw c.fail("index", "\(index) is out of range for size \(shape[axis])") }
            let sliced = try b.slice(x, Array(repeating: .all, count: axis) + [SliceAxis(start: index, end: index + 1)])
            shape.remove(at: axis)
            return [try b.reshape(sliced, shape)]
        case "aten.index_select.default":
            let x = try c.tensor("self"), index = try c.tensor("index")
            guard b.type(of: index).dtype == .int64, c.rank(index) <= 1 else { throw c.fail("index", "expected a 1-D int64 tensor") }
            return [try b.apply(Gather(axis: c.dim(c.int("dim"), rank: c.rank(x))), [x, index])]
        case "aten.gather.default":
            let x = try c.tensor("self")
            guard let index = c.knownTensor("index"), let values = index.int64s else {
                throw c.unsupported("gather with an index computed at run time is not mapped (only a fixed index: a buffer or constant)")
            }
            let shape = c.shape(x)
            let axis = try c.dim(c.int("dim"), rank: shape.count)
            guard index.rank == shape.count else { throw c.fail("index", "rank \(index.rank) differs from the input's \(shape.count)") }
            let strides = Shape.strides(shape), outStrides = Shape.strides(index.shape)
            var flat = [Int](repeating: 0, count: values.count)
            for (i, v) in values.enumerated() {
                var rest = i, offset = 0
                for d in 0..<shape.count {
                    var coordinate = rest / outStrides[d]
                    rest %= outStrides[d]
                    if d == axis {
                        coordinate = Int(v) < 0 ? Int(v) + shape[d] : Int(v)
                        guard coordinate >= 0, coordinate < shape[d] else { throw c.fail("index", "value \(v) is out of range for size \(shape[d])") }
                    } else if coordinate >= shape[d] {
                        throw c.fail("index", "shape \(index.shape) exceeds the input's \(shape) on axis \(d)")
                    }
                    offset += coordinate * strides[d]
                }
                flat[i] = offset
            }
            return [try b.apply(Remap(indices: flat, innerShape: index.shape, batchRank: 0, label: "gather"), [x])]
        case "aten.zeros.default":
            // A floating dtype (or none: PyTorch's default float32) is the run's float dtype.
            let size = try c.size("size")
            return [c.b.constant(Tensor.zeros(size, dtype: try c.dtype("dtype") ?? c.floatType))]
        case "aten.full.default", "aten.full_like.default":
            let size: [Int], inferred: DType
            if c.target == "aten.full.default" {
                size = try c.size("size")
                if case .int? = c.node.argument("fill_value") { inferred = .int64 } else { inferred = c.floatType }
            } else {
                let x = try c.tensor("self")
                size = c.shape(x)
                inferred = b.type(of: x).dtype
            }
            var value = try c.double("fill_value")
            var dtype = inferred
            if case .scalarType(let code)? = c.node.argument("dtype") {
                dtype = ScalarTypes.isFloatingPoint(code) || code == 12 ? c.floatType : .int64
                if code == 12 { value = value != 0 ? 1 : 0 }
                guard [5, 7, 8, 12].contains(code) else { throw c.unsupported("\(c.target) with dtype \(ScalarTypes.name(code)) is not mapped") }
            } else if case .bool? = c.node.argument("fill_value"), c.target == "aten.full.default" {
                dtype = c.floatType
            }
            if dtype == .int64 { value = value.rounded(.towardZero) }
            return [b.constant(Tensor(repeating: value, shape: size, dtype: dtype))]
        case "aten.index.Tensor":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            guard case .optionalTensors(let names)? = c.node.argument("indices") ?? .none else {
                if case .tensors(let names)? = c.node.argument("indices"), names.count == 1 {
                    return [try indexAlong(c, x, axis: 0, index: c.value(named: names[0]), known: c.known[names[0]])]
                }
                throw c.fail("indices", "expected a list of optional tensors")
            }
            let given = names.enumerated().filter { $0.element != nil }
            guard given.count == 1, let (axis, name) = given.first.map({ ($0.offset, $0.element!) }) else {
                throw c.unsupported("indexing with \(given.count) index tensors is not mapped (only one)")
            }
            guard names.count <= shape.count else { throw c.fail("indices", "\(names.count) indices for a tensor of rank \(shape.count)") }
            return [try indexAlong(c, x, axis: axis, index: c.value(named: name), known: c.known[name])]
        default:
            throw c.unsupported("not in the shape table")
        }
    }

    /// `x[..., index, ...]` on `axis`: negative indices count from the end (resolved here for a
    /// fixed index; at run time as `i + n·(i < 0)`), out-of-range ones throw.
    static func indexAlong<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, axis: Int, index: B.Value, known: Tensor?) throws -> B.Value {
        let b = c.b
        let n = c.shape(x)[axis]
        guard b.type(of: index).dtype == .int64 else {
            throw c.unsupported("indexing with a boolean or floating index (a mask) is not mapped; only int64 indices")
        }
        var resolved = index
        if let known, let values = known.int64s {
            let fixed = try values.map { v -> Int64 in
                let r = v < 0 ? v + Int64(n) : v
                guard r >= 0, r < Int64(n) else { throw c.fail("indices", "index \(v) is out of range for axis \(axis) of size \(n)") }
                return r
            }
            resolved = b.constant(Tensor(shape: known.shape, int64: fixed))
        } else {
            let wide = try b.cast(index, to: .float64)
            let negative = try b.binary(.less, wide, b.scalar(0, like: wide))
            resolved = try b.cast(b.add(wide, b.multiply(negative, b.scalar(Double(n), like: wide))), to: .int64)
        }
        return try b.apply(Gather(axis: axis), [x, resolved])
    }
}
