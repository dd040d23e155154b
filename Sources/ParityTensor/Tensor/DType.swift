@_exported import ComplexModule
@_exported import RealModule

/// The element type of a ``Tensor``: the two floating-point precisions models compute in, the two
/// 16-bit float formats models are stored and run in (`torch.float16`, `torch.bfloat16`), 64- and
/// 32-bit integers (indices: `torch.long`, `torch.int`), booleans (masks) and the two complex types
/// (`torch.complex64`, `torch.complex128`: what `torch.fft` computes in).
///
/// The ops compute in `float32` and `float64`; a 16-bit float is a storage type that a caller widens to
/// `float32`, computes with and rounds back (what PyTorch's CPU kernels do for `Half` and `BFloat16`:
/// each op computes in float and rounds its result once). A complex element is a (real, imaginary) pair
/// of `float32` or `float64`, stored interleaved as PyTorch stores it; only the ops that declare complex
/// support (``Op/acceptsComplex``) take one, every other op refuses it naming itself and the dtype.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 binary32 (`torch.float32`, `tf.float32`).
    case float32
    /// IEEE 754 binary64 (`torch.float64`, `tf.float64`).
    case float64
    /// 64-bit signed integers (`torch.long`, `tf.int64`).
    case int64
    /// 32-bit signed integers (`torch.int`, `tf.int32`).
    case int32
    /// Booleans (`torch.bool`, `tf.bool`).
    case bool
    /// IEEE 754 binary16 (`torch.float16`), kept as bit patterns.
    case float16
    /// bfloat16 (`torch.bfloat16`), kept as bit patterns.
    case bfloat16
    /// A pair of binary32 (`torch.complex64`, `torch.cfloat`).
    case complex64
    /// A pair of binary64 (`torch.complex128`, `torch.cdouble`).
    case complex128

    /// `float32`, `float64`, `float16` or `bfloat16`.
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: return true
        case .int64, .int32, .bool, .complex64, .complex128: return false
        }
    }

    /// `complex64` or `complex128`.
    public var isComplex: Bool { self == .complex64 || self == .complex128 }

    /// The real type of a complex type's parts (`complex64` → `float32`); `nil` for a real type.
    public var complexPart: DType? {
        switch self {
        case .complex64: return .float32
        case .complex128: return .float64
        default: return nil
        }
    }

    /// The complex type whose parts are this float type (`float32` → `complex64`; a 16-bit float →
    /// `complex64`, as it computes in float32); `nil` for integers and bools.
    public var complexCounterpart: DType? {
        switch self {
        case .float64: return .complex128
        case .float32, .float16, .bfloat16: return .complex64
        case .complex64, .complex128: return self
        case .int64, .int32, .bool: return nil
        }
    }

    /// `int64` or `int32` (not `bool`).
    public var isInteger: Bool { self == .int64 || self == .int32 }

    /// `float16` or `bfloat16`: stored in 16 bits, computed in `float32`.
    public var isHalf: Bool { self == .float16 || self == .bfloat16 }

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .complex128: return 16
        case .float64, .int64, .complex64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .bool: return 1
        }
    }

    public var description: String { rawValue }
}

/// A floating-point element a kernel can be written once for: `Float` or `Double`.
///
/// It bridges a generic kernel to the ``Tensor`` storage case of its precision.
public protocol FloatElement: BinaryFloatingPoint, Real, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The dtype of this precision (`float32` or `float64`).
    static var dtype: DType { get }
    /// The same bits as an unsigned integer, for ULP arithmetic.
    var bitPatternUInt64: UInt64 { get }
    /// `values` as tensor storage of this precision.
    static func storage(_ values: [Self]) -> Tensor.Storage
    /// The elements of `storage` when it holds this precision, else `nil`.
    static func values(in storage: Tensor.Storage) -> [Self]?
    /// `values` as complex tensor storage with parts of this precision.
    static func complexStorage(_ values: [Complex<Self>]) -> Tensor.Storage
    /// The elements of `storage` when it is complex with parts of this precision, else `nil`.
    static func complexValues(in storage: Tensor.Storage) -> [Complex<Self>]?
}

extension Float: FloatElement {
    public static var dtype: DType { .float32 }
    public var bitPatternUInt64: UInt64 { UInt64(bitPattern) }
    public static func storage(_ values: [Float]) -> Tensor.Storage { .float32(values) }
    public static func values(in storage: Tensor.Storage) -> [Float]? {
        if case .float32(let v) = storage { return v }
        return nil
    }
    public static func complexStorage(_ values: [Complex<Float>]) -> Tensor.Storage { .complex64(values) }
    public static func complexValues(in storage: Tensor.Storage) -> [Complex<Float>]? {
        if case .complex64(let v) = storage { return v }
        return nil
    }
}

extension Double: FloatElement {
    public static var dtype: DType { .float64 }
    public var bitPatternUInt64: UInt64 { bitPattern }
    public static func storage(_ values: [Double]) -> Tensor.Storage { .float64(values) }
    public static func values(in storage: Tensor.Storage) -> [Double]? {
        if case .float64(let v) = storage { return v }
        return nil
    }
    public static func complexStorage(_ values: [Complex<Double>]) -> Tensor.Storage { .complex128(values) }
    public static func complexValues(in storage: Tensor.Storage) -> [Complex<Double>]? {
        if case .complex128(let v) = storage { return v }
        return nil
    }
}
