import ParityNN

/// Reductions over `dim` (all axes when absent or empty), with `keepdim`:
///
/// - `sum`, `mean`, `amax`, `amin`, `prod`; an integer or bool input sums (and multiplies) exactly
///   through float64 into int64, as PyTorch promotes them; `dtype` casts the input first.
/// - `var`, `std` (`correction`, or `unbiased` = correction 1): two-pass, `Σ(x − mean)² / (N − correction)`.
///   PyTorch's CPU kernels sum in vectorised cascades and use Welford for the variance: same math,
///   other rounding.
/// - `max.dim` / `min.dim` → (values, indices), `argmax` / `argmin` (the first extremum; NaN counts as
///   the extremum), `any` / `all` (bool).
/// - `sort` (stable: equal values keep their order, NaN largest, as the CPU sort) → (values, indices), and
///   `topk` → the first `k` of the sort, largest first unless `largest=False` (distinct values come out as
///   PyTorch's; the order of ties may differ, as `torch.topk` does not define it).
/// - `cumsum` / `cumprod` (``ParityEngine/Cumulative``: float64 accumulation, as PyTorch's CPU kernel).
/// - `logsumexp`: `m + log Σ exp(x − m)` with `m` the max (a −∞ max gives −∞).
/// - `linalg_vector_norm(ord)` and `norm(p)`: `Σ|x|^p` to the `1/p` (2: `sqrt Σ x²`, 1: `Σ|x|`, ∞: max |x|,
///   −∞: min |x|, 0: the count of non-zeros).
enum ReductionOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.sum.default", "aten.sum.dim_IntList", "aten.mean.default", "aten.mean.dim", "aten.amax.default", "aten.amin.default",
        "aten.var.correction", "aten.var.dim", "aten.var.default", "aten.std.dim", "aten.std.correction", "aten.std.default",
        "aten.prod.default", "aten.prod.dim_int", "aten.max.dim", "aten.min.dim", "aten.max.default", "aten.min.default",
        "aten.argmax.default", "aten.argmin.default", "aten.any.default", "aten.any.dim", "aten.any.dims",
        "aten.all.default", "aten.all.dim", "aten.all.dims", "aten.cumsum.default", "aten.cumprod.default", "aten.diff.default",
        "aten.logsumexp.default", "aten.linalg_vector_norm.default", "aten.norm.ScalarOpt_dim", "aten.norm.Scalar",
        "aten.count_nonzero.dim_IntList", "aten.count_nonzero.default", "aten.sort.default", "aten.sort.stable", "aten.topk.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        if c.target == "aten.diff.default" { return [try diff(c)] }
        if ["aten.sort.default", "aten.sort.stable", "aten.topk.default"].contains(c.target) {
            let x = try c.tensor("self")
            let rank = c.rank(x)
            let axis = try c.dim(c.int("dim", default: -1), rank: rank)
            let topk = c.target == "aten.topk.default"
            let descending = try topk ? c.bool("largest", default: true) : c.bool("descending", default: false)
            var order = try b.apply(SortIndices(axis: axis, descending: descending), [x])
            if topk && rank > 0 {
                let k = try c.int("k")
                guard k >= 0, k <= c.shape(x)[axis] else { throw c.fail("k", "\(k) is out of range for a dimension of size \(c.shape(x)[axis])") }
                order = try b.slice(order, (0..<rank).map { $0 == axis ? SliceAxis(start: 0, end: k) : .all })
            }
            let values = rank == 0 ? x : try IndexingOps.gather(c, x, axis: axis, index: order, known: nil)
            return [values, order]
        }
        var x = try c.tensor("self")
        let name = ArithmeticOps.name(c.target)
        let rank = c.rank(x)
        let axes = try dims(c, rank: rank)
        let keep = try c.bool("keepdim", default: false)
        let integral = !b.type(of: x).dtype.isFloatingPoint
        if let dtype = try c.dtype("dtype") { x = try b.cast(x, to: dtype == .bool ? .float64 : dtype) }
        switch name {
        case "sum", "prod", "count_nonzero":
            var input = x
            if name == "count_nonzero" { input = try b.cast(b.cast(x, to: .bool), to: .float64) }
            let wasIntegral = name == "count_nonzero" || !b.type(of: input).dtype.isFloatingPoint
            if wasIntegral { input = try b.cast(input, to: .float64) }
            let out = name == "prod" ? try b.apply(Product(axes: axes, keepDims: keep), [input]) : try b.reduce(.sum, input, axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)
            return [wasIntegral ? try b.cast(out, to: .int64) : out]
        case "mean":
            guard !integral || c.has("dtype") else { throw c.unsupported("mean of an integer tensor is an error in PyTorch (give a floating dtype)") }
            return [try b.reduce(.mean, c.floating(x), axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)]
        case "amax", "amin", "max", "min":
            let wide = integral ? try b.cast(x, to: .float64) : x
            let kind: ReductionKind = name.hasSuffix("max") ? .max : .min
            if c.target == "aten.max.dim" || c.target == "aten.min.dim" {
                let axis = try c.dim(c.int("dim"), rank: rank)
                let values = try b.reduce(kind, wide, axes: [axis], keepDims: keep)
                let indices = try b.apply(ArgExtremum(maximum: kind == .max, axis: axis, keepDims: keep), [wide])
                return [try restore(c, values, like: x), indices]
            }
            return [try restore(c, b.reduce(kind, wide, axes: axes, keepDims: keep), like: x)]
        case "argmax", "argmin":
            let wide = integral ? try b.cast(x, to: .float64) : x
            guard let d = try c.optionalInt("dim") else {
                let flat = try b.reshape(wide, [Shape.count(c.shape(x))])
                let index = try b.apply(ArgExtremum(maximum: name == "argmax", axis: 0), [flat])
                return [keep ? try b.reshape(index, Array(repeating: 1, count: rank)) : index]
            }
            return [try b.apply(ArgExtremum(maximum: name == "argmax", axis: c.dim(d, rank: rank), keepDims: keep), [wide])]
        case "any", "all":
            let truth = try b.cast(b.cast(x, to: .bool), to: .float64)
            return [try b.cast(b.reduce(name == "any" ? .max : .min, truth, axes: axes, keepDims: keep), to: .bool)]
        case "var", "std":
            let correction: Double
            if c.has("correction") { correction = try c.double("correction") }
            else if c.target.hasSuffix(".correction") { correction = 1 }
            else { correction = try c.bool("unbiased", default: true) ? 1 : 0 }
            let xf = try c.floating(x)
            let shape = c.shape(xf)
            let count = (axes.isEmpty ? Array(0..<rank) : axes).reduce(1) { $0 * shape[$1] }
            let mean = try b.reduce(.mean, xf, axes: axes, keepDims: true, numerics: TorchNumerics.reduction)
            let d = try b.subtract(xf, mean)
            let total = try b.reduce(.sum, b.multiply(d, d), axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)
            let variance = try b.divide(total, b.scalar(Swift.max(Double(count) - correction, 0), like: xf))
            return [name == "std" ? try b.unary(.sqrt, variance) : variance]
        case "cumsum", "cumprod":
            let axis = try c.dim(c.int("dim"), rank: rank)
            let wasIntegral = !b.type(of: x).dtype.isFloatingPoint
            let input = wasIntegral ? try b.cast(x, to: .float64) : x
            let out = try b.apply(Cumulative(name == "cumsum" ? .sum : .product, axis: axis), [input])
            return [wasIntegral ? try b.cast(out, to: .int64) : out]
        case "logsumexp":
            let xf = try c.floating(x)
            let m = try b.reduce(.max, xf, axes: axes, keepDims: true)
            // A −∞ (or +∞) max is replaced by 0 for the shift, as ATen does, so the result is −∞ (or +∞).
            let finite = try b.binary(.less, b.unary(.abs, m), b.scalar(.infinity, like: m))
            let shift = try b.apply(Select(), [finite, m, b.scalar(0, like: m)])
            let summed = try b.reduce(.sum, b.unary(.exp, b.subtract(xf, shift)), axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)
            let shiftOut = keep ? shift : try b.reshape(shift, c.shape(summed))
            return [try b.add(b.unary(.log, summed), shiftOut)]
        case "linalg_vector_norm", "norm":
            let p = try c.optionalDouble(name == "norm" ? "p" : "ord") ?? 2
            let magnitude = try b.unary(.abs, c.floating(x))
            switch p {
            case .infinity: return [try b.reduce(.max, magnitude, axes: axes, keepDims: keep)]
            case -.infinity: return [try b.reduce(.min, magnitude, axes: axes, keepDims: keep)]
            case 0:
                let nonzero = try b.cast(b.cast(magnitude, to: .bool), to: b.type(of: magnitude).dtype)
                return [try b.reduce(.sum, nonzero, axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)]
            case 1: return [try b.reduce(.sum, magnitude, axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)]
            case 2: return [try b.unary(.sqrt, b.reduce(.sum, b.multiply(magnitude, magnitude), axes: axes, keepDims: keep, numerics: TorchNumerics.reduction))]
            default:
                let powered = try b.binary(.power, magnitude, b.scalar(p, like: magnitude))
                let summed = try b.reduce(.sum, powered, axes: axes, keepDims: keep, numerics: TorchNumerics.reduction)
                return [try b.binary(.power, summed, b.scalar(1 / p, like: summed))]
            }
        default:
            throw c.unsupported("not in the reduction table")
        }
    }

    /// The reduced axes: `dim` as an int or a list (`[]` or absent: all).
    static func dims<B: Builder>(_ c: ATenCall<B>, rank: Int) throws -> [Int] {
        switch c.node.argument("dim") {
        case .int(let d)?: return [try c.dim(d, rank: rank)]
        case .ints(let list)?: return try list.map { try c.dim($0, rank: rank) }
        default: return []
        }
    }

    /// A float64 result of an integer or bool input brought back to the input's dtype.
    static func restore<B: Builder>(_ c: ATenCall<B>, _ value: B.Value, like x: B.Value) throws -> B.Value {
        try c.b.cast(value, to: c.b.type(of: x).dtype)
    }

    /// `diff(self, n, dim, prepend, append)` (`torch.diff`, transformers' attention-mask code): `prepend` and
    /// `append` joined along `dim`, then `n` times `x[1:] − x[:-1]` (`≠` for bool, as PyTorch's `logical_xor`).
    static func diff<B: Builder>(_ c: ATenCall<B>) throws -> B.Value {
        let b = c.b
        var x = try c.tensor("self")
        let axis = try c.dim(c.int("dim", default: -1), rank: c.rank(x))
        let n = try c.int("n", default: 1)
        guard n >= 0 else { throw c.fail("n", "order must be non-negative; received \(n)") }
        let parts = try [c.optionalTensor("prepend"), x, c.optionalTensor("append")].compactMap { $0 }
        let dtype = b.type(of: x).dtype
        if parts.count > 1 { x = try b.concat(parts.map { try b.cast($0, to: dtype) }, axis: axis) }
        let compute: DType = dtype.isFloatingPoint ? dtype : .float64
        var y = try b.cast(x, to: compute)
        for _ in 0..<n {
            let length = c.shape(y)[axis]
            guard length > 0 else { break }
            let prefix = Array(repeating: SliceAxis.all, count: axis)
            let later = try b.slice(y, prefix + [SliceAxis(start: 1, end: length)])
            let earlier = try b.slice(y, prefix + [SliceAxis(start: 0, end: length - 1)])
            y = dtype == .bool ? try b.subtract(b.scalar(1, like: later), b.binary(.equal, later, earlier)) : try b.subtract(later, earlier)
        }
        return try b.cast(y, to: dtype)
    }
}
