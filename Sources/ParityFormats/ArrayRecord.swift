import Foundation
import ParityTensor

/// An array exactly as a file stores it: its ``ElementType``, its shape and its raw bytes, always
/// little-endian and row-major (C order) once read, whatever the file's byte order and layout.
///
/// This is the common currency of the readers and writers in this module, in the spirit of
/// safetensors' `TensorView` (dtype, shape, bytes) and NumPy's `ndarray` buffer: nothing is
/// converted until ``toTensor()`` is called, so a read → write round trip is bit-exact for every
/// element type, float16 and bfloat16 included. `bytes` may be a zero-copy slice of a memory-mapped
/// file.
public struct ArrayRecord: Sendable, Equatable, CustomStringConvertible {
    /// The element type as stored.
    public let elementType: ElementType
    /// Dimensions, outermost first; `[]` is a scalar (one element).
    public let shape: [Int]
    /// `elementCount × elementType.byteCount` bytes, little-endian, row-major.
    public let bytes: Data

    /// The row-major copy of a strided view (`shape`, `strides` and `offset` in elements) of `storage`,
    /// as PyTorch stores tensors. The caller must have checked that every element of the view lies in
    /// `storage` (sizes, strides and offset come from a file).
    /// A contiguous view is a zero-copy slice (of the mapped file, when `storage` is one).
    public static func view(of storage: Data, elementType: ElementType, shape: [Int], strides: [Int], offset: Int) throws -> ArrayRecord {
        if strides == Layout.contiguousStrides(shape), let count = Checked.product(shape),
           let start = Checked.multiply(offset, elementType.byteCount), let length = Checked.multiply(count, elementType.byteCount),
           let end = Checked.add(start, length), end <= storage.count {
            let base = storage.startIndex + start
            return try ArrayRecord(elementType: elementType, shape: shape, bytes: storage[base..<(base + length)])
        }
        let bytes = storage.withUnsafeBytes {
            Layout.gather($0, elementSize: elementType.byteCount, shape: shape, strides: strides, offset: offset)
        }
        return try ArrayRecord(elementType: elementType, shape: shape, bytes: bytes)
    }

    /// Wraps `bytes`, checking that they hold exactly `shape`'s elements of `elementType`.
    public init(elementType: ElementType, shape: [Int], bytes: Data) throws {
        guard let count = Checked.product(shape) else {
            throw FormatError.unrepresentable(key: "shape \(shape)",
                                              reason: "dimensions must be non-negative and their product must fit in Int")
        }
        guard let byteCount = Checked.multiply(count, elementType.byteCount), byteCount == bytes.count else {
            throw FormatError.unrepresentable(
                key: "shape \(shape)",
                reason: "\(count) elements of \(elementType) need \(count &* elementType.byteCount) bytes, got \(bytes.count)")
        }
        self.init(unchecked: elementType, shape: shape, bytes: bytes)
    }

