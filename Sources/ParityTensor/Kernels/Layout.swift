import CParityKernels
import ComplexModule
import RealModule
/// One axis of a slice, Python-style: `start..<end` by `step` (negative steps walk backwards).
/// Missing bounds and negative indices resolve as `slice.indices(size)` does in Python.
public struct SliceAxis: Sendable, Hashable, CustomStringConvertible {
    /// The first index (`nil`: the start in the direction of `step`; negative counts from the end).
    public var start: Int?
    /// The index to stop before (`nil`: the end in the direction of `step`; negative counts from the end).
    public var end: Int?
    /// The stride; non-zero.
    public var step: Int

    /// `start:end:step` as Python writes it.
    public init(start: Int? = nil, end: Int? = nil, step: Int = 1) {
        self.start = start
        self.end = end
        self.step = step
    }

    /// The whole axis (`:`).
    public static let all = SliceAxis()

    /// The first index and the number of elements taken from an axis of `size`.
    public func resolve(size: Int) throws -> (first: Int, count: Int) {
        guard step != 0 else { throw TensorError.invalidArgument(op: "slice", message: "step must not be 0") }
        func clamp(_ value: Int?, _ fallback: Int, _ low: Int, _ high: Int) -> Int {
            guard var v = value else { return fallback }
            if v < 0 { v += size }
            return Swift.min(Swift.max(v, low), high)
        }
        if step > 0 {
            let first = clamp(start, 0, 0, size), last = clamp(end, size, 0, size)
            return (first, Swift.max(0, (last - first + step - 1) / step))
        }
        let first = clamp(start, size - 1, -1, size - 1), last = clamp(end, -1, -1, size - 1)
        return (first, Swift.max(0, (first - last - step - 1) / -step))
    }

    public var description: String { "\(start.map(String.init) ?? ""):\(end.map(String.init) ?? ""):\(step)" }
}

extension Tensor.Storage {
    /// A new storage whose element `i` is element `indices[i]` of this one, or `fill` where the index
    /// is negative.
    func picking(_ indices: [Int], fill: Double = 0) -> Tensor.Storage {
        func pick<T>(_ v: [T], _ fill: T) -> [T] { indices.map { $0 >= 0 ? v[$0] : fill } }
        switch self {
        case .float32(let v): return .float32(pick(v, Float(fill)))
        case .float64(let v): return .float64(pick(v, fill))
        case .int64(let v): return .int64(pick(v, Int64(fill)))
        case .int32(let v): return .int32(pick(v, Int32(fill)))
        case .bool(let v): return .bool(pick(v, fill != 0))
        case .float16(let v): return .float16(pick(v, HalfPrecision.float16Bits(from: Float(fill))))
        case .bfloat16(let v): return .bfloat16(pick(v, HalfPrecision.bfloat16Bits(from: Float(fill))))
        case .complex64(let v): return .complex64(pick(v, Complex(Float(fill), 0)))
        case .complex128(let v): return .complex128(pick(v, Complex(fill, 0)))
        }
    }
}

extension Tensor {
    /// The tensor of `shape` whose elements are this one's at `indices` (negative: `fill`).
    /// A tensor read in place from a file (an embedding table) is read from its mapping.
    func picking(_ indices: [Int], shape: [Int], fill: Double = 0) -> Tensor {
        if isMapped {
            func pick<T: FloatElement>(_: T.Type) -> Tensor? {
                withUnsafeElements(as: T.self) { v in Tensor(shape: shape, values: indices.map { $0 >= 0 ? v[$0] : T(fill) }) }
            }
            if let picked = pick(Float.self) ?? pick(Double.self) { return picked }
        }
        return Tensor(shape: shape, storage: storage.picking(indices, fill: fill))
    }

