import CParityKernels
import RealModule

/// An elementwise function of one tensor, with its constants as explicit values (a LeakyReLU's
/// slope, a softplus's beta and threshold, whether GELU uses the tanh approximation), so that two
/// frameworks' variants are two values that can be diffed, not two code paths.
///
/// Formulas follow PyTorch's `torch.nn.functional` definitions (`torch/nn/functional.py`) where the
/// frameworks agree; where Keras differs the caller picks the constants (see docs/conventions.md, F).
///
/// In Float32, `exp`, `sigmoid` (`1/(1 + e^(−x))`) and `tanh` are Parity's vector functions
/// (`parity_exp_f32` …, `Sources/CParityKernels/vmath_template.h`): one algorithm with the same bits
/// on every instruction set, at most 1, 2 and 1 Float32 steps from the correctly rounded value
/// (1.01, 2.47 and 1.46 ULPs of the exact value; every 7th Float32 measured against double-precision
/// libm by `scripts/vmath_accuracy.c`, docs/performance.md), as PyTorch and TensorFlow evaluate them
/// with vectorised approximations too. Every other function, and Float64, uses libm.
public enum UnaryFunction: Sendable, Hashable, CustomStringConvertible {
    /// The function its name says: `−x`, `|x|`, `eˣ`, `ln x`, `√x`, `x²`, `1/x`.
    case negate, abs, exp, log, sqrt, square, reciprocal
    /// The activation its name says: `tanh x`, `1/(1 + e⁻ˣ)`, `max(x, 0)`, `x·sigmoid(x)`, `x/(1 + |x|)`,
    /// SELU with its fixed constants (`torch.nn.functional.selu`).
    case tanh, sigmoid, relu, silu, softsign, selu
    /// `min(max(x, lower), upper)`; ReLU6 is `clip(0, 6)`.
    case clip(lower: Double, upper: Double)
    /// `x` for `x ≥ 0`, `slope·x` below (PyTorch default slope 0.01, Keras layer 0.3, Keras function 0.2).
    case leakyRelu(slope: Double)
    /// `x` for `x > 0`, `alpha·(eˣ − 1)` below.
    case elu(alpha: Double)
    /// `x·Φ(x)` exactly (erf), or the tanh approximation `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    case gelu(approximate: Bool)
    /// `log(1 + e^{βx})/β`, linear above `βx > threshold` (PyTorch beta 1, threshold 20).
    case softplus(beta: Double, threshold: Double)
    /// `min(max(x + 3, 0), 6) / 6`, evaluated in that order: PyTorch `hardsigmoid`
    /// (`aten/src/ATen/native/cpu/Activation.cpp`) and Keras 3 `hard_sigmoid` (`relu6(x + 3) / 6`).
    /// Its derivative is PyTorch's `1.0f / 6.0f`, a Float32 constant even in Float64.
    case hardSigmoid
    /// `clip(slope·x + offset, 0, 1)`: Keras 2 / tf.keras `hard_sigmoid` (slope 0.2, offset 0.5).
    case linearHardSigmoid(slope: Double, offset: Double)
    /// `x·relu6(x + 3)/6` (Keras `hard_silu`, PyTorch `hardswish`).
    case hardSwish
    /// `(0.5·x)·erfc(−x·scale)`, evaluated in that order: TensorFlow's exact `tf.nn.gelu`
    /// (`tensorflow/python/ops/nn_ops.py`), which Keras 3's `gelu` calls on the TensorFlow backend.
    /// TensorFlow builds `scale` as `math_ops.cast(0.7071067811865476, dtype)`, which converts the
    /// Python float to a Float32 tensor first, so in Float64 `scale` is `Double(Float(1/√2))`; the
    /// caller passes the rounded value. `erfc` avoids the cancellation of `1 + erf` for negative x.
    case geluErfc(scale: Double)
    /// `max(x, 0) + alpha·expm1(min(x, 0)/alpha)` (Keras `celu`, TensorFlow backend; PyTorch `celu`).
    case celu(alpha: Double)
    /// `−log(1 + e^{−x})`, as `x − log1p(eˣ)` below 0 (Keras `log_sigmoid` = `tf.math.log_sigmoid`).
    case logSigmoid
    /// `x·tanh(log(1 + eˣ))` (Keras `mish`: `x * tanh(softplus(x))`).
    case mish
    /// `x − tanh(x)` (Keras `tanh_shrink`).
    case tanhShrink
    /// `x − t` above `t`, `x + t` below `−t`, else 0 (Keras `soft_shrink`, default t = 0.5).
    case softShrink(threshold: Double)
    /// `x` where `|x| > t`, else 0 (Keras `hard_shrink`, default t = 0.5).
    case hardShrink(threshold: Double)
    /// `(x + sqrt(x² + b))/2` (Keras `squareplus`, default b = 4).
    case squareplus(b: Double)
    /// 0 for `x ≤ −1`, `¼(x + 1)²` below 1, else `x` (Keras `sparse_plus`).
    case sparsePlus
    /// 0 for `x ≤ −1`, 1 for `x ≥ 1`, else `½(x + 1)` (Keras `sparse_sigmoid`).
    case sparseSigmoid

