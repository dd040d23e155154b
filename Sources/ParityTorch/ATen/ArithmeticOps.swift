import ParityNN

/// Elementwise arithmetic, comparisons, selection and logic with PyTorch's type promotion
/// (`c10/core/ScalarType.h`, `aten/src/ATen/native/TypeProperties.cpp`): the result's category is the
/// highest of its operands' (bool < integer < floating; a Python float scalar makes an integer result
/// floating). Floating results compute in the run's float dtype (a float scalar against a float32
/// tensor is rounded to float32 first, as TensorIterator's common dtype does); integer results compute
/// exactly through float64 (exact below 2⁵³) and are returned as int64; bool results as bool. The
/// dtype torch recorded for the node (int32, float16, …) is applied by the interpreter afterwards.
///
/// - `add`/`sub` with `alpha ≠ 1` round `self + alpha·other` once, as the vectorised CPU kernel's `fmadd`.
/// - `div` is true division (int / int → float); `rounding_mode` "trunc" truncates the quotient,
///   "floor" is Python's `//` (``MathBinaryFunction/floorDivide``), integers exactly.
/// - `pow` with exponent 2, 3, 0.5, −0.5, −1, −2 takes PyTorch's special cases (`x·x`, `x·x·x`, `sqrt`, …).
/// - Comparisons (`eq`, `ne`, `lt`, `le`, `gt`, `ge`) compare in the promoted dtype and give bool; `ne` is
///   `!eq`, so NaN ≠ NaN.
/// - `addcmul(self, t1, t2, value)` is `self + (value·t1)·t2` and `addcdiv` `self + (value·t1)/t2`, each
///   product rounded, as the CPU kernels (`PointwiseOpsKernel.cpp`) compute them; floating only.
/// - `maximum`/`minimum` (and `max.other`/`min.other`) propagate NaN from either side; `clamp` is
///   `min(max(x, lo), hi)`: with tensor bounds through maximum/minimum (half the gradient each on a tie),
///   with number bounds as a select that gives x no gradient at a bound, as autograd does.
/// - `where(condition, self, other)`, `masked_fill(self, mask, value)` (the result keeps `self`'s dtype).
/// - Bitwise (`bitwise_*`, `__and__`, `__or__`, `__xor__`, `__lshift__`, `__rshift__`) on integers and
///   bools; `logical_*` on anything (non-zero is true) give bool.
enum ArithmeticOps: ATenFamily {
    static let comparisons: [String: BinaryFunction] = [
        "eq": .equal, "ne": .equal, "lt": .less, "le": .lessEqual, "gt": .greater, "ge": .greaterEqual,
    ]
    static let bitwise: [String: BitwiseFunction] = [
        "bitwise_and": .and, "bitwise_or": .or, "bitwise_xor": .xor, "__and__": .and, "__or__": .or, "__xor__": .xor,
        "__lshift__": .leftShift, "__rshift__": .rightShift, "bitwise_left_shift": .leftShift, "bitwise_right_shift": .rightShift,
    ]
    static let logical: [String: BitwiseFunction] = ["logical_and": .and, "logical_or": .or, "logical_xor": .xor]

