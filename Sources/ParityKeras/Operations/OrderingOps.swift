/// The index of the largest (or smallest) element along an axis, as int64 (`tf.argmax`: the first of
/// equal extrema; a NaN counts as the extremum, as NumPy). Not differentiable.
public struct ArgExtremum: Op {
    public var axis: Int
    public var largest: Bool
    public init(axis: Int, largest: Bool) {
        self.axis = axis
        self.largest = largest
    }

    public var name: String { largest ? "argmax" : "argmin" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 1)
        let shape = inputs[0].shape
        let axis = try Shape.axis(self.axis, rank: shape.count, op: name)
        guard shape[axis] > 0 else { throw TensorError.invalidArgument(op: name, message: "axis \(axis) is empty") }
        var out = shape
        out.remove(at: axis)
        return TensorType(.int64, out)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let axis = try Shape.axis(self.axis, rank: x.rank, op: name)
        let values = x.doubles
        let (outer, size, inner) = axisSplit(x.shape, axis)
        var result = [Int64](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0, bestValue = values[o * size * inner + i]
                for k in 1..<size where !bestValue.isNaN {
                    let v = values[(o * size + k) * inner + i]
                    if v.isNaN || (largest ? v > bestValue : v < bestValue) { (best, bestValue) = (k, v) }
                }
                result[o * inner + i] = Int64(best)
            }
        }
        var shape = x.shape
        shape.remove(at: axis)
        return Tensor(shape: shape, int64: result)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] { [nil] }
}

/// The permutation that sorts each line along `axis` (ascending, or descending), as int64 indices;
/// stable: equal elements keep their order (`np.argsort(kind="stable")`, `tf.argsort(stable=True)`,
/// `tf.math.top_k`'s lower-index-first). NaNs sort last. Not differentiable (the sorted values are a
/// gather with these indices, which is).
public struct SortIndices: Op {
    public var axis: Int
    public var descending: Bool
    public init(axis: Int, descending: Bool) {
        self.axis = axis
        self.descending = descending
    }

    public var name: String { descending ? "argsort descending" : "argsort" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 1)
        _ = try Shape.axis(axis, rank: inputs[0].shape.count, op: name)
        return TensorType(.int64, inputs[0].shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let axis = try Shape.axis(self.axis, rank: x.rank, op: name)
        let values = x.doubles
        let (outer, size, inner) = axisSplit(x.shape, axis)
        var result = [Int64](repeating: 0, count: x.count)
        for o in 0..<outer {
            for i in 0..<inner {
                let line = (0..<size).map { values[(o * size + $0) * inner + i] }
                let order = (0..<size).sorted { a, c in
                    let (u, v) = (line[a], line[c])
                    if u.isNaN || v.isNaN { return u.isNaN == v.isNaN ? a < c : v.isNaN }
                    if u == v { return a < c }
                    return descending ? u > v : u < v
                }
                for (k, index) in order.enumerated() { result[(o * size + k) * inner + i] = Int64(index) }
            }
        }
        return Tensor(shape: x.shape, int64: result)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] { [nil] }
}

/// Running sum or product along `axis` (`tf.math.cumsum`, `tf.math.cumprod`, in order from the start,
/// one rounding per step). VJP: the reversed running sum of the cotangent (for a product, of `g·y`,
/// divided by `x`: exact except where `x` is 0).
public struct Cumulative: Op {
    public var axis: Int
    public var product: Bool
    public var reverse: Bool
    public init(axis: Int, product: Bool, reverse: Bool = false) {
        self.axis = axis
        self.product = product
        self.reverse = reverse
    }

    public var name: String { product ? "cumprod" : "cumsum" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 1)
        _ = try sameFloat(inputs)
        _ = try Shape.axis(axis, rank: inputs[0].shape.count, op: name)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let axis = try Shape.axis(self.axis, rank: x.rank, op: name)
        let (outer, size, inner) = axisSplit(x.shape, axis)
        func run<T: FloatElement>(_ v: [T]) -> [T] {
            var out = v
            for o in 0..<outer {
                for i in 0..<inner {
                    var acc: T = product ? 1 : 0
                    for step in 0..<size {
                        let k = reverse ? size - 1 - step : step
                        let index = (o * size + k) * inner + i
                        acc = product ? acc * v[index] : acc + v[index]
                        out[index] = acc
                    }
                }
            }
            return out
        }
        switch x.storage {
        case .float32(let v): return Tensor(shape: x.shape, values: run(v))
        case .float64(let v): return Tensor(shape: x.shape, values: run(v))
        default: throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output y: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let back = Cumulative(axis: axis, product: false, reverse: !reverse)
        if !product { return [try b.apply(back, [g])] }
        return [try b.divide(b.apply(back, [b.multiply(g, y)]), inputs[0])]
    }
}

/// The product over axes (`tf.reduce_prod`, sequential). VJP: `g·prod / x` (exact except where an
/// element is 0).
public struct ReduceProduct: Op {
    public var axes: [Int]
    public var keepDims: Bool
    public init(axes: [Int], keepDims: Bool) {
        self.axes = axes
        self.keepDims = keepDims
    }

    public var name: String { "reduce prod" }

    func resolved(_ rank: Int) throws -> [Int] {
        try Set((axes.isEmpty ? Array(0..<rank) : axes).map { try Shape.axis($0, rank: rank, op: name) }).sorted()
    }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 1)
        let dtype = try sameFloat(inputs)
        let shape = inputs[0].shape
        let reduced = try resolved(shape.count)
        return TensorType(dtype, shape.enumerated().compactMap { reduced.contains($0.offset) ? (keepDims ? 1 : nil) : $0.element })
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let reduced = try resolved(x.rank)
        let kept = (0..<x.rank).filter { !reduced.contains($0) }
        // Move the reduced axes last, then multiply each row.
        let moved = try x.permuted(kept + reduced)
        let rowLength = Shape.count(reduced.map { x.shape[$0] })
        let outShape = try outputType([TensorType(of: x)]).shape
        func run<T: FloatElement>(_ v: [T]) -> [T] {
            stride(from: 0, to: v.count, by: max(rowLength, 1)).map { start in v[start..<(start + rowLength)].reduce(T(1), *) }
        }
        switch moved.storage {
        case .float32(let v): return Tensor(shape: outShape, values: rowLength == 0 ? [Float](repeating: 1, count: Shape.count(outShape)) : run(v))
        case .float64(let v): return Tensor(shape: outShape, values: rowLength == 0 ? [Double](repeating: 1, count: Shape.count(outShape)) : run(v))
        default: throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let x = inputs[0]
        let shape = b.shape(of: x)
        let reduced = try resolved(shape.count)
        let kept = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let spread = try b.broadcast(b.reshape(b.multiply(g, output), kept), to: shape)
        return [try b.divide(spread, x)]
    }
}

/// `(outer, size, inner)`: the element counts before, along and after `axis`.
func axisSplit(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
    (Shape.count(Array(shape[..<axis])), shape[axis], Shape.count(Array(shape[(axis + 1)...])))
}
