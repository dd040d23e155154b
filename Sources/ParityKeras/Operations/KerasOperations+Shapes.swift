import ParityNN

/// Shape and layout operations (`keras/src/ops/numpy.py`): reshaping, transposing, joining, splitting,
/// slicing (`GetItem`, `x[:, 0]`), padding, flips, rolls, tiles, triangles. Data-independent
/// rearrangements run as one engine ``Remap`` with a precomputed index map (VJP: its adjoint).
extension KerasOperations {
    static let shapes: [String: Factory] = {
        var table: [String: Factory] = [:]
        table["Reshape"] = { layer in ShapeOperation(op: "Reshape", kind: .reshape(try layer.ints("newshape"))) }
        table["Transpose"] = { layer in ShapeOperation(op: "Transpose", kind: .transpose(try layer.optionalAxes("axes"))) }
        table["ExpandDims"] = { layer in ShapeOperation(op: "ExpandDims", kind: .expandDims(try layer.axes())) }
        table["Squeeze"] = { layer in ShapeOperation(op: "Squeeze", kind: .squeeze(try layer.optionalAxes())) }
        table["BroadcastTo"] = { layer in ShapeOperation(op: "BroadcastTo", kind: .broadcastTo(try layer.ints("shape"))) }
        table["Moveaxis"] = { layer in ShapeOperation(op: "Moveaxis", kind: .moveaxis(try layer.axes("source"), try layer.axes("destination"))) }
        table["Swapaxes"] = { layer in ShapeOperation(op: "Swapaxes", kind: .swapaxes(try layer.int("axis1"), try layer.int("axis2"))) }
        table["Ravel"] = { _ in ShapeOperation(op: "Ravel", kind: .reshape([-1])) }
        table["Flip"] = { layer in ShapeOperation(op: "Flip", kind: .flip(try layer.optionalAxes())) }
        table["Fliplr"] = { _ in ShapeOperation(op: "Fliplr", kind: .flip([1])) }
        table["Flipud"] = { _ in ShapeOperation(op: "Flipud", kind: .flip([0])) }
        table["Roll"] = { layer in ShapeOperation(op: "Roll", kind: .roll(try layer.axes("shift"), try layer.optionalAxes())) }
        table["Tile"] = { layer in ShapeOperation(op: "Tile", kind: .tile(try layer.axes("repeats"))) }
        table["Repeat"] = { layer in
            ShapeOperation(op: "Repeat", kind: .repeatElements(try layer.axes("repeats"), axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil))
        }
        table["Tril"] = { layer in ShapeOperation(op: "Tril", kind: .triangle(lower: true, k: try layer.has("k") ? layer.int("k") : 0)) }
        table["Triu"] = { layer in ShapeOperation(op: "Triu", kind: .triangle(lower: false, k: try layer.has("k") ? layer.int("k") : 0)) }
        table["Diagonal"] = { layer in
            ShapeOperation(op: "Diagonal", kind: .diagonal(offset: try layer.has("offset") ? layer.int("offset") : 0,
                                                           axis1: try layer.has("axis1") ? layer.int("axis1") : 0, axis2: try layer.has("axis2") ? layer.int("axis2") : 1))
        }
        table["Trace"] = { layer in
            ShapeOperation(op: "Trace", kind: .trace(offset: try layer.has("offset") ? layer.int("offset") : 0,
                                                     axis1: try layer.has("axis1") ? layer.int("axis1") : 0, axis2: try layer.has("axis2") ? layer.int("axis2") : 1))
        }
        table["Pad"] = { layer in
            let mode = try layer.has("mode") ? layer.string("mode") : "constant"
            guard ["constant", "reflect", "symmetric"].contains(mode) else { throw KerasError.unsupportedSetting(layer: layer.name, key: "mode", value: mode) }
            return PadOperation(widths: try layer.value("pad_width"), mode: mode)
        }
        table["GetItem"] = { _ in GetItemOperation() }
        table["Concatenate"] = { layer in JoinOperation(op: "Concatenate", kind: .concatenate(axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil)) }
        table["Stack"] = { layer in JoinOperation(op: "Stack", kind: .stack(axis: try layer.has("axis") ? layer.int("axis") : 0)) }
        table["Hstack"] = { _ in JoinOperation(op: "Hstack", kind: .hstack) }
        table["Vstack"] = { _ in JoinOperation(op: "Vstack", kind: .vstack) }
        table["Dstack"] = { _ in JoinOperation(op: "Dstack", kind: .dstack) }
        table["Append"] = { layer in JoinOperation(op: "Append", kind: .append(axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil)) }
        for (className, axis) in [("Split", nil), ("ArraySplit", nil), ("Hsplit", 1), ("Vsplit", 0), ("Dsplit", 2)] as [(String, Int?)] {
            table[className] = { layer in
                let resolved = try axis ?? (layer.has("axis") ? layer.int("axis") : 0)
                return SplitOperation(op: className, sections: try layer.value("indices_or_sections"), axis: resolved, even: className != "ArraySplit")
            }
        }
        table["Unstack"] = { layer in SplitOperation(op: "Unstack", sections: .null, axis: try layer.has("axis") ? layer.int("axis") : 0, even: true) }
        return table
    }()
}

