import ParityKeras
import ParityTorch

/// Two activations of one shape: `add` → Add, `sub` → Subtract, `mul` → Multiply (the second input
/// brought to the first's layout); `cat(dim)` → Concatenate at the dim's Keras position. A tensor and a
/// number: `Rescaling(scale, offset)`, which computes `x·scale + offset` — exact when one of the two is
/// the identity (`x·1 + c` is `x + c`, `x·s + 0` is `x·s`, `x·(−1) + c` is `c − x`): `add`/`sub` of a
/// number, `rsub`, `mul`, `neg`, and `div` by a power of two (whose reciprocal is exact).
/// Refused: broadcasting between activations, `alpha ≠ 1`, division by other numbers.
enum ArithmeticOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor", "aten.div.Tensor", "aten.rsub.Scalar", "aten.neg.default", "aten.cat.default",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        if c.target == "aten.cat.default" { return [.value(try concatenate(c))] }
        let x = try c.value("self")
        if c.target == "aten.neg.default" { return [.value(try rescaling(c, x, scale: -1, offset: 0))] }
        if try c.double("alpha", default: 1) != 1 { throw c.refuse("alpha=\(try c.double("alpha")): Keras's Add and Subtract have no scale") }
        switch c.node.argument("other") {
        case .tensor?:
            let other = try c.value("other")
            guard other.torchShape == x.torchShape else {
                throw c.refuse("shapes \(x.torchShape) and \(other.torchShape): Keras's merge layers take inputs of one shape (no broadcasting)")
            }
            let y = try c.arrange(other, as: x.perm, why: "a merge with the first input's layout")
            let className: String
            switch c.target {
            case "aten.add.Tensor": className = "Add"
            case "aten.sub.Tensor": className = "Subtract"
            case "aten.mul.Tensor": className = "Multiply"
            default: throw c.refuse("division of two activations has no Keras merge layer")
            }
            return [.value(try c.layer(className, [:], inputs: [x, y], perm: x.perm, takesList: true)[0])]
        case .float(let v)?: return [.value(try scalar(c, x, v))]
        case .int(let v)?: return [.value(try scalar(c, x, Double(v)))]
        default: throw c.refuse("'other' is neither an activation nor a number")
        }
    }

    static func scalar(_ c: NodeConversion, _ x: KerasValue, _ v: Double) throws -> KerasValue {
        switch c.target {
        case "aten.add.Tensor": return try rescaling(c, x, scale: 1, offset: v)
        case "aten.sub.Tensor": return try rescaling(c, x, scale: 1, offset: -v)
        case "aten.rsub.Scalar": return try rescaling(c, x, scale: -1, offset: v)
        case "aten.mul.Tensor": return try rescaling(c, x, scale: v, offset: 0)
        default:
            let reciprocal = 1 / v
            guard v != 0, reciprocal.significandBitPattern == 0, v.significandBitPattern == 0 else {
                throw c.refuse("division by \(v): Rescaling multiplies, and 1/\(v) is not exact (only powers of two are)")
            }
            return try rescaling(c, x, scale: reciprocal, offset: 0)
        }
    }

    static func rescaling(_ c: NodeConversion, _ x: KerasValue, scale: Double, offset: Double) throws -> KerasValue {
        guard x.dtype == "float32" else { throw c.refuse("arithmetic on an integer tensor") }
        return try c.layer("Rescaling", ["scale": .double(scale), "offset": .double(offset)], inputs: [x], perm: x.perm)[0]
    }

    static func concatenate(_ c: NodeConversion) throws -> KerasValue {
        let xs = try c.values("tensors")
        guard let first = xs.first, xs.count >= 2 else { throw c.refuse("Keras's Concatenate needs at least two inputs") }
        let dim = try c.dim(c.int("dim", default: 0), rank: first.rank)
        guard dim != first.perm[0] else { throw c.refuse("concatenation along dim \(dim), Keras's batch axis") }
        let inputs = try xs.map { try c.arrange($0, as: first.perm, why: "a concatenation in the first input's layout") }
        return try c.layer("Concatenate", ["axis": .int(first.position(of: dim))], inputs: inputs, perm: first.perm, takesList: true)[0]
    }
}
