/// The product over axes (`tf.reduce_prod`, sequential). VJP: `g·prod / x` (exact except where an
/// element is 0).
public struct ReduceProduct: Op {
    /// The axes multiplied over.
    public var axes: [Int]
    /// Whether they stay as size-1 axes.
    public var keepDims: Bool
    /// The op; the parameters are the properties of the same names.
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