    static let targets: Set<String> = Set([
        "aten.add.Tensor", "aten.add.Scalar", "aten.sub.Tensor", "aten.sub.Scalar", "aten.rsub.Tensor", "aten.rsub.Scalar",
        "aten.mul.Tensor", "aten.mul.Scalar", "aten.div.Tensor", "aten.div.Scalar", "aten.div.Tensor_mode", "aten.div.Scalar_mode",
        "aten.true_divide.Tensor", "aten.floor_divide.default", "aten.floor_divide.Scalar",
        "aten.remainder.Tensor", "aten.remainder.Scalar", "aten.remainder.Scalar_Tensor", "aten.fmod.Tensor", "aten.fmod.Scalar",
        "aten.atan2.default", "aten.neg.default", "aten.abs.default", "aten.pow.Tensor_Scalar", "aten.pow.Tensor_Tensor", "aten.pow.Scalar",
        "aten.maximum.default", "aten.minimum.default", "aten.max.other", "aten.min.other", "aten.fmax.default", "aten.fmin.default",
        "aten.clamp.default", "aten.clamp.Tensor", "aten.clamp_min.default", "aten.clamp_max.default", "aten.clip.default",
        "aten.where.self", "aten.where.ScalarOther", "aten.where.ScalarSelf", "aten.where.Scalar",
        "aten.masked_fill.Scalar", "aten.masked_fill.Tensor", "aten.bitwise_not.default", "aten.logical_not.default",
        "aten.isnan.default", "aten.isinf.default", "aten.isfinite.default", "aten.isposinf.default", "aten.isneginf.default",
        "aten.addcmul.default", "aten.addcdiv.default",
    ] + comparisons.keys.flatMap { ["aten.\($0).Tensor", "aten.\($0).Scalar"] }
      + bitwise.keys.flatMap { ["aten.\($0).Tensor", $0.hasPrefix("bitwise_") && $0.hasSuffix("shift") ? "aten.\($0).Tensor_Scalar" : "aten.\($0).Scalar"] }
      + logical.keys.map { "aten.\($0).default" })

