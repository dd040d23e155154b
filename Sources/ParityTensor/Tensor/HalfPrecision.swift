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