    /// ReLU6, `clip(0, 6)`.
    public static let relu6 = UnaryFunction.clip(lower: 0, upper: 6)
    static let seluAlpha = 1.6732632423543772848170429916717
    static let seluScale = 1.0507009873554804934193349852946

    public var description: String {
        switch self {
        case .clip(let l, let u): return "clip(\(l), \(u))"
        case .leakyRelu(let s): return "leakyRelu(\(s))"
        case .elu(let a): return "elu(\(a))"
        case .gelu(let approximate): return approximate ? "gelu(tanh)" : "gelu"
        case .softplus(let b, let t): return "softplus(beta: \(b), threshold: \(t))"
        case .hardSigmoid: return "hardSigmoid"
        case .linearHardSigmoid(let s, let o): return "hardSigmoid(\(s)x + \(o))"
        case .negate: return "negate"
        case .abs: return "abs"
        case .exp: return "exp"
        case .log: return "log"
        case .sqrt: return "sqrt"
        case .square: return "square"
        case .reciprocal: return "reciprocal"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .relu: return "relu"
        case .silu: return "silu"
        case .softsign: return "softsign"
        case .selu: return "selu"
        case .hardSwish: return "hardSwish"
        case .geluErfc(let scale): return "gelu(erfc, \(scale))"
        case .celu(let alpha): return "celu(\(alpha))"
        case .logSigmoid: return "logSigmoid"
        case .mish: return "mish"
        case .tanhShrink: return "tanhShrink"
        case .softShrink(let t): return "softShrink(\(t))"
        case .hardShrink(let t): return "hardShrink(\(t))"
        case .squareplus(let b): return "squareplus(\(b))"
        case .sparsePlus: return "sparsePlus"
        case .sparseSigmoid: return "sparseSigmoid"
        }
    }