    /// The operator name of a target (`aten.le.Scalar` → `le`).
    static func name(_ target: String) -> String {
        let parts = target.split(separator: ".")
        return parts.count == 3 ? String(parts[1]) : target
    }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let op = name(c.target)
        if let f = comparisons[op] {
            let (x, y, _) = try promote(c, [c.operand("self"), c.operand("other")])
            let equalOrMask = try b.cast(b.binary(f, x, y), to: .bool)
            return [op == "ne" ? try b.apply(Bitwise(.not), [equalOrMask]) : equalOrMask]
        }
        if let f = bitwise[op] {
            let operands = [try c.operand("self"), try c.operand("other")]
            let category = Category.of(c, operands)
            guard category != .floating else { throw c.unsupported("\(op) of floating tensors is not defined") }
            let dtype: DType = category == .bool ? .bool : .int64
            return [try b.apply(Bitwise(f), operands.map { try tensor(c, $0, dtype: dtype) })]
        }
        if let f = logical[op] {
            let operands = try [c.operand("self"), c.operand("other")].map { try truth(c, $0) }
            return [try b.apply(Bitwise(f), operands)]
        }
        switch c.target {
        case "aten.addcmul.default", "aten.addcdiv.default":
            let x = try c.tensor("self"), t1 = try c.tensor("tensor1"), t2 = try c.tensor("tensor2")
            guard [x, t1, t2].allSatisfy({ b.type(of: $0).dtype.isFloatingPoint }) else {
                throw c.unsupported("\(op) of integer tensors is not mapped")
            }
            let scaled = try b.multiply(b.scalar(c.double("value", default: 1), like: t1), t1)
            return [try b.add(x, op == "addcmul" ? b.multiply(scaled, t2) : b.divide(scaled, t2))]
        case "aten.add.Tensor", "aten.add.Scalar", "aten.sub.Tensor", "aten.sub.Scalar":
            var alpha = try c.double("alpha", default: 1)
            if op == "sub" { alpha = -alpha }
            return [try addScaled(c, c.operand("self"), c.operand("other"), alpha: alpha)]
        case "aten.rsub.Tensor", "aten.rsub.Scalar":
            return [try addScaled(c, c.operand("other"), c.operand("self"), alpha: -(try c.double("alpha", default: 1)))]
        case "aten.mul.Tensor", "aten.mul.Scalar":
            return [try binary(c, .multiply, c.operand("self"), c.operand("other"))]
        case "aten.div.Tensor", "aten.div.Scalar", "aten.true_divide.Tensor", "aten.div.Tensor_mode", "aten.div.Scalar_mode":
            let (a, d) = (try c.operand("self"), try c.operand("other"))
            switch try c.optionalString("rounding_mode") {
            case nil: return [try binary(c, .divide, a, d, floatResult: true)]
            case "trunc":
                let (x, y, category) = try promote(c, [a, d])
                let out = try b.apply(Math(.trunc), [b.divide(x, y)])
                return [try restore(c, out, category)]
            case "floor": return [try mathBinary(c, .floorDivide, a, d)]
            case let mode?: throw c.fail("rounding_mode", "'\(mode)' is neither 'trunc' nor 'floor'")
            }
        case "aten.floor_divide.default", "aten.floor_divide.Scalar":
            return [try mathBinary(c, .floorDivide, c.operand("self"), c.operand("other"))]
        case "aten.remainder.Tensor", "aten.remainder.Scalar", "aten.remainder.Scalar_Tensor":
            return [try mathBinary(c, .remainder, c.operand("self"), c.operand("other"))]
        case "aten.fmod.Tensor", "aten.fmod.Scalar":
            return [try mathBinary(c, .fmod, c.operand("self"), c.operand("other"))]
        case "aten.atan2.default":
            let (x, y, _) = try promote(c, [c.operand("self"), c.operand("other")], floatResult: true)
            return [try b.apply(MathBinary(.atan2), [x, y])]
        case "aten.maximum.default", "aten.max.other", "aten.fmax.default":
            return [try binary(c, .maximum, c.operand("self"), c.operand("other"), nanPropagating: c.target != "aten.fmax.default")]
        case "aten.minimum.default", "aten.min.other", "aten.fmin.default":
            return [try binary(c, .minimum, c.operand("self"), c.operand("other"), nanPropagating: c.target != "aten.fmin.default")]
        case "aten.where.self", "aten.where.ScalarOther", "aten.where.ScalarSelf", "aten.where.Scalar":
            let (x, y, category) = try promote(c, [c.operand("self"), c.operand("other")])
            return [try restore(c, select(c, c.tensor("condition"), x, y), category)]
        case "aten.masked_fill.Scalar", "aten.masked_fill.Tensor":
            let x = try c.tensor("self")
            let dtype = b.type(of: x).dtype
            let compute: DType = dtype.isFloatingPoint ? dtype : .float64
            let value = try tensor(c, c.operand("value"), dtype: compute)
            let out = try select(c, c.tensor("mask"), value, b.cast(x, to: compute))
            return [try b.cast(out, to: dtype)]
        case "aten.neg.default":
            return [try unary(c, c.tensor("self")) { try b.negate($0) }]
        case "aten.abs.default":
            return [try unary(c, c.tensor("self")) { try b.unary(.abs, $0) }]
        case "aten.bitwise_not.default":
            let x = try c.tensor("self")
            guard !b.type(of: x).dtype.isFloatingPoint else { throw c.unsupported("bitwise_not of a floating tensor is not defined") }
            return [try b.apply(Bitwise(.not), [x])]
        case "aten.logical_not.default":
            return [try b.apply(Bitwise(.not), [truth(c, .tensor(c.tensor("self")))])]
        case "aten.isnan.default", "aten.isinf.default", "aten.isfinite.default", "aten.isposinf.default", "aten.isneginf.default":
            let x = try c.tensor("self")
            guard b.type(of: x).dtype.isFloatingPoint else {
                return [b.constant(Tensor(repeating: op == "isfinite" ? 1 : 0, shape: c.shape(x), dtype: .bool))]
            }
            let infinity = b.scalar(.infinity, like: x)
            let mask: B.Value
            switch op {
            case "isnan": mask = try b.apply(Bitwise(.not), [b.cast(b.binary(.equal, x, x), to: .bool)])
            case "isposinf": mask = try b.cast(b.binary(.equal, x, infinity), to: .bool)
            case "isneginf": mask = try b.cast(b.binary(.equal, x, b.negate(infinity)), to: .bool)
            case "isinf": mask = try b.cast(b.binary(.equal, b.unary(.abs, x), infinity), to: .bool)
            default: mask = try b.cast(b.binary(.less, b.unary(.abs, x), infinity), to: .bool)
            }
            return [mask]
        case "aten.pow.Tensor_Scalar":
            let x = try c.tensor("self")
            if case .int(let e)? = c.node.argument("exponent"), !b.type(of: x).dtype.isFloatingPoint {
                guard e >= 0 else { throw c.unsupported("an integer tensor to a negative integer power is an error in PyTorch") }
                return [try binary(c, .power, .tensor(x), .number(Double(e), isInteger: true))]
            }
            return [try power(c, c.floating(x), exponent: c.double("exponent"))]
        case "aten.pow.Tensor_Tensor", "aten.pow.Scalar":
            return [try binary(c, .power, c.operand("self"), c.operand("exponent"))]
        case "aten.clamp.default", "aten.clip.default", "aten.clamp.Tensor", "aten.clamp_min.default", "aten.clamp_max.default":
            let minName = c.has("min") ? "min" : nil
            let maxName = c.has("max") ? "max" : nil
            var out = try c.operand("self")
            var category = Category.of(c, [out])
            for (name, f) in [(minName, BinaryFunction.maximum), (maxName, .minimum)] {
                guard let name else { continue }
                let bound = try c.operand(name)
                let (x, y, promoted) = try promote(c, [out, bound])
                if case .number = bound {
                    // A number bound: the bound where x reaches it, so x's gradient is 0 at the bound (autograd's
                    // `clamp` backward, measured: torch.clamp(x, 0., 2.) at x = 0 and 2 gives 0); NaN stays NaN.
                    let reached = try b.binary(f == .maximum ? .lessEqual : .greaterEqual, x, y)
                    out = .tensor(try b.apply(Select(), [reached, y, x]))
                } else {
                    // Tensor bounds go through maximum/minimum: half the gradient each on a tie.
                    out = .tensor(try b.binary(f, x, y))
                }
                category = promoted
            }
            guard case .tensor(let value) = out else { throw c.fail("self", "expected a tensor") }
            return [try restore(c, value, category)]
        default:
            throw c.unsupported("not in the arithmetic table")
        }
    }

    /// PyTorch's type categories, in promotion order.
    enum Category: Int, Comparable {
        case bool, integer, floating

        static func < (a: Category, b: Category) -> Bool { a.rawValue < b.rawValue }

        static func of<B: Builder>(_ c: ATenCall<B>, _ operands: [Operand<B.Value>]) -> Category {
            operands.map { operand -> Category in
                switch operand {
                case .tensor(let v):
                    let dtype = c.b.type(of: v).dtype
                    return dtype.isFloatingPoint ? .floating : (dtype == .bool ? .bool : .integer)
                case .number(_, let isInteger): return isInteger ? .integer : .floating
                case .boolean: return .bool
                }
            }.max() ?? .floating
        }
    }

    /// The operands as tensors of one compute dtype: the run's float dtype for a floating result, float64
    /// for integers (exact below 2⁵³) and for bools (0/1), and the result's category.
    static func promote<B: Builder>(_ c: ATenCall<B>, _ operands: [Operand<B.Value>], floatResult: Bool = false)
        throws -> (B.Value, B.Value, Category) {
        var category = Category.of(c, operands)
        if floatResult { category = .floating }
        let floating = operands.compactMap { operand -> DType? in
            if case .tensor(let v) = operand, c.b.type(of: v).dtype.isFloatingPoint { return c.b.type(of: v).dtype }
            return nil
        }.first
        let dtype: DType = category == .floating ? (floating ?? c.floatType) : .float64
        let values = try operands.map { try tensor(c, $0, dtype: dtype) }
        return (values[0], values[1], category)
    }

    /// An operand as a tensor of `dtype` (a scalar becomes a rank-0 constant, rounded to `dtype`).
    static func tensor<B: Builder>(_ c: ATenCall<B>, _ operand: Operand<B.Value>, dtype: DType) throws -> B.Value {
        switch operand {
        case .tensor(let v): return try c.b.cast(v, to: dtype)
        case .number(let n, _): return c.b.constant(Tensor(repeating: n, shape: [], dtype: dtype))
        case .boolean(let flag): return c.b.constant(Tensor(repeating: flag ? 1 : 0, shape: [], dtype: dtype))
        }
    }

    /// An operand as a bool tensor (non-zero is true), for the logical operators.
    static func truth<B: Builder>(_ c: ATenCall<B>, _ operand: Operand<B.Value>) throws -> B.Value {
        try tensor(c, operand, dtype: .bool)
    }

    /// A float64 result of integer or bool operands brought back to their category's dtype.
    static func restore<B: Builder>(_ c: ATenCall<B>, _ value: B.Value, _ category: Category) throws -> B.Value {
        switch category {
        case .floating: return value
        case .integer: return try c.b.cast(value, to: .int64)
        case .bool: return try c.b.cast(value, to: .bool)
        }
    }

    /// `condition ? x : y` (x and y of one float dtype; the condition any dtype, non-zero is true).
    static func select<B: Builder>(_ c: ATenCall<B>, _ condition: B.Value, _ x: B.Value, _ y: B.Value) throws -> B.Value {
        let dtype = c.b.type(of: x).dtype
        let flag = try c.b.cast(c.b.cast(condition, to: .bool), to: dtype)
        return try c.b.apply(Select(), [flag, x, y])
    }

    static func binary<B: Builder>(_ c: ATenCall<B>, _ f: BinaryFunction, _ a: Operand<B.Value>, _ d: Operand<B.Value>,
                                   floatResult: Bool = false, nanPropagating: Bool = true) throws -> B.Value {
        let (x, y, category) = try promote(c, [a, d], floatResult: floatResult)
        var out = try c.b.binary(f, x, y)
        if !nanPropagating {
            // fmax / fmin: a NaN on one side gives the other side.
            let xNaN = try c.b.binary(.equal, x, x), yNaN = try c.b.binary(.equal, y, y)
            out = try c.b.apply(Select(), [xNaN, c.b.apply(Select(), [yNaN, out, x]), y])
        }
        return try restore(c, out, category)
    }

    static func mathBinary<B: Builder>(_ c: ATenCall<B>, _ f: MathBinaryFunction, _ a: Operand<B.Value>, _ d: Operand<B.Value>) throws -> B.Value {
        let (x, y, category) = try promote(c, [a, d])
        return try restore(c, c.b.apply(MathBinary(f), [x, y]), category)
    }

    /// `body` on `x` in float64 for an integer tensor (cast back after), directly on a float one.
    static func unary<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, _ body: (B.Value) throws -> B.Value) throws -> B.Value {
        let dtype = c.b.type(of: x).dtype
        guard !dtype.isFloatingPoint else { return try body(x) }
        return try c.b.cast(body(c.b.cast(x, to: .float64)), to: dtype)
    }

    /// `x ** exponent` with PyTorch's special-cased exponents (`pow_tensor_scalar_optimized_kernel`).
    static func power<B: Builder>(_ c: ATenCall<B>, _ x: B.Value, exponent e: Double) throws -> B.Value {
        let b = c.b
        switch e {
        case 1: return x
        case 2: return try b.multiply(x, x)
        case 3: return try b.multiply(b.multiply(x, x), x)
        case 0.5: return try b.unary(.sqrt, x)
        case -0.5: return try b.unary(.reciprocal, b.unary(.sqrt, x))
        case -1: return try b.unary(.reciprocal, x)
        case -2: return try b.unary(.reciprocal, b.multiply(x, x))
        default: return try b.binary(.power, x, b.scalar(e, like: x))
        }
    }

    /// `a + alpha·d`, rounded once when `alpha ≠ 1` (ATen's vectorised `fmadd`).
    static func addScaled<B: Builder>(_ c: ATenCall<B>, _ a: Operand<B.Value>, _ d: Operand<B.Value>, alpha: Double) throws -> B.Value {
        let b = c.b
        let (x, y, category) = try promote(c, [a, d])
        let out: B.Value
        if alpha == 1 { out = try b.add(x, y) }
        else if alpha == -1 { out = try b.subtract(x, y) }
        else { out = try b.apply(MultiplyAdd(fused: true), [y, b.scalar(alpha, like: y), x]) }
        return try restore(c, out, category)
    }
}
