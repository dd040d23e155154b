/// Views a tensor as `[outer, n, inner]` around `axis` and calls `body(base, stride)` for every line
/// along the axis (`base` the flat offset of its first element, `stride` = inner).
func forEachLine(_ shape: [Int], axis: Int, _ body: (_ base: Int, _ stride: Int, _ count: Int) -> Void) {
    let outer = Shape.count(Array(shape[..<axis])), n = shape[axis], inner = Shape.count(Array(shape[(axis + 1)...]))
    for o in 0..<outer {
        for i in 0..<inner { body(o * n * inner + i, inner, n) }
    }
}

/// Running sum or product along `axis`, from the end when `reverse`, accumulated the way each framework's
/// kernel does (``Accumulator``): PyTorch's CPU kernel (`cpu_cum_base_kernel` in
/// `aten/src/ATen/native/cpu/ReduceOpsKernel.cpp`) accumulates a float32 input in float64
/// (`at::acc_type<float, false>`) and rounds each output (checked against torch 2.15 on 10⁵ elements, bit
/// for bit); TensorFlow's `cumsum`/`cumprod` (`tf.math.cumsum`, Keras's `ops.cumsum`) accumulate in the
/// element type, one rounding per step. VJP: the reverse running sum of `g` (sum); `g·y/x` summed the
/// reverse way (product, for non-zero `x`).
public struct Cumulative: Op {
    /// What is accumulated.
    public enum Kind: String, Sendable, Hashable {
        /// A running sum (`cumsum`).
        case sum
        /// A running product (`cumprod`).
        case product
    }
    /// The precision of the running total.
    public enum Accumulator: String, Sendable, Hashable {
        /// Float64, each output rounded once (PyTorch's CPU kernel).
        case float64
        /// The element type, rounded every step (TensorFlow).
        case elementType
    }
    /// Sum or product.
    public var kind: Kind
    /// The axis accumulated along.
    public var axis: Int
    /// Whether the running total starts from the end.
    public var reverse: Bool
    /// The precision of the running total.
    public var accumulator: Accumulator

    /// The op; the parameters are the properties of the same names.
    public init(_ kind: Kind, axis: Int, reverse: Bool = false, accumulator: Accumulator = .float64) {
        self.kind = kind
        self.axis = axis
        self.reverse = reverse
        self.accumulator = accumulator
    }

