import Foundation
import ParityNN

/// Reductions, statistics, running sums and orderings (`keras/src/ops/numpy.py`, `math.py`,
/// `linalg.py`'s `norm`, `nn.py`'s `moments`), as the TensorFlow backend computes them.
extension KerasOperations {
    static let reductions: [String: Factory] = {
        var table: [String: Factory] = [:]
        let kinds: [String: ReductionOperation.Kind] = [
            "Sum": .sum, "Mean": .mean, "Max": .max, "Amax": .max, "Min": .min, "Amin": .min, "Prod": .prod, "Var": .variance,
            "Std": .standardDeviation, "All": .all, "Any": .any, "Logsumexp": .logsumexp, "Ptp": .peakToPeak,
            "Argmax": .argmax, "Argmin": .argmin, "CountNonzero": .countNonzero,
            "Nansum": .nan(.sum), "Nanmean": .nan(.mean), "Nanmax": .nan(.max), "Nanmin": .nan(.min), "Nanprod": .nan(.prod),
            "Nanvar": .nan(.variance), "Nanstd": .nan(.standardDeviation), "Median": .quantile(0.5), "Nanmedian": .quantile(0.5),
        ]
        for (className, kind) in kinds {
            table[className] = { layer in
                if className == "Nanmedian" { throw KerasError.unsupportedSetting(layer: layer.name, key: "operation", value: "Nanmedian (NaN-skipping median)") }
                return ReductionOperation(op: className, kind: kind, axes: try layer.optionalAxes(),
                                          keepDims: try layer.has("keepdims") ? layer.bool("keepdims") : false,
                                          initial: try layer.optionalDouble("initial"))
            }
        }
        for className in ["Quantile", "Percentile"] {
            table[className] = { layer in
                try layer.require("method", in: [.string("linear")])
                return QuantileOperation(op: className, axes: try layer.optionalAxes(), keepDims: try layer.has("keepdims") ? layer.bool("keepdims") : false,
                                         percent: className == "Percentile")
            }
        }
        table["Average"] = { layer in AverageOperation(axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil) }
        table["Norm"] = { layer in
            NormOperation(order: try layer.has("ord") ? layer.value("ord") : .null, axes: try layer.optionalAxes(),
                          keepDims: try layer.has("keepdims") ? layer.bool("keepdims") : false)
        }
        table["Moments"] = { layer in
            MomentsOperation(axes: try layer.axes("axes"), keepDims: try layer.has("keepdims") ? layer.bool("keepdims") : false)
        }
        for (className, product, nan) in [("Cumsum", false, false), ("Cumprod", true, false), ("Nancumsum", false, true), ("Nancumprod", true, true)] {
            table[className] = { layer in
                CumulativeOperation(op: className, axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil,
                                    product: product, skipNaN: nan)
            }
        }
        table["Sort"] = { layer in SortOperation(op: "Sort", axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil, result: .values) }
        table["Argsort"] = { layer in SortOperation(op: "Argsort", axis: try layer.has("axis") && !(layer.value("axis").isNull) ? layer.int("axis") : nil, result: .indices) }
        table["TopK"] = { layer in
            SortOperation(op: "TopK", axis: -1, result: .topK(try layer.int("k"), sorted: try layer.has("sorted") ? layer.bool("sorted") : true))
        }
        return table
    }()
}

/// One reduction over `axes` (`nil`: every axis; `[]`: none).
struct ReductionOperation: KerasCallable {
    indirect enum Kind: Sendable {
        case sum, mean, max, min, prod, variance, standardDeviation, all, any, logsumexp, peakToPeak
        case argmax, argmin, countNonzero
        /// The NumPy `nan*` form: NaNs count as the reduction's identity (`nanmean` divides by the count of numbers).
        case nan(Kind)
        case quantile(Double)
    }