    /// f(x).
    @inline(__always)
    public func apply<T: FloatElement>(_ x: T) -> T {
        switch self {
        case .negate: return -x
        case .abs: return Swift.abs(x)
        case .exp: return Self.float32Vector(.exp, x) ?? T.exp(x)
        case .log: return T.log(x)
        case .sqrt: return x.squareRoot()
        case .square: return x * x
        case .reciprocal: return 1 / x
        case .tanh: return Self.float32Vector(.tanh, x) ?? T.tanh(x)
        case .sigmoid: return Self.float32Vector(.sigmoid, x) ?? 1 / (1 + T.exp(-x))
        case .relu: return x > 0 ? x : (x.isNaN ? x : 0)
        case .silu: return x / (1 + T.exp(-x))
        case .softsign: return x / (1 + Swift.abs(x))
        case .selu:
            let scale = T(Self.seluScale), alpha = T(Self.seluAlpha)
            return x > 0 ? scale * x : scale * alpha * T.expMinusOne(x)
        case let .clip(lower, upper): return Swift.min(Swift.max(x, T(lower)), T(upper))
        case let .leakyRelu(slope): return x >= 0 ? x : x * T(slope)
        case let .elu(alpha): return x > 0 ? x : T(alpha) * T.expMinusOne(x)
        case let .gelu(approximate):
            if approximate {
                let inner = T(0.7978845608028654) * (x + T(0.044715) * x * x * x)
                return T(0.5) * x * (1 + T.tanh(inner))
            }
            return x * T(0.5) * (1 + T.erf(x * T(0.7071067811865476)))
        case let .softplus(beta, threshold):
            let bx = T(beta) * x
            return bx > T(threshold) ? x : T.log(onePlus: T.exp(bx)) / T(beta)
        case .hardSigmoid:
            return Swift.min(Swift.max(x + 3, 0), 6) / 6
        case let .linearHardSigmoid(slope, offset):
            return Swift.min(Swift.max(x * T(slope) + T(offset), 0), 1)
        case .hardSwish:
            return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
        case let .geluErfc(scale):
            return T(0.5) * x * T.erfc(-x * T(scale))
        case let .celu(alpha):
            return Swift.max(x, 0) + T(alpha) * T.expMinusOne(Swift.min(x, 0) / T(alpha))
        case .logSigmoid:
            return x < 0 ? x - T.log(onePlus: T.exp(x)) : -T.log(onePlus: T.exp(-x))
        case .mish:
            let softplus = x > 20 ? x : T.log(onePlus: T.exp(x))
            return x * T.tanh(softplus)
        case .tanhShrink: return x - T.tanh(x)
        case let .softShrink(t):
            return x > T(t) ? x - T(t) : (x < -T(t) ? x + T(t) : 0)
        case let .hardShrink(t): return Swift.abs(x) > T(t) ? x : 0
        case let .squareplus(b): return (x + (x * x + T(b)).squareRoot()) / 2
        case .sparsePlus:
            return x <= -1 ? 0 : (x < 1 ? T(0.25) * (x + 1) * (x + 1) : x)
        case .sparseSigmoid:
            return x <= -1 ? 0 : (x >= 1 ? 1 : T(0.5) * (x + 1))
        }
    }

    /// f over a whole buffer, the case chosen once outside the loop (so the common activations run as
    /// tight, vectorisable loops), in parallel chunks for large buffers; same per-element formula as
    /// ``apply(_:)``.
    public func applyAll<T: FloatElement>(_ values: [T]) -> [T] {
        // The activations models spend time in, written in the chunk loop (not a closure per element);
        // the same formulas as ``withKernel(_:_:)``.
        switch self {
        case .relu: return Self.mapChunks(values) { s, o, range in for i in range { let x = s[i]; o[i] = x > 0 ? x : (x.isNaN ? x : 0) } }
        case let .clip(lower, upper):
            let (l, u) = (T(lower), T(upper))
            return Self.mapChunks(values) { s, o, range in for i in range { o[i] = Swift.min(Swift.max(s[i], l), u) } }
        case .exp, .sigmoid, .tanh:
            guard T.self == Float.self else { return withKernel(T.self) { f in Self.mapAll(values, f) } }
            return Self.mapChunks(values) { s, o, range in self.applyRow(s + range.lowerBound, o + range.lowerBound, count: range.count) }
        default: return withKernel(T.self) { f in Self.mapAll(values, f) }
        }
    }

    /// A Float32 array kernel of CParityKernels (`n`, input, output).
    @usableFromInline
    typealias Float32Row = @convention(c) (Int, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void

    /// The vector kernel that defines this function in Float32 (exp, sigmoid, tanh), else nil.
    @usableFromInline
    var float32Row: Float32Row? {
        switch self {
        case .exp: return parity_exp_f32
        case .sigmoid: return parity_sigmoid_f32
        case .tanh: return parity_tanh_f32
        default: return nil
        }
    }

    /// `function(x)` through its Float32 vector kernel when `T` is Float32, else nil (then libm).
    @usableFromInline @inline(__always)
    static func float32Vector<T: FloatElement>(_ function: UnaryFunction, _ x: T) -> T? {
        guard T.self == Float.self else { return nil }
        return unsafeBitCast(float32Scalar(function.float32Row!, unsafeBitCast(x, to: Float.self)), to: T.self)
    }

    @usableFromInline
    static func float32Scalar(_ kernel: Float32Row, _ x: Float) -> Float {
        var input = x, output: Float = 0
        kernel(1, &input, &output)
        return output
    }

    /// f over `count` contiguous values on the calling thread (`output` may be `input`): the same bits
    /// as ``apply(_:)``, Float32 exp, sigmoid and tanh by their vector kernels. For fused kernels that
    /// apply an activation to rows of their own buffers.
    @inlinable
    public func applyRow<T: FloatElement>(_ input: UnsafePointer<T>, _ output: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self, let kernel = float32Row {
            kernel(count, UnsafeRawPointer(input).assumingMemoryBound(to: Float.self),
                   UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self))
            return
        }
        withKernel(T.self) { f in for i in 0..<count { output[i] = f(input[i]) } }
    }

