/// Reinterprets the elements under a new shape (one `-1` is inferred). VJP: reshape back.
public struct Reshape: Op {
    /// The result's shape.
    public var shape: [Int]
    /// The op; the parameters are the properties of the same names.
    public init(shape: [Int]) { self.shape = shape }

    public var name: String { "reshape" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let count = Shape.count(inputs[0].shape)
        var out = shape
        if let unknown = out.firstIndex(of: -1) {
            let known = Shape.count(out.enumerated().filter { $0.offset != unknown }.map(\.element))
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: name, expected: "a shape with \(count) elements, got \(shape)", received: [inputs[0].shape])
            }
            out[unknown] = count / known
        }
        guard Shape.count(out) == count, out.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch(op: name, expected: "a shape with \(count) elements, got \(shape)", received: [inputs[0].shape])
        }
        return TensorType(inputs[0].dtype, out)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].reshaped(outputType([TensorType(of: inputs[0])]).shape)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.reshape(cotangent, b.shape(of: inputs[0]))]
    }
}

/// Reorders axes (`torch.permute`; result axis `i` is input axis `order[i]`). VJP: the inverse
/// permutation.
public struct Permute: Op {
    /// Result axis `i` is input axis `order[i]`.
    public var order: [Int]
    /// The op; the parameters are the properties of the same names.
    public init(order: [Int]) { self.order = order }

    public var name: String { "permute" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard order.sorted() == Array(0..<inputs[0].shape.count) else {
            throw TensorError.invalidArgument(op: name, message: "\(order) is not a permutation of the axes of \(inputs[0].shape)")
        }
        return TensorType(inputs[0].dtype, order.map { inputs[0].shape[$0] })
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].permuted(order) }

    /// The order that undoes this one: `inverse[order[i]] = i`.
    var inverse: [Int] {
        var inverse = order
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return inverse
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.permute(cotangent, inverse)]
    }
}

/// Broadcasts to a shape (`torch.expand`). VJP: ``SumToShape``.
public struct BroadcastTo: Op {
    /// The result's shape.
    public var shape: [Int]
    /// The op; the parameters are the properties of the same names.
    public init(shape: [Int]) { self.shape = shape }

    public var name: String { "broadcast" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard try Shape.broadcast(inputs[0].shape, shape, op: name) == shape else {
            throw TensorError.shapeMismatch(op: name, expected: "a shape that broadcasts to \(shape)", received: [inputs[0].shape])
        }
        return TensorType(inputs[0].dtype, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].broadcast(to: shape) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.sum(cotangent, toShape: b.shape(of: inputs[0]))]
    }
}

/// Sums over the axes broadcasting would add or stretch to reach the input's shape from `shape`.
/// VJP: ``BroadcastTo``.
public struct SumToShape: Op {
    /// The result's shape.
    public var shape: [Int]
    /// The op; the parameters are the properties of the same names.
    public init(shape: [Int]) { self.shape = shape }

    public var name: String { "sum to shape" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard try Shape.broadcast(inputs[0].shape, shape, op: name) == inputs[0].shape else {
            throw TensorError.shapeMismatch(op: name, expected: "a shape that broadcasts to the input's", received: [inputs[0].shape, shape])
        }
        return TensorType(inputs[0].dtype, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].sum(toShape: shape) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.broadcast(cotangent, to: b.shape(of: inputs[0]))]
    }
}

/// Joins its inputs along an axis (`torch.cat`). VJP: a slice per input.
public struct Concat: Op {
    /// The axis joined along (`Concat`) or indexed (`Gather`, `ScatterAdd`).
    public var axis: Int
    /// The op; the parameters are the properties of the same names.
    public init(axis: Int) { self.axis = axis }

    public var name: String { "concat" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        guard let first = inputs.first else { throw TensorError.invalidArgument(op: name, message: "needs at least one input") }
        let axis = try Shape.axis(self.axis, rank: first.shape.count, op: name)
        var out = first.shape
        for input in inputs.dropFirst() {
            guard input.dtype == first.dtype else { throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype)) }
            var (a, b) = (input.shape, first.shape)
            guard a.count == b.count else { throw TensorError.shapeMismatch(op: name, expected: "equal ranks", received: inputs.map(\.shape)) }
            a[axis] = 0; b[axis] = 0
            guard a == b else { throw TensorError.shapeMismatch(op: name, expected: "equal shapes except axis \(axis)", received: inputs.map(\.shape)) }
            out[axis] += input.shape[axis]
        }
        return TensorType(first.dtype, out)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try Tensor.concatenate(inputs, axis: axis) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        try b.split(cotangent, sizes: inputs.map { b.shape(of: $0)[try Shape.axis(axis, rank: b.shape(of: $0).count, op: name)] }, axis: axis)
    }
}