    var op: String
    var kind: Kind
    var axes: [Int]?
    var keepDims: Bool
    var initial: Double?

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let x = try o.value(0, "x")
        if axes == [] { return [x] }
        let engineAxes = axes ?? []
        func reduce(_ kind: ReductionKind, _ v: B.Value) throws -> B.Value { try b.reduce(kind, v, axes: engineAxes, keepDims: keepDims) }
        var result: B.Value
        switch kind {
        case .sum: result = try o.throughFloat64(x) { try reduce(.sum, $0) }
        case .mean: result = try reduce(.mean, o.float(x))
        case .max, .min:
            result = try o.throughFloat64(x) { v in
                var r = try reduce(kind.isMax ? .max : .min, v)
                if let initial { r = try b.binary(kind.isMax ? .maximum : .minimum, r, b.scalar(initial, like: r)) }
                return r
            }
        case .prod: result = try o.throughFloat64(x) { try b.apply(ReduceProduct(axes: engineAxes, keepDims: keepDims), [$0]) }
        case .variance, .standardDeviation:
            // tf.math.reduce_variance: mean of the squared deviations from the (kept-dims) mean.
            let v = try o.float(x)
            let mean = try b.broadcast(b.reduce(.mean, v, axes: engineAxes, keepDims: true), to: b.shape(of: v))
            let deviation = try b.subtract(v, mean)
            result = try reduce(.mean, b.multiply(deviation, deviation))
            if case .standardDeviation = kind { result = try b.unary(.sqrt, result) }
        case .all, .any:
            let truth = try nonzero(x, b)
            result = try b.cast(reduce(kind.isAll ? .min : .max, truth), to: .int64)
        case .countNonzero:
            result = try b.cast(reduce(.sum, nonzero(x, b)), to: .int64)
        case .logsumexp:
            // tf.math.reduce_logsumexp: shift by the (finite) maximum, log of the sum, add it back.
            let v = try o.float(x)
            let rawMax = try b.reduce(.max, v, axes: engineAxes, keepDims: true)
            let finite = try b.apply(ElementwiseMath(.isfinite), [rawMax])
            let shift = try b.apply(Select(), [finite, rawMax, b.scalar(0, like: rawMax)])
            let sum = try b.reduce(.sum, b.unary(.exp, b.subtract(v, shift)), axes: engineAxes, keepDims: keepDims)
            result = try b.add(b.unary(.log, sum), b.reshape(shift, b.shape(of: sum)))
        case .peakToPeak:
            result = try o.throughFloat64(x) { try b.subtract(reduce(.max, $0), reduce(.min, $0)) }
        case .argmax, .argmin:
            result = try argExtremum(x, largest: kind.isArgmax, b)
        case .nan(let inner):
            result = try nanReduction(inner, o.float(x), b)
        case .quantile(let q):
            result = try QuantileOperation(op: op, axes: axes, keepDims: keepDims, percent: false).quantile(o.float(x), q: b.constant(Tensor(shape: [], values: [q]).cast(to: o.floatDType)), b)
        }
        return [result]
    }

    /// 1 where an element is non-zero, else 0 (Float64).
    func nonzero<B: Builder>(_ x: B.Value, _ b: B) throws -> B.Value {
        let v = try b.cast(x, to: .float64)
        return try b.subtract(b.scalar(1, like: v), b.binary(.equal, v, b.scalar(0, like: v)))
    }

    /// Keras's argmax over one axis (`None`: the flattened tensor), int64 indices.
    func argExtremum<B: Builder>(_ x: B.Value, largest: Bool, _ b: B) throws -> B.Value {
        var v = x
        var axis: Int
        if let axes {
            guard axes.count == 1 else { throw TensorError.invalidArgument(op: op, message: "takes one axis; received \(axes)") }
            axis = axes[0]
        } else {
            v = try b.reshape(v, [-1])
            axis = 0
        }
        let rank = b.shape(of: x).count
        var y = try b.apply(ArgExtremum(maximum: largest, axis: axis), [b.cast(v, to: b.type(of: v).dtype.isFloatingPoint ? b.type(of: v).dtype : .float64)])
        if keepDims {
            var shape = b.shape(of: x)
            if axes == nil { shape = Array(repeating: 1, count: rank) } else { shape[try Shape.axis(axis, rank: rank, op: op)] = 1 }
            y = try b.reshape(y, shape)
        }
        return y
    }

    func nanReduction<B: Builder>(_ inner: Kind, _ x: B.Value, _ b: B) throws -> B.Value {
        let isNaN = try b.apply(ElementwiseMath(.isnan), [x])
        func replaced(_ value: Double) throws -> B.Value { try b.apply(Select(), [isNaN, b.scalar(value, like: x), x]) }
        let axesList = axes ?? []
        switch inner {
        case .sum: return try b.reduce(.sum, replaced(0), axes: axesList, keepDims: keepDims)
        case .prod: return try b.apply(ReduceProduct(axes: axesList, keepDims: keepDims), [replaced(1)])
        case .max: return try b.reduce(.max, replaced(-.infinity), axes: axesList, keepDims: keepDims)
        case .min: return try b.reduce(.min, replaced(.infinity), axes: axesList, keepDims: keepDims)
        case .mean, .variance, .standardDeviation:
            let count = try b.reduce(.sum, b.subtract(b.scalar(1, like: x), isNaN), axes: axesList, keepDims: true)
            let mean = try b.divide(b.reduce(.sum, replaced(0), axes: axesList, keepDims: true), count)
            if case .mean = inner { return keepDims ? mean : try b.reshape(mean, try b.type(of: b.reduce(.sum, x, axes: axesList)).shape) }
            let deviation = try b.subtract(x, b.broadcast(mean, to: b.shape(of: x)))
            let squared = try b.apply(Select(), [isNaN, b.scalar(0, like: x), b.multiply(deviation, deviation)])
            var variance = try b.divide(b.reduce(.sum, squared, axes: axesList, keepDims: true), count)
            if case .standardDeviation = inner { variance = try b.unary(.sqrt, variance) }
            return keepDims ? variance : try b.reshape(variance, try b.type(of: b.reduce(.sum, x, axes: axesList)).shape)
        default: throw TensorError.unsupported(op: op, message: "no NaN-skipping form")
        }
    }
}

