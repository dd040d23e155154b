import RealModule

/// The element type of a ``Tensor``: the two floating-point precisions models run in, and 64-bit
/// integers for indices (PyTorch's `torch.long`, TensorFlow's `int64`).
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case float32
    case float64
    case int64

    public var isFloatingPoint: Bool { self != .int64 }
    public var description: String { rawValue }
}

/// A floating-point element a kernel can be written once for: `Float` or `Double`.
///
/// It bridges a generic kernel to the ``Tensor`` storage case of its precision.
public protocol FloatElement: BinaryFloatingPoint, Real, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    static var dtype: DType { get }
    /// The same bits as an unsigned integer, for ULP arithmetic.
    var bitPatternUInt64: UInt64 { get }
    static func storage(_ values: [Self]) -> Tensor.Storage
    static func values(in storage: Tensor.Storage) -> [Self]?
}

extension Float: FloatElement {
    public static var dtype: DType { .float32 }
    public var bitPatternUInt64: UInt64 { UInt64(bitPattern) }
    public static func storage(_ values: [Float]) -> Tensor.Storage { .float32(values) }
    public static func values(in storage: Tensor.Storage) -> [Float]? {
        if case .float32(let v) = storage { return v }
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
}
