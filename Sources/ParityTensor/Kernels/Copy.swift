import CParityKernels

/// A rearrangement of a storage's elements that does not depend on their type (a permutation, a
/// broadcast, a slice), so that one implementation serves every dtype.
protocol ElementRearrangement {
    func apply<T>(_ values: [T]) -> [T]
}

extension Tensor {
    /// The elements rearranged; a tensor read in place from a file is read from its mapping.
    func rearranged(_ rearrangement: StridedCopy) -> Tensor.Storage {
        if isMapped {
            if let values = withUnsafeElements(as: Float.self, rearrangement.apply) { return .float32(values) }
            if let values = withUnsafeElements(as: Double.self, rearrangement.apply) { return .float64(values) }
        }
        return storage.rearranged(rearrangement)
    }
}

extension Tensor.Storage {
    func rearranged(_ rearrangement: some ElementRearrangement) -> Tensor.Storage {
        switch self {
        case .float32(let v): return .float32(rearrangement.apply(v))
        case .float64(let v): return .float64(rearrangement.apply(v))
        case .int64(let v): return .int64(rearrangement.apply(v))
        case .int32(let v): return .int32(rearrangement.apply(v))
        case .bool(let v): return .bool(rearrangement.apply(v))
        case .float16(let v): return .float16(rearrangement.apply(v))
        case .bfloat16(let v): return .bfloat16(rearrangement.apply(v))
        case .complex64(let v): return .complex64(rearrangement.apply(v))
        case .complex128(let v): return .complex128(rearrangement.apply(v))
        }
    }
}

/// A strided view copied out densely: output element `i…` (of `shape`) is source element
/// `offset + Σ i[a]·strides[a]` (strides may be 0 to broadcast, or negative to walk backwards).
/// Runs in `Sources/CParityKernels/copy.c` (tiled when it transposes, split across threads when large).
struct StridedCopy: ElementRearrangement {
    var shape: [Int]
    var strides: [Int]
    var offset: Int = 0

    func apply<T>(_ values: [T]) -> [T] { values.withUnsafeBufferPointer(apply) }

    func apply<T>(_ values: UnsafeBufferPointer<T>) -> [T] {
        let count = Shape.count(shape)
        if count == 0 { return [] }
        if _isPOD(T.self) {
            var done = false
            let result = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                done = parity_strided_copy(MemoryLayout<T>.stride, Int32(shape.count), shape, strides,
                                           values.baseAddress! + offset, buffer.baseAddress) == 0
                initialized = done ? count : 0
            }
            if done { return result }
        }
        // More than 16 axes that do not merge, or a non-trivial element: one index at a time.
        var out = [T]()
        out.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        for _ in 0..<count {
            var position = offset
            for axis in 0..<shape.count { position += index[axis] * strides[axis] }
            out.append(values[position])
            Shape.advance(&index, within: shape)
        }
        return out
    }
}
