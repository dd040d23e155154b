import Foundation
import ParityNN

/// Elementwise operations of one tensor (`keras/src/ops/numpy.py`, `math.py`, the activations of
/// `nn.py`) and of two (arithmetic, comparisons, logic, `where`), with Keras's dtype rules.
extension KerasOperations {
    static let elementwise: [String: Factory] = {
        var table: [String: Factory] = [:]
        // Activations by their Keras activation name: one definition (KerasLayerConfig.activation(named:)).
        let activations = ["Relu": "relu", "Relu6": "relu6", "Sigmoid": "sigmoid", "SparseSigmoid": "sparse_sigmoid",
                           "Softplus": "softplus", "Softsign": "softsign", "SparsePlus": "sparse_plus", "Silu": "silu",
                           "LogSigmoid": "log_sigmoid", "HardSigmoid": "hard_sigmoid", "HardSilu": "hard_silu", "Selu": "selu",
                           "TanhShrink": "tanh_shrink", "HardTanh": "hard_tanh", "Tanh": "tanh", "Exp": "exponential"]
        for (className, activation) in activations {
            table[className] = { layer in
                guard let f = try KerasLayerConfig.activation(named: activation, layer: layer.name, constants: layer.constants) else {
                    return UnaryOperation(op: className, kind: .identity)
                }
                return UnaryOperation(op: className, kind: .activation(f))
            }
        }
        let engine: [String: UnaryFunction] = ["Log": .log, "Sqrt": .sqrt, "Reciprocal": .reciprocal]
        for (className, f) in engine { table[className] = { _ in UnaryOperation(op: className, kind: .activation(.unary(f))) } }
        let math: [String: ElementwiseMath.Function] = [
            "Sin": .sin, "Cos": .cos, "Tan": .tan, "Arcsin": .arcsin, "Arccos": .arccos, "Arctan": .arctan, "Sinh": .sinh,
            "Cosh": .cosh, "Arcsinh": .arcsinh, "Arccosh": .arccosh, "Arctanh": .arctanh, "Erf": .erf, "Erfc": .erfc,
            "Log1p": .log1p, "Expm1": .expm1, "Exp2": .exp2, "Log2": .log2, "Log10": .log10, "Cbrt": .cbrt, "Rsqrt": .rsqrt,
            "Sinc": .sinc, "Floor": .floor, "Ceil": .ceil, "Trunc": .trunc,
            "Isnan": .isnan, "Isinf": .isinf, "Isfinite": .isfinite, "Isneginf": .isneginf, "Isposinf": .isposinf, "Signbit": .signbit,
        ]
        for (className, f) in math { table[className] = { _ in UnaryOperation(op: className, kind: .math(f)) } }
        for className in ["Copy", "StopGradient", "Real", "Conjugate", "Conj"] {
            table[className] = { _ in UnaryOperation(op: className, kind: .identity) }
        }
        for className in ["Abs", "Absolute", "Fabs"] { table[className] = { _ in UnaryOperation(op: className, kind: .integerPreserving(.abs)) } }
        table["Negative"] = { _ in UnaryOperation(op: "Negative", kind: .integerPreserving(.negate)) }
        table["Square"] = { _ in UnaryOperation(op: "Square", kind: .integerPreserving(.square)) }
        table["Sign"] = { _ in UnaryOperation(op: "Sign", kind: .sign) }
        table["LogicalNot"] = { _ in UnaryOperation(op: "LogicalNot", kind: .logicalNot) }
        table["Deg2rad"] = { _ in UnaryOperation(op: "Deg2rad", kind: .scale(Double.pi / 180)) }
        table["Rad2deg"] = { _ in UnaryOperation(op: "Rad2deg", kind: .scale(180 / Double.pi)) }
        table["Round"] = { layer in UnaryOperation(op: "Round", kind: .round(decimals: try layer.has("decimals") ? layer.int("decimals") : 0)) }
        table["Clip"] = { layer in
            guard let lower = try layer.value("x_min").double, let upper = try layer.value("x_max").double else {
                throw KerasError.unsupportedSetting(layer: layer.name, key: "x_min/x_max", value: "\(layer.config) (tensor bounds are not supported)")
            }
            return UnaryOperation(op: "Clip", kind: .clip(lower: lower, upper: upper))
        }
        table["NanToNum"] = { layer in
            UnaryOperation(op: "NanToNum", kind: .nanToNum(nan: try layer.has("nan") ? layer.double("nan") : 0,
                                                           posinf: try layer.optionalDouble("posinf"), neginf: try layer.optionalDouble("neginf")))
        }
        table["Threshold"] = { layer in UnaryOperation(op: "Threshold", kind: .threshold(try layer.double("threshold"), try layer.double("default_value"))) }
        // Parameterised activations (`keras/src/backend/tensorflow/nn.py`).
        table["LeakyRelu"] = { layer in
            let slope = try layer.has("negative_slope") ? layer.double("negative_slope") : 0.2
            return UnaryOperation(op: "LeakyRelu", kind: .activation(.unary(.leakyRelu(slope: layer.constant(slope)))))
        }
        table["Elu"] = { layer in UnaryOperation(op: "Elu", kind: .activation(.unary(.elu(alpha: try layer.has("alpha") ? layer.double("alpha") : 1)))) }
        table["Celu"] = { layer in UnaryOperation(op: "Celu", kind: .activation(.unary(.celu(alpha: try layer.has("alpha") ? layer.double("alpha") : 1)))) }
        // `ops.gelu` defaults to the tanh approximation (the `gelu` activation to the exact form).
        table["Gelu"] = { layer in
            let approximate = try layer.has("approximate") ? layer.bool("approximate") : true
            let f: Activation? = approximate ? .unary(.gelu(approximate: true)) : try KerasLayerConfig.activation(named: "gelu", layer: layer.name, constants: layer.constants)
            return UnaryOperation(op: "Gelu", kind: .activation(f!))
        }
        table["SoftShrink"] = { layer in UnaryOperation(op: "SoftShrink", kind: .activation(.unary(.softShrink(threshold: try layer.has("threshold") ? layer.double("threshold") : 0.5)))) }
        table["HardShrink"] = { layer in UnaryOperation(op: "HardShrink", kind: .activation(.unary(.hardShrink(threshold: try layer.has("threshold") ? layer.double("threshold") : 0.5)))) }
        table["Squareplus"] = { layer in UnaryOperation(op: "Squareplus", kind: .activation(.unary(.squareplus(b: try layer.has("b") ? layer.double("b") : 4)))) }
        table["Softmax"] = { layer in try softmaxOperation(layer, logarithm: false) }
        table["LogSoftmax"] = { layer in try softmaxOperation(layer, logarithm: true) }
        table["Glu"] = { layer in UnaryOperation(op: "Glu", kind: .glu(axis: try layer.has("axis") ? layer.int("axis") : -1)) }
        return table
    }()