/// A reshape, transpose or fixed rearrangement of one tensor.
struct ShapeOperation: KerasCallable {
    enum Kind: Sendable {
        case reshape([Int])
        case transpose([Int]?)
        case expandDims([Int])
        case squeeze([Int]?)
        case broadcastTo([Int])
        case moveaxis([Int], [Int])
        case swapaxes(Int, Int)
        case flip([Int]?)
        case roll([Int], [Int]?)
        case tile([Int])
        case repeatElements([Int], axis: Int?)
        case triangle(lower: Bool, k: Int)
        case diagonal(offset: Int, axis1: Int, axis2: Int)
        case trace(offset: Int, axis1: Int, axis2: Int)
    }

    var op: String
    var kind: Kind

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let x = try o.value(0, "x")
        let shape = b.shape(of: x), rank = shape.count
        func axis(_ a: Int, _ r: Int = rank) throws -> Int { try Shape.axis(a, rank: r, op: op) }
        switch kind {
        case .reshape(let target): return [try b.reshape(x, target)]
        case .transpose(let axes): return [try b.permute(x, try axes?.map { try axis($0) } ?? Array((0..<rank).reversed()))]
        case .expandDims(let axes):
            let outRank = rank + axes.count
            let inserted = Set(try axes.map { try axis($0, outRank) })
            var out: [Int] = [], source = shape.makeIterator()
            for d in 0..<outRank { out.append(inserted.contains(d) ? 1 : source.next()!) }
            return [try b.reshape(x, out)]
        case .squeeze(let axes):
            let removed = try axes.map { try Set($0.map { try axis($0) }) } ?? Set(shape.indices.filter { shape[$0] == 1 })
            for d in removed where shape[d] != 1 { throw TensorError.invalidArgument(op: op, message: "cannot squeeze axis \(d) of size \(shape[d])") }
            return [try b.reshape(x, shape.indices.filter { !removed.contains($0) }.map { shape[$0] })]
        case .broadcastTo(let target): return [try b.broadcast(x, to: target)]
        case let .moveaxis(source, destination):
            let s = try source.map { try axis($0) }, d = try destination.map { try axis($0) }
            guard s.count == d.count else { throw TensorError.invalidArgument(op: op, message: "source \(source) and destination \(destination) differ in length") }
            var order = (0..<rank).filter { !s.contains($0) }
            for (dest, src) in zip(d, s).sorted(by: { $0.0 < $1.0 }) { order.insert(src, at: dest) }
            return [try b.permute(x, order)]
        case let .swapaxes(a1, a2):
            var order = Array(0..<rank)
            order.swapAt(try axis(a1), try axis(a2))
            return [try b.permute(x, order)]
        case .flip(let axes):
            let flipped = Set(try axes?.map { try axis($0) } ?? Array(0..<rank))
            return [try b.rearranged(x, to: shape) { c in c.enumerated().map { flipped.contains($0.offset) ? shape[$0.offset] - 1 - $0.element : $0.element } }]
        case let .roll(shifts, axes):
            guard let axes else {
                let n = Shape.count(shape), s = shifts[0]
                let flat = try b.rearranged(b.reshape(x, [n]), to: [n]) { c in [((c[0] - s) % max(n, 1) + n) % max(n, 1)] }
                return [try b.reshape(flat, shape)]
            }
            var shift = [Int](repeating: 0, count: rank)
            for (i, a) in axes.enumerated() { shift[try axis(a)] += shifts.count == 1 ? shifts[0] : shifts[i] }
            return [try b.rearranged(x, to: shape) { c in c.enumerated().map { d, v in shape[d] == 0 ? v : ((v - shift[d]) % shape[d] + shape[d]) % shape[d] } }]
        case .tile(var repeats):
            var v = x, vShape = shape
            if repeats.count < rank { repeats = Array(repeating: 1, count: rank - repeats.count) + repeats }
            if repeats.count > rank { vShape = Array(repeating: 1, count: repeats.count - rank) + shape; v = try b.reshape(x, vShape) }
            let out = zip(vShape, repeats).map { $0 * $1 }
            return [try b.rearranged(v, to: out) { c in c.enumerated().map { $0.element % vShape[$0.offset] } }]
        case let .repeatElements(repeats, axisArgument):
            var v = x
            if axisArgument == nil { v = try b.reshape(x, [-1]) }
            let vShape = b.shape(of: v)
            let a = try Shape.axis(axisArgument ?? 0, rank: vShape.count, op: op)
            let counts = repeats.count == 1 ? Array(repeating: repeats[0], count: vShape[a]) : repeats
            guard counts.count == vShape[a], counts.allSatisfy({ $0 >= 0 }) else {
                throw TensorError.invalidArgument(op: op, message: "repeats \(repeats) for an axis of size \(vShape[a])")
            }
            let sources = counts.enumerated().flatMap { Array(repeating: $0.offset, count: $0.element) }
            var out = vShape
            out[a] = sources.count
            return [try b.rearranged(v, to: out) { c in var s = c; s[a] = sources[c[a]]; return s }]
        case let .triangle(lower, k):
            guard rank >= 2 else { throw TensorError.invalidArgument(op: op, message: "needs rank ≥ 2; received \(shape)") }
            return [try b.rearranged(x, to: shape, fill: 0) { c in
                let (i, j) = (c[rank - 2], c[rank - 1])
                return (lower ? j - i <= k : j - i >= k) ? c : nil
            }]
        case let .diagonal(offset, axis1, axis2):
            return [try diagonal(x, offset: offset, axis1: axis(axis1), axis2: axis(axis2), b)]
        case let .trace(offset, axis1, axis2):
            return [try o.throughFloat64(diagonal(x, offset: offset, axis1: axis(axis1), axis2: axis(axis2), b)) { try b.reduce(.sum, $0, axes: [-1]) }]
        }
    }

    /// `np.diagonal`: the two axes removed, their diagonal (offset `k`) appended last.
    func diagonal<B: Builder>(_ x: B.Value, offset k: Int, axis1: Int, axis2: Int, _ b: B) throws -> B.Value {
        let shape = b.shape(of: x)
        let rest = (0..<shape.count).filter { $0 != axis1 && $0 != axis2 }
        let moved = try b.permute(x, rest + [axis1, axis2])
        let (rows, columns) = (shape[axis1], shape[axis2])
        let length = max(0, min(rows - max(-k, 0), columns - max(k, 0)))
        let out = rest.map { shape[$0] } + [length]
        return try b.rearranged(moved, to: out) { c in
            let i = c.last!
            return Array(c.dropLast()) + [i + max(-k, 0), i + max(k, 0)]
        }
    }
}