/// Python-style basic slicing (start, end, step per axis). VJP: ``EmbedSlice``.
public struct Slice: Op {
    /// One slice per leading axis.
    public var axes: [SliceAxis]
    /// The op; the parameters are the properties of the same names.
    public init(axes: [SliceAxis]) { self.axes = axes }

    public var name: String { "slice" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let shape = inputs[0].shape
        guard axes.count <= shape.count else {
            throw TensorError.invalidArgument(op: name, message: "\(axes.count) slice axes for shape \(shape)")
        }
        let full = axes + Array(repeating: .all, count: shape.count - axes.count)
        return TensorType(inputs[0].dtype, try zip(full, shape).map { try $0.resolve(size: $1).count })
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].sliced(axes) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.apply(EmbedSlice(shape: b.shape(of: inputs[0]), axes: axes), [cotangent])]
    }
}

/// Places its input at a slice's positions in zeros of `shape`: the adjoint of ``Slice``.
public struct EmbedSlice: Op {
    /// The result's shape.
    public var shape: [Int]
    /// One slice per leading axis.
    public var axes: [SliceAxis]
    /// The op; the parameters are the properties of the same names.
    public init(shape: [Int], axes: [SliceAxis]) {
        self.shape = shape
        self.axes = axes
    }

    public var name: String { "embed slice" }
    public var acceptsComplex: Bool { true }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let sliced = try Slice(axes: axes).outputType([TensorType(inputs[0].dtype, shape)])
        guard sliced.shape == inputs[0].shape else {
            throw TensorError.shapeMismatch(op: name, expected: "the slice's shape \(sliced.shape)", received: [inputs[0].shape])
        }
        return TensorType(inputs[0].dtype, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].embedded(in: shape, at: axes) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.slice(cotangent, axes)]
    }
}

/// Constant padding, amounts before and after each axis. VJP: the slice that removes the padding.
public struct Pad: Op {
    /// The amount added before each axis.
    public var before: [Int]
    /// The amount added after each axis.
    public var after: [Int]
    /// The padding value.
    public var value: Double

    /// The op; the parameters are the properties of the same names.
    public init(before: [Int], after: [Int], value: Double = 0) {
        self.before = before
        self.after = after
        self.value = value
    }

    public var name: String { "pad" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let shape = inputs[0].shape
        guard before.count == shape.count, after.count == shape.count, (before + after).allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: name, message: "needs \(shape.count) non-negative amounts before and after; received \(before) and \(after)")
        }
        return TensorType(inputs[0].dtype, (0..<shape.count).map { shape[$0] + before[$0] + after[$0] })
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].padded(before: before, after: after, value: value) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let shape = b.shape(of: inputs[0])
        return [try b.slice(cotangent, (0..<shape.count).map { SliceAxis(start: before[$0], end: before[$0] + shape[$0]) })]
    }
}

/// Takes slices along `axis` at int64 `indices` (`tf.gather`, `torch.index_select`). Inputs:
/// `(x, indices)`. VJP: ``ScatterAdd`` into x's shape; indices get none.
public struct Gather: Op {
    /// The axis joined along (`Concat`) or indexed (`Gather`, `ScatterAdd`).
    public var axis: Int
    /// The op; the parameters are the properties of the same names.
    public init(axis: Int) { self.axis = axis }

    public var name: String { "gather" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        guard inputs[1].dtype == .int64 else { throw TensorError.unsupportedDType(op: "\(name) indices", dtype: inputs[1].dtype) }
        let shape = inputs[0].shape
        let axis = try Shape.axis(self.axis, rank: shape.count, op: name)
        return TensorType(inputs[0].dtype, Array(shape[..<axis]) + inputs[1].shape + Array(shape[(axis + 1)...]))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].gathering(inputs[1], axis: axis) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.apply(ScatterAdd(axis: axis, shape: b.shape(of: inputs[0])), [cotangent, inputs[1]]), nil]
    }
}