    /// `axis=None` normalises over every element (`tf.nn.softmax` on the flattened tensor).
    static func softmaxOperation(_ layer: KerasLayerConfig, logarithm: Bool) throws -> UnaryOperation {
        let axes = try layer.optionalAxes()
        guard axes == nil || axes!.count == 1 else { throw KerasError.unsupportedSetting(layer: layer.name, key: "axis", value: "\(axes!)") }
        return UnaryOperation(op: layer.className, kind: .softmax(axis: axes?[0], logarithm: logarithm))
    }

    static let binary: [String: Factory] = {
        var table: [String: Factory] = [:]
        let arithmetic: [String: BinaryOperation.Kind] = [
            "Add": .engine(.add), "Subtract": .engine(.subtract), "Multiply": .engine(.multiply), "Maximum": .engine(.maximum),
            "Minimum": .engine(.minimum), "Power": .engine(.power), "Divide": .divide, "TrueDivide": .divide, "DivideNoNan": .divideNoNan,
            "FloorDivide": .math(.floorDivide), "Mod": .math(.floorMod), "Fmod": .math(.fmod),
            "Arctan2": .floatMath(.arctan2), "Hypot": .floatMath(.hypot), "Logaddexp": .floatMath(.logaddexp),
            "Logaddexp2": .floatMath(.logaddexp2), "Heaviside": .floatMath(.heaviside), "Nextafter": .floatMath(.nextafter),
            "Equal": .compare(.equal, negated: false), "NotEqual": .compare(.equal, negated: true),
            "Greater": .compare(.greater, negated: false), "GreaterEqual": .compare(.greaterEqual, negated: false),
            "Less": .compare(.less, negated: false), "LessEqual": .compare(.lessEqual, negated: false),
            "LogicalAnd": .logical(.and), "LogicalOr": .logical(.or), "LogicalXor": .logical(.xor),
            "Fmax": .nanIgnoring(.maximum), "Fmin": .nanIgnoring(.minimum),
            "BitwiseAnd": .integer(.and), "BitwiseOr": .integer(.or), "BitwiseXor": .integer(.xor),
            "BitwiseLeftShift": .integer(.leftShift), "LeftShift": .integer(.leftShift),
            "BitwiseRightShift": .integer(.rightShift), "RightShift": .integer(.rightShift),
            "Gcd": .integer(.gcd), "Lcm": .integer(.lcm),
        ]
        for (className, kind) in arithmetic { table[className] = { _ in BinaryOperation(op: className, kind: kind) } }
        for className in ["BitwiseInvert", "BitwiseNot"] { table[className] = { _ in UnaryOperation(op: className, kind: .bitwiseNot) } }
        table["Where"] = { _ in WhereOperation() }
        table["Isclose"] = { layer in IscloseOperation(equalNaN: try layer.has("equal_nan") ? layer.bool("equal_nan") : false) }
        return table
    }()
}

