import ParityNN

/// Products of tensors (`keras/src/ops/numpy.py`): `matmul`, `dot`, `tensordot`, `einsum`, `outer`,
/// `inner`, `vdot`, each computed as the TensorFlow backend does — by reshaping to one batched matrix
/// product (``MatMul``). Integer operands are multiplied in floats and the result cast back, as the
/// backend does (`compute_dtype = result_type(..., float)`).
extension KerasOperations {
    static let linearAlgebra: [String: Factory] = [
        "Matmul": { _ in ProductOperation(op: "Matmul", kind: .matmul) },
        "Dot": { _ in ProductOperation(op: "Dot", kind: .dot) },
        "Outer": { _ in ProductOperation(op: "Outer", kind: .outer) },
        "Inner": { _ in ProductOperation(op: "Inner", kind: .inner) },
        "Vdot": { _ in ProductOperation(op: "Vdot", kind: .vdot) },
        "Tensordot": { layer in ProductOperation(op: "Tensordot", kind: .tensordot(try layer.has("axes") ? layer.value("axes") : .number(2))) },
        "Einsum": { layer in EinsumOperation(subscripts: try layer.string("subscripts")) },
    ]
}

struct ProductOperation: KerasCallable {
    enum Kind: Sendable { case matmul, dot, outer, inner, vdot, tensordot(KerasJSON) }
    var op: String
    var kind: Kind

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let (promoted, isFloat) = try o.promoted([o.argument(0, "x1"), o.argument(1, "x2")].compactMap { $0 }, names: ["x1", "x2"])
        guard promoted.count == 2 else { throw o.bad("\(op) arguments", "fewer than two operands") }
        let x = try o.float(promoted[0]), y = try o.float(promoted[1])
        let (xs, ys) = (b.shape(of: x), b.shape(of: y))
        var result: B.Value
        switch kind {
        case .matmul: result = try matmul(x, y, b)
        case .dot:
            if xs.isEmpty || ys.isEmpty { result = try b.multiply(x, y) }
            else if ys.count == 1 { result = try tensordot(x, y, [xs.count - 1], [0], b) }
            else { result = try tensordot(x, y, [xs.count - 1], [ys.count - 2], b) }
        case .outer: result = try b.multiply(b.reshape(x, [-1, 1]), b.reshape(y, [-1]))
        case .inner:
            result = xs.isEmpty || ys.isEmpty ? try b.multiply(x, y) : try tensordot(x, y, [xs.count - 1], [ys.count - 1], b)
        case .vdot: result = try tensordot(b.reshape(x, [-1]), b.reshape(y, [-1]), [0], [0], b)
        case .tensordot(let axes):
            if let n = axes.int {
                result = try tensordot(x, y, Array((xs.count - n)..<xs.count), Array(0..<n), b)
            } else if let pair = axes.array, pair.count == 2 {
                func list(_ v: KerasJSON) throws -> [Int] {
                    if let i = v.int { return [i] }
                    guard let items = v.array?.compactMap(\.int) else { throw o.bad("axes", "\(axes)") }
                    return items
                }
                result = try tensordot(x, y, try list(pair[0]).map { try Shape.axis($0, rank: xs.count, op: op) },
                                       try list(pair[1]).map { try Shape.axis($0, rank: ys.count, op: op) }, b)
            } else {
                throw o.bad("axes", "\(axes)")
            }
        }
        return [isFloat ? result : try b.cast(b.apply(ElementwiseMath(.round), [b.cast(result, to: .float64)]), to: .int64)]
    }

    /// `np.matmul`: 1-D operands get an axis added and removed; batch axes broadcast.
    func matmul<B: Builder>(_ x: B.Value, _ y: B.Value, _ b: B) throws -> B.Value {
        let (xs, ys) = (b.shape(of: x), b.shape(of: y))
        let a = xs.count == 1 ? try b.reshape(x, [1, xs[0]]) : x
        let c = ys.count == 1 ? try b.reshape(y, [ys[0], 1]) : y
        var result = try b.matmul(a, c)
        var shape = b.shape(of: result)
        if xs.count == 1 { shape.remove(at: shape.count - 2) }
        if ys.count == 1 { shape.removeLast() }
        if xs.count == 1 || ys.count == 1 { result = try b.reshape(result, shape) }
        return result
    }
}

