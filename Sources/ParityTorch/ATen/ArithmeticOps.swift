import ParityNN

/// Elementwise arithmetic and comparisons with PyTorch's type promotion (`c10/core/ScalarType.h`):
/// an integer tensor meets a float tensor or a float scalar → the float dtype (the run's dtype, which
/// is PyTorch's default float32 in a float32 run; in a float64 reference run it is float64, where
/// PyTorch would still give float32); integer ⊕ integer stays int64 (computed through float64, exact
/// below 2⁵³); `div` is true division (int / int → float). `add`/`sub` with `alpha ≠ 1` round
/// `self + alpha·other` once, as the vectorised CPU kernel's `fmadd` does. `pow` with exponent
/// 2, 3, 0.5, −0.5, −1, −2 takes PyTorch's special cases (`x·x`, `x·x·x`, `sqrt`, `1/sqrt`, ...).
/// Comparisons (`eq`, `ne`, `lt`, `le`, `gt`, `ge`, `.Tensor` and `.Scalar`) compare in the promoted
/// dtype (a float scalar against a float32 tensor is rounded to float32 first, as TensorIterator's
/// common dtype does; integers against integers compare exactly, through float64) and give 1/0 in
/// the run's float dtype (Parity has no bool tensors: a bool is such a mask). `ne` is `1 − eq`, so
/// NaN ≠ NaN. `maximum` / `minimum` propagate NaN from either side (unlike `fmax` / `fmin`), promote and
/// broadcast as the other binary ops. `where.self(condition, self, other)` selects where the condition is non-zero, the two
/// branches promoted to one dtype.
enum ArithmeticOps: ATenFamily {
    static let comparisons: [String: BinaryFunction] = [
        "eq": .equal, "ne": .equal, "lt": .less, "le": .lessEqual, "gt": .greater, "ge": .greaterEqual,
    ]

    static let targets: Set<String> = Set([
        "aten.add.Tensor", "aten.sub.Tensor", "aten.rsub.Scalar", "aten.mul.Tensor", "aten.div.Tensor", "aten.neg.default",
        "aten.abs.default", "aten.exp.default", "aten.sqrt.default", "aten.rsqrt.default", "aten.pow.Tensor_Scalar",
        "aten.maximum.default", "aten.minimum.default", "aten.clamp.default", "aten.where.self",
    ] + comparisons.keys.flatMap { ["aten.\($0).Tensor", "aten.\($0).Scalar"] })

