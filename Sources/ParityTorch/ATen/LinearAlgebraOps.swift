import ParityNN

/// `aten.linear` (`x·Wᵀ + b`), `addmm` / `baddbmm` (`β·self + α·(m1·m2)`), `mm`, `bmm`, `matmul`
/// (with `torch.matmul`'s 1-D promotion), `mv`, `dot`, `outer`, `t`, and `einsum`: operands contracted
/// left to right, each pair as one batched matrix product (batch labels, then the labels of the left
/// operand only, then the contracted ones; labels of one operand that the output does not keep are
/// summed first), as `torch.einsum`'s `sumproduct_pair` does; `...` spans the broadcast axes.
enum LinearAlgebraOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.linear.default", "aten.addmm.default", "aten.mm.default", "aten.bmm.default", "aten.matmul.default", "aten.t.default",
        "aten.baddbmm.default", "aten.einsum.default", "aten.mv.default", "aten.dot.default", "aten.outer.default", "aten.vdot.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten.linear.default":
            let x = try c.floating(c.tensor("input")), w = try c.tensor("weight")
            var y = try matmul(c, x, c.rank(w) == 2 ? b.transposeMatrix(w) : w)
            if let bias = try c.optionalTensor("bias") { y = try b.add(y, bias) }
            return [y]
        case "aten.baddbmm.default":
            let beta = try c.double("beta", default: 1), alpha = try c.double("alpha", default: 1)
            var product = try b.matmul(c.tensor("batch1"), c.tensor("batch2"))
            if alpha != 1 { product = try b.multiply(product, b.scalar(alpha, like: product)) }
            if beta == 0 { return [product] }
            var base = try c.tensor("self")
            if beta != 1 { base = try b.multiply(base, b.scalar(beta, like: base)) }
            return [try b.add(base, product)]
        case "aten.mv.default":
            return [try matmul(c, c.tensor("self"), c.tensor("vec"))]
        case "aten.dot.default", "aten.vdot.default":
            return [try matmul(c, c.tensor("self"), c.tensor(c.target == "aten.dot.default" ? "tensor" : "other"))]
        case "aten.outer.default":
            let x = try c.tensor("self"), y = try c.tensor("vec2")
            return [try b.multiply(b.reshape(x, [c.shape(x).reduce(1, *), 1]), b.reshape(y, [1, c.shape(y).reduce(1, *)]))]
        case "aten.einsum.default":
            return [try einsum(c, c.string("equation"), c.tensors("tensors"))]
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

    /// `torch.einsum(equation, operands)` (see the type's comment).
    static func einsum<B: Builder>(_ c: ATenCall<B>, _ equation: String, _ operands: [B.Value]) throws -> B.Value {
        let b = c.b
        let compact = equation.filter { !$0.isWhitespace }
        let sides = compact.components(separatedBy: "->")
        let inputs = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard inputs.count == operands.count, sides.count <= 2 else {
            throw c.fail("equation", "'\(equation)' names \(inputs.count) operands; received \(operands.count)")
        }
        // Labels per operand, "..." expanded to as many unique labels as the operand's broadcast axes.
        let ellipsisRank = try zip(inputs, operands).map { spec, x -> Int in
            let named = spec.replacingOccurrences(of: "...", with: "").count
            guard spec.contains("...") || named == c.rank(x) else { throw c.fail("equation", "'\(spec)' for an operand of rank \(c.rank(x))") }
            return spec.contains("...") ? c.rank(x) - named : 0
        }.max() ?? 0
        let dots = (0..<ellipsisRank).map { Character(UnicodeScalar(0x2460 + $0)!) }
        func labels(_ spec: String, rank: Int) -> [Character] {
            guard spec.contains("...") else { return Array(spec) }
            let parts = spec.components(separatedBy: "...")
            let k = rank - parts[0].count - parts[1].count
            return Array(parts[0]) + Array(dots.suffix(k)) + Array(parts[1])
        }
        var terms: [(value: B.Value, labels: [Character])] = zip(inputs, operands).map { ($1, labels($0, rank: c.rank($1))) }
        let output: [Character]
        if sides.count == 2 {
            output = labels(sides[1], rank: ellipsisRank + sides[1].replacingOccurrences(of: "...", with: "").count)
        } else {
            let all = terms.flatMap(\.labels)
            output = dots + Set(all.filter { l in !dots.contains(l) && all.filter { $0 == l }.count == 1 }).sorted()
        }
        // Repeated labels within one operand (a diagonal) are not mapped.
        for term in terms where Set(term.labels).count != term.labels.count { throw c.unsupported("einsum with a repeated label in one operand ('\(equation)')") }
        // Sum away labels no other operand and not the output uses.
        func reduceUnique(_ index: Int) throws {
            let others = Set(terms.enumerated().filter { $0.offset != index }.flatMap(\.element.labels) + output)
            let term = terms[index]
            let summed = term.labels.indices.filter { !others.contains(term.labels[$0]) }
            guard !summed.isEmpty else { return }
            terms[index] = (try b.reduce(.sum, c.floating(term.value), axes: summed), term.labels.enumerated().filter { !summed.contains($0.offset) }.map(\.element))
        }
        for i in terms.indices { try reduceUnique(i) }
        while terms.count > 1 {
            let (l, r) = (terms[0], terms[1])
            let rest = Set(terms.dropFirst(2).flatMap(\.labels) + output)
            let batch = l.labels.filter { r.labels.contains($0) && rest.contains($0) }
            let contracted = l.labels.filter { r.labels.contains($0) && !rest.contains($0) }
            let leftOnly = l.labels.filter { !r.labels.contains($0) }
            let rightOnly = r.labels.filter { !l.labels.contains($0) }
            func size(_ label: Character) -> Int {
                if let i = l.labels.firstIndex(of: label) { let s = c.shape(l.value)[i]; if s != 1 { return s } }
                if let i = r.labels.firstIndex(of: label) { return c.shape(r.value)[i] }
                return 1
            }
            func arranged(_ term: (value: B.Value, labels: [Character]), _ order: [Character], _ groups: [[Character]]) throws -> B.Value {
                let permuted = try b.permute(c.floating(term.value), order.map { term.labels.firstIndex(of: $0)! })
                let target = order.map(size)
                let expanded = try b.broadcast(permuted, to: target)
                return try b.reshape(expanded, groups.map { $0.map(size).reduce(1, *) })
            }
            let left = try arranged(l, batch + leftOnly + contracted, [batch, leftOnly, contracted])
            let right = try arranged(r, batch + contracted + rightOnly, [batch, contracted, rightOnly])
            let product = try b.matmul(left, right)
            let labels = batch + leftOnly + rightOnly
            terms = [(try b.reshape(product, labels.map(size)), labels)] + terms.dropFirst(2)
            try reduceUnique(0)
        }
        let last = terms[0]
        guard Set(output).isSubset(of: Set(last.labels)) else { throw c.fail("equation", "output labels of '\(equation)' are not in the operands") }
        return try b.permute(c.floating(last.value), output.map { last.labels.firstIndex(of: $0)! })
    }
}