/// `tensordot(x, y, axes)`: `x`'s free axes then `y`'s, the listed axes contracted in pairs.
func tensordot<B: Builder>(_ x: B.Value, _ y: B.Value, _ xAxes: [Int], _ yAxes: [Int], _ b: B) throws -> B.Value {
    let (xs, ys) = (b.shape(of: x), b.shape(of: y))
    guard xAxes.count == yAxes.count, zip(xAxes, yAxes).allSatisfy({ xs[$0] == ys[$1] }) else {
        throw TensorError.shapeMismatch(op: "tensordot", expected: "equal sizes along axes \(xAxes) and \(yAxes)", received: [xs, ys])
    }
    let xFree = (0..<xs.count).filter { !xAxes.contains($0) }, yFree = (0..<ys.count).filter { !yAxes.contains($0) }
    let k = Shape.count(xAxes.map { xs[$0] })
    let a = try b.reshape(b.permute(x, xFree + xAxes), [Shape.count(xFree.map { xs[$0] }), k])
    let c = try b.reshape(b.permute(y, yAxes + yFree), [k, Shape.count(yFree.map { ys[$0] })])
    return try b.reshape(b.matmul(a, c), xFree.map { xs[$0] } + yFree.map { ys[$0] })
}

/// `einsum(subscripts, *operands)` (explicit `->` or NumPy's implicit output, `...` broadcast axes):
/// each operand's indices that appear nowhere else are summed out first; operands are then multiplied
/// pairwise, left to right, as one batched matrix product each (batch = indices kept in both and in
/// what follows, contracted = those in both and nowhere after); the result is permuted to the output.
/// Repeated indices within one operand (diagonals) are not supported.
struct EinsumOperation: KerasCallable {
    var subscripts: String

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Einsum")
        let arguments = call.args.count == 1 && call.args[0].tensor == nil ? (call.args[0].tensors.map { KerasArgument<B.Value>.tensor($0) }) : call.args
        let (values, isFloat) = try o.promoted(arguments, names: arguments.indices.map { "operand \($0)" })
        let operands = try values.map { try o.float($0) }
        let (inputs, output) = try parse(operands.map { b.shape(of: $0).count })
        guard inputs.count == operands.count else { throw o.bad("subscripts", "\(subscripts) for \(operands.count) operands") }
        var sizes: [Character: Int] = [:]
        for (labels, v) in zip(inputs, operands) {
            for (label, size) in zip(labels, b.shape(of: v)) {
                if let known = sizes[label], known != size, known != 1, size != 1 {
                    throw TensorError.shapeMismatch(op: "einsum", expected: "index \(label) of one size", received: operands.map { b.shape(of: $0) })
                }
                sizes[label] = max(sizes[label] ?? 1, size)
            }
        }
        var current = operands
        // Broadcast size-1 axes of shared indices.
        for i in current.indices {
            let target = inputs[i].map { sizes[$0]! }
            current[i] = try b.broadcast(current[i], to: target)
        }
        var (acc, accLabels) = try sumOut(current[0], inputs[0], keep: Set(inputs.dropFirst().joined()).union(output), b)
        for index in current.indices.dropFirst() {
            let later = Set(inputs[(index + 1)...].joined()).union(output)
            (acc, accLabels) = try multiply(acc, accLabels, current[index], inputs[index], keep: later, sizes: sizes, b)
        }
        (acc, accLabels) = try sumOut(acc, accLabels, keep: Set(output), b)
        let order = try output.map { label -> Int in
            guard let i = accLabels.firstIndex(of: label) else { throw o.bad("subscripts", "\(subscripts): output index \(label) is not an input index") }
            return i
        }
        var result = try b.permute(acc, order)
        if output.isEmpty { result = try b.reshape(acc, []) }
        return [isFloat ? result : try b.cast(b.apply(ElementwiseMath(.round), [b.cast(result, to: .float64)]), to: .int64)]
    }

    /// The operands' index lists and the output's, with `...` expanded to fresh indices.
    func parse(_ ranks: [Int]) throws -> ([[Character]], [Character]) {
        let text = subscripts.replacingOccurrences(of: " ", with: "")
        let parts = text.components(separatedBy: "->")
        let inputTexts = parts[0].components(separatedBy: ",")
        let used = Set(text.filter { $0.isLetter })
        let fresh = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".filter { !used.contains($0) })
        var ellipsisRank = 0
        var inputs: [[Character]] = []
        for (i, part) in inputTexts.enumerated() {
            let rank = i < ranks.count ? ranks[i] : 0
            if part.contains("...") {
                let named = part.replacingOccurrences(of: "...", with: "").count
                ellipsisRank = max(ellipsisRank, rank - named)
            }
            inputs.append([])
        }
        let ellipsis = Array(fresh.prefix(ellipsisRank))
        for (i, part) in inputTexts.enumerated() {
            let rank = i < ranks.count ? ranks[i] : 0
            if let range = part.range(of: "...") {
                let named = part.replacingOccurrences(of: "...", with: "").count
                let mine = Array(ellipsis.suffix(rank - named))
                inputs[i] = Array(part[..<range.lowerBound]) + mine + Array(part[range.upperBound...])
            } else {
                inputs[i] = Array(part)
            }
            guard Set(inputs[i]).count == inputs[i].count else {
                throw TensorError.unsupported(op: "einsum", message: "repeated index in \(part) (a diagonal)")
            }
        }
        var output: [Character]
        if parts.count > 1 {
            output = parts[1].contains("...") ? Array(parts[1].replacingOccurrences(of: "...", with: String(ellipsis))) : Array(parts[1])
        } else {
            let counts = inputs.joined().reduce(into: [Character: Int]()) { $0[$1, default: 0] += 1 }
            output = ellipsis + counts.filter { $0.value == 1 && !ellipsis.contains($0.key) }.map(\.key).sorted()
        }
        return (inputs, output)
    }

    /// Sums the axes whose index is not in `keep`.
    func sumOut<B: Builder>(_ v: B.Value, _ labels: [Character], keep: Set<Character>, _ b: B) throws -> (B.Value, [Character]) {
        let gone = labels.indices.filter { !keep.contains(labels[$0]) }
        guard !gone.isEmpty else { return (v, labels) }
        return (try b.reduce(.sum, v, axes: gone), labels.enumerated().filter { !gone.contains($0.offset) }.map(\.element))
    }

    /// `a ⊗ c` over their shared indices: batch = shared and kept, contracted = shared and not kept.
    func multiply<B: Builder>(_ a: B.Value, _ aLabels: [Character], _ c: B.Value, _ cLabels: [Character], keep: Set<Character>,
                              sizes: [Character: Int], _ b: B) throws -> (B.Value, [Character]) {
        let (a, aL) = try sumOut(a, aLabels, keep: keep.union(cLabels), b)
        let (c, cL) = try sumOut(c, cLabels, keep: keep.union(aL), b)
        let shared = aL.filter { cL.contains($0) }
        let batch = shared.filter { keep.contains($0) }, contracted = shared.filter { !keep.contains($0) }
        let aFree = aL.filter { !shared.contains($0) }, cFree = cL.filter { !shared.contains($0) }
        func size(_ labels: [Character]) -> Int { Shape.count(labels.map { sizes[$0]! }) }
        let aPermuted = try b.reshape(b.permute(a, (batch + aFree + contracted).map { aL.firstIndex(of: $0)! }),
                                      [size(batch), size(aFree), size(contracted)])
        let cPermuted = try b.reshape(b.permute(c, (batch + contracted + cFree).map { cL.firstIndex(of: $0)! }),
                                      [size(batch), size(contracted), size(cFree)])
        let product = try b.matmul(aPermuted, cPermuted)
        let labels = batch + aFree + cFree
        return (try b.reshape(product, labels.map { sizes[$0]! }), labels)
    }
}
