import ParityTensor

/// The element type of an array as stored in a file: every numeric type NumPy, safetensors and
/// PyTorch write for model weights, wider than ``ParityTensor/DType``, which holds only what Parity
/// computes in.
///
/// The names and sizes follow NumPy / PyTorch (`torch.bfloat16`, `numpy.uint16`, ...). Each format
/// maps its own spelling onto these cases (`'<f2'`, `"F16"`, `torch.HalfStorage`) in its own file.
public enum ElementType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case bool
    case uint8
    case int8
    case int16
    case uint16
    case int32
    case uint32
    case int64
    case uint64
    case float16
    case bfloat16
    case float32
    case float64

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: return true
        default: return false
        }
    }

    /// The ``DType`` that ``ArrayRecord/toTensor()`` widens to: float16, bfloat16 and float32 to
    /// `float32`; float64 as is; integers and bool to `int64` (as `torch.Tensor.long()` would).
    public var widenedDType: DType {
        switch self {
        case .float16, .bfloat16, .float32: return .float32
        case .float64: return .float64
        default: return .int64
        }
    }

    /// The element type that holds a ``ParityTensor/DType`` without conversion.
    public init(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float64: self = .float64
        case .int64: self = .int64
        }
    }

    public var description: String { rawValue }
}

/// Bit-exact conversions between `Float` and the two 16-bit float formats, written out by hand
/// because `Float16` is unavailable on macOS x86_64.
///
/// Narrowing rounds to nearest, ties to even, and matches what `tensor.to(torch.float16)` /
/// `.to(torch.bfloat16)` produce on CPU (PyTorch 2.15, checked bit for bit against
/// `Tests/Fixtures/formats/conversions.json`), NaN included: a float16 NaN is quieted with its sign and
/// top payload bits kept (as F16C `vcvtps2ph` and NumPy do), a bfloat16 NaN becomes `0xffff` (ATen's
/// vectorised `cvtfp32_bf16`; the scalar `c10::BFloat16` would give `0x7fc0`). Widening is exact,
/// subnormals, infinities and NaN payloads included.
public enum HalfPrecision {
    /// The `Float` whose value is the IEEE 754 binary16 `bits`.
    @inlinable
    public static func float(fromFloat16 bits: UInt16) -> Float {
        let sign: UInt32 = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1f {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The binary16 nearest to `value` (ties to even; overflow to infinity).
    @inlinable
    public static func float16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xff)
        let mantissa = bits & 0x7f_ffff
        if exponent == 0xff {
            return mantissa == 0 ? sign | 0x7c00 : sign | 0x7e00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let unbiased = exponent - 127
        if unbiased > 15 { return sign | 0x7c00 }
        if unbiased >= -14 {
            let kept = mantissa >> 13
            let rest = mantissa & 0x1fff
            var result = (UInt32(unbiased + 15) << 10) | kept
            if rest > 0x1000 || (rest == 0x1000 && kept & 1 == 1) { result += 1 }  // may carry into infinity
            return sign | UInt16(truncatingIfNeeded: result)
        }
        // Subnormal result: the value in units of 2^-24, rounded.
        if exponent == 0 { return sign }  // Float subnormals are far below half the smallest binary16
        let shift = -(unbiased + 1)  // >= 14
        if shift > 24 { return sign }
        let significand = mantissa | 0x80_0000
        let kept = significand >> UInt32(shift)
        let rest = significand & ((1 << UInt32(shift)) - 1)
        let halfway: UInt32 = 1 << UInt32(shift - 1)
        var result = kept
        if rest > halfway || (rest == halfway && kept & 1 == 1) { result += 1 }
        return sign | UInt16(truncatingIfNeeded: result)
    }

    /// The `Float` whose upper 16 bits are `bits` (bfloat16 is a truncated binary32).
    @inlinable
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The bfloat16 nearest to `value` (ties to even), as `c10::BFloat16(float)`.
    @inlinable
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        if value.isNaN { return 0xffff }
        let bits = value.bitPattern
        let bias = ((bits >> 16) & 1) &+ 0x7fff
        return UInt16(truncatingIfNeeded: (bits &+ bias) >> 16)
    }
}
