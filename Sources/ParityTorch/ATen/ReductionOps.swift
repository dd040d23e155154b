import ParityNN

/// `sum`, `mean`, `amax`, `amin`, `var`, `std` over `dim` (all axes when absent or empty), with
/// `keepdim`. Variance is two-pass, `Σ(x − mean)² / (N − correction)`; `var.dim`'s `unbiased`
/// is `correction = 1`. PyTorch's CPU kernels sum in vectorised cascades and use Welford for the
/// variance: same math, other rounding.
enum ReductionOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.sum.default", "aten.sum.dim_IntList", "aten.mean.default", "aten.mean.dim", "aten.amax.default", "aten.amin.default",
        "aten.var.correction", "aten.var.dim", "aten.std.dim",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let x = try c.floating(c.tensor("self"))
        let rank = c.rank(x)
        let axes = try (c.optionalInts("dim") ?? []).map { try c.dim($0, rank: rank) }
        let keep = try c.bool("keepdim", default: false)
        if let dtype = try c.dtype("dtype"), dtype != b.type(of: x).dtype { throw c.unsupported("reduction with dtype \(dtype)") }
        switch c.target {
        case "aten.sum.default", "aten.sum.dim_IntList": return [try b.reduce(.sum, x, axes: axes, keepDims: keep)]
        case "aten.mean.default", "aten.mean.dim": return [try b.reduce(.mean, x, axes: axes, keepDims: keep)]
        case "aten.amax.default": return [try b.reduce(.max, x, axes: axes, keepDims: keep)]
        case "aten.amin.default": return [try b.reduce(.min, x, axes: axes, keepDims: keep)]
        case "aten.var.correction", "aten.var.dim", "aten.std.dim":
            let correction = c.target == "aten.var.correction" ? try c.double("correction", default: 1) : (try c.bool("unbiased", default: true) ? 1 : 0)
            let shape = c.shape(x)
            let count = (axes.isEmpty ? Array(0..<rank) : axes).reduce(1) { $0 * shape[$1] }
            let mean = try b.reduce(.mean, x, axes: axes, keepDims: true)
            let d = try b.subtract(x, mean)
            let total = try b.reduce(.sum, b.multiply(d, d), axes: axes, keepDims: keep)
            let variance = try b.divide(total, b.scalar(Swift.max(Double(count) - correction, 0), like: x))
            return [c.target == "aten.std.dim" ? try b.unary(.sqrt, variance) : variance]
        default:
            throw c.unsupported("not in the reduction table")
        }
    }
}
