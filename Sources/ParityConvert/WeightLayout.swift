import ParityNN

/// Where Keras and PyTorch keep the same weights (conventions.md A.1–A.2, D.13–D.14): the axis orders of
/// convolution kernels and the order of GRU gate blocks. One definition for both converters and for
/// `parity compare`'s weight check.
public enum WeightLayout {
    /// A Keras ConvNd kernel `[k…, in, out]` → PyTorch's `[out, in, k…]`, for `spatial` kernel axes.
    public static func convolutionKernelToTorch(spatial: Int) -> [Int] { [spatial + 1, spatial] + Array(0..<spatial) }

    /// A PyTorch ConvNd weight `[out, in, k…]` → Keras's `[k…, in, out]` (the inverse of the above).
    public static func convolutionKernelToKeras(spatial: Int) -> [Int] { Array(2..<(spatial + 2)) + [1, 0] }

    /// GRU gate blocks: PyTorch's block `j` (`[r, z, n]`) is Keras's block `gruGatesToTorch[j]` (`[z, r, h]`).
    /// The swap is its own inverse, so it also takes PyTorch's order to Keras's.
    public static let gruGatesToTorch = [1, 0, 2]

    /// `t` with its equal blocks along axis 0 reordered: block `j` of the result is block `order[j]` of `t`.
    public static func reorderingBlocks(_ t: Tensor, _ order: [Int]) throws -> Tensor {
        guard order.count > 1 else { return t }
        let parts = try t.split(sizes: Array(repeating: t.shape[0] / order.count, count: order.count), axis: 0)
        return try Tensor.concatenate(order.map { parts[$0] }, axis: 0)
    }
}