/// Adds slices of its first input into zeros of `shape` at int64 `indices` along `axis`: the adjoint
/// of ``Gather``. VJP: ``Gather``.
public struct ScatterAdd: Op {
    /// The axis joined along (`Concat`) or indexed (`Gather`, `ScatterAdd`).
    public var axis: Int
    /// The result's shape.
    public var shape: [Int]
    /// The op; the parameters are the properties of the same names.
    public init(axis: Int, shape: [Int]) {
        self.axis = axis
        self.shape = shape
    }

    public var name: String { "scatter add" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        let gathered = try Gather(axis: axis).outputType([TensorType(inputs[0].dtype, shape), inputs[1]])
        guard gathered.shape == inputs[0].shape else {
            throw TensorError.shapeMismatch(op: name, expected: "the gather's shape \(gathered.shape)", received: [inputs[0].shape])
        }
        return TensorType(inputs[0].dtype, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor { try inputs[0].scatterAdding(inputs[1], axis: axis, shape: shape) }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.apply(Gather(axis: axis), [cotangent, inputs[1]]), nil]
    }
}

/// A fixed rearrangement by a precomputed index map over the trailing axes (see
/// `Tensor.remapped(_:innerShape:batchRank:fill:)`): convolution patches, pooling windows, nearest
/// upsampling. VJP: ``RemapAdjoint`` (a scatter-add with the same map).
public struct Remap: Op {
    /// For each position of the remapped trailing axes, the source position (negative: the fill).
    public var indices: [Int]
    /// The trailing shape of the result.
    public var innerShape: [Int]
    /// The number of leading axes the map does not touch.
    public var batchRank: Int
    /// The value of positions with no source.
    public var fill: Double
    /// A short name for errors and traces ("conv patches", "pool windows").
    public var label: String

    /// The op; the parameters are the properties of the same names.
    public init(indices: [Int], innerShape: [Int], batchRank: Int, fill: Double = 0, label: String = "remap") {
        self.indices = indices
        self.innerShape = innerShape
        self.batchRank = batchRank
        self.fill = fill
        self.label = label
    }

    public var name: String { label }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let shape = inputs[0].shape
        guard batchRank <= shape.count else {
            throw TensorError.shapeMismatch(op: name, expected: "at least \(batchRank) batch axes", received: [shape])
        }
        return TensorType(inputs[0].dtype, Array(shape[..<batchRank]) + innerShape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].remapped(indices, innerShape: innerShape, batchRank: batchRank, fill: fill)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let shape = b.shape(of: inputs[0])
        return [try b.apply(RemapAdjoint(indices: indices, innerShape: Array(shape[batchRank...]), batchRank: batchRank, label: label), [cotangent])]
    }
}

/// Scatter-adds through an index map: the adjoint of ``Remap``. VJP: ``Remap``.
public struct RemapAdjoint: Op {
    /// For each position of the remapped trailing axes, the source position (negative: the fill).
    public var indices: [Int]
    /// The trailing shape of the result (the remap's input).
    public var innerShape: [Int]
    /// The number of leading axes the map does not touch.
    public var batchRank: Int
    /// A short name for errors and traces.
    public var label: String

    /// The op; the parameters are the properties of the same names.
    public init(indices: [Int], innerShape: [Int], batchRank: Int, label: String = "remap") {
        self.indices = indices
        self.innerShape = innerShape
        self.batchRank = batchRank
        self.label = label
    }

    public var name: String { "\(label) adjoint" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let shape = inputs[0].shape
        guard batchRank <= shape.count, Shape.count(Array(shape[batchRank...])) == indices.count else {
            throw TensorError.shapeMismatch(op: name, expected: "\(indices.count) elements after \(batchRank) batch axes", received: [shape])
        }
        return TensorType(inputs[0].dtype, Array(shape[..<batchRank]) + innerShape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].remappedAdjoint(indices, innerShape: innerShape, batchRank: batchRank)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        let shape = b.shape(of: inputs[0])
        return [try b.apply(Remap(indices: indices, innerShape: Array(shape[batchRank...]), batchRank: batchRank, label: label), [cotangent])]
    }
}
