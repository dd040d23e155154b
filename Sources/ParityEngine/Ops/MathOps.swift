import RealModule

/// Elementwise functions of one float tensor beyond the activations of `UnaryFunction`: the
/// trigonometric and hyperbolic functions and their inverses, `erf`, `erfc`, `log1p`, `expm1`,
/// `log2`, `log10`, `exp2`, and the rounding functions (`floor`, `ceil`, `round` half to even as
/// `torch.round`, `trunc`, `sign`), each evaluated by the platform's libm through swift-numerics.
///
/// PyTorch evaluates the transcendental ones with SLEEF's vectorised versions (`Sleef_sinf8_u10`, …,
/// error ≤ 1 ULP), so float32 results may differ from it by an ULP; the rounding functions are exact.
public enum MathFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The trigonometric or hyperbolic function of that name, or its inverse.
    case sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh
    /// `erf x`, `1 − erf x`, `ln(1 + x)`, `eˣ − 1`, `log₂ x`, `log₁₀ x`, `2ˣ`.
    case erf, erfc, log1p, expm1, log2, log10, exp2
    /// Rounding down, up, to nearest even, toward zero; the sign (−1, 0 or 1, NaN kept).
    case floor, ceil, round, trunc, sign

    public var description: String { rawValue }

    /// Whether the function is piecewise constant (its derivative is zero almost everywhere).
    public var isStep: Bool {
        switch self {
        case .floor, .ceil, .round, .trunc, .sign: return true
        default: return false
        }
    }

    /// The function of one scalar.
    @inline(__always)
    public func apply<T: FloatElement>(_ x: T) -> T {
        switch self {
        case .sin: return T.sin(x)
        case .cos: return T.cos(x)
        case .tan: return T.tan(x)
        case .asin: return T.asin(x)
        case .acos: return T.acos(x)
        case .atan: return T.atan(x)
        case .sinh: return T.sinh(x)
        case .cosh: return T.cosh(x)
        case .asinh: return T.asinh(x)
        case .acosh: return T.acosh(x)
        case .atanh: return T.atanh(x)
        case .erf: return T.erf(x)
        case .erfc: return T.erfc(x)
        case .log1p: return T.log(onePlus: x)
        case .expm1: return T.expMinusOne(x)
        case .log2: return T.log2(x)
        case .log10: return T.log10(x)
        case .exp2: return T.exp2(x)
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        case .round: return x.rounded(.toNearestOrEven)
        case .trunc: return x.rounded(.towardZero)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : (x.isNaN ? x : 0))
        }
    }

    /// `f′(x)` from `x` and `y = f(x)`.
    @inline(__always)
    public func derivative<T: FloatElement>(_ x: T, _ y: T) -> T {
        switch self {
        case .sin: return T.cos(x)
        case .cos: return -T.sin(x)
        case .tan: return 1 + y * y
        case .asin: return 1 / (1 - x * x).squareRoot()
        case .acos: return -1 / (1 - x * x).squareRoot()
        case .atan: return 1 / (1 + x * x)
        case .sinh: return T.cosh(x)
        case .cosh: return T.sinh(x)
        case .asinh: return 1 / (x * x + 1).squareRoot()
        case .acosh: return 1 / (x * x - 1).squareRoot()
        case .atanh: return 1 / (1 - x * x)
        case .erf: return T(2 / Double.pi.squareRoot()) * T.exp(-x * x)
        case .erfc: return -T(2 / Double.pi.squareRoot()) * T.exp(-x * x)
        case .log1p: return 1 / (1 + x)
        case .expm1: return y + 1
        case .log2: return 1 / (x * T(M_LN2))
        case .log10: return 1 / (x * T(M_LN10))
        case .exp2: return y * T(M_LN2)
        case .floor, .ceil, .round, .trunc, .sign: return 0
        }
    }

    private var M_LN2: Double { 0.693147180559945309417232121458176568 }
    private var M_LN10: Double { 2.30258509299404568401799145468436421 }
}

/// `function(x)` elementwise (``MathFunction``). VJP: `g · f′(x)`.
public struct Math: Op {
    /// The function.
    public var function: MathFunction
    /// The op for `function`.
    public init(_ function: MathFunction) { self.function = function }

    public var name: String { "\(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        switch x.storage {
        case .float32(let v): return Tensor(shape: x.shape, values: v.map(function.apply))
        case .float64(let v): return Tensor(shape: x.shape, values: v.map(function.apply))
        default: throw TensorError.unsupportedDType(op: name, dtype: x.dtype)
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        [try b.multiply(cotangent, b.apply(MathDerivative(function), [inputs[0], output]))]
    }
}

