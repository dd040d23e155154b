import ComplexModule
import RealModule

/// An n-dimensional array of one ``DType``, stored contiguously in row-major (C) order, with value
/// semantics (copy-on-write).
///
/// Layout is always dense and row-major, the layout both PyTorch (`contiguous()`) and TensorFlow
/// hand to their CPU kernels; a transpose materialises a new buffer. Rank 0 is a scalar.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The elements, one case per ``DType``. 16-bit floats are kept as their bit patterns (see
    /// ``HalfPrecision``).
    public enum Storage: Sendable, Equatable {
        /// `float32` elements.
        case float32([Float])
        /// `float64` elements.
        case float64([Double])
        /// `int64` elements.
        case int64([Int64])
        /// `int32` elements.
        case int32([Int32])
        /// `bool` elements.
        case bool([Bool])
        /// `float16` elements as their bit patterns.
        case float16([UInt16])
        /// `bfloat16` elements as their bit patterns.
        case bfloat16([UInt16])
        /// `complex64` elements: (real, imaginary) `Float` pairs, interleaved in memory as PyTorch's
        /// `c10::complex<float>`.
        case complex64([Complex<Float>])
        /// `complex128` elements: (real, imaginary) `Double` pairs, interleaved.
        case complex128([Complex<Double>])

        /// The number of elements.
        public var count: Int {
            switch self {
            case .float32(let v): return v.count
            case .float64(let v): return v.count
            case .int64(let v): return v.count
            case .int32(let v): return v.count
            case .bool(let v): return v.count
            case .float16(let v), .bfloat16(let v): return v.count
            case .complex64(let v): return v.count
            case .complex128(let v): return v.count
            }
        }

        /// The dtype of the elements.
        public var dtype: DType {
            switch self {
            case .float32: return .float32
            case .float64: return .float64
            case .int64: return .int64
            case .int32: return .int32
            case .bool: return .bool
            case .float16: return .float16
            case .bfloat16: return .bfloat16
            case .complex64: return .complex64
            case .complex128: return .complex128
            }
        }
    }

    /// Where the elements are: in a Swift array, or in place in a file mapping.
    enum Backing: Sendable {
        case resident(Storage)
        case mapped(MappedElements)
    }

    /// The size of each axis, outermost first (`[]` for a scalar).
    public let shape: [Int]
    let backing: Backing

    /// The elements in row-major order. A tensor read in place from a file (``isMapped``) copies its
    /// elements into an array here the first time, once (the kernels that take a pointer read the
    /// mapping instead: ``withUnsafeElements(as:_:)``).
    public var storage: Storage {
        switch backing {
        case .resident(let storage): return storage
        case .mapped(let elements): return elements.storage
        }
    }

    /// Wraps `storage` as a tensor of `shape`; the element count must match.
    public init(shape: [Int], storage: Storage) {
        let count = storage.count
        precondition(shape.allSatisfy { $0 >= 0 } && Shape.count(shape) == count,
                     "Tensor: \(count) elements cannot have shape \(shape)")
        self.shape = shape
        backing = .resident(storage)
    }

    /// The `float32` or `float64` elements of `shape` stored in `mapping` from byte `offset`, row-major in
    /// the machine's byte order, read in place: nothing is copied until a use needs an array. `nil` when
    /// they cannot be read in place (another dtype, a big-endian machine, an offset not aligned to the
    /// element size, or bytes beyond the mapping); the caller then copies them.
    public init?(shape: [Int], dtype: DType, mappedAt offset: Int, in mapping: FileMapping) {
        guard dtype == .float32 || dtype == .float64, 1.littleEndian == 1, shape.allSatisfy({ $0 >= 0 }),
              let base = mapping.bytes.baseAddress else { return nil }
        let size = dtype == .float32 ? 4 : 8
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { return nil }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard count > 0, !overflow, offset >= 0, offset <= mapping.bytes.count, bytes <= mapping.bytes.count - offset,
              (Int(bitPattern: base) + offset) % size == 0 else { return nil }
        self.shape = shape
        backing = .mapped(MappedElements(mapping: mapping, start: base + offset, dtype: dtype, count: count))
    }

    private init(shape: [Int], backing: Backing) {
        self.shape = shape
        self.backing = backing
    }

    /// Whether the elements are read in place from a file mapping (see
    /// ``init(shape:dtype:mappedAt:in:)``) and no use has copied them into an array yet.
    public var isMapped: Bool {
        if case .mapped(let elements) = backing { return !elements.isCopied }
        return false
    }

    /// Calls `body` with the elements as `T`, in place: the mapping's bytes for a mapped tensor, the
    /// array's buffer otherwise; `nil` (without calling `body`) when the dtype is not `T`'s. For kernels
    /// that read a tensor through a pointer, so that a weight read in place stays in its mapping.
    public func withUnsafeElements<T: FloatElement, R>(as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R? {
        switch backing {
        case .mapped(let elements):
            guard let buffer = elements.buffer(T.self) else { return nil }
            return try withExtendedLifetime(elements) { try body(buffer) }
        case .resident(let storage):
            guard let values = T.values(in: storage) else { return nil }
            return try values.withUnsafeBufferPointer(body)
        }
    }

    /// `body` with the elements of `tensor` as `T` in place (``withUnsafeElements(as:_:)``), or with `nil`
    /// when there is no tensor or it holds another dtype: an optional operand (a bias, a norm's scale).
    public static func withUnsafeElements<T: FloatElement, R>(of tensor: Tensor?, as type: T.Type,
                                                              _ body: (UnsafeBufferPointer<T>?) throws -> R) rethrows -> R {
        if let tensor, let result = try tensor.withUnsafeElements(as: T.self, { try body($0) }) { return result }
        return try body(nil)
    }

    /// `body` with the elements of two tensors as `T` in place (``withUnsafeElements(as:_:)``), or `nil`
    /// when either holds another dtype: a kernel's operands.
    public static func withUnsafeElements<T: FloatElement, R>(of a: Tensor, _ b: Tensor, as type: T.Type,
                                                              _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>) throws -> R) rethrows -> R? {
        try a.withUnsafeElements(as: T.self) { x in try b.withUnsafeElements(as: T.self) { y in try body(x, y) } } ?? nil
    }

    /// The same for three tensors.
    public static func withUnsafeElements<T: FloatElement, R>(of a: Tensor, _ b: Tensor, _ c: Tensor, as type: T.Type,
                                                              _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeBufferPointer<T>) throws -> R) rethrows -> R? {
        try withUnsafeElements(of: a, b, as: T.self) { x, y in try c.withUnsafeElements(as: T.self) { z in try body(x, y, z) } } ?? nil
    }

    /// The same shape and elements (compared as their type compares them: a NaN is not equal to
    /// itself, and +0 equals −0), a tensor read in place from a file compared in place.
    public static func == (a: Tensor, b: Tensor) -> Bool {
        guard a.shape == b.shape else { return false }
        switch (a.backing, b.backing) {
        case let (.resident(x), .resident(y)): return x == y
        case let (.mapped(x), .mapped(y)) where x === y: return true  // as an array equals itself
        default:
            func equal<T: FloatElement>(_: T.Type) -> Bool? { withUnsafeElements(of: a, b, as: T.self) { $0.elementsEqual($1) } }
            return equal(Float.self) ?? equal(Double.self) ?? false  // a mapped tensor is float32 or float64
        }
    }

    /// A `float32` or `float64` tensor (by `T`) of `shape` holding `values` in row-major order.
    public init<T: FloatElement>(shape: [Int], values: [T]) {
        self.init(shape: shape, storage: T.storage(values))
    }

    /// An `int64` tensor of `shape` holding `values` in row-major order.
    public init(shape: [Int], int64 values: [Int64]) {
        self.init(shape: shape, storage: .int64(values))
    }

    /// A `bool` tensor of `shape` holding `values` in row-major order.
    public init(shape: [Int], bools values: [Bool]) {
        self.init(shape: shape, storage: .bool(values))
    }

    /// A `complex64` or `complex128` tensor (by `T`) of `shape` holding `values` in row-major order.
    public init<T: FloatElement>(shape: [Int], complex values: [Complex<T>]) {
        self.init(shape: shape, storage: T.complexStorage(values))
    }

    /// A rank-0 tensor.
    public init<T: FloatElement>(scalar: T) { self.init(shape: [], values: [scalar]) }

    /// A tensor of `shape` filled with `value` converted to `dtype` (as ``cast(to:)`` converts).
    public init(repeating value: Double, shape: [Int], dtype: DType) {
        let one = Tensor(shape: [], storage: .float64([value])).cast(to: dtype)
        self.init(shape: shape, storage: one.storage.repeated(Shape.count(shape)))
    }

    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(repeating: 0, shape: shape, dtype: dtype)
    }

    /// The element type.
    public var dtype: DType {
        switch backing {
        case .resident(let storage): return storage.dtype
        case .mapped(let elements): return elements.dtype
        }
    }

    /// The number of axes (0 for a scalar).
    public var rank: Int { shape.count }
    /// The number of elements.
    public var count: Int { Shape.count(shape) }

    /// Whether `other` is this very tensor's storage: the same buffer (one allocation, so a changed
    /// copy is a new one: copy on write), element count, shape and dtype. An empty tensor never
    /// matches, nor does a dtype other than `float32` and `float64` (the kernels' dtypes). A tensor read
    /// in place from a file shares storage with the tensors made from it by ``reshaped(_:)`` only.
    public func sharesStorage(with other: Tensor) -> Bool {
        guard shape == other.shape else { return false }
        switch (backing, other.backing) {
        case let (.mapped(a), .mapped(b)): return a === b
        case (.mapped, _), (_, .mapped): return false
        default: break
        }
        func same<T>(_ a: [T], _ b: [T]) -> Bool {
            !a.isEmpty && a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress && pa.count == pb.count } }
        }
        switch (storage, other.storage) {
        case let (.float32(a), .float32(b)): return same(a, b)
        case let (.float64(a), .float64(b)): return same(a, b)
        default: return false
        }
    }

    /// The elements as `T`, or `nil` when the tensor holds another dtype.
    public func values<T: FloatElement>(_ type: T.Type = T.self) -> [T]? { T.dtype == dtype ? T.values(in: storage) : nil }

    /// The elements of a complex tensor whose parts are `T`, or `nil` for another dtype.
    public func complexValues<T: FloatElement>(_ type: T.Type = T.self) -> [Complex<T>]? { residentStorage.flatMap(T.complexValues(in:)) }

    /// The array storage, or `nil` for a tensor read in place from a file: for the accessors of the
    /// dtypes such a tensor never has (complex, integer, bool), which must not copy it to find out.
    private var residentStorage: Storage? {
        if case .resident(let storage) = backing { return storage }
        return nil
    }

    /// Every element widened to `Double`, whatever the dtype (for reports and tests; a bool is 1 or 0).
    /// A complex element gives two numbers, its real then its imaginary part (the order of
    /// `torch.view_as_real`), so a complex tensor gives `2 × count` numbers.
    public var doubles: [Double] {
        if case .mapped = backing {  // widened straight from the mapping, which stays uncopied
            if let v = withUnsafeElements(as: Float.self, { $0.map(Double.init) }) { return v }
            if let v = withUnsafeElements(as: Double.self, { Array($0) }) { return v }
        }
        switch storage {
        case .float32(let v): return v.map(Double.init)
        case .float64(let v): return v
        case .int64(let v): return v.map(Double.init)
        case .int32(let v): return v.map(Double.init)
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        case .float16(let v): return v.map { Double(HalfPrecision.float(fromFloat16: $0)) }
        case .bfloat16(let v): return v.map { Double(HalfPrecision.float(fromBFloat16: $0)) }
        case .complex64(let v): return v.flatMap { [Double($0.real), Double($0.imaginary)] }
        case .complex128(let v): return v.flatMap { [$0.real, $0.imaginary] }
        }
    }

    /// The elements of an `int64` tensor; `nil` for another dtype.
    public var int64s: [Int64]? {
        if case .int64(let v)? = residentStorage { return v }
        return nil
    }

    /// The elements of an integer or bool tensor as `Int64` (a bool is 1 or 0); `nil` for floats.
    public var integers: [Int64]? {
        switch residentStorage {
        case .int64(let v)?: return v
        case .int32(let v)?: return v.map(Int64.init)
        case .bool(let v)?: return v.map { $0 ? 1 : 0 }
        default: return nil
        }
    }

    /// The elements of a `bool` tensor; `nil` for another dtype.
    public var bools: [Bool]? {
        if case .bool(let v)? = residentStorage { return v }
        return nil
    }

    /// The single element of a one-element real tensor, as `Double`.
    public var scalarValue: Double? { count == 1 && !dtype.isComplex ? doubles[0] : nil }

    /// The same elements under a new shape with the same count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard Shape.count(newShape) == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch(op: "reshape", expected: "\(count) elements for shape \(newShape)", received: [shape])
        }
        return Tensor(shape: newShape, backing: backing)
    }

    /// Converts to `dtype` as PyTorch's `tensor.to(dtype)` does on CPU: floats narrow by rounding to
    /// nearest even (float64 → float16/bfloat16 through float32, as `c10::Half(double)`), floats become
    /// integers by truncation toward zero (NaN and out-of-range values, undefined in C++, give 0 here),
    /// int64 → int32 wraps (two's complement), anything → bool is `x ≠ 0` (NaN is true), bool → number is
    /// 1 or 0, integers → floats round to nearest. A complex value becomes a real one by its real part
    /// (PyTorch warns and discards the imaginary part), a bool by `z ≠ 0`; a real value becomes complex
    /// with a zero imaginary part.
    public func cast(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        if isMapped {  // between the two float precisions, straight from the mapping
            if dtype == .float64, let values = withUnsafeElements(as: Float.self, { $0.map(Double.init) }) { return Tensor(shape: shape, values: values) }
            if dtype == .float32, let values = withUnsafeElements(as: Double.self, { $0.map(Float.init) }) { return Tensor(shape: shape, values: values) }
        }
        return Tensor(shape: shape, storage: storage.converted(to: dtype))
    }

    public var description: String {
        if dtype.isComplex {
            let d = doubles
            let shown = stride(from: 0, to: Swift.min(d.count, 16), by: 2).map { "\(d[$0])\(d[$0 + 1] < 0 ? "-" : "+")\(Swift.abs(d[$0 + 1]))i" }
            return "Tensor<\(dtype)>\(shape)[\(shown.joined(separator: ", "))\(count > 8 ? ", …" : "")]"
        }
        let shown = doubles.prefix(8).map { dtype.isFloatingPoint ? String($0) : (dtype == .bool ? String($0 != 0) : String(Int64($0))) }
        let more = count > 8 ? ", …" : ""
        return "Tensor<\(dtype)>\(shape)[\(shown.joined(separator: ", "))\(more)]"
    }
}