    init(unchecked elementType: ElementType, shape: [Int], bytes: Data) {
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// The tensor's elements, stored without conversion (in the element type of its dtype). Float32 and
    /// float64 elements are copied whole from where they are (a tensor read in place from a file stays
    /// uncopied in its mapping).
    public init(_ tensor: Tensor) {
        if Self.hostIsLittleEndian, let bytes = tensor.withUnsafeElements(as: Float.self, { Data(buffer: $0) }) {
            self.init(unchecked: .float32, shape: tensor.shape, bytes: bytes)
            return
        }
        if Self.hostIsLittleEndian, let bytes = tensor.withUnsafeElements(as: Double.self, { Data(buffer: $0) }) {
            self.init(unchecked: .float64, shape: tensor.shape, bytes: bytes)
            return
        }
        switch tensor.storage {
        case .float32(let v): self.init(unchecked: .float32, shape: tensor.shape, bytes: Self.pack(v.map(\.bitPattern)))
        case .float64(let v): self.init(unchecked: .float64, shape: tensor.shape, bytes: Self.pack(v.map(\.bitPattern)))
        case .int64(let v): self.init(unchecked: .int64, shape: tensor.shape, bytes: Self.pack(v))
        case .int32(let v): self.init(unchecked: .int32, shape: tensor.shape, bytes: Self.pack(v))
        case .bool(let v): self.init(unchecked: .bool, shape: tensor.shape, bytes: Self.pack(v.map { UInt8($0 ? 1 : 0) }))
        case .float16(let v): self.init(unchecked: .float16, shape: tensor.shape, bytes: Self.pack(v))
        case .bfloat16(let v): self.init(unchecked: .bfloat16, shape: tensor.shape, bytes: Self.pack(v))
        case .complex64(let v): self.init(unchecked: .complex64, shape: tensor.shape, bytes: Self.pack(v.flatMap { [$0.real.bitPattern, $0.imaginary.bitPattern] }))
        case .complex128(let v): self.init(unchecked: .complex128, shape: tensor.shape, bytes: Self.pack(v.flatMap { [$0.real.bitPattern, $0.imaginary.bitPattern] }))
        }
    }

    /// The tensor's elements converted to `elementType`, as `tensor.to(dtype)` would store them:
    /// floats narrow by rounding to nearest even (float64 to float16/bfloat16 goes through float32, as
    /// PyTorch's `c10::Half(double)` does). Integer and bool targets accept only values they hold
    /// exactly (bool: 0 or 1) and throw `FormatError/unrepresentable` otherwise, rather than wrap.
    public init(_ tensor: Tensor, as elementType: ElementType) throws {
        let shape = tensor.shape
        if tensor.dtype.isComplex || elementType.isComplex {
            guard tensor.dtype.isComplex && elementType.isComplex else {
                throw FormatError.unrepresentable(key: "\(tensor.dtype) as \(elementType)", reason: "a complex array is stored as complex, a real one as real")
            }
            self.init(tensor.cast(to: elementType.widenedDType))
            return
        }
        switch (tensor.int64s, elementType) {  // nil, uncopied, for a tensor read in place (a float)
        case (_, .float32):
            self.init(unchecked: .float32, shape: shape, bytes: Self.pack(Self.floats(tensor).map(\.bitPattern)))
        case (let v?, .float64):
            self.init(unchecked: .float64, shape: shape, bytes: Self.pack(v.map { Double($0).bitPattern }))
        case (_, .float64):
            self.init(unchecked: .float64, shape: shape, bytes: Self.pack(tensor.doubles.map(\.bitPattern)))
        case (_, .float16):
            self.init(unchecked: .float16, shape: shape,
                      bytes: Self.pack(Self.floats(tensor).map(HalfPrecision.float16Bits(from:))))
        case (_, .bfloat16):
            self.init(unchecked: .bfloat16, shape: shape,
                      bytes: Self.pack(Self.floats(tensor).map(HalfPrecision.bfloat16Bits(from:))))
        default:
            let integers = try Self.exactIntegers(tensor, as: elementType)
            self.init(unchecked: elementType, shape: shape, bytes: Self.pack(integers, as: elementType))
        }
    }

    /// The number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    static let hostIsLittleEndian = 1.littleEndian == 1

    /// The elements widened to a `Tensor` of ``ElementType/widenedDType``: float16 and bfloat16
    /// exactly to float32, float32 and float64 as they are, integers and bool to int64. Throws only for
    /// a uint64 element above `Int64.max`.
    public func toTensor() throws -> Tensor {
        let n = elementCount
        return try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Tensor in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                T(littleEndian: raw.loadUnaligned(fromByteOffset: i &* MemoryLayout<T>.size, as: T.self))
            }
            /// The bytes copied whole into `[T]` (the file's little-endian order is the machine's).
            func copied<T: FloatElement>(_: T.Type) -> Tensor {
                Tensor(shape: shape, values: [T](unsafeUninitializedCapacity: n) { buffer, initialized in
                    if n > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw.prefix(n * MemoryLayout<T>.size))) }
                    initialized = n
                })
            }
            if let mapped = inPlace(raw) { return mapped }
            switch elementType {
            case .float32:
                if Self.hostIsLittleEndian { return copied(Float.self) }
                return Tensor(shape: shape, values: (0..<n).map { Float(bitPattern: load(UInt32.self, $0)) })
            case .float64:
                if Self.hostIsLittleEndian { return copied(Double.self) }
                return Tensor(shape: shape, values: (0..<n).map { Double(bitPattern: load(UInt64.self, $0)) })
            case .float16:
                return Tensor(shape: shape, values: (0..<n).map { HalfPrecision.float(fromFloat16: load(UInt16.self, $0)) })
            case .bfloat16:
                return Tensor(shape: shape, values: (0..<n).map { HalfPrecision.float(fromBFloat16: load(UInt16.self, $0)) })
            case .complex64:
                return Tensor(shape: shape, complex: (0..<n).map { Complex(Float(bitPattern: load(UInt32.self, 2 * $0)), Float(bitPattern: load(UInt32.self, 2 * $0 + 1))) })
            case .complex128:
                return Tensor(shape: shape, complex: (0..<n).map { Complex(Double(bitPattern: load(UInt64.self, 2 * $0)), Double(bitPattern: load(UInt64.self, 2 * $0 + 1))) })
            case .bool:
                return Tensor(shape: shape, int64: (0..<n).map { load(UInt8.self, $0) == 0 ? 0 : 1 })
            case .uint8: return Tensor(shape: shape, int64: (0..<n).map { Int64(load(UInt8.self, $0)) })
            case .int8: return Tensor(shape: shape, int64: (0..<n).map { Int64(load(Int8.self, $0)) })
            case .int16: return Tensor(shape: shape, int64: (0..<n).map { Int64(load(Int16.self, $0)) })
            case .uint16: return Tensor(shape: shape, int64: (0..<n).map { Int64(load(UInt16.self, $0)) })
            case .int32: return Tensor(shape: shape, int64: (0..<n).map { Int64(load(Int32.self, $0)) })
            case .uint32: return Tensor(shape: shape, int64: (0..<n).map { Int64(load(UInt32.self, $0)) })
            case .int64: return Tensor(shape: shape, int64: (0..<n).map { load(Int64.self, $0) })
            case .uint64:
                var values = [Int64]()
                values.reserveCapacity(n)
                for i in 0..<n {
                    let v = load(UInt64.self, i)
                    guard let exact = Int64(exactly: v) else {
                        throw FormatError.unrepresentable(key: "uint64 element \(i)", reason: "\(v) does not fit in int64")
                    }
                    values.append(exact)
                }
                return Tensor(shape: shape, int64: values)
            }
        }
    }

    /// A float32 or float64 record whose bytes lie in a live file mapping, as a tensor reading them in
    /// place (``FileMapping/containing(_:)``, ``ParityTensor/Tensor/init(shape:dtype:mappedAt:in:)``);
    /// `nil` otherwise (another type, too small, not mapped, or not aligned to the element size).
    private func inPlace(_ raw: UnsafeRawBufferPointer) -> Tensor? {
        guard elementType == .float32 || elementType == .float64, raw.count >= FileMapping.inPlaceMinimumBytes,
              let base = raw.baseAddress, let mapping = FileMapping.containing(raw), let start = mapping.bytes.baseAddress else { return nil }
        return Tensor(shape: shape, dtype: elementType.widenedDType, mappedAt: base - start, in: mapping)
    }

    public var description: String {
        "ArrayRecord<\(elementType)>\(shape) (\(bytes.count) bytes)"
    }

    // MARK: Packing

    static func pack<T: FixedWidthInteger>(_ values: [T]) -> Data {
        var data = Data(count: values.count * MemoryLayout<T>.size)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self)
            }
        }
        return data
    }

    private static func pack(_ values: [Int64], as type: ElementType) -> Data {
        switch type {
        case .bool, .uint8: return pack(values.map { UInt8(truncatingIfNeeded: $0) })
        case .int8: return pack(values.map { Int8(truncatingIfNeeded: $0) })
        case .int16: return pack(values.map { Int16(truncatingIfNeeded: $0) })
        case .uint16: return pack(values.map { UInt16(truncatingIfNeeded: $0) })
        case .int32: return pack(values.map { Int32(truncatingIfNeeded: $0) })
        case .uint32: return pack(values.map { UInt32(truncatingIfNeeded: $0) })
        default: return pack(values)
        }
    }

    private static func floats(_ tensor: Tensor) -> [Float] {
        let narrowed = tensor.cast(to: .float32)
        if narrowed.isMapped { return narrowed.withUnsafeElements(as: Float.self) { Array($0) } ?? [] }  // leaves it uncopied
        return narrowed.values(Float.self) ?? []
    }

    /// The tensor's values as Int64 after checking each fits `type` exactly (uint64 above Int64.max
    /// cannot come from a Tensor, so Int64 carries every representable value).
    private static func exactIntegers(_ tensor: Tensor, as type: ElementType) throws -> [Int64] {
        let range: ClosedRange<Int64>
        switch type {
        case .bool: range = 0...1
        case .uint8: range = 0...Int64(UInt8.max)
        case .int8: range = Int64(Int8.min)...Int64(Int8.max)
        case .int16: range = Int64(Int16.min)...Int64(Int16.max)
        case .uint16: range = 0...Int64(UInt16.max)
        case .int32: range = Int64(Int32.min)...Int64(Int32.max)
        case .uint32: range = 0...Int64(UInt32.max)
        case .uint64: range = 0...Int64.max
        default: range = Int64.min...Int64.max
        }
        var out = [Int64]()
        out.reserveCapacity(tensor.count)
        func check(_ value: Int64?, _ shown: String, _ i: Int) throws {
            guard let value, range.contains(value) else {
                throw FormatError.unrepresentable(key: "element \(i)", reason: "\(shown) is not exactly representable as \(type)")
            }
            out.append(value)
        }
        switch tensor.storage {
        case .int64(let v): for (i, x) in v.enumerated() { try check(x, "\(x)", i) }
        case .float32(let v): for (i, x) in v.enumerated() { try check(Int64(exactly: x), "\(x)", i) }
        case .float64(let v): for (i, x) in v.enumerated() { try check(Int64(exactly: x), "\(x)", i) }
        case .int32, .bool: for (i, x) in tensor.integers!.enumerated() { try check(x, "\(x)", i) }
        case .float16, .bfloat16: for (i, x) in tensor.doubles.enumerated() { try check(Int64(exactly: x), "\(x)", i) }
        case .complex64, .complex128: break  // refused by the caller
        }
        return out
    }
}