extension ReductionOperation.Kind {
    var isMax: Bool { if case .max = self { return true } else { return false } }
    var isAll: Bool { if case .all = self { return true } else { return false } }
    var isArgmax: Bool { if case .argmax = self { return true } else { return false } }
}

/// `quantile(x, q)` / `percentile(x, q)` with linear interpolation (`_quantile` in the TensorFlow
/// backend, after `tfp.stats.percentile`): the reduced axes are moved last and flattened, sorted, and
/// the values at `floor` / `ceil` of `(n − 1)·q` interpolated.
struct QuantileOperation: KerasCallable {
    var op: String
    var axes: [Int]?
    var keepDims: Bool
    var percent: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        // The TensorFlow backend's `convert_to_tensor(q)` makes a Python number float32 (floatx), and `percentile`
        // converts q to floatx before dividing by 100: q is rounded to float32 in a float64 run too.
        var isTensor = false
        if case .tensor? = o.argument(1, "q") { isTensor = true }
        var q = try o.value(1, "q")
        q = percent || !isTensor ? try b.cast(q, to: .float32) : try o.float(q)
        if percent { q = try b.divide(q, b.scalar(100, like: q)) }
        return [try quantile(o.float(o.value(0, "x")), q: q, b)]
    }

    func quantile<B: Builder>(_ x: B.Value, q: B.Value, _ b: B) throws -> B.Value {
        let shape = b.shape(of: x)
        let reduced = try (axes ?? Array(0..<shape.count)).map { try Shape.axis($0, rank: shape.count, op: op) }.sorted()
        let others = (0..<shape.count).filter { !reduced.contains($0) }
        let y = try b.reshape(b.permute(x, others + reduced), others.map { shape[$0] } + [-1])
        let n = b.shape(of: y).last!
        let order = try b.apply(SortIndices(axis: -1, descending: false, nansLast: true), [y])
        let sorted = try takeAlongLastAxis(y, order, b)
        // Positions (n − 1)·q in Float64, as the backend computes them.
        let qs = try b.cast(q, to: .float64)
        let position = try b.multiply(qs, b.scalar(Double(n - 1), like: qs))
        let qShape = b.shape(of: qs)
        var outputs: [B.Value] = []
        let count = Shape.count(qShape)
        let flatQ = try b.reshape(position, [count])
        for i in 0..<count {
            let p = try b.slice(flatQ, [SliceAxis(start: i, end: i + 1)])
            let low = try b.apply(ElementwiseMath(.floor), [p]), high = try b.apply(ElementwiseMath(.ceil), [p])
            let lowIndex = try b.reshape(b.cast(low, to: .int64), []), highIndex = try b.reshape(b.cast(high, to: .int64), [])
            let lower = try b.apply(Gather(axis: -1), [sorted, lowIndex]), upper = try b.apply(Gather(axis: -1), [sorted, highIndex])
            let fraction = try b.cast(b.reshape(b.subtract(p, low), []), to: b.type(of: x).dtype)
            outputs.append(try b.add(lower, b.multiply(fraction, b.subtract(upper, lower))))
        }
        var result = count == 1 && qShape.isEmpty ? outputs[0] : try b.reshape(b.concat(outputs.map { try b.reshape($0, [1] + b.shape(of: $0)) }, axis: 0), qShape + b.shape(of: outputs[0]))
        if keepDims {
            var kept = shape
            for axis in reduced { kept[axis] = 1 }
            result = try b.reshape(result, qShape + kept)
        }
        return result
    }
}

