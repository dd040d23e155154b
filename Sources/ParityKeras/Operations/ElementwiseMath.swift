import Foundation

extension Op {
    /// Checks the number of inputs (the engine's own check is internal to it).
    func checkArity(_ inputs: [TensorType], count: Int) throws {
        guard inputs.count == count else {
            throw TensorError.invalidArgument(op: name, message: "takes \(count) inputs; received \(inputs.count)")
        }
    }

    /// The one float dtype shared by the inputs.
    func sameFloat(_ inputs: [TensorType]) throws -> DType {
        let dtypes = Set(inputs.map(\.dtype))
        guard dtypes.count == 1, let dtype = dtypes.first else { throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype)) }
        guard dtype.isFloatingPoint else { throw TensorError.unsupportedDType(op: name, dtype: dtype) }
        return dtype
    }
}

/// Elementwise functions of Keras operations (`keras.ops.sin`, `floor`, `erf`, …), each computed in the
/// tensor's own precision with the C library's function of that precision (`sinf` for Float32, as
/// TensorFlow's CPU kernels call Eigen's scalar functions). Those the engine has (`MathFunction`:
/// trigonometric, hyperbolic, `erf`, `log1p`, rounding, `sign`, …) run as its `Math` op, forward and
/// VJP; the rest (`cbrt`, `rsqrt`, `sinc`, predicates) are here. Predicates (`isnan`, …) give no gradient.
public struct ElementwiseMath: Op {
    /// The function, named as `keras.ops` names it.
    public enum Function: String, Sendable, Hashable, CaseIterable {
        /// The trigonometric or hyperbolic function of that name, or its inverse.
        case sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh, arctanh
        /// Rounding down, up, toward zero.
        case floor, ceil, trunc
        /// Half to even, as `tf.round` and `np.round`.
        case round
        /// −1, 0 or 1 (NaN stays NaN), as `tf.sign`.
        case sign
        /// `erf x`, `1 − erf x`, `ln(1 + x)`, `eˣ − 1`, `2ˣ`, `log₂ x`, `log₁₀ x`, `∛x`.
        case erf, erfc, log1p, expm1, exp2, log2, log10, cbrt
        /// `1 / sqrt(x)`.
        case rsqrt
        /// `sin(πx) / (πx)`, 1 at 0 (`np.sinc`).
        case sinc
        /// 1 where the predicate holds, else 0 (Keras returns bool tensors; Parity holds them as 0/1).
        case isnan, isinf, isfinite, isneginf, isposinf, signbit

        var isPredicate: Bool { [.isnan, .isinf, .isfinite, .isneginf, .isposinf, .signbit].contains(self) }

        /// The engine's function computing the same thing (``MathFunction``, shared with ParityTorch), if any.
        var engineFunction: MathFunction? {
            switch self {
            case .arcsin: return .asin
            case .arccos: return .acos
            case .arctan: return .atan
            case .arcsinh: return .asinh
            case .arccosh: return .acosh
            case .arctanh: return .atanh
            default: return MathFunction(rawValue: rawValue)
            }
        }
    }

    /// The function.
    public var function: Function
    /// The op computing `function`.
    public init(_ function: Function) { self.function = function }