    /// The comparison a target names (`aten.le.Scalar` → `le`).
    static func comparison(_ target: String) -> String? {
        let parts = target.split(separator: ".")
        guard parts.count == 3, parts[0] == "aten", parts[2] == "Tensor" || parts[2] == "Scalar", comparisons[String(parts[1])] != nil else { return nil }
        return String(parts[1])
    }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        if let name = comparison(c.target), let f = comparisons[name] {
            let (x, y, _) = try promote(c, c.operand("self"), c.operand("other"), floatResult: false)
            var mask = try b.binary(f, x, y)
            if name == "ne" { mask = try b.subtract(b.scalar(1, like: mask), mask) }
            return [try b.cast(mask, to: c.floatType)]
        }
        switch c.target {
        case "aten.add.Tensor", "aten.sub.Tensor":
            var alpha = try c.double("alpha", default: 1)
            if c.target == "aten.sub.Tensor" { alpha = -alpha }
            return [try addScaled(c, c.operand("self"), c.operand("other"), alpha: alpha)]
        case "aten.rsub.Scalar":
            return [try addScaled(c, c.operand("other"), c.operand("self"), alpha: -(try c.double("alpha", default: 1)))]
        case "aten.mul.Tensor":
            return [try binary(c, .multiply, c.operand("self"), c.operand("other"))]
        case "aten.div.Tensor":
            if c.has("rounding_mode") { throw c.unsupported("div with a rounding_mode is not mapped") }
            return [try binary(c, .divide, c.operand("self"), c.operand("other"), floatResult: true)]
        case "aten.maximum.default":
            return [try binary(c, .maximum, c.operand("self"), c.operand("other"))]
        case "aten.minimum.default":
            return [try binary(c, .minimum, c.operand("self"), c.operand("other"))]
        case "aten.where.self":
            let (x, y, integer) = try promote(c, c.operand("self"), c.operand("other"), floatResult: false)
            let condition = try b.cast(c.tensor("condition"), to: b.type(of: x).dtype)
            let out = try b.apply(Select(), [condition, x, y])
            return [integer ? try b.cast(out, to: .int64) : out]
        case "aten.neg.default":
            let x = try c.tensor("self")
            return [try viaFloat(c, x) { try b.negate($0) }]
        case "aten.abs.default":
            let x = try c.tensor("self")
            return [try viaFloat(c, x) { try b.unary(.abs, $0) }]
        case "aten.exp.default": return [try b.unary(.exp, c.floating(c.tensor("self")))]
        case "aten.sqrt.default": return [try b.unary(.sqrt, c.floating(c.tensor("self")))]
        case "aten.rsqrt.default": return [try b.unary(.reciprocal, b.unary(.sqrt, c.floating(c.tensor("self"))))]
        case "aten.pow.Tensor_Scalar":
            let x = try c.floating(c.tensor("self"))
            let e = try c.double("exponent")
            switch e {
            case 1: return [x]
            case 2: return [try b.multiply(x, x)]
            case 3: return [try b.multiply(b.multiply(x, x), x)]
            case 0.5: return [try b.unary(.sqrt, x)]
            case -0.5: return [try b.unary(.reciprocal, b.unary(.sqrt, x))]
            case -1: return [try b.unary(.reciprocal, x)]
            case -2: return [try b.unary(.reciprocal, b.multiply(x, x))]
            default: return [try b.binary(.power, x, b.scalar(e, like: x))]
            }
        case "aten.clamp.default":
            let x = try c.floating(c.tensor("self"))
            if case .tensor? = c.node.argument("min") { throw c.unsupported("clamp with tensor bounds is not mapped") }
            let lower = try c.optionalDouble("min") ?? -.infinity, upper = try c.optionalDouble("max") ?? .infinity
            return [try b.unary(.clip(lower: lower, upper: upper), x)]
        default:
            throw c.unsupported("not in the arithmetic table")
        }
    }

    /// Applies `body` in float64 to an int64 tensor and casts back (exact below 2⁵³).
    static func viaFloat<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ body: (B.Value) throws -> B.Value) throws -> B.Value {
        guard c.b.type(of: x).dtype == .int64 else { return try body(x) }
        return try c.b.cast(body(c.b.cast(x, to: .float64)), to: .int64)
    }

    /// Both operands as tensors of one dtype, following PyTorch's promotion; `integer` when both
    /// were integers (the caller computes in float64 and casts back).
    static func promote<B: Builder>(_ c: ATenCall<B>, _ a: Operand<B.Value>, _ d: Operand<B.Value>, floatResult: Bool)
        throws -> (B.Value, B.Value, integer: Bool) {
        let b = c.b
        func isInt(_ o: Operand<B.Value>) -> Bool {
            switch o {
            case .tensor(let v): return b.type(of: v).dtype == .int64
            case .number(_, let isInteger): return isInteger
            }
        }
        let tensorDType: DType? = {
            for o in [a, d] { if case .tensor(let v) = o, b.type(of: v).dtype.isFloatingPoint { return b.type(of: v).dtype } }
            return nil
        }()
        let integer = isInt(a) && isInt(d) && !floatResult
        let dtype: DType = integer ? .float64 : (tensorDType ?? c.floatType)
        func make(_ o: Operand<B.Value>) throws -> B.Value {
            switch o {
            case .tensor(let v): return try b.cast(v, to: dtype)
            case .number(let n, _): return b.constant(Tensor(repeating: n, shape: [], dtype: dtype))
            }
        }
        return (try make(a), try make(d), integer)
    }

    static func binary<B: Builder>(_ c: ATenCall<B>, _ f: BinaryFunction, _ a: Operand<B.Value>, _ d: Operand<B.Value>,
                                   floatResult: Bool = false) throws -> B.Value {
        let (x, y, integer) = try promote(c, a, d, floatResult: floatResult || f.isComparison)
        let out = try c.b.binary(f, x, y)
        return integer ? try c.b.cast(out, to: .int64) : out
    }

    /// `a + alpha·d`, rounded once when `alpha ≠ 1` (ATen's vectorised `fmadd`).
    static func addScaled<B: Builder>(_ c: ATenCall<B>, _ a: Operand<B.Value>, _ d: Operand<B.Value>, alpha: Double) throws -> B.Value {
        let b = c.b
        let (x, y, integer) = try promote(c, a, d, floatResult: false)
        let out: B.Value
        if alpha == 1 { out = try b.add(x, y) }
        else if alpha == -1 { out = try b.subtract(x, y) }
        else { out = try b.apply(MultiplyAdd(fused: true), [y, b.scalar(alpha, like: y), x]) }
        return integer ? try b.cast(out, to: .int64) : out
    }
}
