/// Distances between floating-point results in units in the last place (ULPs), the measure in
/// which "float noise" is honest: 1 ULP is one rounding step at that magnitude.
public enum Ulp {
    /// Maps a float onto a line of integers on which adjacent floats differ by one
    /// (the sign-magnitude bits folded into two's complement order).
    @inline(__always)
    static func ordinal<T: FloatElement>(_ x: T) -> Int64 {
        let bits = x.bitPatternUInt64
        let signBit: UInt64 = T.self == Float.self ? 1 << 31 : 1 << 63
        let magnitude = Int64(bitPattern: bits & ~signBit)
        return bits & signBit != 0 ? -magnitude : magnitude
    }

    /// The number of representable values between `a` and `b` (0 when equal, 1 when adjacent;
    /// +0 and -0 are 0 apart). NaN against anything is `UInt64.max`.
    public static func distance<T: FloatElement>(_ a: T, _ b: T) -> UInt64 {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : .max }
        return ordinal(a).subtractingReportingOverflow(ordinal(b)).partialValue.magnitude
    }
}

/// Elementwise error between two tensors of one floating dtype and shape: the figures Parity
/// reports everywhere (maximum absolute and relative error, maximum and median ULP distance).
public struct ErrorMetrics: Sendable, Equatable, CustomStringConvertible {
    /// The largest `|a − b|` (infinity where either is NaN).
    public var maxAbsolute: Double
    /// The largest `|a − b| / max(|a|, |b|)` over elements not both zero.
    public var maxRelative: Double
    /// The largest ULP distance.
    public var maxUlps: UInt64
    /// The median ULP distance.
    public var medianUlps: UInt64
    /// The number of elements.
    public var count: Int

    /// The figures between `a` and `b`, both `float32` or both `float64`, of one shape.
    public init(_ a: Tensor, _ b: Tensor) throws {
        guard a.shape == b.shape else {
            throw TensorError.shapeMismatch(op: "compare", expected: "equal shapes", received: [a.shape, b.shape])
        }
        guard a.dtype == b.dtype else { throw TensorError.dtypeMismatch(op: "compare", received: [a.dtype, b.dtype]) }
        var ulps: [UInt64]
        switch (a.storage, b.storage) {
        case let (.float32(x), .float32(y)): ulps = zip(x, y).map { Ulp.distance($0, $1) }
        case let (.float64(x), .float64(y)): ulps = zip(x, y).map { Ulp.distance($0, $1) }
        default: throw TensorError.unsupportedDType(op: "compare", dtype: a.dtype)
        }
        let (da, db) = (a.doubles, b.doubles)
        maxAbsolute = 0
        maxRelative = 0
        for (x, y) in zip(da, db) {
            let abs = Swift.abs(x - y)
            maxAbsolute = Swift.max(maxAbsolute, abs.isNaN ? .infinity : abs)
            let scale = Swift.max(Swift.abs(x), Swift.abs(y))
            if scale > 0 { maxRelative = Swift.max(maxRelative, abs / scale) }
        }
        maxUlps = ulps.max() ?? 0
        medianUlps = ulps.isEmpty ? 0 : Self.select(&ulps, ulps.count / 2)
        count = ulps.count
    }

    /// The `k`-th smallest element (0-based) of `values`, as `values.sorted()[k]`, in expected linear time
    /// (quickselect with a median-of-three pivot; `values` is reordered).
    public static func select(_ values: inout [UInt64], _ k: Int) -> UInt64 {
        var (low, high) = (0, values.count - 1)
        while low < high {
            let mid = low + (high - low) / 2
            let pivot = Swift.max(Swift.min(values[low], values[mid]), Swift.min(Swift.max(values[low], values[mid]), values[high]))
            var (i, j) = (low, high)
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { high = j } else if k >= i { low = i } else { return values[k] }
        }
        return values[k]
    }

    /// Whether every element is bit for bit the same (NaN matching NaN).
    public var isBitIdentical: Bool { maxUlps == 0 }

    public var description: String {
        "max abs \(maxAbsolute), max rel \(maxRelative), max \(maxUlps) ULP, median \(medianUlps) ULP"
    }
}