extension Builder {
    /// A data-independent rearrangement: the output element at coordinate `c` (of `outShape`) reads the
    /// input at `source(c)`, or is `fill` where `source` returns nil. One engine ``Remap``.
    func rearranged(_ x: Value, to outShape: [Int], fill: Double = 0, _ source: ([Int]) -> [Int]?) throws -> Value {
        let strides = Shape.strides(shape(of: x))
        var indices = [Int](repeating: 0, count: Shape.count(outShape))
        var c = [Int](repeating: 0, count: outShape.count)
        for i in indices.indices {
            indices[i] = source(c).map { zip($0, strides).reduce(0) { $0 + $1.0 * $1.1 } } ?? -1
            var d = outShape.count - 1
            while d >= 0 {
                c[d] += 1
                if c[d] < outShape[d] { break }
                c[d] = 0
                d -= 1
            }
        }
        return try apply(Remap(indices: indices, innerShape: outShape, batchRank: 0, fill: fill, label: "rearrange"), [x])
    }
}

/// `x[key]` (`GetItem`; NumPy basic indexing as `tf.Tensor.__getitem__` does it): ints select (and
/// drop) an axis, slices keep it (Python's start/stop/step), `None` inserts an axis, `...` fills the
/// axes the key does not name. (Keras cannot trace a tensor inside a key, so a saved key holds only these.)
struct GetItemOperation: KerasCallable {
    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "GetItem")
        let x = try o.value(0, "x")
        guard let key = o.argument(1, "key").flatMap({ KerasConstant.json(of: $0) }) else {
            throw KerasError.unsupportedOperation(name: context.layer, className: "GetItem", module: "keras.src.ops.numpy",
                                                  reason: "a key holding tensors (advanced indexing) is not supported")
        }
        let items = key.array ?? [key]
        let shape = b.shape(of: x)
        func isEllipsis(_ json: KerasJSON) -> Bool { json["class_name"]?.string == "__ellipsis__" }
        let consuming = items.filter { !$0.isNull && !isEllipsis($0) }.count
        guard consuming <= shape.count else { throw o.bad("GetItem key", "\(consuming) indices for a tensor of shape \(shape)") }
        var slices: [SliceAxis] = [], out: [Int] = []
        var axis = 0, sawEllipsis = false
        for item in items {
            if item.isNull {
                out.append(1)
            } else if isEllipsis(item) {
                guard !sawEllipsis else { throw o.bad("GetItem key", "two ellipses") }
                sawEllipsis = true
                for _ in 0..<(shape.count - consuming) {
                    slices.append(.all)
                    out.append(shape[axis])
                    axis += 1
                }
            } else if item["class_name"]?.string == "__slice__" {
                let inner = item["config"] ?? .null
                func bound(_ key: String) throws -> Int? {
                    guard let v = inner[key], !v.isNull else { return nil }
                    guard let i = v.int else { throw o.bad("GetItem slice \(key)", "\(v)") }
                    return i
                }
                let slice = SliceAxis(start: try bound("start"), end: try bound("stop"), step: try bound("step") ?? 1)
                slices.append(slice)
                out.append(try slice.resolve(size: shape[axis]).count)
                axis += 1
            } else if let i = item.int, item.bool == nil {
                let size = shape[axis]
                let index = i < 0 ? i + size : i
                guard index >= 0, index < size else { throw o.bad("GetItem key", "index \(i) for axis \(axis) of size \(size)") }
                slices.append(SliceAxis(start: index, end: index + 1))
                axis += 1
            } else {
                throw o.bad("GetItem key", "\(item)")
            }
        }
        while axis < shape.count {
            slices.append(.all)
            out.append(shape[axis])
            axis += 1
        }
        return [try b.reshape(b.slice(x, slices), out)]
    }
}