/// An elementwise function of one tensor.
public struct UnaryOperation: KerasCallable {
    public enum Kind: Sendable {
        /// A float function (integers and bools are converted to floats first, as Keras does).
        case activation(Activation)
        case math(ElementwiseMath.Function)
        /// Keeps integers integral (`abs`, `negative`, `square`).
        case integerPreserving(UnaryFunction)
        case identity, sign, logicalNot, bitwiseNot
        case scale(Double)
        case round(decimals: Int)
        case clip(lower: Double, upper: Double)
        case nanToNum(nan: Double, posinf: Double?, neginf: Double?)
        /// `where(x > threshold, x, default)`.
        case threshold(Double, Double)
        case softmax(axis: Int?, logarithm: Bool)
        /// First half times the sigmoid of the second half along `axis`.
        case glu(axis: Int)
    }

    /// The operation's class (`Relu`, `Sqrt`).
    public var op: String
    public var kind: Kind

    public func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        let x = try o.value(0, "x")
        switch kind {
        case .activation(let f): return [try f.apply(o.float(x), in: b)]
        case .math(let f):
            if !o.isFloat(x), [.floor, .ceil, .trunc].contains(f) { return [try o.float(x)] }
            let y = try b.apply(ElementwiseMath(f), [o.float(x)])
            return [f.isPredicate ? try b.cast(y, to: .int64) : y]
        case .integerPreserving(let f): return [try o.throughFloat64(x) { try b.unary(f, $0) }]
        case .identity: return [x]
        case .sign: return [try o.throughFloat64(x) { try b.apply(ElementwiseMath(.sign), [$0]) }]
        case .logicalNot: return [try b.cast(b.binary(.equal, b.cast(x, to: .float64), b.scalar(0, like: b.cast(x, to: .float64))), to: .int64)]
        case .bitwiseNot:
            guard !o.isFloat(x) else { throw TensorError.unsupportedDType(op: op, dtype: b.type(of: x).dtype) }
            return [try b.apply(IntegerMath(.not), [x])]
        case .scale(let factor):
            let v = try o.float(x)
            return [try b.multiply(v, b.scalar(factor, like: v))]
        case .round(let decimals):
            guard o.isFloat(x) else { return [x] }
            guard decimals != 0 else { return [try b.apply(ElementwiseMath(.round), [x])] }
            // tf: multiply by 10^decimals (cast to the dtype), round half to even, divide.
            let factor = b.scalar(pow(10, Double(decimals)), like: x)
            return [try b.divide(b.apply(ElementwiseMath(.round), [b.multiply(x, factor)]), factor)]
        case let .clip(lower, upper):
            return [try o.throughFloat64(x) { v in try b.binary(.minimum, b.binary(.maximum, v, b.scalar(lower, like: v)), b.scalar(upper, like: v)) }]
        case let .nanToNum(nan, posinf, neginf):
            guard o.isFloat(x) else { return [x] }
            let big = b.type(of: x).dtype == .float32 ? Double(Float.greatestFiniteMagnitude) : Double.greatestFiniteMagnitude
            var y = try b.apply(Select(), [b.apply(ElementwiseMath(.isnan), [x]), b.scalar(nan, like: x), x])
            y = try b.apply(Select(), [b.apply(ElementwiseMath(.isposinf), [y]), b.scalar(posinf ?? big, like: x), y])
            y = try b.apply(Select(), [b.apply(ElementwiseMath(.isneginf), [y]), b.scalar(neginf ?? -big, like: x), y])
            return [y]
        case let .threshold(threshold, value):
            let v = try o.float(x)
            return [try b.apply(Select(), [b.binary(.greater, v, b.scalar(threshold, like: v)), v, b.scalar(value, like: v)])]
        case let .softmax(axis, logarithm):
            let v = try o.float(x)
            guard let axis else {
                let shape = b.shape(of: v)
                return [try b.reshape(b.apply(Softmax(axis: 0, logarithm: logarithm), [b.reshape(v, [-1])]), shape)]
            }
            return [try b.apply(Softmax(axis: axis, logarithm: logarithm), [v])]
        case .glu(let axis):
            let v = try o.float(x)
            let a = try o.axis(axis, of: v), size = b.shape(of: v)[a]
            guard size % 2 == 0 else { throw TensorError.invalidArgument(op: op, message: "axis \(a) has odd size \(size)") }
            let halves = try b.split(v, sizes: [size / 2, size / 2], axis: a)
            return [try b.multiply(halves[0], b.unary(.sigmoid, halves[1]))]
        }
    }
}

