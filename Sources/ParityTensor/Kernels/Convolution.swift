import CParityKernels

/// The geometry of a channels-last convolution as the kernels take it: input and output spatial sizes,
/// kernel, strides, dilations and the padding before each spatial axis (cells outside the input are 0).
public struct ConvolutionShape: Sendable, Hashable {
    /// The input's spatial size.
    public var input: [Int]
    /// The output's spatial size.
    public var output: [Int]
    /// The kernel's spatial size.
    public var kernel: [Int]
    /// The stride per spatial axis.
    public var strides: [Int]
    /// The dilation per spatial axis.
    public var dilations: [Int]
    /// The padding before each spatial axis (the rest of the padding is after).
    public var padBefore: [Int]

    /// A geometry; the parameters are the properties of the same names.
    public init(input: [Int], output: [Int], kernel: [Int], strides: [Int], dilations: [Int], padBefore: [Int]) {
        self.input = input
        self.output = output
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.padBefore = padBefore
    }

    /// The spatial ranks the kernels take (1-D to 3-D).
    public static let supportedRanks = 1...3
}

extension Tensor {
    /// Cross-correlation of channels-last `self` `[batch, input…, cIn]` with `kernel`
    /// `[k…, cIn/groups, cOut]`, no bias: `[batch, output…, cOut]`.
    ///
    /// Each output starts from zero and adds its `window·cIn/groups` products in `order`'s term order
    /// (window cells then channels, or channels then window cells), padded cells as products with 0, each
    /// a fused multiply-add when `fused` (else a rounded product, then a rounded sum): the same bits as
    /// the zero-padded im2col patches times the kernel matrix through ``matmul(_:numerics:bias:)`` with
    /// sequential accumulation, on every instruction set and at any thread count. Depthwise
    /// convolutions run a direct kernel, the rest a GEMM whose operand is packed from the image
    /// (`Sources/CParityKernels/conv.c`).
    public func convolved(with kernel: Tensor, shape geometry: ConvolutionShape, groups: Int, channelsThenWindow: Bool,
                          fused: Bool) throws -> Tensor {
        let op = "convolution"
        let rank = geometry.input.count
        guard ConvolutionShape.supportedRanks.contains(rank), self.rank == rank + 2, kernel.rank == rank + 2,
              Array(shape[1...rank]) == geometry.input, Array(kernel.shape[..<rank]) == geometry.kernel,
              [geometry.output, geometry.strides, geometry.dilations, geometry.padBefore].allSatisfy({ $0.count == rank }),
              groups >= 1, shape[rank + 1] % groups == 0, kernel.shape[rank] * groups == shape[rank + 1],
              kernel.shape[rank + 1] % groups == 0 else {
            throw TensorError.shapeMismatch(
                op: op, expected: "x [batch, \(geometry.input)…, cIn] and kernel [\(geometry.kernel)…, cIn/\(groups), cOut], 1 to 3 spatial axes",
                received: [shape, kernel.shape])
        }
        guard dtype == kernel.dtype else { throw TensorError.dtypeMismatch(op: op, received: [dtype, kernel.dtype]) }
        let outChannels = kernel.shape[rank + 1]
        let outShape = [shape[0]] + geometry.output + [outChannels]
        var c = parity_conv_shape()
        c.rank = rank
        c.batch = shape[0]
        c.channels = shape[rank + 1]
        c.out_channels = outChannels
        c.groups = groups
        c.channels_then_window = channelsThenWindow ? 1 : 0
        withUnsafeMutableBytes(of: &c.input) { $0.bindMemory(to: Int.self).update(fromContentsOf: geometry.input + Array(repeating: 1, count: 3 - rank)) }
        withUnsafeMutableBytes(of: &c.output) { $0.bindMemory(to: Int.self).update(fromContentsOf: geometry.output + Array(repeating: 1, count: 3 - rank)) }
        withUnsafeMutableBytes(of: &c.kernel) { $0.bindMemory(to: Int.self).update(fromContentsOf: geometry.kernel + Array(repeating: 1, count: 3 - rank)) }
        withUnsafeMutableBytes(of: &c.strides) { $0.bindMemory(to: Int.self).update(fromContentsOf: geometry.strides + Array(repeating: 1, count: 3 - rank)) }
        withUnsafeMutableBytes(of: &c.dilations) { $0.bindMemory(to: Int.self).update(fromContentsOf: geometry.dilations + Array(repeating: 1, count: 3 - rank)) }
        withUnsafeMutableBytes(of: &c.pad_before) { $0.bindMemory(to: Int.self).update(fromContentsOf: geometry.padBefore + Array(repeating: 0, count: 3 - rank)) }
        let conv = c
        let count = Shape.count(outShape)
        func run<T: FloatElement>(_ x: [T], _ w: [T], _ call: (UnsafePointer<parity_conv_shape>, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>) -> Int32) -> [T] {
            if count == 0 { return [] }
            if x.isEmpty || w.isEmpty { return [T](repeating: 0, count: count) }
            return [T](unsafeUninitializedCapacity: count) { out, initialized in
                withUnsafePointer(to: conv) { shape in
                    x.withUnsafeBufferPointer { xp in
                        w.withUnsafeBufferPointer { wp in _ = call(shape, xp.baseAddress!, wp.baseAddress!, out.baseAddress!) }
                    }
                }
                initialized = count
            }
        }
        switch (storage, kernel.storage) {
        case let (.float32(x), .float32(w)):
            return Tensor(shape: outShape, storage: .float32(run(x, w) { parity_conv_f32($0, $1, $2, $3, fused ? 1 : 0) }))
        case let (.float64(x), .float64(w)):
            return Tensor(shape: outShape, storage: .float64(run(x, w) { parity_conv_f64($0, $1, $2, $3, fused ? 1 : 0) }))
        default: throw TensorError.unsupportedDType(op: op, dtype: dtype)
        }
    }
}
