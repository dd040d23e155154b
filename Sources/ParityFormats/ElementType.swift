import ParityTensor

/// The element type of an array as stored in a file: every numeric type NumPy, safetensors and
/// PyTorch write for model weights, wider than `ParityTensor/DType`, which holds only what Parity
/// computes in.
///
/// The names and sizes follow NumPy / PyTorch (`torch.bfloat16`, `numpy.uint16`, ...). Each format
/// maps its own spelling onto these cases (`'<f2'`, `"F16"`, `torch.HalfStorage`) in its own file.
public enum ElementType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// One byte, 0 or 1.
    case bool
    /// Unsigned 8-bit integers.
    case uint8
    /// Signed 8-bit integers.
    case int8
    /// Signed 16-bit integers.
    case int16
    /// Unsigned 16-bit integers.
    case uint16
    /// Signed 32-bit integers.
    case int32
    /// Unsigned 32-bit integers.
    case uint32
    /// Signed 64-bit integers.
    case int64
    /// Unsigned 64-bit integers.
    case uint64
    /// IEEE 754 binary16.
    case float16
    /// bfloat16 (the upper half of a binary32).
    case bfloat16
    /// IEEE 754 binary32.
    case float32
    /// IEEE 754 binary64.
    case float64
    /// Two binary32, real then imaginary (NumPy `complex64`, `torch.complex64`).
    case complex64
    /// Two binary64, real then imaginary (NumPy `complex128`, `torch.complex128`).
    case complex128

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64, .complex64: return 8
        case .complex128: return 16
        }
    }

    /// `complex64` or `complex128`.
    public var isComplex: Bool { self == .complex64 || self == .complex128 }

    /// `float16`, `bfloat16`, `float32` or `float64`.
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }

    /// The `DType` that ``ArrayRecord/toTensor()`` widens to: float16, bfloat16 and float32 to
    /// `float32`; float64 as is; integers and bool to `int64` (as `torch.Tensor.long()` would).
    public var widenedDType: DType {
        switch self {
        case .float16, .bfloat16, .float32: return .float32
        case .float64: return .float64
        case .complex64: return .complex64
        case .complex128: return .complex128
        default: return .int64
        }
    }

    /// The element type that holds a `ParityTensor/DType` without conversion.
    public init(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float64: self = .float64
        case .int64: self = .int64
        case .int32: self = .int32
        case .bool: self = .bool
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .complex64: self = .complex64
        case .complex128: self = .complex128
        }
    }

    public var description: String { rawValue }
}