    public var name: String { "cumulative \(kind)" + (reverse ? " reversed" : "") }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        _ = try Shape.axis(axis, rank: inputs[0].shape.count, op: name)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        if x.rank == 0 { return x }
        let axis = try Shape.axis(self.axis, rank: x.rank, op: name)
        func run<T: FloatElement>(_ v: [T]) -> [T] {
            var out = v
            forEachLine(x.shape, axis: axis) { base, stride, n in
                var wide: Double = kind == .sum ? 0 : 1, narrow: T = kind == .sum ? 0 : 1
                for k in 0..<n {
                    let i = base + (reverse ? n - 1 - k : k) * stride
                    switch accumulator {
                    case .float64:
                        wide = kind == .sum ? wide + Double(v[i]) : wide * Double(v[i])
                        out[i] = T(wide)
                    case .elementType:
                        narrow = kind == .sum ? narrow + v[i] : narrow * v[i]
                        out[i] = narrow
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

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        switch kind {
        case .sum: return [try b.apply(Cumulative(.sum, axis: axis, reverse: !reverse, accumulator: accumulator), [g])]
        case .product:
            let summed = try b.apply(Cumulative(.sum, axis: axis, reverse: !reverse, accumulator: accumulator), [b.multiply(g, output)])
            return [try b.divide(summed, inputs[0])]
        }
    }
}

/// The position of the largest (`max`) or smallest (`min`) element along `axis` as int64, the first
/// one on ties; a NaN counts as the extremum (`torch.argmax` / `argmin`). Not differentiable.
public struct ArgExtremum: Op {
    /// Whether the largest (`argmax`) rather than the smallest is found.
    public var maximum: Bool
    /// The axis searched or sorted along.
    public var axis: Int
    /// Whether the reduced axes stay as size-1 axes.
    public var keepDims: Bool

    /// The op; the parameters are the properties of the same names.
    public init(maximum: Bool, axis: Int, keepDims: Bool = false) {
        self.maximum = maximum
        self.axis = axis
        self.keepDims = keepDims
    }

    public var name: String { maximum ? "argmax" : "argmin" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        var shape = inputs[0].shape
        if shape.isEmpty { return TensorType(.int64, []) }
        let axis = try Shape.axis(self.axis, rank: shape.count, op: name)
        guard shape[axis] > 0 else { throw TensorError.invalidArgument(op: name, message: "cannot reduce an empty axis of shape \(shape)") }
        if keepDims { shape[axis] = 1 } else { shape.remove(at: axis) }
        return TensorType(.int64, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let type = try outputType([TensorType(of: x)])
        if x.rank == 0 { return Tensor(shape: [], int64: [0]) }
        let axis = try Shape.axis(self.axis, rank: x.rank, op: name)
        // Each line scanned in order: the first extremum wins; the first NaN wins over everything.
        func lines<T: FloatElement>(_ values: [T]) -> [Int64] {
            let n = x.shape[axis], inner = Shape.count(Array(x.shape[(axis + 1)...]))
            let outer = Shape.count(Array(x.shape[..<axis]))
            var out = [Int64](repeating: 0, count: outer * inner)
            @inline(__always) func step(_ v: T, _ k: Int, _ best: inout Int, _ current: inout T) {
                let wins = !current.isNaN && (v.isNaN || (maximum ? v > current : v < current))
                best = wins ? k : best
                current = wins ? v : current
            }
            values.withUnsafeBufferPointer { vp in
                // Contiguous lines (a max pool's windows): the C scan, the same rule without branches.
                if inner == 1 && n > 0,
                   out.withUnsafeMutableBufferPointer({ firstExtremumIndices(vp.baseAddress!, lines: outer, length: n, maximum: maximum, into: $0.baseAddress!) }) {
                    return
                }
                for o in 0..<outer {
                    for i in 0..<inner {
                        let line = vp.baseAddress! + o * n * inner + i
                        var best = 0, current = line[0]
                        for k in Swift.stride(from: 1, to: n, by: 1) { step(line[k * inner], k, &best, &current) }
                        out[o * inner + i] = Int64(best)
                    }
                }
            }
            return out
        }
        switch x.storage {
        case .float32(let v): return Tensor(shape: type.shape, int64: lines(v))
        case .float64(let v): return Tensor(shape: type.shape, int64: lines(v))
        default: break
        }
        // Half precision: through Double (exact).
        let values = x.doubles
        var out: [Int64] = []
        forEachLine(x.shape, axis: axis) { base, stride, n in
            var best = 0
            for k in 1..<n {
                let v = values[base + k * stride], current = values[base + best * stride]
                if current.isNaN { break }
                if v.isNaN || (maximum ? v > current : v < current) { best = k }
            }
            out.append(Int64(best))
        }
        // forEachLine walks outer then inner: the row-major order of the result.
        return Tensor(shape: type.shape, int64: out)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] { [nil] }
}

/// The permutation that sorts each line along `axis` (int64 indices; `torch.sort(...).indices`),
/// ascending or descending, equal elements in their original order (a stable sort, which PyTorch's CPU
/// sort and `tf.argsort(stable=True)` are). NaN is the largest in PyTorch (last ascending, first
/// descending); with `nansLast` it sorts last both ways (NumPy, `tf.math.top_k`, Keras's `ops.sort`).
/// Not differentiable; the sorted values are a gather with these indices.
public struct SortIndices: Op {
    /// The axis searched or sorted along.
    public var axis: Int
    /// Whether the order is largest first.
    public var descending: Bool
    /// Whether NaN sorts last both ways.
    public var nansLast: Bool

    /// The op; the parameters are the properties of the same names.
    public init(axis: Int, descending: Bool, nansLast: Bool = false) {
        self.axis = axis
        self.descending = descending
        self.nansLast = nansLast
    }

    public var name: String { descending ? "argsort descending" : "argsort" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        guard inputs[0].dtype != .bool else { throw TensorError.unsupportedDType(op: name, dtype: .bool) }
        if !inputs[0].shape.isEmpty { _ = try Shape.axis(axis, rank: inputs[0].shape.count, op: name) }
        return TensorType(.int64, inputs[0].shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        if x.rank == 0 { return Tensor(shape: [], int64: [0]) }
        let axis = try Shape.axis(self.axis, rank: x.rank, op: name)
        let values = x.doubles
        var out = [Int64](repeating: 0, count: x.count)
        forEachLine(x.shape, axis: axis) { base, stride, n in
            let order = (0..<n).sorted { i, j in
                let a = values[base + i * stride], c = values[base + j * stride]
                if a.isNaN || c.isNaN { return descending && !nansLast ? (a.isNaN && !c.isNaN) : (!a.isNaN && c.isNaN) }
                return descending ? a > c : a < c
            }
            for (k, i) in order.enumerated() { out[base + k * stride] = Int64(i) }
        }
        return Tensor(shape: x.shape, int64: out)
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] { [nil] }
}

/// Product over `axes` (all when empty), in order (`torch.prod`). VJP: `g·y/x` (for non-zero `x`).
public struct Product: Op {
    /// The axes multiplied over (every axis when empty).
    public var axes: [Int]
    /// Whether the reduced axes stay as size-1 axes.
    public var keepDims: Bool

    /// The op; the parameters are the properties of the same names.
    public init(axes: [Int], keepDims: Bool = false) {
        self.axes = axes
        self.keepDims = keepDims
    }

    public var name: String { "product" }

    func resolved(rank: Int) throws -> [Int] {
        try Set((axes.isEmpty ? Array(0..<rank) : axes).map { try Shape.axis($0, rank: rank, op: name) }).sorted()
    }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        let dtype = try expectSameFloat(inputs)
        let shape = inputs[0].shape
        let reduced = Set(try resolved(rank: shape.count))
        return TensorType(dtype, shape.enumerated().compactMap { reduced.contains($0.offset) ? (keepDims ? 1 : nil) : $0.element })
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let type = try outputType([TensorType(of: x)])
        if x.rank == 0 { return x }
        let reduced = try resolved(rank: x.rank)
        let kept = (0..<x.rank).filter { !reduced.contains($0) }
        let moved = try x.permuted(kept + reduced)
        let n = Shape.count(reduced.map { x.shape[$0] })
        func run<T: FloatElement>(_ v: [T]) -> [T] {
            stride(from: 0, to: v.count, by: Swift.max(n, 1)).map { start in v[start..<(start + n)].reduce(1, *) }
        }
        let count = type.shape.reduce(1, *)
        switch moved.storage {
        case .float32(let v): return Tensor(shape: type.shape, values: n == 0 ? [Float](repeating: 1, count: count) : run(v))
        case .float64(let v): return Tensor(shape: type.shape, values: n == 0 ? [Double](repeating: 1, count: count) : run(v))
        default: throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let shape = b.shape(of: inputs[0])
        let reduced = Set(try resolved(rank: shape.count))
        let kept = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let spread = try b.broadcast(b.reshape(b.multiply(g, output), kept), to: shape)
        return [try b.divide(spread, inputs[0])]
    }
}
