import ParityNN

/// `aten.linear` (`x·Wᵀ + b`), `addmm` (`β·self + α·(m1·m2)`), `mm`, `bmm`, `matmul` (with
/// `torch.matmul`'s 1-D promotion) and `t`.
enum LinearAlgebraOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.linear.default", "aten.addmm.default", "aten.mm.default", "aten.bmm.default", "aten.matmul.default", "aten.t.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten.linear.default":
            let x = try c.floating(c.tensor("input")), w = try c.tensor("weight")
            var y = try matmul(c, x, c.rank(w) == 2 ? b.transposeMatrix(w) : w)
            if let bias = try c.optionalTensor("bias") { y = try b.add(y, bias) }
            return [y]
        case "aten.addmm.default":
            let beta = try c.double("beta", default: 1), alpha = try c.double("alpha", default: 1)
            var product = try b.matmul(c.tensor("mat1"), c.tensor("mat2"))
            if alpha != 1 { product = try b.multiply(product, b.scalar(alpha, like: product)) }
            var base = try c.tensor("self")
            if beta == 0 { return [product] }
            if beta != 1 { base = try b.multiply(base, b.scalar(beta, like: base)) }
            return [try b.add(product, base)]
        case "aten.mm.default":
            return [try b.matmul(c.tensor("self"), c.tensor("mat2"))]
        case "aten.bmm.default":
            return [try b.matmul(c.tensor("self"), c.tensor("mat2"))]
        case "aten.matmul.default":
            return [try matmul(c, c.tensor("self"), c.tensor("other"))]
        case "aten.t.default":
            let x = try c.tensor("self")
            return [c.rank(x) < 2 ? x : try b.transposeMatrix(x)]
        default:
            throw c.unsupported("not in the linear algebra table")
        }
    }

    /// `torch.matmul`: a 1-D left operand is a row vector and a 1-D right operand a column vector,
    /// their added axis removed from the result.
    static func matmul<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ y: B.Value) throws -> B.Value {
        let b = c.b
        let (xs, ys) = (c.shape(x), c.shape(y))
        let left = xs.count == 1 ? try b.reshape(x, [1, xs[0]]) : x
        let right = ys.count == 1 ? try b.reshape(y, [ys[0], 1]) : y
        var out = try b.matmul(left, right)
        var shape = c.shape(out)
        if ys.count == 1 { shape.removeLast() }
        if xs.count == 1 { shape.remove(at: shape.count - (ys.count == 1 ? 1 : 2)) }
        if xs.count == 1 || ys.count == 1 { out = try b.reshape(out, shape) }
        return out
    }
}
