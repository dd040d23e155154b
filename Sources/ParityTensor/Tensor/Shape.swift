/// Shape arithmetic shared by kernels and shape inference: element counts, row-major strides,
/// NumPy broadcasting and axis normalisation.
public enum Shape {
    /// The number of elements of `shape` (1 for a scalar's `[]`).
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Steps a row-major multi-index over `shape` to the next position (the last axis fastest); after the
    /// last position the index wraps to all zeros and the result is false. `index` may cover a prefix of
    /// the axes of a larger shape: only `shape[0..<index.count]` is read.
    @inline(__always) @discardableResult
    public static func advance(_ index: inout [Int], within shape: [Int]) -> Bool {
        var axis = index.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { return true }
            index[axis] = 0
            axis -= 1
        }
        return false
    }

    /// Row-major (C order) strides in elements.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// The storage index of the `flat`-th element (row-major over `shape`) of a strided view:
    /// `base + Σ index[axis]·strides[axis]`.
    public static func offset(ofFlat flat: Int, in shape: [Int], strides: [Int], base: Int = 0) -> Int {
        var (offset, rest) = (base, flat)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            offset += (rest % shape[axis]) * strides[axis]
            rest /= shape[axis]
        }
        return offset
    }

    /// NumPy / PyTorch broadcasting: shapes are aligned on their trailing axes and each pair of
    /// sizes must be equal or contain a 1.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String = "broadcast") throws -> [Int] {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else {
                throw TensorError.shapeMismatch(op: op, expected: "broadcastable shapes", received: [a, b])
            }
        }
        return result
    }

    /// Resolves a possibly negative axis (`-1` is the last) against a rank.
    public static func axis(_ axis: Int, rank: Int, op: String) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < max(rank, 1) else {
            throw TensorError.invalidArgument(op: op, message: "axis \(axis) is out of range for rank \(rank)")
        }
        return resolved
    }

    /// The strides that read a tensor of `shape` as if it had been broadcast to `target`
    /// (stride 0 on broadcast axes).
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }
}