/// `f′(x)` elementwise from `(x, f(x))`, the local derivative a ``Math`` VJP multiplies by (no VJP of
/// its own, as ``UnaryDerivative``).
public struct MathDerivative: Op {
    /// The function.
    public var function: MathFunction
    /// The op for `function`.
    public init(_ function: MathFunction) { self.function = function }

    public var name: String { "d/dx \(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        _ = try expectSameFloat(inputs)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        switch (inputs[0].storage, inputs[1].storage) {
        case let (.float32(x), .float32(y)): return Tensor(shape: inputs[0].shape, values: zip(x, y).map(function.derivative))
        case let (.float64(x), .float64(y)): return Tensor(shape: inputs[0].shape, values: zip(x, y).map(function.derivative))
        default: throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype))
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent: B.Value) throws -> [B.Value?] {
        throw TensorError.unsupported(op: name, message: "second derivatives are not supported")
    }
}

/// Elementwise functions of two float tensors beyond `BinaryFunction`, in ATen's CPU formulas
/// (`aten/src/ATen/native/cpu/BinaryOpsKernel.cpp`):
/// - `atan2(a, b)`;
/// - `fmod`: C's `fmod` (the sign of `a`);
/// - `remainder`: Python's `%`, `fmod(a, b)` plus `b` when it is non-zero and of the other sign than `b`;
/// - `floorDivide`: Python's `//` for floats (`div_floor_floating`): `(a − fmod(a, b)) / b`, less one
///   when the remainder and `b` differ in sign, then floored and rounded to the nearest whole number
///   (exact where `floor(a / b)` would be off by one from rounding).
public enum MathBinaryFunction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The functions listed above.
    case atan2, fmod, remainder, floorDivide

    public var description: String { rawValue }

    /// The function of two scalars.
    @inline(__always)
    public func apply<T: FloatElement>(_ a: T, _ b: T) -> T {
        switch self {
        case .atan2: return T.atan2(y: a, x: b)
        case .fmod: return a.truncatingRemainder(dividingBy: b)
        case .remainder:
            var mod = a.truncatingRemainder(dividingBy: b)
            if mod != 0 && ((b < 0) != (mod < 0)) { mod += b }
            return mod
        case .floorDivide:
            if b == 0 { return a / b }
            let mod = a.truncatingRemainder(dividingBy: b)
            var div = (a - mod) / b
            if mod != 0 && ((b < 0) != (mod < 0)) { div -= 1 }
            if div == 0 { return T(signOf: a / b, magnitudeOf: 0) }
            var floored = div.rounded(.down)
            if div - floored > T(0.5) { floored += 1 }
            return floored
        }
    }
}

/// `function(a, b)` elementwise with broadcasting (``MathBinaryFunction``). VJP (PyTorch's
/// `derivatives.yaml`): `atan2` → `g·b/(a²+b²)`, `−g·a/(a²+b²)`; `fmod` → `g`, `−g·trunc(a/b)`;
/// `remainder` → `g`, `−g·floor(a/b)`; `floorDivide` → none (piecewise constant).
public struct MathBinary: Op {
    /// The function.
    public var function: MathBinaryFunction
    /// The op for `function`.
    public init(_ function: MathBinaryFunction) { self.function = function }

    public var name: String { "\(function)" }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        return TensorType(try expectSameFloat(inputs), try Shape.broadcast(inputs[0].shape, inputs[1].shape, op: name))
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        let shape = try outputType(inputs.map(TensorType.init(of:))).shape
        let a = try inputs[0].broadcast(to: shape), b = try inputs[1].broadcast(to: shape)
        switch (a.storage, b.storage) {
        case let (.float32(x), .float32(y)): return Tensor(shape: shape, values: zip(x, y).map(function.apply))
        case let (.float64(x), .float64(y)): return Tensor(shape: shape, values: zip(x, y).map(function.apply))
        default: throw TensorError.dtypeMismatch(op: name, received: inputs.map(\.dtype))
        }
    }

    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let (x, y) = (inputs[0], inputs[1])
        let (da, db): (B.Value?, B.Value?)
        switch function {
        case .atan2:
            let denominator = try b.add(b.multiply(x, x), b.multiply(y, y))
            (da, db) = (try b.divide(b.multiply(g, y), denominator), try b.negate(b.divide(b.multiply(g, x), denominator)))
        case .fmod:
            (da, db) = (g, try b.negate(b.multiply(g, b.apply(Math(.trunc), [b.divide(x, y)]))))
        case .remainder:
            (da, db) = (g, try b.negate(b.multiply(g, b.apply(Math(.floor), [b.divide(x, y)]))))
        case .floorDivide:
            return [nil, nil]
        }
        return [try da.map { try b.sum($0, toShape: b.shape(of: x)) }, try db.map { try b.sum($0, toShape: b.shape(of: y)) }]
    }
}