    /// The adjoint of ``picking(_:shape:fill:)``: a zero tensor of `shape` to which element `i` of
    /// this tensor is added at `indices[i]` (skipped where negative), in index order.
    func scatterAdding(_ indices: [Int], shape: [Int]) throws -> Tensor {
        func run<T: FloatElement>(_ v: [T]) -> [T] {
            var out = [T](repeating: 0, count: Shape.count(shape))
            for (i, target) in indices.enumerated() where target >= 0 { out[target] += v[i] }
            return out
        }
        switch storage {
        case .float32(let v): return Tensor(shape: shape, storage: .float32(run(v)))
        case .float64(let v): return Tensor(shape: shape, storage: .float64(run(v)))
        default: throw TensorError.unsupportedDType(op: "scatterAdd", dtype: dtype)
        }
    }

    /// Walks every output coordinate in row-major order and returns the source index each one reads.
    static func indexMap(_ outShape: [Int], source: ([Int]) -> Int) -> [Int] {
        let count = Shape.count(outShape)
        var map = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: outShape.count)
        for i in 0..<count {
            map[i] = source(index)
            var axis = outShape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < outShape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return map
    }

    // MARK: Permutations

    /// Reorders the axes: result axis `i` is this tensor's axis `order[i]` (`torch.permute`,
    /// `np.transpose(x, axes)`).
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.sorted() == Array(0..<rank) else {
            throw TensorError.invalidArgument(op: "permute", message: "\(order) is not a permutation of the \(rank) axes of \(shape)")
        }
        if order == Array(0..<rank) { return self }
        let strides = Shape.strides(shape)
        let outShape = order.map { shape[$0] }
        return Tensor(shape: outShape, storage: rearranged(StridedCopy(shape: outShape, strides: order.map { strides[$0] })))
    }

    /// Swaps the last two axes (a matrix transpose, batched).
    public func transposedMatrix() throws -> Tensor {
        guard rank >= 2 else { return self }
        var order = Array(0..<rank)
        order.swapAt(rank - 1, rank - 2)
        return try permuted(order)
    }

    // MARK: Broadcasting

    /// Repeats size-1 (or missing leading) axes to reach `target` (`torch.expand`, `tf.broadcast_to`).
    public func broadcast(to target: [Int]) throws -> Tensor {
        if target == shape { return self }
        guard try Shape.broadcast(shape, target, op: "broadcastTo") == target else {
            throw TensorError.shapeMismatch(op: "broadcastTo", expected: "a shape that broadcasts to \(target)", received: [shape])
        }
        let strides = Shape.broadcastStrides(shape, to: target)
        return Tensor(shape: target, storage: rearranged(StridedCopy(shape: target, strides: strides)))
    }

    // MARK: Slicing and padding

    /// Python-style basic slicing, one ``SliceAxis`` per leading axis (missing trailing axes are taken
    /// whole).
    public func sliced(_ axes: [SliceAxis]) throws -> Tensor {
        guard axes.count <= rank else {
            throw TensorError.invalidArgument(op: "slice", message: "\(axes.count) slice axes for a tensor of rank \(rank)")
        }
        let full = axes + Array(repeating: .all, count: rank - axes.count)
        let resolved = try zip(full, shape).map { try $0.resolve(size: $1) }
        let strides = Shape.strides(shape)
        let outShape = resolved.map(\.count)
        if Shape.count(outShape) == 0 { return Tensor(shape: outShape, storage: rearranged(StridedCopy(shape: outShape, strides: strides))) }
        let offset = (0..<rank).reduce(0) { $0 + resolved[$1].first * strides[$1] }
        let steps = (0..<rank).map { full[$0].step * strides[$0] }
        return Tensor(shape: outShape, storage: rearranged(StridedCopy(shape: outShape, strides: steps, offset: offset)))
    }

    /// The adjoint of slicing: `self` placed at the slice's positions in zeros of `fullShape`.
    public func embedded(in fullShape: [Int], at axes: [SliceAxis]) throws -> Tensor {
        if dtype.isComplex, axes.count <= fullShape.count {
            // The parts embedded side by side (a sum of one term: the same numbers).
            let pairAxes = axes + Array(repeating: SliceAxis.all, count: fullShape.count - axes.count + 1)
            return try realPairs().embedded(in: fullShape + [2], at: pairAxes).complexFromPairs()
        }
        let (indices, outShape) = try Tensor.sliceIndices(shape: fullShape, axes: axes)
        guard outShape == shape else {
            throw TensorError.shapeMismatch(op: "embedSlice", expected: "the slice's shape \(outShape)", received: [shape])
        }
        return try scatterAdding(indices, shape: fullShape)
    }

    /// The flat source index of every element of a slice of a tensor of `shape`, and the slice's shape.
    static func sliceIndices(shape: [Int], axes: [SliceAxis]) throws -> ([Int], [Int]) {
        let rank = shape.count
        guard axes.count <= rank else {
            throw TensorError.invalidArgument(op: "slice", message: "\(axes.count) slice axes for a tensor of rank \(rank)")
        }
        let full = axes + Array(repeating: .all, count: rank - axes.count)
        let resolved = try zip(full, shape).map { try $0.resolve(size: $1) }
        let outShape = resolved.map(\.count)
        let strides = Shape.strides(shape)
        let indices = Tensor.indexMap(outShape) { index in
            var offset = 0
            for axis in 0..<index.count { offset += (resolved[axis].first + index[axis] * full[axis].step) * strides[axis] }
            return offset
        }
        return (indices, outShape)
    }

    /// Pads each axis with `before[i]` and `after[i]` cells of `value` (`np.pad` constant mode;
    /// `torch.nn.functional.pad` lists the same amounts last axis first).
    public func padded(before: [Int], after: [Int], value: Double = 0) throws -> Tensor {
        guard before.count == rank, after.count == rank, (before + after).allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "pad", message: "needs \(rank) non-negative amounts before and after; received \(before) and \(after)")
        }
        let outShape = (0..<rank).map { shape[$0] + before[$0] + after[$0] }
        if let rows = paddedByRuns(outShape, before: before, value: value) { return rows }
        let strides = Shape.strides(shape)
        let indices = Tensor.indexMap(outShape) { index in
            var offset = 0
            for axis in 0..<index.count {
                let source = index[axis] - before[axis]
                if source < 0 || source >= shape[axis] { return -1 }
                offset += source * strides[axis]
            }
            return offset
        }
        return picking(indices, shape: outShape, fill: value)
    }

    /// Float padding as the fill then one copy per contiguous run of the source (the trailing axes
    /// without padding merge into the run): the same elements as the index map, without one.
    private func paddedByRuns(_ outShape: [Int], before: [Int], value: Double) -> Tensor? {
        func run<T: FloatElement>(_ x: [T]) -> [T] {
            let fill = Tensor(repeating: value, shape: [], dtype: dtype).values(T.self)![0]
            var out = [T](repeating: fill, count: Shape.count(outShape))
            guard !x.isEmpty else { return out }
            // Axes k..< rank form one contiguous run in source and output when none after k is padded.
            var k = rank - 1
            while k > 0 && outShape[k] == shape[k] { k -= 1 }
            let runLength = shape[k...].reduce(1, *)
            let outStrides = Shape.strides(outShape)
            let runs = x.count / runLength
            var index = [Int](repeating: 0, count: k)
            x.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<runs {
                        var offset = before[k] * outStrides[k]
                        for axis in 0..<k { offset += (index[axis] + before[axis]) * outStrides[axis] }
                        (dst.baseAddress! + offset).update(from: src.baseAddress! + r * runLength, count: runLength)
                        Shape.advance(&index, within: shape)
                    }
                }
            }
            return out
        }
        guard rank > 0 else { return nil }
        switch storage {
        case .float32(let x): return Tensor(shape: outShape, values: run(x))
        case .float64(let x): return Tensor(shape: outShape, values: run(x))
        default: return nil
        }
    }

    // MARK: Joining and gathering

    /// Joins tensors along `axis`; all other axes must agree (`torch.cat`, `tf.concat`).
    public static func concatenate(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else { throw TensorError.invalidArgument(op: "concat", message: "needs at least one tensor") }
        let axis = try Shape.axis(axis, rank: first.rank, op: "concat")
        for part in parts {
            guard part.dtype == first.dtype else { throw TensorError.dtypeMismatch(op: "concat", received: parts.map(\.dtype)) }
            var (a, b) = (part.shape, first.shape)
            guard a.count == b.count else { throw TensorError.shapeMismatch(op: "concat", expected: "equal ranks", received: parts.map(\.shape)) }
            a[axis] = 0; b[axis] = 0
            guard a == b else { throw TensorError.shapeMismatch(op: "concat", expected: "equal shapes except axis \(axis)", received: parts.map(\.shape)) }
        }
        let outer = Shape.count(Array(first.shape[..<axis])), inner = Shape.count(Array(first.shape[(axis + 1)...]))
        func join<T>(_ arrays: [[T]]) -> [T] {
            var out = [T]()
            out.reserveCapacity(arrays.reduce(0) { $0 + $1.count })
            for o in 0..<outer {
                for (array, part) in zip(arrays, parts) {
                    let chunk = part.shape[axis] * inner
                    out.append(contentsOf: array[(o * chunk)..<((o + 1) * chunk)])
                }
            }
            return out
        }
        var outShape = first.shape
        outShape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        switch first.storage {
        case .float32: return Tensor(shape: outShape, storage: .float32(join(parts.map { $0.values(Float.self)! })))
        case .float64: return Tensor(shape: outShape, storage: .float64(join(parts.map { $0.values(Double.self)! })))
        case .int64: return Tensor(shape: outShape, storage: .int64(join(parts.map { $0.int64s! })))
        case .int32: return Tensor(shape: outShape, storage: .int32(join(parts.map { if case .int32(let v) = $0.storage { v } else { [] } })))
        case .bool: return Tensor(shape: outShape, storage: .bool(join(parts.map { $0.bools! })))
        case .float16: return Tensor(shape: outShape, storage: .float16(join(parts.map { if case .float16(let v) = $0.storage { v } else { [] } })))
        case .bfloat16: return Tensor(shape: outShape, storage: .bfloat16(join(parts.map { if case .bfloat16(let v) = $0.storage { v } else { [] } })))
        case .complex64: return Tensor(shape: outShape, storage: .complex64(join(parts.map { $0.complexValues(Float.self)! })))
        case .complex128: return Tensor(shape: outShape, storage: .complex128(join(parts.map { $0.complexValues(Double.self)! })))
        }
    }

    /// Splits along `axis` into pieces of the given sizes (`torch.split` with a list of sizes).
    public func split(sizes: [Int], axis: Int) throws -> [Tensor] {
        let axis = try Shape.axis(axis, rank: rank, op: "split")
        guard sizes.reduce(0, +) == shape[axis], sizes.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "split", message: "sizes \(sizes) do not add up to \(shape[axis]) along axis \(axis)")
        }
        var start = 0
        return try sizes.map { size in
            var axes = Array(repeating: SliceAxis.all, count: axis)
            axes.append(SliceAxis(start: start, end: start + size))
            start += size
            return try sliced(axes)
        }
    }

    /// Takes slices along `axis` at `indices` (int64): `torch.index_select` generalised to index
    /// tensors of any shape, as `tf.gather` and `np.take` do. Out-of-range indices are an error.
    public func gathering(_ indices: Tensor, axis: Int) throws -> Tensor {
        let (map, outShape) = try gatherIndices(indices, axis: axis)
        return picking(map, shape: outShape)
    }

    /// The adjoint of ``gathering(_:axis:)``: this tensor's slices added into zeros of `shape` at
    /// `indices` (repeated indices accumulate, in index order).
    public func scatterAdding(_ indices: Tensor, axis: Int, shape target: [Int]) throws -> Tensor {
        let (map, outShape) = try Tensor.zeros(target).gatherIndices(indices, axis: axis)
        guard outShape == shape else {
            throw TensorError.shapeMismatch(op: "scatterAdd", expected: "the gather's shape \(outShape)", received: [shape])
        }
        return try scatterAdding(map, shape: target)
    }

    func gatherIndices(_ indices: Tensor, axis: Int) throws -> ([Int], [Int]) {
        let axis = try Shape.axis(axis, rank: rank, op: "gather")
        guard let positions = indices.int64s else {
            throw TensorError.unsupportedDType(op: "gather indices", dtype: indices.dtype)
        }
        let size = shape[axis]
        if let bad = positions.first(where: { $0 < 0 || $0 >= size }) {
            throw TensorError.invalidArgument(op: "gather", message: "index \(bad) is out of range for axis \(axis) of size \(size)")
        }
        let outer = Shape.count(Array(shape[..<axis])), inner = Shape.count(Array(shape[(axis + 1)...]))
        var map = [Int]()
        map.reserveCapacity(outer * positions.count * inner)
        for o in 0..<outer {
            for p in positions {
                let base = (o * size + Int(p)) * inner
                for j in 0..<inner { map.append(base + j) }
            }
        }
        return (map, Array(shape[..<axis]) + indices.shape + Array(shape[(axis + 1)...]))
    }
}