/// An elementwise function of two operands (tensors or Python numbers), broadcast.
public struct BinaryOperation: KerasCallable {
    public enum Kind: Sendable {
        /// With Keras's promotion: integers stay integral unless an operand is a float.
        case engine(BinaryFunction)
        /// True division: always floats.
        case divide
        /// `a / b`, 0 where `b` is 0 (`tf.math.divide_no_nan`).
        case divideNoNan
        /// Floor division and modulo: integral for integers.
        case math(BinaryMath.Function)
        /// Float-only functions.
        case floatMath(BinaryMath.Function)
        /// A comparison (negated: `not_equal`), giving a bool (0/1 int64).
        case compare(BinaryFunction, negated: Bool)
        case logical(LogicalKind)
        /// `fmax` / `fmin`: a NaN operand loses to a number.
        case nanIgnoring(BinaryFunction)
        case integer(IntegerMath.Function)
    }

    public enum LogicalKind: Sendable { case and, or, xor }

    /// The operation's class (`Add`, `Divide`).
    public var op: String
    public var kind: Kind

    public func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: op)
        guard let first = o.argument(0, "x1") ?? o.argument(0, "x"), let second = o.argument(1, "x2") ?? o.argument(1, "y") else {
            throw o.bad("\(op) arguments", "fewer than two operands")
        }
        switch kind {
        case .engine(let f):
            let (v, isFloat) = try o.promoted([first, second], names: ["x1", "x2"])
            return [try o.binary(f, v[0], v[1], isFloat: isFloat)]
        case .divide:
            let (v, _) = try o.promoted([first, second], names: ["x1", "x2"], forceFloat: true)
            return [try b.divide(v[0], v[1])]
        case .divideNoNan:
            let (v, _) = try o.promoted([first, second], names: ["x1", "x2"], forceFloat: true)
            let zero = b.scalar(0, like: v[0])
            let safe = try b.apply(Select(), [b.binary(.equal, v[1], zero), b.scalar(1, like: v[1]), v[1]])
            return [try b.apply(Select(), [b.binary(.equal, v[1], zero), zero, b.divide(v[0], safe)])]
        case .math(let f):
            let (v, isFloat) = try o.promoted([first, second], names: ["x1", "x2"])
            if isFloat { return [try b.apply(BinaryMath(f), v)] }
            return [try b.cast(b.apply(BinaryMath(f), [b.cast(v[0], to: .float64), b.cast(v[1], to: .float64)]), to: .int64)]
        case .floatMath(let f):
            let (v, _) = try o.promoted([first, second], names: ["x1", "x2"], forceFloat: true)
            return [try b.apply(BinaryMath(f), v)]
        case let .compare(f, negated):
            let (v, isFloat) = try o.promoted([first, second], names: ["x1", "x2"])
            let (x, y) = isFloat ? (v[0], v[1]) : (try b.cast(v[0], to: .float64), try b.cast(v[1], to: .float64))
            var result = try b.binary(f, x, y)
            if negated { result = try b.subtract(b.scalar(1, like: result), result) }
            return [try b.cast(result, to: .int64)]
        case .logical(let logic):
            let x = try truth(o.value(first, "x1"), b), y = try truth(o.value(second, "x2"), b)
            let result: B.Value
            switch logic {
            case .and: result = try b.multiply(x, y)
            case .or: result = try b.binary(.maximum, x, y)
            case .xor: result = try b.subtract(b.binary(.maximum, x, y), b.multiply(x, y))
            }
            return [try b.cast(result, to: .int64)]
        case .nanIgnoring(let f):
            let (v, isFloat) = try o.promoted([first, second], names: ["x1", "x2"])
            guard isFloat else { return [try o.binary(f, v[0], v[1], isFloat: false)] }
            let both = try b.binary(f, v[0], v[1])
            let shape = b.shape(of: both)
            let x = try b.broadcast(v[0], to: shape), y = try b.broadcast(v[1], to: shape)
            return [try b.apply(Select(), [b.apply(ElementwiseMath(.isnan), [x]), y,
                                           b.apply(Select(), [b.apply(ElementwiseMath(.isnan), [y]), x, both])])]
        case .integer(let f):
            let (v, isFloat) = try o.promoted([first, second], names: ["x1", "x2"])
            guard !isFloat else { throw TensorError.unsupportedDType(op: op, dtype: o.floatDType) }
            return [try b.apply(IntegerMath(f), v)]
        }
    }

    /// 1 where a value is non-zero, else 0, in Float64.
    func truth<B: Builder>(_ v: B.Value, _ b: B) throws -> B.Value {
        let x = try b.cast(v, to: .float64)
        return try b.subtract(b.scalar(1, like: x), b.binary(.equal, x, b.scalar(0, like: x)))
    }
}

