import ParityNN

/// Elementwise functions of one tensor: `exp`, `log`, `sqrt`, `rsqrt` (`1/sqrt(x)`), `reciprocal`,
/// `square` (Parity's ``UnaryFunction``s) and the trigonometric, hyperbolic, error, logarithm and rounding
/// functions of ``MathFunction``. Integer and bool tensors promote to the run's float dtype, except for
/// the rounding functions, which leave integers unchanged (`sign` gives −1, 0, 1 in the integer dtype),
/// and `square`, which stays integer. `round.decimals` is `nearbyint(x·10ᵈ)/10ᵈ` (ATen's
/// `round_decimals_kernel`; for negative `d`, `nearbyint(x/10⁻ᵈ)·10⁻ᵈ`).
enum MathOps: ATenFamily {
    static let unary: [String: UnaryFunction] = [
        "exp": .exp, "log": .log, "sqrt": .sqrt, "reciprocal": .reciprocal,
    ]
    static let math: [String: MathFunction] = Dictionary(uniqueKeysWithValues: MathFunction.allCases.map { ($0.rawValue, $0) })

    static let targets: Set<String> = Set(
        unary.keys.map { "aten.\($0).default" } + math.keys.map { "aten.\($0).default" }
            + ["aten.rsqrt.default", "aten.square.default", "aten.round.decimals"])

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        let name = ArithmeticOps.name(c.target)
        let x = try c.tensor("self")
        let dtype = b.type(of: x).dtype
        if let f = math[name] {
            if f.isStep && !dtype.isFloatingPoint {
                guard f == .sign else { return [x] }
                return [try ArithmeticOps.unary(c, x) { try b.apply(Math(.sign), [$0]) }]
            }
            if c.target == "aten.round.decimals" { return [try roundDecimals(c, c.floating(x))] }
            return [try b.apply(Math(f), [c.floating(x)])]
        }
        if let f = unary[name] { return [try b.unary(f, c.floating(x))] }
        switch c.target {
        case "aten.rsqrt.default": return [try b.unary(.reciprocal, b.unary(.sqrt, c.floating(x)))]
        case "aten.square.default": return [try ArithmeticOps.unary(c, x) { try b.multiply($0, $0) }]
        default: throw c.unsupported("not in the math table")
        }
    }

    static func roundDecimals<B: Builder>(_ c: ATenCall<B>, _ x: B.Value) throws -> B.Value {
        let b = c.b
        let decimals = try c.int("decimals", default: 0)
        if decimals == 0 { return try b.apply(Math(.round), [x]) }
        let power = b.scalar((0..<abs(decimals)).reduce(1.0) { r, _ in r * 10 }, like: x)
        if decimals > 0 { return try b.divide(b.apply(Math(.round), [b.multiply(x, power)]), power) }
        return try b.multiply(b.apply(Math(.round), [b.divide(x, power)]), power)
    }
}