extension Tensor.Storage {
    /// The same elements repeated to `count` (one element repeated, or empty).
    func repeated(_ count: Int) -> Tensor.Storage {
        switch self {
        case .float32(let v): return .float32(Array(repeating: v.first ?? 0, count: count))
        case .float64(let v): return .float64(Array(repeating: v.first ?? 0, count: count))
        case .int64(let v): return .int64(Array(repeating: v.first ?? 0, count: count))
        case .int32(let v): return .int32(Array(repeating: v.first ?? 0, count: count))
        case .bool(let v): return .bool(Array(repeating: v.first ?? false, count: count))
        case .float16(let v): return .float16(Array(repeating: v.first ?? 0, count: count))
        case .bfloat16(let v): return .bfloat16(Array(repeating: v.first ?? 0, count: count))
        case .complex64(let v): return .complex64(Array(repeating: v.first ?? .zero, count: count))
        case .complex128(let v): return .complex128(Array(repeating: v.first ?? .zero, count: count))
        }
    }

    /// The elements converted to `dtype` (see ``Tensor/cast(to:)``).
    func converted(to dtype: DType) -> Tensor.Storage {
        // Floats go through Double (exact for every float source), integers through Int64; a complex
        // source through its real part unless the target is complex or bool.
        if dtype.isComplex {
            switch self {
            case .complex64(let v): return dtype == .complex64 ? self : .complex128(v.map { Complex(Double($0.real), Double($0.imaginary)) })
            case .complex128(let v): return dtype == .complex128 ? self : .complex64(v.map { Complex(Float($0.real), Float($0.imaginary)) })
            default:
                let real = Tensor(shape: [count], storage: self).doubles
                return dtype == .complex64 ? .complex64(real.map { Complex(Float($0), 0) }) : .complex128(real.map { Complex($0, 0) })
            }
        }
        switch self {
        case .float32(let v):
            switch dtype {
            case .float16: return .float16(v.map(HalfPrecision.float16Bits(from:)))
            case .bfloat16: return .bfloat16(v.map(HalfPrecision.bfloat16Bits(from:)))
            default: return Self.fromDoubles(v.map(Double.init), to: dtype)
            }
        case .float64(let v): return Self.fromDoubles(v, to: dtype)
        case .float16, .bfloat16: return Self.fromDoubles(Tensor(shape: [count], storage: self).doubles, to: dtype)
        case .int64(let v): return Self.fromIntegers(v, to: dtype)
        case .int32(let v): return Self.fromIntegers(v.map(Int64.init), to: dtype)
        case .bool(let v): return Self.fromIntegers(v.map { $0 ? 1 : 0 }, to: dtype)
        case .complex64(let v):
            return dtype == .bool ? .bool(v.map { $0.real != 0 || $0.imaginary != 0 }) : Self.fromDoubles(v.map { Double($0.real) }, to: dtype)
        case .complex128(let v):
            return dtype == .bool ? .bool(v.map { $0.real != 0 || $0.imaginary != 0 }) : Self.fromDoubles(v.map(\.real), to: dtype)
        }
    }

