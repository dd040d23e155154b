import ParityNN

/// View and layout operators. Values are always dense (a view is a copy with the same elements; an
/// in-place write through a view reaches its base through ``Aliasing``), so `view`, `reshape`,
/// `flatten`, `unflatten`, `squeeze` and `unsqueeze` are one reshape; `slice` and `narrow` clamp their
/// bounds as Python does; `split` (chunks of `split_size`, the last smaller), `chunk` (⌈n/chunks⌉ per
/// chunk, so possibly fewer chunks) and `unbind` are slices; `roll` is two slices joined; `flip`,
/// `repeat`, `tile`, `diagonal`, `unfold` and the pixel and channel shuffles are fixed rearrangements;
/// `tril` / `triu` select with a constant mask; `meshgrid` broadcasts each 0-D or 1-D input along its
/// own axis (`ij`), the first two axes swapped for `xy`; `as_strided(size, stride, storage_offset)` reads
/// its input as the contiguous storage a functional graph gives it (element `offset + Σ iₖ·strideₖ` of
/// the row-major values); `resize_(size)` keeps the first elements of that storage (zeros beyond it).
enum ShapeOps: ATenFamily {
    static let targets: Set<String> = ["aten.resize.default",
        "aten.view.default", "aten.reshape.default", "aten.flatten.using_ints", "aten.permute.default", "aten.transpose.int",
        "aten.unsqueeze.default", "aten.squeeze.default", "aten.squeeze.dim", "aten.expand.default", "aten.cat.default",
        "aten.stack.default", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int", "aten.slice.Tensor",
        "aten.select.int", "aten.unflatten.int", "aten.split.Tensor", "aten.split.sizes", "aten.view_as.default",
        "aten.reshape_as.default", "aten.expand_as.default", "aten.swapaxes.default", "aten.swapdims.default", "aten.movedim.int",
        "aten.narrow.default", "aten.squeeze.dims", "aten._unsafe_view.default", "aten.roll.default", "aten.flip.default",
        "aten.repeat.default", "aten.tile.default", "aten.tril.default", "aten.triu.default", "aten.diagonal.default",
        "aten.unfold.default", "aten.pixel_shuffle.default", "aten.pixel_unshuffle.default", "aten.channel_shuffle.default",
        "aten.native_channel_shuffle.default", "aten.repeat_interleave.self_int", "aten.atleast_1d.default",
        "aten.tensor_split.sections", "aten.tensor_split.indices", "aten.hsplit.int", "aten.vsplit.int",
        "aten.meshgrid.default", "aten.meshgrid.indexing", "aten.as_strided.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten.resize.default":
            // `resize_(size)` on the contiguous storage: the first elements in row-major order; new ones
            // (a larger size) are uninitialised in PyTorch and zeros here.
            let x = try c.tensor("self")
            let size = try c.size("size"), n = Shape.count(c.shape(x)), m = Shape.count(size)
            let flat = try b.reshape(x, [n])
            let kept = m <= n ? try b.slice(flat, [SliceAxis(start: 0, end: m)])
                : try b.concat([flat, b.constant(Tensor.zeros([m - n], dtype: b.type(of: x).dtype))], axis: 0)
            return [try b.reshape(kept, size)]
        case "aten.meshgrid.default", "aten.meshgrid.indexing":
            let inputs = try c.tensors("tensors")
            if let bad = inputs.first(where: { c.rank($0) > 1 }) {
                throw c.fail("tensors", "expected 0-D or 1-D tensors; received one of shape \(c.shape(bad))")
            }
            let indexing = try c.string("indexing", default: "ij")
            guard indexing == "ij" || indexing == "xy" else { throw c.fail("indexing", "expected 'ij' or 'xy'; received '\(indexing)'") }
            let sizes = inputs.map { Shape.count(c.shape($0)) }
            let swap = indexing == "xy" && inputs.count >= 2
            var grid = sizes
            if swap { grid.swapAt(0, 1) }
            return try inputs.enumerated().map { i, t in
                let axis = swap && i < 2 ? 1 - i : i
                var along = Array(repeating: 1, count: grid.count)
                along[axis] = sizes[i]
                return try b.broadcast(b.reshape(t, along), to: grid)
            }
        case "aten.view.default", "aten.reshape.default", "aten._unsafe_view.default":
            return [try b.reshape(c.tensor("self"), c.size(c.target == "aten.reshape.default" ? "shape" : "size", inferable: true))]
        case "aten.view_as.default", "aten.reshape_as.default":
            return [try b.reshape(c.tensor("self"), c.shape(c.tensor("other")))]
        case "aten.expand_as.default":
            let x = try c.tensor("self"), target = c.shape(try c.tensor("other"))
            return [try b.broadcast(b.reshape(x, Array(repeating: 1, count: Swift.max(target.count - c.rank(x), 0)) + c.shape(x)), to: target)]
        case "aten.unflatten.int":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let axis = try c.dim(c.int("dim"), rank: shape.count)
            var sizes = try c.ints("sizes")
            if let unknown = sizes.firstIndex(of: -1) {
                let known = sizes.enumerated().filter { $0.offset != unknown }.reduce(1) { $0 * $1.element }
                guard known > 0, shape[axis] % known == 0 else { throw c.fail("sizes", "\(sizes) do not divide \(shape[axis])") }
                sizes[unknown] = shape[axis] / known
            }
            guard sizes.reduce(1, *) == shape[axis] else { throw c.fail("sizes", "\(sizes) do not multiply to \(shape[axis])") }
            return [try b.reshape(x, Array(shape[..<axis]) + sizes + Array(shape[(axis + 1)...]))]
        case "aten.swapaxes.default", "aten.swapdims.default":
            let x = try c.tensor("self")
            let rank = c.rank(x)
            if rank == 0 { return [x] }
            let (a, d) = c.target == "aten.swapaxes.default" ? ("axis0", "axis1") : ("dim0", "dim1")
            var order = Array(0..<rank)
            order.swapAt(try c.dim(c.int(a), rank: rank), try c.dim(c.int(d), rank: rank))
            return [try b.permute(x, order)]
        case "aten.movedim.int":
            let x = try c.tensor("self")
            let rank = c.rank(x)
            let source = try c.dim(c.int("source"), rank: rank), destination = try c.dim(c.int("destination"), rank: rank)
            var order = Array(0..<rank).filter { $0 != source }
            order.insert(source, at: destination)
            return [try b.permute(x, order)]
        case "aten.narrow.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let axis = try c.dim(c.int("dim"), rank: shape.count)
            var start = try c.int("start")
            if start < 0 { start += shape[axis] }
            let length = try c.int("length")
            guard start >= 0, length >= 0, start + length <= shape[axis] else { throw c.fail("length", "narrow(\(start), \(length)) exceeds size \(shape[axis])") }
            return [try b.slice(x, Array(repeating: .all, count: axis) + [SliceAxis(start: start, end: start + length)])]
        case "aten.squeeze.dims":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let drop = Set(try c.ints("dim").map { try c.dim($0, rank: shape.count) }.filter { !shape.isEmpty && shape[$0] == 1 })
            return [try b.reshape(x, shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))]
        case "aten.split.Tensor":
            let x = try c.tensor("self")
            let axis = try c.dim(c.int("dim", default: 0), rank: c.rank(x))
            let size = try c.int("split_size")
            guard size >= 1 else { throw c.fail("split_size", "must be positive; received \(size)") }
            let n = c.shape(x)[axis]
            let sizes = n == 0 ? [0] : stride(from: 0, to: n, by: size).map { Swift.min(size, n - $0) }
            return try b.split(x, sizes: sizes, axis: axis)
        case "aten.split.sizes":
            let x = try c.tensor("self")
            return try b.split(x, sizes: c.ints("split_size"), axis: c.dim(c.int("dim", default: 0), rank: c.rank(x)))
        case "aten.tensor_split.sections", "aten.tensor_split.indices", "aten.hsplit.int", "aten.vsplit.int":
            let x = try c.tensor("self")
            let rank = c.rank(x)
            var axis = c.target == "aten.vsplit.int" ? 0 : (c.target == "aten.hsplit.int" ? (rank == 1 ? 0 : 1) : try c.dim(c.int("dim", default: 0), rank: rank))
            axis = Swift.min(axis, Swift.max(rank - 1, 0))
            let n = c.shape(x)[axis]
            var bounds: [Int]
            if c.target == "aten.tensor_split.indices" {
                bounds = try c.ints("indices").map { Swift.min(Swift.max($0 < 0 ? $0 + n : $0, 0), n) }
            } else {
                let sections = try c.int(c.target == "aten.tensor_split.sections" ? "sections" : "sections")
                guard sections >= 1 else { throw c.fail("sections", "must be positive; received \(sections)") }
                let (q, r) = (n / sections, n % sections)
                bounds = (1..<sections).map { $0 * q + Swift.min($0, r) }
            }
            var sizes: [Int] = []
            var previous = 0
            for bound in bounds + [n] {
                let end = Swift.max(bound, previous)
                sizes.append(end - previous)
                previous = end
            }
            return try b.split(x, sizes: sizes, axis: axis)
        case "aten.roll.default":
            var x = try c.tensor("self")
            let original = c.shape(x)
            var shifts = try c.ints("shifts"), dims = try c.ints("dims", default: [])
            if dims.isEmpty {
                x = try b.reshape(x, [Shape.count(original)])
                dims = [0]
                guard shifts.count == 1 else { throw c.fail("shifts", "\(shifts) needs dims") }
            }
            guard shifts.count == dims.count else { throw c.fail("shifts", "\(shifts) and dims \(dims) differ in length") }
            for (shift, d) in zip(shifts, dims) {
                let axis = try c.dim(d, rank: c.rank(x))
                let n = c.shape(x)[axis]
                guard n > 0 else { continue }
                let k = ((shift % n) + n) % n
                if k == 0 { continue }
                let prefix = Array(repeating: SliceAxis.all, count: axis)
                x = try b.concat([b.slice(x, prefix + [SliceAxis(start: n - k, end: n)]), b.slice(x, prefix + [SliceAxis(start: 0, end: n - k)])], axis: axis)
            }
            shifts = []
            return [try b.reshape(x, original)]
        case "aten.flip.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let dims = Set(try c.ints("dims").map { try c.dim($0, rank: shape.count) })
            guard !dims.isEmpty, !shape.isEmpty else { return [x] }
            return [try rearrange(c, x) { index in index.enumerated().map { dims.contains($0.offset) ? shape[$0.offset] - 1 - $0.element : $0.element } }]
        case "aten.repeat.default", "aten.tile.default":
            let x = try c.tensor("self")
            var repeats = try c.ints(c.target == "aten.tile.default" ? "dims" : "repeats")
            var shape = c.shape(x)
            if c.target == "aten.tile.default", repeats.count < shape.count { repeats = Array(repeating: 1, count: shape.count - repeats.count) + repeats }
            guard repeats.count >= shape.count, repeats.allSatisfy({ $0 >= 0 }) else { throw c.fail("repeats", "\(repeats) for a tensor of shape \(shape)") }
            shape = Array(repeating: 1, count: repeats.count - shape.count) + shape
            try c.checkCount(zip(repeats, shape).map(*), "repeats")
            let interleaved = zip(repeats, shape).flatMap { [1, $1] }
            let expanded = zip(repeats, shape).flatMap { [$0, $1] }
            return [try b.reshape(b.broadcast(b.reshape(x, interleaved), to: expanded), zip(repeats, shape).map(*))]
        case "aten.repeat_interleave.self_int":
            let x = try c.tensor("self")
            let repeats = try c.int("repeats")
            guard repeats >= 0 else { throw c.fail("repeats", "must be non-negative; received \(repeats)") }
            var shape = c.shape(x)
            guard let d = try c.optionalInt("dim") else {
                let flat = try b.reshape(x, [Shape.count(shape), 1])
                return [try b.reshape(b.broadcast(flat, to: [Shape.count(shape), repeats]), [Shape.count(shape) * repeats])]
            }
            let axis = try c.dim(d, rank: shape.count)
            var inserted = shape
            inserted.insert(1, at: axis + 1)
            var expanded = shape
            expanded.insert(repeats, at: axis + 1)
            shape[axis] *= repeats
            return [try b.reshape(b.broadcast(b.reshape(x, inserted), to: expanded), shape)]
        case "aten.tril.default", "aten.triu.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            guard shape.count >= 2 else { throw c.fail("self", "expected at least 2 dimensions; received \(shape)") }
            let diagonal = try c.int("diagonal", default: 0)
            let (rows, cols) = (shape[shape.count - 2], shape[shape.count - 1])
            let lower = c.target == "aten.tril.default"
            let keep = (0..<rows).flatMap { i in (0..<cols).map { j in (lower ? j - i <= diagonal : j - i >= diagonal) } }
            let mask = b.constant(Tensor(shape: [rows, cols], bools: keep))
            let zero = b.constant(Tensor(repeating: 0, shape: [], dtype: b.type(of: x).dtype))
            return [try where_(c, mask, x, zero)]
        case "aten.diagonal.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let offset = try c.int("offset", default: 0)
            let d1 = try c.dim(c.int("dim1", default: 0), rank: shape.count), d2 = try c.dim(c.int("dim2", default: 1), rank: shape.count)
            guard d1 != d2 else { throw c.fail("dim2", "dim1 and dim2 are both \(d1)") }
            let length = Swift.max(0, offset >= 0 ? Swift.min(shape[d1], shape[d2] - offset) : Swift.min(shape[d1] + offset, shape[d2]))
            let rest = (0..<shape.count).filter { $0 != d1 && $0 != d2 }
            let moved = try b.permute(x, rest + [d1, d2])
            let restCount = Shape.count(rest.map { shape[$0] })
            let flat = try b.reshape(moved, [restCount, shape[d1] * shape[d2]])
            let indices = (0..<length).map { k in offset >= 0 ? k * shape[d2] + k + offset : (k - offset) * shape[d2] + k }
            let picked = try b.apply(Remap(indices: indices, innerShape: [length], batchRank: 1, label: "diagonal"), [flat])
            return [try b.reshape(picked, rest.map { shape[$0] } + [length])]
        case "aten.as_strided.default":
            let x = try c.tensor("self")
            let size = try c.size("size"), stride = try c.ints("stride"), offset = try c.optionalInt("storage_offset") ?? 0
            guard stride.count == size.count, offset >= 0 else { throw c.fail("stride", "\(stride) (offset \(offset)) does not fit size \(size)") }
            let n = Shape.count(c.shape(x)), strides = Shape.strides(size)
            var positions: [Int64] = []
            positions.reserveCapacity(Shape.count(size))
            for i in 0..<Shape.count(size) {
                var rest = i, position = offset
                for d in 0..<size.count {
                    position += rest / strides[d] * stride[d]
                    rest %= strides[d]
                }
                guard position >= 0, position < n else { throw c.fail("size", "element \(position) is outside the input's \(n) elements") }
                positions.append(Int64(position))
            }
            let picked = try b.apply(Gather(axis: 0), [b.reshape(x, [n]), b.constant(Tensor(shape: [positions.count], int64: positions))])
            return [try b.reshape(picked, size)]
        case "aten.unfold.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let axis = try c.dim(c.int("dimension"), rank: shape.count)
            let size = try c.int("size"), step = try c.int("step")
            guard size >= 0, step >= 1, size <= Swift.max(shape.isEmpty ? 1 : shape[axis], 0) else { throw c.fail("size", "unfold(\(size), \(step)) of \(shape)") }
            let n = shape.isEmpty ? 1 : shape[axis]
            let windows = (n - size) / step + 1
            var out = shape
            if out.isEmpty { out = [windows, size] } else { out[axis] = windows; out.append(size) }
            return [try rearrange(c, x, outShape: out) { index in
                var source = Array(index.dropLast())
                if source.isEmpty { return [] }
                source[axis] = index[axis] * step + index.last!
                return source
            }]
        case "aten.pixel_shuffle.default", "aten.pixel_unshuffle.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let r = try c.int(c.target == "aten.pixel_shuffle.default" ? "upscale_factor" : "downscale_factor")
            guard shape.count >= 3, r >= 1 else { throw c.fail("self", "expected (…, C, H, W) and a positive factor") }
            let lead = Array(shape.dropLast(3))
            let (ch, h, w) = (shape[shape.count - 3], shape[shape.count - 2], shape[shape.count - 1])
            let k = lead.count
            if c.target == "aten.pixel_shuffle.default" {
                guard ch % (r * r) == 0 else { throw c.fail("upscale_factor", "\(r)² does not divide \(ch) channels") }
                let split = try b.reshape(x, lead + [ch / (r * r), r, r, h, w])
                let moved = try b.permute(split, Array(0..<k) + [k, k + 3, k + 1, k + 4, k + 2])
                return [try b.reshape(moved, lead + [ch / (r * r), h * r, w * r])]
            }
            guard h % r == 0, w % r == 0 else { throw c.fail("downscale_factor", "\(r) does not divide \(h)×\(w)") }
            let split = try b.reshape(x, lead + [ch, h / r, r, w / r, r])
            let moved = try b.permute(split, Array(0..<k) + [k, k + 2, k + 4, k + 1, k + 3])
            return [try b.reshape(moved, lead + [ch * r * r, h / r, w / r])]
        case "aten.channel_shuffle.default", "aten.native_channel_shuffle.default":
            let x = try c.tensor("self")
            let shape = c.shape(x)
            let groups = try c.int("groups")
            guard shape.count >= 2, groups >= 1, shape[1] % groups == 0 else { throw c.fail("groups", "\(groups) for shape \(shape)") }
            let rest = Array(shape.dropFirst(2))
            let split = try b.reshape(x, [shape[0], groups, shape[1] / groups] + rest)
            return [try b.reshape(b.permute(split, [0, 2, 1] + Array(3..<(3 + rest.count))), shape)]
        case "aten.atleast_1d.default":
            let x = try c.tensor("self")
            return [c.rank(x) == 0 ? try b.reshape(x, [1]) : x]
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
            return [try b.slice(x, Array(repeating: .all, count: axis) + [c.sliceAxis(size: shape[axis])])]
        case "aten.select.int":
            let x = try c.tensor("self")
            var shape = c.shape(x)
            let axis = try c.dim(c.int("dim"), rank: shape.count)
            let index = try c.selectIndex(size: shape[axis])
            let sliced = try b.slice(x, Array(repeating: .all, count: axis) + [SliceAxis(start: index, end: index + 1)])
            shape.remove(at: axis)
            return [try b.reshape(sliced, shape)]
        default:
            throw c.unsupported("not in the shape table")
        }
    }

    /// `x` rearranged to `outShape` (default: its own): output element at `index` is `x[source(index)]`.
    static func rearrange<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, outShape: [Int]? = nil, source: ([Int]) -> [Int]) throws -> B.Value {
        let shape = c.shape(x)
        let out = outShape ?? shape
        try c.checkCount(out, "self")
        let strides = Shape.strides(shape)
        var map = [Int]()
        map.reserveCapacity(Shape.count(out))
        var index = [Int](repeating: 0, count: out.count)
        for _ in 0..<Shape.count(out) {
            map.append(zip(source(index), strides).reduce(0) { $0 + $1.0 * $1.1 })
            Shape.advance(&index, within: out)
        }
        return try c.b.apply(Remap(indices: map, innerShape: out, batchRank: 0, label: "rearrange"), [x])
    }

    /// `condition ? x : y` for tensors of any dtype (a float select over `x`'s dtype, or float64 for
    /// integers and bools).
    static func where_<B: Builder>(_ c: ATenCall<B>, _ condition: B.Value, _ x: B.Value, _ y: B.Value) throws -> B.Value {
        let dtype = c.b.type(of: x).dtype
        let compute: DType = dtype.isFloatingPoint ? dtype : .float64
        let out = try ArithmeticOps.select(c, condition, c.b.cast(x, to: compute), c.b.cast(y, to: compute))
        return try c.b.cast(out, to: dtype)
    }
}