/// `pad(x, pad_width, mode, constant_values)`: `pad_width` one `(before, after)` for every axis, a
/// list of pairs, or one int; `reflect` / `symmetric` as `tf.pad`.
struct PadOperation: KerasCallable {
    var widths: KerasJSON
    var mode: String

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Pad")
        let x = try o.value(0, "x")
        let shape = b.shape(of: x), rank = shape.count
        guard let (wShape, w) = KerasConstant.nested(widths) else { throw o.bad("pad_width", "\(widths)") }
        let pairs: [(Int, Int)]
        switch wShape {
        case []: pairs = Array(repeating: (Int(w[0]), Int(w[0])), count: rank)
        case [1]: pairs = Array(repeating: (Int(w[0]), Int(w[0])), count: rank)
        case [2]: pairs = Array(repeating: (Int(w[0]), Int(w[1])), count: rank)
        case [1, 2]: pairs = Array(repeating: (Int(w[0]), Int(w[1])), count: rank)
        case [rank, 2]: pairs = (0..<rank).map { (Int(w[2 * $0]), Int(w[2 * $0 + 1])) }
        default: throw o.bad("pad_width", "\(widths) for a tensor of rank \(rank)")
        }
        guard pairs.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 }) else { throw o.bad("pad_width", "\(widths)") }
        if mode == "constant" {
            let value = o.constant(1, "constant_values")?.double ?? 0
            return [try b.apply(Pad(before: pairs.map(\.0), after: pairs.map(\.1), value: value), [x])]
        }
        let symmetric = mode == "symmetric"
        for (d, (before, after)) in pairs.enumerated() where max(before, after) > shape[d] - (symmetric ? 0 : 1) {
            throw TensorError.invalidArgument(op: "Pad", message: "\(mode) padding of \(max(before, after)) on axis \(d) of size \(shape[d])")
        }
        let out = (0..<rank).map { shape[$0] + pairs[$0].0 + pairs[$0].1 }
        return [try b.rearranged(x, to: out) { c in
            c.enumerated().map { d, v in
                let n = shape[d]
                let i = v - pairs[d].0
                if i < 0 { return symmetric ? -i - 1 : -i }
                if i >= n { return symmetric ? 2 * n - i - 1 : 2 * n - i - 2 }
                return i
            }
        }]
    }
}