/// `x[…, order[…, j]]` along the last axis, through a flat gather (int64 index arithmetic in Float64).
func takeAlongLastAxis<B: Builder>(_ x: B.Value, _ order: B.Value, _ b: B) throws -> B.Value {
    try takeAlongAxis(x, order, axis: -1, b)
}

/// `np.take_along_axis(x, indices, axis)` with equal-rank operands broadcast except along `axis`: the
/// indices turned into flat positions of `x` and gathered from its flattened elements (so the VJP is
/// the gather's scatter-add). Negative indices count from the end.
func takeAlongAxis<B: Builder>(_ x: B.Value, _ indices: B.Value, axis: Int, _ b: B) throws -> B.Value {
    let xShape = b.shape(of: x), iShape = b.shape(of: indices)
    guard xShape.count == iShape.count else {
        throw TensorError.shapeMismatch(op: "take_along_axis", expected: "indices of the same rank as x", received: [xShape, iShape])
    }
    let axis = try Shape.axis(axis, rank: xShape.count, op: "take_along_axis")
    var xBroadcast = xShape, iBroadcast = iShape
    for d in 0..<xShape.count where d != axis {
        let size = try Shape.broadcast([xShape[d]], [iShape[d]], op: "take_along_axis")[0]
        (xBroadcast[d], iBroadcast[d]) = (size, size)
    }
    let source = try b.broadcast(x, to: xBroadcast), idx = try b.broadcast(indices, to: iBroadcast)
    let strides = Shape.strides(xBroadcast)
    // flat = Σ_{d ≠ axis} coord_d·stride_d + index·stride_axis, with negative indices wrapped.
    var offsets = [Double](repeating: 0, count: Shape.count(iBroadcast))
    var coordinate = [Int](repeating: 0, count: iBroadcast.count)
    for i in offsets.indices {
        offsets[i] = Double((0..<iBroadcast.count).filter { $0 != axis }.reduce(0) { $0 + coordinate[$1] * strides[$1] })
        var d = iBroadcast.count - 1
        while d >= 0 {
            coordinate[d] += 1
            if coordinate[d] < iBroadcast[d] { break }
            coordinate[d] = 0
            d -= 1
        }
    }
    let i64 = try b.cast(idx, to: .float64)
    let size = b.scalar(Double(xBroadcast[axis]), like: i64)
    let wrapped = try b.apply(Select(), [b.binary(.less, i64, b.scalar(0, like: i64)), b.add(i64, size), i64])
    let flat = try b.add(b.multiply(wrapped, b.scalar(Double(strides[axis]), like: i64)), b.constant(Tensor(shape: iBroadcast, values: offsets)))
    return try b.apply(Gather(axis: 0), [b.reshape(source, [-1]), b.cast(flat, to: .int64)])
}