// MARK: Precomputed index maps

extension Tensor {
    /// `result[b…, j] = self[b…, indices[j]]` (or `fill` where `indices[j] < 0`), the same map applied to
    /// every index of the leading `batchRank` axes. One primitive for every fixed rearrangement whose
    /// map does not depend on the data: convolution patches (im2col), pooling windows, nearest
    /// upsampling, flips, padding with a constant.
    public func remapped(_ indices: [Int], innerShape: [Int], batchRank: Int, fill: Double = 0) throws -> Tensor {
        guard batchRank >= 0, batchRank <= rank else {
            throw TensorError.invalidArgument(op: "remap", message: "batch rank \(batchRank) for a tensor of rank \(rank)")
        }
        let batch = Array(shape[..<batchRank])
        let innerCount = Shape.count(Array(shape[batchRank...]))
        guard indices.count == Shape.count(innerShape), indices.allSatisfy({ $0 < innerCount }) else {
            throw TensorError.invalidArgument(op: "remap", message: "index map of \(indices.count) entries for inner shape \(innerShape) reading \(innerCount) elements")
        }
        let outer = Shape.count(batch), n = indices.count
        // Float32/Float64: each batch slice gathered through `indices` directly (checked above to
        // stay inside the slice), in parallel over slices; no full index map.
        func gather<T>(_ v: [T], _ fill: T) -> [T] {
            [T](unsafeUninitializedCapacity: outer * n) { out, initialized in
                v.withUnsafeBufferPointer { src in
                    indices.withUnsafeBufferPointer { idx in
                        let (s, o, ix) = (src.baseAddress!, out.baseAddress!, idx.baseAddress!)
                        parallelChunks(outer, chunk: Swift.max(1, elementwiseChunk / n)) { slices in
                            for b in slices {
                                let (from, to) = (s + b * innerCount, o + b * n)
                                for i in 0..<n {
                                    let j = ix[i]
                                    to[i] = j >= 0 ? from[j] : fill
                                }
                            }
                        }
                    }
                }
                initialized = outer * n
            }
        }
        if outer * n > 0 && innerCount > 0 {
            switch storage {
            case .float32(let v): return Tensor(shape: batch + innerShape, storage: .float32(gather(v, Float(fill))))
            case .float64(let v): return Tensor(shape: batch + innerShape, storage: .float64(gather(v, fill)))
            default: break
            }
        }
        var map = [Int]()
        map.reserveCapacity(outer * n)
        for o in 0..<outer {
            let base = o * innerCount
            for i in indices { map.append(i >= 0 ? base + i : -1) }
        }
        return picking(map, shape: batch + innerShape, fill: fill)
    }