    public var name: String { function.rawValue }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 1)
        _ = try sameFloat(inputs)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        if let shared = function.engineFunction { return try Math(shared).forward(inputs) }
        let x = inputs[0]
        switch x.storage {
        case .float32(let v): return Tensor(shape: x.shape, values: v.map { ElementwiseMath.apply(function, $0) })
        case .float64(let v): return Tensor(shape: x.shape, values: v.map { ElementwiseMath.apply(function, $0) })
        default: throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
    }

    /// The functions only Keras's operations need, in each precision's C library function.
    static func apply(_ f: Function, _ x: Float) -> Float {
        switch f {
        case .cbrt: return Foundation.cbrt(x)
        case .sinc:
            if x == 0 { return 1 }
            let px = x * Float(Double.pi)  // tf.constant(np.pi, float32), π rounded to nearest (Float.pi is one ulp below)
            return Foundation.sin(px) / px
        default: return Float(applyCommon(f, Double(x)))
        }
    }

    static func apply(_ f: Function, _ x: Double) -> Double {
        switch f {
        case .cbrt: return Foundation.cbrt(x)
        case .sinc:
            if x == 0 { return 1 }
            let px = Double.pi * x
            return Foundation.sin(px) / px
        default: return applyCommon(f, x)
        }
    }

    /// Predicates (exact in any precision) and `rsqrt`, whose Float32 form is `1 / sqrtf(x)` rounded
    /// twice as TensorFlow's Eigen kernel does.
    private static func applyCommon(_ f: Function, _ x: Double) -> Double {
        switch f {
        case .rsqrt: return 1 / x.squareRoot()
        case .isnan: return x.isNaN ? 1 : 0
        case .isinf: return x.isInfinite ? 1 : 0
        case .isfinite: return x.isFinite ? 1 : 0
        case .isneginf: return x == -.infinity ? 1 : 0
        case .isposinf: return x == .infinity ? 1 : 0
        case .signbit: return x.sign == .minus ? 1 : 0
        default: return .nan
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output y: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        if let shared = function.engineFunction { return try Math(shared).vjp(b, inputs: inputs, output: y, cotangent: g) }
        let x = inputs[0]
        if function.isPredicate { return [nil] }
        func math(_ f: Function, _ v: B.Value) throws -> B.Value { try b.apply(ElementwiseMath(f), [v]) }
        let derivative: B.Value
        switch function {
        case .cbrt: derivative = try b.divide(y, b.multiply(b.scalar(3, like: x), x))
        case .rsqrt: derivative = try b.multiply(b.scalar(-0.5, like: x), b.divide(y, x))
        case .sinc:
            // (cos(πx) − sinc(x)) / x, 0 at x = 0.
            let pi = b.scalar(Double.pi, like: x)
            let raw = try b.divide(b.subtract(math(.cos, b.multiply(pi, x)), y), x)
            let zero = try b.binary(.equal, x, b.scalar(0, like: x))
            derivative = try b.apply(Select(), [zero, b.scalar(0, like: x), raw])
        default: return [nil]
        }
        return [try b.multiply(g, derivative)]
    }
}

/// Binary elementwise functions Keras operations use beyond `BinaryFunction` (with NumPy
/// broadcasting): `arctan2`, `hypot`, NumPy's floor division and modulo (the result takes the
/// divisor's sign, `tf.math.floormod`), C's `fmod`, `logaddexp`, `heaviside`, `nextafter`.
public struct BinaryMath: Op {
    /// The function, named as `keras.ops` names it.
    public enum Function: String, Sendable, Hashable, CaseIterable {
        /// The functions listed above.
        case arctan2, hypot, floorDivide, floorMod, fmod, logaddexp, logaddexp2, heaviside, nextafter
    }

    /// The function.
    public var function: Function
    /// The op computing `function`.
    public init(_ function: Function) { self.function = function }