    /// `body` over chunks of the elements on the kernel threads, writing a new array.
    static func mapChunks<T>(_ values: [T], _ body: (UnsafePointer<T>, UnsafeMutablePointer<T>, Range<Int>) -> Void) -> [T] {
        let count = values.count
        if count == 0 { return [] }
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                let (s, o) = (source.baseAddress!, out.baseAddress!)
                parallelChunks(count, chunk: elementwiseChunk) { range in body(s, o, range) }
            }
            initialized = count
        }
    }

    /// Runs `body` with f as a closure chosen once (a tight loop per common case, no switch per
    /// element); the same per-element formula as ``apply(_:)``. For fused kernels that apply an
    /// activation inside their own loops.
    /// Inlinable so that kernels in other modules (the fused recurrent step) get it specialised, not
    /// generic arithmetic through protocol witnesses per element.
    @inlinable @inline(__always)
    public func withKernel<T: FloatElement, R>(_ type: T.Type, _ body: ((T) -> T) -> R) -> R {
        switch self {
        case .relu: return body { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) }
        case .negate: return body { -$0 }
        case .square: return body { $0 * $0 }
        case .sigmoid where T.self != Float.self: return body { 1 / (1 + T.exp(-$0)) }
        case .tanh where T.self != Float.self: return body { T.tanh($0) }
        case .exp where T.self != Float.self: return body { T.exp($0) }
        case .sigmoid, .tanh, .exp:
            let kernel = float32Row!
            return body { unsafeBitCast(Self.float32Scalar(kernel, unsafeBitCast($0, to: Float.self)), to: T.self) }
        case let .clip(lower, upper):
            let (l, u) = (T(lower), T(upper))
            return body { Swift.min(Swift.max($0, l), u) }
        default: return body { self.apply($0) }
        }
    }

    @inline(__always)
    static func mapAll<T>(_ values: [T], _ f: (T) -> T) -> [T] {
        let count = values.count
        if count == 0 { return [] }
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                let (s, o) = (source.baseAddress!, out.baseAddress!)
                parallelChunks(count, chunk: elementwiseChunk) { range in
                    for i in range { o[i] = f(s[i]) }
                }
            }
            initialized = count
        }
    }

    /// f′(x), given x and y = f(x).
    @inline(__always)
    public func derivative<T: FloatElement>(_ x: T, _ y: T) -> T {
        switch self {
        case .negate: return -1
        case .abs: return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .exp: return y
        case .log: return 1 / x
        case .sqrt: return T(0.5) / y
        case .square: return 2 * x
        case .reciprocal: return -y * y
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .relu: return x > 0 ? 1 : 0
        case .silu:
            let s = 1 / (1 + T.exp(-x))
            return s * (1 + x * (1 - s))
        case .softsign:
            let d = 1 + Swift.abs(x)
            return 1 / (d * d)
        case .selu:
            return x > 0 ? T(Self.seluScale) : T(Self.seluScale * Self.seluAlpha) * T.exp(x)
        case let .clip(lower, upper): return x > T(lower) && x < T(upper) ? 1 : 0
        case let .leakyRelu(slope): return x > 0 ? 1 : T(slope)
        case let .elu(alpha): return x > 0 ? 1 : T(alpha) * T.exp(x)
        case let .gelu(approximate):
            if approximate {
                let c = T(0.7978845608028654), a = T(0.044715)
                let t = T.tanh(c * (x + a * x * x * x))
                return T(0.5) * (1 + t) + T(0.5) * x * (1 - t * t) * c * (1 + 3 * a * x * x)
            }
            let cdf = T(0.5) * (1 + T.erf(x * T(0.7071067811865476)))
            let pdf = T(0.3989422804014327) * T.exp(-x * x / 2)
            return cdf + x * pdf
        case let .softplus(beta, threshold):
            let bx = T(beta) * x
            return bx > T(threshold) ? 1 : 1 / (1 + T.exp(-bx))
        case .hardSigmoid:
            return x > -3 && x < 3 ? T(Float(1) / Float(6)) : 0
        case let .linearHardSigmoid(slope, offset):
            let z = x * T(slope) + T(offset)
            return z > 0 && z < 1 ? T(slope) : 0
        case .hardSwish:
            return x < -3 ? 0 : (x > 3 ? 1 : (2 * x + 3) / 6)
        case let .geluErfc(scale):
            // d/dx ½x·erfc(−cx) = ½erfc(−cx) + x·(c/√π)·exp(−c²x²)
            let c = T(scale)
            return T(0.5) * T.erfc(-x * c) + x * c * T(0.5641895835477563) * T.exp(-(c * x) * (c * x))
        case let .celu(alpha):
            // ATen's autograd formula: elu_backward with input_scale 1/alpha.toFloat() (derivatives.yaml), so
            // in float64 the slope is (α/α_f)·exp(x/α_f) with α_f = Float(α) (torch.autograd measured).
            let inverse = 1 / Double(Float(alpha))
            return x > 0 ? 1 : T(inverse) * T(alpha) * T.exp(x * T(inverse))
        case .logSigmoid: return 1 / (1 + T.exp(x))
        case .mish:
            let softplus = x > 20 ? x : T.log(onePlus: T.exp(x))
            let t = T.tanh(softplus), s = 1 / (1 + T.exp(-x))
            return t + x * (1 - t * t) * s
        case .tanhShrink:
            let t = T.tanh(x)
            return t * t
        case let .softShrink(t): return Swift.abs(x) > T(t) ? 1 : 0
        case let .hardShrink(t): return Swift.abs(x) > T(t) ? 1 : 0
        case let .squareplus(b): return (1 + x / (x * x + T(b)).squareRoot()) / 2
        case .sparsePlus: return x <= -1 ? 0 : (x < 1 ? T(0.5) * (x + 1) : 1)
        case .sparseSigmoid: return x > -1 && x < 1 ? T(0.5) : 0
        }
    }
}

