import ParityTensor

/// An n-dimensional array to write to an HDF5 file: a shape (`[]` for a scalar, a `0` anywhere for an
/// empty array) and its elements in row-major order, in the type they are stored as.
///
/// float16 and bfloat16 are held as bit patterns. float16 is stored as HDF5's IEEE half (what h5py
/// writes for `numpy.float16`); bfloat16, which has no HDF5 type, as 2-byte opaque elements marked
/// with the attribute `dtype = "bfloat16"`, as Keras 3 writes it (`H5IOStore.__setitem__` in
/// `keras/src/saving/saving_lib.py`). ``HDF5Dataset/readTensor()`` reads both back as float32.
public struct HDF5Array: Sendable, Equatable {
    /// The elements, one case per stored type.
    public enum Elements: Sendable, Equatable {
        /// IEEE float16 bit patterns, stored as HDF5 16-bit floats.
        case float16(bitPatterns: [UInt16])
        /// bfloat16 bit patterns, stored as described above.
        case bfloat16(bitPatterns: [UInt16])
        /// 32-bit floats.
        case float32([Float])
        /// 64-bit floats.
        case float64([Double])
        /// 32-bit signed integers.
        case int32([Int32])
        /// 64-bit signed integers.
        case int64([Int64])
    }

    /// The shape (`[]` for a scalar).
    public var shape: [Int]
    /// The elements in row-major order.
    public var elements: Elements

    /// The array `elements` of `shape`; the writer checks that the element count matches the shape.
    public init(shape: [Int], elements: Elements) {
        self.shape = shape
        self.elements = elements
    }

    /// A tensor's elements in its own dtype (a bool, which HDF5 has no plain type for, as int64 0/1).
    public init(_ tensor: Tensor) {
        switch tensor.storage {
        case .float32(let values): self.init(shape: tensor.shape, elements: .float32(values))
        case .float64(let values): self.init(shape: tensor.shape, elements: .float64(values))
        case .int64(let values): self.init(shape: tensor.shape, elements: .int64(values))
        case .int32(let values): self.init(shape: tensor.shape, elements: .int32(values))
        case .bool(let values): self.init(shape: tensor.shape, elements: .int64(values.map { $0 ? 1 : 0 }))
        case .float16(let bits): self.init(shape: tensor.shape, elements: .float16(bitPatterns: bits))
        case .bfloat16(let bits): self.init(shape: tensor.shape, elements: .bfloat16(bitPatterns: bits))
        // HDF5 has no plain complex type (h5py writes a compound): the parts on a trailing axis of 2,
        // the layout `torch.view_as_real` gives; Keras weights are never complex.
        case .complex64(let v): self.init(shape: tensor.shape + [2], elements: .float32(v.flatMap { [$0.real, $0.imaginary] }))
        case .complex128(let v): self.init(shape: tensor.shape + [2], elements: .float64(v.flatMap { [$0.real, $0.imaginary] }))
        }
    }

    /// A tensor's values rounded (to nearest, ties to even) to IEEE half precision.
    public static func float16(_ tensor: Tensor) -> HDF5Array {
        HDF5Array(shape: tensor.shape, elements: .float16(bitPatterns: tensor.floats.map(halfBitPattern)))
    }

    /// A tensor's values rounded (to nearest, ties to even) to bfloat16, NaNs kept as NaNs.
    public static func bfloat16(_ tensor: Tensor) -> HDF5Array {
        HDF5Array(shape: tensor.shape, elements: .bfloat16(bitPatterns: tensor.floats.map(bfloat16BitPattern)))
    }

    /// The number of elements held.
    public var count: Int {
        switch elements {
        case .float16(let bits), .bfloat16(let bits): return bits.count
        case .float32(let values): return values.count
        case .float64(let values): return values.count
        case .int32(let values): return values.count
        case .int64(let values): return values.count
        }
    }

    /// The stored type's name, for messages.
    public var typeName: String {
        switch elements {
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .int32: return "int32"
        case .int64: return "int64"
        }
    }

    /// `value` rounded to the nearest IEEE half (ties to even): overflow gives ±infinity, values
    /// below half the smallest subnormal give ±0, NaN stays a (quiet) NaN.
    static func halfBitPattern(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            return sign | 0x7C00 | (mantissa == 0 ? 0 : 0x200 | UInt16(truncatingIfNeeded: mantissa >> 13))
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        let shift: UInt32
        var result: UInt32
        if halfExponent <= 0 {  // a half subnormal, or zero
            guard halfExponent >= -10 else { return sign }
            mantissa |= 0x80_0000
            shift = UInt32(14 - halfExponent)
            result = mantissa >> shift
        } else {
            shift = 13
            result = UInt32(halfExponent) << 10 | mantissa >> 13
        }
        let remainder = mantissa & (1 << shift - 1)
        let midpoint: UInt32 = 1 << (shift - 1)
        if remainder > midpoint || remainder == midpoint && result & 1 == 1 { result += 1 }  // a carry may reach infinity
        return sign | UInt16(truncatingIfNeeded: result)
    }

    /// `value`'s upper 16 bits rounded to nearest (ties to even); a NaN stays a quiet NaN.
    static func bfloat16BitPattern(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ (bits >> 16 & 1)) >> 16)
    }
}

private extension Tensor {
    /// The values as `Float` (float64 and int64 rounded to nearest).
    var floats: [Float] { values(Float.self) ?? doubles.map(Float.init) }
}