/// `concatenate`, `stack`, `hstack`, `vstack`, `dstack`, `append`, with Keras's dtype promotion.
struct JoinOperation: KerasCallable {
    enum Kind: Sendable { case concatenate(axis: Int?), stack(axis: Int), hstack, vstack, dstack, append(axis: Int?) }
    var op: String
    var kind: Kind

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        var parts: [KerasArgument<B.Value>]
        if case .append = kind {
            parts = [o.argument(0, "x1"), o.argument(1, "x2")].compactMap { $0 }
        } else if case .list(let items)? = o.argument(0, "xs") ?? o.argument(0, "x") {
            parts = items
        } else {
            throw o.bad("\(op) argument xs", "not a list of tensors")
        }
        var (values, _) = try o.promoted(parts, names: parts.indices.map { "xs[\($0)]" })
        switch kind {
        case .concatenate(let axis):
            if axis == nil { values = try values.map { try b.reshape($0, [-1]) } }
            return [try b.concat(values, axis: axis ?? 0)]
        case .append(let axis):
            if axis == nil { values = try values.map { try b.reshape($0, [-1]) } }
            return [try b.concat(values, axis: axis ?? 0)]
        case .stack(let axis):
            let shape = b.shape(of: values[0])
            let a = try Shape.axis(axis, rank: shape.count + 1, op: op)
            var expanded = shape
            expanded.insert(1, at: a)
            return [try b.concat(values.map { try b.reshape($0, expanded) }, axis: a)]
        case .hstack:
            return [try b.concat(values, axis: b.shape(of: values[0]).count == 1 ? 0 : 1)]
        case .vstack:
            return [try b.concat(values.map { b.shape(of: $0).count < 2 ? try b.reshape($0, [1, -1]) : $0 }, axis: 0)]
        case .dstack:
            return [try b.concat(values.map { v in
                let s = b.shape(of: v)
                switch s.count {
                case 0: return try b.reshape(v, [1, 1, 1])
                case 1: return try b.reshape(v, [1, s[0], 1])
                case 2: return try b.reshape(v, s + [1])
                default: return v
                }
            }, axis: 2)]
        }
    }
}

/// `split` (equal sections or split points), `array_split` (sizes differing by at most one), the
/// `h/v/dsplit` forms, and `unstack` (one output per element along the axis, the axis removed).
struct SplitOperation: KerasCallable {
    var op: String
    /// An int (number of sections) or a list of split points; null for `unstack`.
    var sections: KerasJSON
    var axis: Int
    /// `split` requires equal sections; `array_split` does not.
    var even: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let x = try o.value(0, "x")
        let shape = b.shape(of: x)
        let a = try o.axis(axis, of: x), total = shape[a]
        if sections.isNull {
            var reduced = shape
            reduced.remove(at: a)
            return try b.split(x, sizes: Array(repeating: 1, count: total), axis: a).map { try b.reshape($0, reduced) }
        }
        let sizes: [Int]
        if let n = sections.int {
            guard n >= 1, !even || total % n == 0 else { throw TensorError.invalidArgument(op: op, message: "\(n) equal sections of an axis of size \(total)") }
            let base = total / n, extra = total % n
            sizes = (0..<n).map { base + ($0 < extra ? 1 : 0) }
        } else if let points = sections.array?.compactMap(\.int) {
            let bounds = [0] + points.map { min(max($0 < 0 ? $0 + total : $0, 0), total) } + [total]
            sizes = zip(bounds, bounds.dropFirst()).map { max($1 - $0, 0) }
        } else {
            throw o.bad("indices_or_sections", "\(sections)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try b.slice(x, Array(repeating: .all, count: a) + [SliceAxis(start: start, end: start + size)])
        }
    }
}
