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
        "Tensordot": { layer in ProductOperation(op: "Tensordot", kind: .tensordot(try layer.has("axes") ? layer.value("axes") : .int(2))) },
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

/// `einsum(subscripts, *operands)` (``Builder/einsum(_:_:)``).
struct EinsumOperation: KerasCallable {
    var subscripts: String

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Einsum")
        let arguments = call.args.count == 1 && call.args[0].tensor == nil ? (call.args[0].tensors.map { KerasArgument<B.Value>.tensor($0) }) : call.args
        let (values, isFloat) = try o.promoted(arguments, names: arguments.indices.map { "operand \($0)" })
        let result = try b.einsum(subscripts, values.map { try o.float($0) })
        return [isFloat ? result : try b.cast(b.apply(ElementwiseMath(.round), [b.cast(result, to: .float64)]), to: .int64)]
    }
}