    /// The maximum over axis `windowAxis` of `remapped(indices, innerShape: patchShape, batchRank:
    /// batchRank, fill: −∞)`, without the patches: `reduce(.max, axes: [batchRank + windowAxis])` of
    /// them bit for bit (the window's cells in order, the first of equal maxima, the canonical NaN once
    /// any cell is NaN). Max pooling's forward (`parity_window_max_*`).
    ///
    /// `grouped` (channels-last pooling): `indices` has one entry per (position, window cell), and
    /// the patch element (position, cell, j) of the trailing axes reads `index·inner + j`, where
    /// `inner` is the count of the axes after the window's: ``Self/groupedWindowIndices(_:inner:)``
    /// of the map, without it.
    public func windowMaximum(_ indices: [Int], patchShape: [Int], windowAxis: Int, batchRank: Int, grouped: Bool = false) throws -> Tensor {
        let op = "window maximum"
        guard batchRank >= 0, batchRank <= rank, windowAxis >= 0, windowAxis < patchShape.count else {
            throw TensorError.invalidArgument(op: op, message: "batch rank \(batchRank), window axis \(windowAxis) for a tensor of rank \(rank) and patches \(patchShape)")
        }
        let batch = Array(shape[..<batchRank])
        let sliceSize = Shape.count(Array(shape[batchRank...]))
        let inner = Shape.count(Array(patchShape[(windowAxis + 1)...]))
        let entries = grouped ? Shape.count(Array(patchShape[...windowAxis])) : Shape.count(patchShape)
        let limit = grouped ? (inner > 0 && sliceSize % inner == 0 ? sliceSize / inner : 0) : sliceSize
        guard indices.count == entries, indices.allSatisfy({ $0 < limit }) else {
            throw TensorError.invalidArgument(op: op, message: "index map of \(indices.count) entries\(grouped ? " (grouped)" : "") for patches \(patchShape) reading \(sliceSize) elements")
        }
        var outShape = patchShape
        outShape.remove(at: windowAxis)
        let positions = Shape.count(Array(patchShape[..<windowAxis])), window = patchShape[windowAxis]
        let slices = Shape.count(batch)
        let count = slices * positions * inner
        guard window > 0, count > 0, dtype == .float32 || dtype == .float64 else {
            let map = grouped ? Self.groupedWindowIndices(indices, inner: inner) : indices
            return try remapped(map, innerShape: patchShape, batchRank: batchRank, fill: -.infinity).reduce(.max, axes: [batchRank + windowAxis])
        }
        func run<T: FloatElement>(_ x: [T], _ call: (UnsafePointer<Int>, UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void) -> [T] {
            [T](unsafeUninitializedCapacity: count) { out, initialized in
                indices.withUnsafeBufferPointer { ip in x.withUnsafeBufferPointer { xp in call(ip.baseAddress!, xp.baseAddress!, out.baseAddress!) } }
                initialized = count
            }
        }
        switch storage {
        case .float32(let x):
            return Tensor(shape: batch + outShape, storage: .float32(run(x) { parity_window_max_f32(slices, sliceSize, positions, window, inner, grouped ? 1 : 0, $0, $1, $2) }))
        case .float64(let x):
            return Tensor(shape: batch + outShape, storage: .float64(run(x) { parity_window_max_f64(slices, sliceSize, positions, window, inner, grouped ? 1 : 0, $0, $1, $2) }))
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }

    /// A grouped window map (one index per (position, cell)) expanded to one per patch element:
    /// `index·inner + j` for each of the `inner` trailing elements j (−1 stays −1).
    public static func groupedWindowIndices(_ indices: [Int], inner: Int) -> [Int] {
        indices.flatMap { i in (0..<inner).map { i >= 0 ? i * inner + $0 : -1 } }
    }

    /// The adjoint of ``remapped(_:innerShape:batchRank:fill:)``: each element of this tensor is added
    /// to position `indices[j]` of a zero tensor whose trailing axes are `innerShape`.
    public func remappedAdjoint(_ indices: [Int], innerShape: [Int], batchRank: Int) throws -> Tensor {
        let batch = Array(shape[..<min(batchRank, rank)])
        let innerCount = Shape.count(innerShape)
        guard Shape.count(Array(shape[batch.count...])) == indices.count else {
            throw TensorError.invalidArgument(op: "remap adjoint", message: "index map of \(indices.count) entries for shape \(shape)")
        }
        var map = [Int]()
        map.reserveCapacity(count)
        for o in 0..<Shape.count(batch) {
            let base = o * innerCount
            for i in indices { map.append(i >= 0 ? base + i : -1) }
        }
        return try scatterAdding(map, shape: batch + innerShape)
    }
}