/// `average(x, axis, weights)`: the mean, or `Σ x·w / Σ w` (1-D weights along `axis` through `tensordot`).
struct AverageOperation: KerasCallable {
    var axis: Int?

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Average")
        let x = try o.float(o.value(0, "x"))
        guard let weightsArgument = o.argument(1, "weights"), weightsArgument.constant?.isNull != true else {
            return [try b.reduce(.mean, x, axes: axis.map { [$0] } ?? [])]
        }
        let w = try o.float(o.value(weightsArgument, "weights"))
        let axes = axis.map { [$0] } ?? []
        if let axis, b.shape(of: w).count != b.shape(of: x).count {
            var shape = Array(repeating: 1, count: b.shape(of: x).count)
            shape[try o.axis(axis, of: x)] = b.shape(of: w)[0]
            let total = try b.reduce(.sum, w, axes: [])
            return [try b.divide(b.reduce(.sum, b.multiply(x, b.reshape(w, shape)), axes: axes), total)]
        }
        return [try b.divide(b.reduce(.sum, b.multiply(x, w), axes: axes), b.reduce(.sum, w, axes: axes))]
    }
}

/// `keras.ops.norm` (`linalg.norm`): vector norms (`ord` None/2 → Euclidean, 1, ∞, −∞, 0, any p) over
/// one axis or every element; matrix norms over two axes ('fro', 1, −1, ∞, −∞).
struct NormOperation: KerasCallable {
    var order: KerasJSON
    var axes: [Int]?
    var keepDims: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Norm")
        let x = try o.float(o.value(0, "x"))
        let rank = b.shape(of: x).count
        let axes = try (self.axes ?? Array(0..<rank)).map { try Shape.axis($0, rank: rank, op: "Norm") }
        let absolute = try b.unary(.abs, x)
        func sum(_ v: B.Value, _ a: [Int], keep: Bool = true) throws -> B.Value { try b.reduce(.sum, v, axes: a, keepDims: keep) }
        var result: B.Value
        if axes.count == 2 && (self.axes != nil || order.string != nil || order.double != nil) && !(order.isNull && self.axes == nil) {
            switch order.string ?? order.double.map({ "\($0)" }) ?? "fro" {
            case "fro": result = try b.unary(.sqrt, sum(b.multiply(x, x), axes))
            case "1.0": result = try b.reduce(.max, sum(absolute, [axes[0]]), axes: [axes[1]], keepDims: true)
            case "-1.0": result = try b.reduce(.min, sum(absolute, [axes[0]]), axes: [axes[1]], keepDims: true)
            case "inf": result = try b.reduce(.max, sum(absolute, [axes[1]]), axes: [axes[0]], keepDims: true)
            case "-inf": result = try b.reduce(.min, sum(absolute, [axes[1]]), axes: [axes[0]], keepDims: true)
            case let other: throw TensorError.unsupported(op: "Norm", message: "matrix norm ord=\(other) (needs a singular value decomposition)")
            }
        } else {
            let p = order.isNull ? 2 : (order.double ?? (order.string == "inf" ? .infinity : order.string == "-inf" ? -.infinity : .nan))
            switch p {
            case 2: result = try b.unary(.sqrt, sum(b.multiply(x, x), axes))
            case .infinity: result = try b.reduce(.max, absolute, axes: axes, keepDims: true)
            case -.infinity: result = try b.reduce(.min, absolute, axes: axes, keepDims: true)
            case 1: result = try sum(absolute, axes)
            case 0: result = try sum(b.subtract(b.scalar(1, like: x), b.binary(.equal, x, b.scalar(0, like: x))), axes)
            case let p where p.isFinite:
                result = try b.binary(.power, sum(b.binary(.power, absolute, b.scalar(p, like: x)), axes), b.scalar(1 / p, like: x))
            default: throw TensorError.unsupported(op: "Norm", message: "ord=\(order)")
            }
        }
        if !keepDims {
            var shape = b.shape(of: x)
            for axis in axes.sorted(by: >) { shape.remove(at: axis) }
            result = try b.reshape(result, shape)
        }
        return [result]
    }
}