extension Tensor {
    /// Applies `function` elementwise.
    public func map(_ function: UnaryFunction) throws -> Tensor {
        try mapFloats("unary \(function)") { (v: [Float]) in function.applyAll(v) } double: { function.applyAll($0) }
    }

    /// f′(x) elementwise, given this tensor as x and `output` as f(x).
    public func derivative(_ function: UnaryFunction, output: Tensor) throws -> Tensor {
        try zipFloats(output, op: "derivative of \(function)") { (x: Float, y: Float) in function.derivative(x, y) }
            double: { function.derivative($0, $1) }
    }

    @inline(__always)
    func mapFloats(_ op: String, float: ([Float]) -> [Float], double: ([Double]) -> [Double]) throws -> Tensor {
        switch storage {
        case .float32(let v): return Tensor(shape: shape, storage: .float32(float(v)))
        case .float64(let v): return Tensor(shape: shape, storage: .float64(double(v)))
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }

    @inline(__always)
    func zipFloats(_ other: Tensor, op: String, float: (Float, Float) -> Float, double: (Double, Double) -> Double) throws -> Tensor {
        guard shape == other.shape else {
            throw TensorError.shapeMismatch(op: op, expected: "equal shapes", received: [shape, other.shape])
        }
        func run<T>(_ a: [T], _ b: [T], _ f: (T, T) -> T) -> [T] {
            if a.isEmpty { return [] }
            return [T](unsafeUninitializedCapacity: a.count) { out, initialized in
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in zipElements(ap.baseAddress!, bp.baseAddress!, out.baseAddress!, count: a.count, f) }
                }
                initialized = a.count
            }
        }
        switch (storage, other.storage) {
        case let (.float32(a), .float32(b)): return Tensor(shape: shape, storage: .float32(run(a, b, float)))
        case let (.float64(a), .float64(b)): return Tensor(shape: shape, storage: .float64(run(a, b, double)))
        default: throw TensorError.dtypeMismatch(op: op, received: [dtype, other.dtype])
        }
    }
}
