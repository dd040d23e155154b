import ParityNN

/// Indexing with tensors (`aten/src/ATen/native/TensorAdvancedIndexing.cpp`), reading and writing:
///
/// - `index_select(self, dim, index)`, `gather(self, dim, index)` (`out[i][j] = self[index[i][j]][j]` for
///   dim 0), `index.Tensor(self, indices)`: advanced indexing with a list of optional index tensors,
///   broadcast together; when the indexed axes are adjacent the broadcast index shape takes their place,
///   otherwise it comes first (NumPy's rule, which PyTorch follows). Negative indices count from the end
///   in `index` and `index_select` (not in `gather`, where PyTorch refuses them), out-of-range ones are
///   an error. A boolean mask index must be known when the program is lowered (its `nonzero` fixes the
///   result's shape); a bool mask computed at run time would make the shape depend on the data.
/// - Writes (functional; `index_put_` etc. write through ``Aliasing``): `index_put(self, indices, values,
///   accumulate)`, `scatter(self, dim, index, src | value)`, `scatter_add`, `slice_scatter`,
///   `select_scatter`. Each reads as: the flat positions in `self` that the same read would take (the
///   read applied to `0..<n`), then `values` written there (or added, for `accumulate` / `scatter_add`;
///   PyTorch leaves the order of duplicate writes unspecified).
/// - `nonzero(self)`: the `(k, rank)` int64 coordinates of the non-zero elements in row-major order (NaN
///   counts as non-zero), for values at hand (eager runs, or tensors known when the program is lowered);
///   a traced graph refuses it, its shape depending on the data.
/// - `scatter_reduce.two(self, dim, index, src, reduce, include_self)`: every `src` element combined into
///   the position of `self` that `scatter` would write, with `reduce` `sum`, `mean` (the sum over the
///   position's elements, `self` counted when `include_self`, divided by their count; floor division for
///   integers), `prod`, `amax` or `amin`; positions no index reaches keep `self`. `sum` and `mean` scatter-add;
///   `prod`, `amax` and `amin` reduce a dense (positions × elements) block, whose gradient is PyTorch's
///   `scatter_reduce_backward`: amax/amin share the cotangent evenly among the elements equal to the
///   result (`self` among them), prod gives `g·result/x` (PyTorch's special case for zero factors is not
///   reproduced: a zero factor gives a non-finite gradient). The block is bounded (``ATenCall/checkCount(_:_:)``).
///
/// Index arithmetic runs in float64 (exact below 2⁵³) when the index is computed at run time and in
/// Swift integers when it is known.
enum IndexingOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.index_select.default", "aten.gather.default", "aten.index.Tensor", "aten.index_put.default",
        "aten.scatter.src", "aten.scatter.value", "aten.scatter_add.default", "aten.slice_scatter.default", "aten.select_scatter.default",
        "aten.take_along_dim.default", "aten.masked_scatter.default", "aten.scatter_reduce.two", "aten.nonzero.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten.masked_scatter.default":
            // The k-th true cell of the mask (broadcast to self, row-major) takes source's k-th element.
            let x = try c.tensor("self"), source = try c.tensor("source")
            let shape = c.shape(x), n = Shape.count(shape), available = Shape.count(c.shape(source))
            let mask = try b.reshape(b.broadcast(b.cast(c.tensor("mask"), to: .bool), to: shape), [n])
            let rank = try b.apply(Cumulative(.sum, axis: 0), [b.cast(mask, to: .float64)])
            let clamped = try b.binary(.minimum, b.binary(.maximum, b.subtract(rank, b.scalar(1, like: rank)), b.scalar(0, like: rank)),
                                       b.scalar(Double(Swift.max(available - 1, 0)), like: rank))
            guard available > 0 else { return [x] }
            let picked = try b.apply(Gather(axis: 0), [b.cast(b.reshape(source, [available]), to: b.type(of: x).dtype), b.cast(clamped, to: .int64)])
            let dtype = b.type(of: x).dtype  // `where` takes its condition in the values' dtype
            return [try b.reshape(b.apply(Select(), [b.cast(mask, to: dtype), picked, b.reshape(x, [n])]), shape)]
        case "aten.index_select.default":
            let x = try c.tensor("self"), index = try c.tensor("index")
            guard !b.type(of: index).dtype.isFloatingPoint, c.rank(index) <= 1 else { throw c.fail("index", "expected a 1-D integer tensor") }
            let axis = try c.dim(c.int("dim"), rank: c.rank(x))
            return [try b.apply(Gather(axis: axis), [x, wrapped(c, b.cast(index, to: .int64), size: c.shape(x).isEmpty ? 1 : c.shape(x)[axis], known: c.knownTensor("index"))])]
        case "aten.gather.default", "aten.take_along_dim.default":
            let x = try c.tensor("self")
            let axis = try c.dim(c.int("dim"), rank: c.rank(x))
            let index = try c.tensor(c.target == "aten.gather.default" ? "index" : "indices")
            return [try gather(c, x, axis: axis, index: index, known: c.knownTensor(c.target == "aten.gather.default" ? "index" : "indices"))]
        case "aten.index.Tensor":
            let x = try c.tensor("self")
            return [try index(c, x, indices: try indexList(c))]
        case "aten.index_put.default":
            let x = try c.tensor("self")
            let positions = try index(c, iota(c, c.shape(x)), indices: try indexList(c))
            return [try write(c, x, positions: positions, values: c.tensor("values"), accumulate: c.bool("accumulate", default: false))]
        case "aten.scatter.src", "aten.scatter.value", "aten.scatter_add.default":
            let x = try c.tensor("self")
            if c.has("reduce") { throw c.unsupported("scatter with reduce is not mapped") }
            let axis = try c.dim(c.int("dim"), rank: c.rank(x))
            let indexTensor = try c.tensor("index")
            let positions = try gather(c, iota(c, c.shape(x)), axis: axis, index: indexTensor, known: c.knownTensor("index"))
            var values: B.Value
            if c.target == "aten.scatter.value" {
                values = try ArithmeticOps.tensor(c, c.operand("value"), dtype: b.type(of: x).dtype)
            } else {
                let src = try c.tensor("src")
                let shape = c.shape(positions)
                values = try b.slice(src, shape.map { SliceAxis(start: 0, end: $0) })
            }
            return [try write(c, x, positions: positions, values: values, accumulate: c.target == "aten.scatter_add.default")]
        case "aten.scatter_reduce.two":
            return [try scatterReduce(c)]
        case "aten.nonzero.default":
            // Its shape is its data's: computed when the values are at hand (eagerly, or a tensor known when
            // the program is lowered), refused in a traced graph.
            let x = try c.tensor("self")
            guard let values = (x as? EagerTensor)?.tensor else {
                throw c.unsupported("nonzero of a tensor computed at run time has a data-dependent shape, which a traced graph cannot hold: run eagerly")
            }
            let shape = values.shape, flat = values.doubles
            var rows: [Double] = []
            for (i, v) in flat.enumerated() where v != 0 {
                var rest = i
                var coordinates = [Double](repeating: 0, count: shape.count)
                for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
                    coordinates[axis] = Double(rest % shape[axis])
                    rest /= shape[axis]
                }
                rows += coordinates
            }
            return [c.constant(rows, shape: [rows.count / max(shape.count, 1), shape.count], dtype: .int64)]
        case "aten.slice_scatter.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let axis = try c.dim(c.int("dim", default: 0), rank: shape.count)
            let positions = try b.slice(iota(c, shape), Array(repeating: .all, count: axis) + [c.sliceAxis(size: shape[axis])])
            return [try write(c, x, positions: positions, values: c.tensor("src"), accumulate: false)]
        case "aten.select_scatter.default":
            let x = try c.tensor("self")
            var shape = c.shape(x)
            let axis = try c.dim(c.int("dim"), rank: shape.count)
            let i = try c.selectIndex(size: shape[axis])
            let sliced = try b.slice(iota(c, shape), Array(repeating: .all, count: axis) + [SliceAxis(start: i, end: i + 1)])
            shape.remove(at: axis)
            return [try write(c, x, positions: b.reshape(sliced, shape), values: c.tensor("src"), accumulate: false)]
        default:
            throw c.unsupported("not in the indexing table")
        }
    }

    /// The constant `0..<n` shaped `shape` (int64): reading it as a tensor gives flat positions.
    static func iota<B: Builder>(_ c: ATenCall<B>, _ shape: [Int]) -> B.Value {
        c.b.constant(Tensor(shape: shape, int64: (0..<Shape.count(shape)).map(Int64.init)))
    }

    /// The `indices` argument of `index` / `index_put`: one optional tensor per leading axis.
    static func indexList<B: Builder>(_ c: ATenCall<B>) throws -> [(value: B.Value, known: Tensor?)?] {
        switch c.node.argument("indices") {
        case .optionalTensors(let names)?:
            return try names.map { name in try name.map { (try c.value(named: $0), c.known[$0]) } }
        case .tensors(let names)?:
            return try names.map { (try c.value(named: $0), c.known[$0]) }
        case let other: throw c.fail("indices", "expected a list of optional tensors; received \(other.map { "\($0)" } ?? "nothing")")
        }
    }

    /// Integer `index` with negative entries counting from the end of an axis of `size`; out-of-range
    /// entries of a known index are an error here, of a run-time index in the gather.
    static func wrapped<B: Builder>(_ c: ATenCall<B>, _ index: B.Value, size: Int, known: Tensor?) throws -> B.Value {
        let b = c.b
        if let known, let values = known.integers {
            let fixed = try values.map { v -> Int64 in
                let r = v < 0 ? v + Int64(size) : v
                guard r >= 0, r < Int64(size) else { throw c.fail("indices", "index \(v) is out of range for an axis of size \(size)") }
                return r
            }
            return b.constant(Tensor(shape: known.shape, int64: fixed))
        }
        let wide = try b.cast(index, to: .float64)
        let negative = try b.binary(.less, wide, b.scalar(0, like: wide))
        return try b.cast(b.add(wide, b.multiply(negative, b.scalar(Double(size), like: wide))), to: .int64)
    }

    /// `Σ indexₖ·strideₖ` over int64 tensors broadcast together (exact in float64 below 2⁵³).
    static func linear<B: Builder>(_ c: ATenCall<B>, _ terms: [(B.Value, Int)]) throws -> B.Value {
        let b = c.b
        if let constants = try? terms.map({ term -> (Tensor, Int) in
            guard let t = (term.0 as? EagerTensor)?.tensor, b is EagerContext else { throw TensorError.unsupported(op: "", message: "") }
            return (t, term.1)
        }), !constants.isEmpty {
            // Eagerly, integer arithmetic directly (indices stay exact whatever their size).
            let shape = try constants.dropFirst().reduce(constants[0].0.shape) { try Shape.broadcast($0, $1.0.shape) }
            var sum = [Int64](repeating: 0, count: Shape.count(shape))
            for (t, stride) in constants {
                let values = try t.broadcast(to: shape).int64s ?? []
                for i in sum.indices { sum[i] += values[i] * Int64(stride) }
            }
            return b.constant(Tensor(shape: shape, int64: sum))
        }
        var total: B.Value?
        for (index, stride) in terms {
            let term = try b.multiply(b.cast(index, to: .float64), b.scalar(Double(stride), like: b.cast(index, to: .float64)))
            total = try total.map { try b.add($0, term) } ?? term
        }
        guard let total else { throw c.fail("indices", "no index tensor") }
        return try b.cast(total, to: .int64)
    }

    /// `x[..., indices, ...]` (see the type's comment).
    static func index<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, indices given: [(value: B.Value, known: Tensor?)?]) throws -> B.Value {
        let b = c.b
        let shape = c.shape(x)
        // Expand boolean masks into one integer index per masked axis (their nonzero coordinates).
        var entries: [(value: B.Value, known: Tensor?)?] = []
        for entry in given {
            guard let entry, b.type(of: entry.value).dtype == .bool else { entries.append(entry); continue }
            guard let mask = entry.known, let flags = mask.bools else {
                throw c.unsupported("indexing with a boolean mask computed at run time is not mapped (the result's shape would depend on the data)")
            }
            let axis = entries.count
            guard axis + mask.rank <= shape.count, Array(shape[axis..<(axis + mask.rank)]) == mask.shape else {
                throw c.fail("indices", "mask of shape \(mask.shape) does not match \(shape) at axis \(axis)")
            }
            let strides = Shape.strides(mask.shape)
            let hits = flags.indices.filter { flags[$0] }
            for d in 0..<Swift.max(mask.rank, 1) {
                let coordinates = hits.map { mask.rank == 0 ? Int64(0) : Int64(($0 / strides[d]) % mask.shape[d]) }
                let t = Tensor(shape: [coordinates.count], int64: coordinates)
                entries.append((b.constant(t), t))
            }
        }
        guard entries.count <= shape.count else { throw c.fail("indices", "\(entries.count) indices for a tensor of rank \(shape.count)") }
        let axes = entries.indices.filter { entries[$0] != nil }
        guard !axes.isEmpty else { return x }
        var indexValues: [(B.Value, Int)] = []
        for axis in axes {
            let entry = entries[axis]!
            guard b.type(of: entry.value).dtype != .bool, !b.type(of: entry.value).dtype.isFloatingPoint else {
                throw c.fail("indices", "index tensors must be integer or bool; received \(b.type(of: entry.value).dtype)")
            }
            indexValues.append((try wrapped(c, b.cast(entry.value, to: .int64), size: shape[axis], known: entry.known), axis))
        }
        let contiguous = axes.last! - axes.first! + 1 == axes.count
        let order = contiguous ? Array(0..<shape.count) : axes + (0..<shape.count).filter { !axes.contains($0) }
        let moved = contiguous ? x : try b.permute(x, order)
        let movedShape = order.map { shape[$0] }
        let first = contiguous ? axes.first! : 0
        let block = axes.map { shape[$0] }
        let blockStrides = Shape.strides(block)
        let flat = try linear(c, zip(indexValues, blockStrides).map { ($0.0.0, $0.1) })
        let folded = Array(movedShape[..<first]) + [Shape.count(block)] + Array(movedShape[(first + block.count)...])
        return try b.apply(Gather(axis: first), [b.reshape(moved, folded), flat])
    }

    /// `torch.gather(x, axis, index)`.
    static func gather<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, axis: Int, index: B.Value, known: Tensor?) throws -> B.Value {
        let b = c.b
        let shape = c.shape(x), indexShape = c.shape(index)
        guard indexShape.count == shape.count || (shape.isEmpty && indexShape.count <= 1) else {
            throw c.fail("index", "rank \(indexShape.count) differs from the input's \(shape.count)")
        }
        guard !b.type(of: index).dtype.isFloatingPoint else { throw c.fail("index", "expected an integer tensor") }
        for d in 0..<indexShape.count where d != axis && indexShape[d] > shape[d] {
            throw c.fail("index", "shape \(indexShape) exceeds the input's \(shape) on axis \(d)")
        }
        let strides = Shape.strides(shape)
        // The flat offset of every index position apart from the gathered axis.
        var offsets = [Int64](repeating: 0, count: Shape.count(indexShape))
        let indexStrides = Shape.strides(indexShape)
        for i in offsets.indices {
            var rest = i, offset = 0
            for d in 0..<indexShape.count {
                let coordinate = rest / indexStrides[d]
                rest %= indexStrides[d]
                if d != axis { offset += coordinate * strides[d] }
            }
            offsets[i] = Int64(offset)
        }
        let size = shape.isEmpty ? 1 : shape[axis], stride = shape.isEmpty ? 1 : strides[axis]
        let flatIndex: B.Value
        if let known, let values = known.integers {
            let positions = try zip(values, offsets).map { v, o -> Int64 in
                guard v >= 0, v < Int64(size) else { throw c.fail("index", "value \(v) is out of range for size \(size)") }
                return v * Int64(stride) + o
            }
            flatIndex = b.constant(Tensor(shape: indexShape, int64: positions))
        } else {
            flatIndex = try linear(c, [(b.cast(index, to: .int64), stride), (b.constant(Tensor(shape: indexShape, int64: offsets)), 1)])
        }
        return try b.apply(Gather(axis: 0), [b.reshape(x, [Shape.count(shape)]), flatIndex])
    }

    /// `x` with `values` written (or added) at the flat `positions` (int64).
    static func scatterReduce<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        let b = c.b
        let x = try c.tensor("self")
        let axis = try c.dim(c.int("dim"), rank: c.rank(x))
        let reduce = try c.string("reduce")
        let includeSelf = try c.bool("include_self", default: true)
        guard ["sum", "mean", "prod", "amax", "amin"].contains(reduce) else {
            throw c.fail("reduce", "'\(reduce)' is not sum, mean, prod, amax or amin")
        }
        let positions = try gather(c, iota(c, c.shape(x)), axis: axis, index: c.tensor("index"), known: c.knownTensor("index"))
        let shape = c.shape(x), n = Shape.count(shape), m = Shape.count(c.shape(positions))
        let dtype = b.type(of: x).dtype
        let compute: DType = dtype.isFloatingPoint ? dtype : .float64
        let src = try b.cast(b.slice(c.tensor("src"), c.shape(positions).map { SliceAxis(start: 0, end: $0) }), to: compute)
        let flatSrc = try b.reshape(src, [m]), flatPositions = try b.reshape(positions, [m])
        let flatX = try b.cast(b.reshape(x, [n]), to: compute)
        let counts = try b.apply(ScatterAdd(axis: 0, shape: [n]), [b.broadcast(b.scalar(1, like: flatSrc), to: [m]), flatPositions])
        let hit = try b.binary(.greater, counts, b.scalar(0, like: counts))
        let out: B.Value
        switch reduce {
        case "sum", "mean":
            let added = try b.apply(ScatterAdd(axis: 0, shape: [n]), [flatSrc, flatPositions])
            var total = includeSelf ? try b.add(flatX, added) : added
            if reduce == "mean" {
                let count = includeSelf ? try b.add(counts, b.scalar(1, like: counts)) : try b.binary(.maximum, counts, b.scalar(1, like: counts))
                total = try b.divide(total, count)
                if !dtype.isFloatingPoint { total = try b.apply(Math(.floor), [total]) }
            }
            out = includeSelf ? total : try b.apply(Select(), [hit, total, flatX])
        default:
            try c.checkCount([n, m + 1], "index")
            let fill: Double = reduce == "prod" ? 1 : reduce == "amax" ? -.infinity : .infinity
            let rows = b.constant(Tensor(shape: [n, 1], values: (0..<n).map(Double.init)).cast(to: .float64))
            let member = try b.cast(b.binary(.equal, rows, b.reshape(b.cast(flatPositions, to: .float64), [1, m])), to: compute)
            var block = try b.apply(Select(), [member, b.broadcast(b.reshape(flatSrc, [1, m]), to: [n, m]), b.scalar(fill, like: flatSrc)])
            if includeSelf { block = try b.concat([b.reshape(flatX, [n, 1]), block], axis: 1) }
            let reduced = reduce == "prod" ? try b.apply(Product(axes: [1]), [block])
                : try b.reduce(reduce == "amax" ? .max : .min, block, axes: [1], ties: .split)
            out = includeSelf ? reduced : try b.apply(Select(), [hit, reduced, flatX])
        }
        return try b.cast(b.reshape(out, shape), to: dtype)
    }

    static func write<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, positions: B.Value, values: B.Value, accumulate: Bool) throws -> B.Value {
        let b = c.b
        let shape = c.shape(x), n = Shape.count(shape)
        let dtype = b.type(of: x).dtype
        let compute: DType = dtype.isFloatingPoint ? dtype : .float64
        let spread = try b.reshape(b.broadcast(b.cast(values, to: compute), to: c.shape(positions)), [Shape.count(c.shape(positions))])
        let flatPositions = try b.reshape(positions, [Shape.count(c.shape(positions))])
        let flatX = try b.cast(b.reshape(x, [n]), to: compute)
        if let eager = positions as? EagerTensor, !accumulate {
            return try b.cast(Aliasing.overwrite(b.reshape(x, shape), at: eager.tensor, with: b.reshape(spread, c.shape(positions)), on: b), to: dtype)
        }
        let added = try b.apply(ScatterAdd(axis: 0, shape: [n]), [spread, flatPositions])
        let out: B.Value
        if accumulate {
            out = try b.add(flatX, added)
        } else {
            let ones = try b.broadcast(b.scalar(1, like: spread), to: c.shape(spread))
            let hit = try b.binary(.greater, b.apply(ScatterAdd(axis: 0, shape: [n]), [ones, flatPositions]), b.scalar(0, like: spread))
            out = try b.apply(Select(), [hit, added, flatX])
        }
        return try b.cast(b.reshape(out, shape), to: dtype)
    }
}