    private static func truncated(_ x: Double) -> Int64 {
        x.isFinite ? Int64(exactly: x.rounded(.towardZero)) ?? 0 : 0
    }

    private static func fromDoubles(_ v: [Double], to dtype: DType) -> Tensor.Storage {
        switch dtype {
        case .float32: return .float32(v.map(Float.init))
        case .float64: return .float64(v)
        case .float16: return .float16(v.map { HalfPrecision.float16Bits(from: Float($0)) })
        case .bfloat16: return .bfloat16(v.map { HalfPrecision.bfloat16Bits(from: Float($0)) })
        case .int64: return .int64(v.map(truncated))
        case .int32: return .int32(v.map { Int32(truncatingIfNeeded: truncated($0)) })
        case .bool: return .bool(v.map { $0 != 0 })
        case .complex64: return .complex64(v.map { Complex(Float($0), 0) })
        case .complex128: return .complex128(v.map { Complex($0, 0) })
        }
    }

    private static func fromIntegers(_ v: [Int64], to dtype: DType) -> Tensor.Storage {
        switch dtype {
        case .float32: return .float32(v.map(Float.init))
        case .float64: return .float64(v.map(Double.init))
        case .float16: return .float16(v.map { HalfPrecision.float16Bits(from: Float($0)) })
        case .bfloat16: return .bfloat16(v.map { HalfPrecision.bfloat16Bits(from: Float($0)) })
        case .int64: return .int64(v)
        case .int32: return .int32(v.map { Int32(truncatingIfNeeded: $0) })
        case .bool: return .bool(v.map { $0 != 0 })
        case .complex64: return .complex64(v.map { Complex(Float($0), 0) })
        case .complex128: return .complex128(v.map { Complex(Double($0), 0) })
        }
    }
}
