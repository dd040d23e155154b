/// An n-dimensional array of `Float`, `Double` or `Int64`, stored contiguously in row-major
/// (C) order, with value semantics (copy-on-write).
///
/// Layout is always dense and row-major, the layout both PyTorch (`contiguous()`) and TensorFlow
/// hand to their CPU kernels; a transpose materialises a new buffer. Rank 0 is a scalar.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The elements, one case per ``DType``.
    public enum Storage: Sendable, Equatable {
        case float32([Float])
        case float64([Double])
        case int64([Int64])
    }

    public let shape: [Int]
    public let storage: Storage

    /// Wraps `storage` as a tensor of `shape`; the element count must match.
    public init(shape: [Int], storage: Storage) {
        let count: Int
        switch storage {
        case .float32(let v): count = v.count
        case .float64(let v): count = v.count
        case .int64(let v): count = v.count
        }
        precondition(shape.allSatisfy { $0 >= 0 } && Shape.count(shape) == count,
                     "Tensor: \(count) elements cannot have shape \(shape)")
        self.shape = shape
        self.storage = storage
    }

    public init<T: FloatElement>(shape: [Int], values: [T]) {
        self.init(shape: shape, storage: T.storage(values))
    }

    public init(shape: [Int], int64 values: [Int64]) {
        self.init(shape: shape, storage: .int64(values))
    }

    /// A rank-0 tensor.
    public init<T: FloatElement>(scalar: T) { self.init(shape: [], values: [scalar]) }

    /// A tensor of `shape` filled with `value` in `dtype`.
    public init(repeating value: Double, shape: [Int], dtype: DType) {
        let n = Shape.count(shape)
        switch dtype {
        case .float32: self.init(shape: shape, storage: .float32([Float](repeating: Float(value), count: n)))
        case .float64: self.init(shape: shape, storage: .float64([Double](repeating: value, count: n)))
        case .int64: self.init(shape: shape, storage: .int64([Int64](repeating: Int64(value), count: n)))
        }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(repeating: 0, shape: shape, dtype: dtype)
    }

    public var dtype: DType {
        switch storage {
        case .float32: return .float32
        case .float64: return .float64
        case .int64: return .int64
        }
    }

    public var rank: Int { shape.count }
    public var count: Int { Shape.count(shape) }

    /// The elements as `T`, or `nil` when the tensor holds another dtype.
    public func values<T: FloatElement>(_ type: T.Type = T.self) -> [T]? { T.values(in: storage) }

    /// Every element widened to `Double`, whatever the dtype (for reports and tests).
    public var doubles: [Double] {
        switch storage {
        case .float32(let v): return v.map(Double.init)
        case .float64(let v): return v
        case .int64(let v): return v.map(Double.init)
        }
    }

    public var int64s: [Int64]? {
        if case .int64(let v) = storage { return v }
        return nil
    }

    /// The single element of a one-element tensor, as `Double`.
    public var scalarValue: Double? { count == 1 ? doubles[0] : nil }

    /// The same elements under a new shape with the same count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard Shape.count(newShape) == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch(op: "reshape", expected: "\(count) elements for shape \(newShape)", received: [shape])
        }
        return Tensor(shape: newShape, storage: storage)
    }

    /// Converts to `dtype`, rounding to nearest (float64 -> float32) or truncating toward zero
    /// (float -> int64, as `torch.Tensor.long()` does).
    public func cast(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        switch (storage, dtype) {
        case (.float32(let v), .float64): return Tensor(shape: shape, storage: .float64(v.map(Double.init)))
        case (.float64(let v), .float32): return Tensor(shape: shape, storage: .float32(v.map(Float.init)))
        case (.int64(let v), .float32): return Tensor(shape: shape, storage: .float32(v.map(Float.init)))
        case (.int64(let v), .float64): return Tensor(shape: shape, storage: .float64(v.map(Double.init)))
        case (.float32(let v), .int64): return Tensor(shape: shape, storage: .int64(v.map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }))
        case (.float64(let v), .int64): return Tensor(shape: shape, storage: .int64(v.map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }))
        default: return self
        }
    }

    public var description: String {
        let shown = doubles.prefix(8).map { dtype == .int64 ? String(Int64($0)) : String($0) }
        let more = count > 8 ? ", …" : ""
        return "Tensor<\(dtype)>\(shape)[\(shown.joined(separator: ", "))\(more)]"
    }
}