/// `moments(x, axes)`: `tf.nn.moments`, the mean and the mean squared deviation from it (two outputs).
struct MomentsOperation: KerasCallable {
    var axes: [Int]
    var keepDims: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Moments")
        let x = try o.float(o.value(0, "x"))
        let mean = try b.reduce(.mean, x, axes: axes, keepDims: true)
        let deviation = try b.subtract(x, b.broadcast(mean, to: b.shape(of: x)))
        let variance = try b.reduce(.mean, b.multiply(deviation, deviation), axes: axes, keepDims: true)
        guard !keepDims else { return [mean, variance] }
        let shape = try b.type(of: b.reduce(.mean, x, axes: axes)).shape
        return [try b.reshape(mean, shape), try b.reshape(variance, shape)]
    }
}

/// `cumsum` / `cumprod` (`axis=None`: over the flattened tensor); the `nan` forms count NaN as 0 / 1.
struct CumulativeOperation: KerasCallable {
    var op: String
    var axis: Int?
    var product: Bool
    var skipNaN: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        var x = try o.value(0, "x")
        if axis == nil { x = try b.reshape(x, [-1]) }
        return [try o.throughFloat64(x) { v in
            var v = v
            if skipNaN { v = try b.apply(Select(), [b.apply(ElementwiseMath(.isnan), [v]), b.scalar(product ? 1 : 0, like: v), v]) }
            return try b.apply(Cumulative(product ? .product : .sum, axis: axis ?? 0, accumulator: .elementType), [v])
        }]
    }
}

/// `sort`, `argsort` (int indices) and `top_k` (values and indices of the `k` largest along the last axis).
struct SortOperation: KerasCallable {
    enum Result: Sendable { case values, indices, topK(Int, sorted: Bool) }
    var op: String
    var axis: Int?
    var result: Result

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        var x = try o.value(0, "x")
        if axis == nil { x = try b.reshape(x, [-1]) }
        let axis = self.axis ?? 0
        let keys = o.isFloat(x) ? x : try b.cast(x, to: .float64)
        switch result {
        case .values:
            let order = try b.apply(SortIndices(axis: axis, descending: false, nansLast: true), [keys])
            return [try takeAlongAxis(x, order, axis: axis, b)]
        case .indices:
            return [try b.apply(SortIndices(axis: axis, descending: false, nansLast: true), [keys])]
        case let .topK(k, _):
            let order = try b.apply(SortIndices(axis: -1, descending: true, nansLast: true), [keys])
            let last = b.shape(of: order).count - 1
            let top = try b.slice(order, Array(repeating: .all, count: last) + [SliceAxis(start: 0, end: k)])
            return [try takeAlongAxis(x, top, axis: -1, b), top]
        }
    }
}