/// Row-major gathering of strided elements, shared by the NumPy (Fortran order) and PyTorch (views)
/// readers. Callers validate every index against the source before calling.
enum Layout {
    /// Row-major strides, in elements.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running = running &* Swift.max(shape[axis], 1)
        }
        return strides
    }

    /// The elements at `offset + Σ index[d]·strides[d]` (in elements of `elementSize` bytes) of
    /// `source`, in row-major order of `shape`. Preconditions (checked by callers against file
    /// contents): every such index lies in the source.
    static func gather(_ source: UnsafeRawBufferPointer, elementSize: Int, shape: [Int], strides: [Int],
                       offset: Int) -> Data {
        let count = shape.reduce(1, *)
        var out = Data(count: count * elementSize)
        if count == 0 { return out }
        out.withUnsafeMutableBytes { (dest: UnsafeMutableRawBufferPointer) in
            guard let destBase = dest.baseAddress, let sourceBase = source.baseAddress else { return }
            if strides == contiguousStrides(shape) {
                (destBase).copyMemory(from: sourceBase + offset * elementSize, byteCount: count * elementSize)
                return
            }
            // Odometer over all axes but the last; the last axis is a strided run.
            let rank = shape.count
            let inner = shape[rank - 1]
            let innerStride = strides[rank - 1]
            var index = [Int](repeating: 0, count: rank)
            var position = offset
            var written = 0
            while written < count {
                var p = position
                for _ in 0..<inner {
                    (destBase + written * elementSize).copyMemory(from: sourceBase + p * elementSize, byteCount: elementSize)
                    written += 1
                    p += innerStride
                }
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    position += strides[axis]
                    if index[axis] < shape[axis] { break }
                    position -= strides[axis] * shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
                if axis < 0 { break }
            }
        }
        return out
    }

    /// Reverses the bytes of every `elementSize`-byte element (big-endian to little-endian).
    static func byteSwap(_ data: inout Data, elementSize: Int) {
        guard elementSize > 1 else { return }
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            var start = 0
            while start + elementSize <= raw.count {
                var lo = start, hi = start + elementSize - 1
                while lo < hi {
                    raw.swapAt(lo, hi)
                    lo += 1
                    hi -= 1
                }
                start += elementSize
            }
        }
    }
}