/// `where(condition, x1, x2)` with Keras's promotion of the two branches.
struct WhereOperation: KerasCallable {
    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Where")
        let condition = try o.value(0, "condition")
        guard let first = o.argument(1, "x1"), let second = o.argument(2, "x2"), first.constant?.isNull != true, second.constant?.isNull != true else {
            throw KerasError.unsupportedOperation(name: context.layer, className: "Where", module: "keras.src.ops.numpy",
                                                  reason: "where(condition) without x1 and x2 returns the indices of non-zero elements, a data-dependent shape")
        }
        let (v, isFloat) = try o.promoted([first, second], names: ["x1", "x2"])
        let dtype: DType = isFloat ? o.floatDType : .float64
        let mask = try b.cast(condition, to: dtype)
        let y = try b.apply(Select(), [mask, b.cast(v[0], to: dtype), b.cast(v[1], to: dtype)])
        return [isFloat ? y : try b.cast(y, to: .int64)]
    }
}

/// `isclose(x1, x2, rtol, atol)`: `|x1 − x2| ≤ atol + rtol·|x2|`, NaNs equal with `equal_nan`.
struct IscloseOperation: KerasCallable {
    var equalNaN: Bool

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Isclose")
        let (v, _) = try o.promoted([o.argument(0, "x1")!, o.argument(1, "x2")!], names: ["x1", "x2"], forceFloat: true)
        let rtol = o.constant(2, "rtol")?.double ?? 1e-5, atol = o.constant(3, "atol")?.double ?? 1e-8
        let bound = try b.add(b.scalar(atol, like: v[0]), b.multiply(b.scalar(rtol, like: v[0]), b.unary(.abs, v[1])))
        var close = try b.binary(.lessEqual, b.unary(.abs, b.subtract(v[0], v[1])), bound)
        if equalNaN {
            let nan = try b.multiply(b.apply(ElementwiseMath(.isnan), [v[0]]), b.apply(ElementwiseMath(.isnan), [v[1]]))
            close = try b.binary(.maximum, close, nan)
        }
        return [try b.cast(close, to: .int64)]
    }
}