    public var name: String { function.rawValue }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: 2)
        return TensorType(try sameFloat(inputs), try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let shape = try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name)
        let a = try inputs[0].broadcast(to: shape), c = try inputs[1].broadcast(to: shape)
        switch (a.storage, c.storage) {
        case let (.float32(x), .float32(y)): return Tensor(shape: shape, values: zip(x, y).map { BinaryMath.apply(function, $0, $1) })
        case let (.float64(x), .float64(y)): return Tensor(shape: shape, values: zip(x, y).map { BinaryMath.apply(function, $0, $1) })
        default: throw TensorError.dtypeMismatch(op: name, received: [a.dtype, c.dtype])
        }
    }

    /// `f(x, y)` with the C library's functions of `T`'s precision (swift-numerics' `Real` calls them:
    /// `atan2f`, `hypotf`, `log1pf`, `expf`, `log2f`, `exp2f`; `truncatingRemainder` is C's exact `fmod`).
    static func apply<T: FloatElement>(_ f: Function, _ x: T, _ y: T) -> T {
        switch f {
        case .arctan2: return T.atan2(y: x, x: y)
        case .hypot: return T.hypot(x, y)
        case .floorDivide: return (x / y).rounded(.down)
        case .floorMod:
            // tf.math.floormod: trunc-mod, then shifted by the divisor when the signs differ.
            let r = x.truncatingRemainder(dividingBy: y)
            return r != 0 && (r < 0) != (y < 0) ? r + y : r
        case .fmod: return x.truncatingRemainder(dividingBy: y)
        case .logaddexp:
            let m = Swift.max(x, y)
            return m.isInfinite && m < 0 ? m : m + T.log(onePlus: T.exp(-Swift.abs(x - y)))
        case .logaddexp2:
            let m = Swift.max(x, y)
            return m.isInfinite && m < 0 ? m : m + T.log2(1 + T.exp2(-Swift.abs(x - y)))
        case .heaviside: return x.isNaN ? x : (x < 0 ? 0 : (x > 0 ? 1 : y))
        case .nextafter: return x == y || x.isNaN || y.isNaN ? (x.isNaN ? x : y) : (y > x ? x.nextUp : x.nextDown)
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (x, y) = (inputs[0], inputs[1])
        let da: B.Value?, db: B.Value?
        switch function {
        case .arctan2:
            let r2 = try b.add(b.multiply(x, x), b.multiply(y, y))
            (da, db) = (try b.divide(b.multiply(g, y), r2), try b.negate(b.divide(b.multiply(g, x), r2)))
        case .hypot: (da, db) = (try b.divide(b.multiply(g, x), output), try b.divide(b.multiply(g, y), output))
        case .logaddexp:
            (da, db) = (try b.multiply(g, b.unary(.sigmoid, b.subtract(x, y))), try b.multiply(g, b.unary(.sigmoid, b.subtract(y, x))))
        // TensorFlow's FloorModGrad: −g·floor(x/y). Keras's `fmod` is sign(x)·floormod(|x|, |y|) on TensorFlow,
        // so its gradient is −g·sign(x)·sign(y)·floor(|x|/|y|) = −g·trunc(x/y).
        case .floorMod: (da, db) = (g, try b.negate(b.multiply(g, b.apply(BinaryMath(.floorDivide), [x, y]))))
        case .fmod: (da, db) = (g, try b.negate(b.multiply(g, b.apply(Math(.trunc), [b.divide(x, y)]))))
        default: return [nil, nil]
        }
        return [try da.map { try b.sum($0, toShape: b.shape(of: x)) }, try db.map { try b.sum($0, toShape: b.shape(of: y)) }]
    }
}

/// Integer-only elementwise functions on int64 tensors (Keras's bitwise operations, `gcd`, `lcm`), as
/// NumPy defines them on two's-complement integers; shifts by 64 or more give 0 (or −1 for a negative
/// value shifted right), as `tf.bitwise` does. Not differentiable.
public struct IntegerMath: Op {
    /// The function.
    public enum Function: String, Sendable, Hashable, CaseIterable {
        /// `&`, `|`, `^`, `<<`, `>>`, greatest common divisor, least common multiple.
        case and, or, xor, leftShift, rightShift, gcd, lcm
        /// One operand: bitwise complement.
        case not
    }

    /// The function.
    public var function: Function
    /// The op computing `function`.
    public init(_ function: Function) { self.function = function }

    public var name: String { "bitwise \(function.rawValue)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try checkArity(inputs, count: function == .not ? 1 : 2)
        for input in inputs where input.dtype != .int64 { throw TensorError.unsupportedDType(op: name, dtype: input.dtype) }
        return TensorType(.int64, function == .not ? inputs[0].shape : try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        if function == .not { return Tensor(shape: inputs[0].shape, int64: inputs[0].int64s!.map { ~$0 }) }
        let shape = try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name)
        let x = try inputs[0].broadcast(to: shape).int64s!, y = try inputs[1].broadcast(to: shape).int64s!
        return Tensor(shape: shape, int64: zip(x, y).map { IntegerMath.apply(function, $0, $1) })
    }

    static func apply(_ f: Function, _ x: Int64, _ y: Int64) -> Int64 {
        func gcd(_ a: Int64, _ b: Int64) -> Int64 {
            var (a, b) = (a.magnitude, b.magnitude)
            while b != 0 { (a, b) = (b, a % b) }
            return Int64(truncatingIfNeeded: a)
        }
        switch f {
        case .and: return x & y
        case .or: return x | y
        case .xor: return x ^ y
        case .leftShift: return y < 0 || y >= 64 ? 0 : x << y
        case .rightShift: return y < 0 || y >= 64 ? (x < 0 ? -1 : 0) : x >> y
        case .gcd: return gcd(x, y)
        case .lcm:
            let d = gcd(x, y)
            return d == 0 ? 0 : Swift.abs(x / d &* y)
        case .not: return ~x
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        inputs.map { _ in nil }
    }
}
