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

/// Elementwise steps a convolution applies to its outputs while they are in cache, each rounded as the
/// separate op rounds it, so the result has the unfused ops' bits (`parity_epilogue` in
/// `Sources/CParityKernels/include/CParityKernels.h`): `y·scale + shift` per output channel (one FMA
/// when `fusedScale`, as ``Tensor/multiplyAdd(_:_:_:fused:)``) or `y + shift`, then `+ residual`, then
/// the activation (``UnaryFunction/relu`` or ``UnaryFunction/clip(lower:upper:)``, their formulas).
public struct ConvolutionEpilogue: Sendable {
    /// Per output channel (`cOut` values, any shape), multiplied first; needs `shift`.
    public var scale: Tensor?
    /// Per output channel (`cOut` values, any shape), added after the scale.
    public var shift: Tensor?
    /// Whether `y·scale + shift` rounds once (an FMA) rather than twice.
    public var fusedScale: Bool
    /// Added after the shift; the output's shape.
    public var residual: Tensor?
    /// `.relu`, `.clip(lower:upper:)` or nil.
    public var activation: UnaryFunction?

    /// An epilogue; the parameters are the properties of the same names.
    public init(scale: Tensor? = nil, shift: Tensor? = nil, fusedScale: Bool = true, residual: Tensor? = nil, activation: UnaryFunction? = nil) {
        self.scale = scale
        self.shift = shift
        self.fusedScale = fusedScale
        self.residual = residual
        self.activation = activation
    }

    /// Whether the kernels apply `function` in an epilogue.
    public static func takes(_ function: UnaryFunction) -> Bool {
        switch function {
        case .relu, .clip: return true
        default: return false
        }
    }
}

/// An operand kept packed across calls for a weight that stays constant (graph mode's): one pack per
/// instruction-set level, made on the first call on that level (about the weight's size each), in the
/// layout each call would pack, so every sum is unchanged (`parity_kept_packs`); freed with this
/// object; safe to share between threads. It holds the tensor it packs and is read only when a call's
/// operand is that very storage (``holds(_:)``): a tensor's storage never changes while shared (copy on
/// write), so a different or changed weight (a training step's update) is never read from a stale pack,
/// it is packed per call as without one. Made as ``KeptConvolutionKernel`` or ``KeptWeightMatrix``.
public class KeptPacks: @unchecked Sendable {
    /// The tensor the packs hold.
    public let tensor: Tensor
    let packs: OpaquePointer

    /// Keeps `tensor` for packing on first use.
    public init(_ tensor: Tensor) {
        self.tensor = tensor
        packs = parity_kept_packs_create()
    }

    deinit { parity_kept_packs_destroy(packs) }

    /// Whether `other` is the kept tensor itself (``Tensor/sharesStorage(with:)``).
    public func holds(_ other: Tensor) -> Bool { tensor.sharesStorage(with: other) }
}

/// A convolution kernel (`[k…, cIn/groups, cOut]`) kept packed in the GEMM's layout
/// (``KeptPacks``): ``Tensor/convolved(with:shape:groups:channelsThenWindow:fused:epilogue:kept:)``
/// reads it instead of packing the kernel on every call.
public final class KeptConvolutionKernel: KeptPacks, @unchecked Sendable {}

extension Tensor {
    /// Cross-correlation of channels-last `self` `[batch, input…, cIn]` with `kernel`
    /// `[k…, cIn/groups, cOut]`, no bias: `[batch, output…, cOut]`.
    ///
    /// Each output starts from zero and adds its `window·cIn/groups` products in `order`'s term order
    /// (window cells then channels, or channels then window cells), padded cells as products with 0, each
    /// a fused multiply-add when `fused` (else a rounded product, then a rounded sum): the same bits as
    /// the zero-padded im2col patches times the kernel matrix through ``matmul(_:numerics:bias:activation:kept:)`` with
    /// sequential accumulation, on every instruction set and at any thread count. Depthwise
    /// convolutions run a direct kernel, the rest a GEMM whose operand is packed from the image
    /// (`Sources/CParityKernels/conv.c`).
    ///
    /// With an `epilogue`, its steps follow the sum on each output (see ``ConvolutionEpilogue``). With
    /// `kept` holding `kernel` (``KeptPacks/holds(_:)``), the kernel is read from its pack
    /// (the same bits); otherwise `kept` is ignored.
    public func convolved(with kernel: Tensor, shape geometry: ConvolutionShape, groups: Int, channelsThenWindow: Bool,
                          fused: Bool, epilogue: ConvolutionEpilogue? = nil, kept: KeptConvolutionKernel? = nil) throws -> Tensor {
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
        /// A C `long[3]` field from a 1- to 3-axis list, the axes past `rank` set to `fill`.
        func setAxes(_ field: inout (Int, Int, Int), _ values: [Int], fill: Int) {
            withUnsafeMutableBytes(of: &field) { _ = $0.bindMemory(to: Int.self).update(fromContentsOf: values + Array(repeating: fill, count: 3 - rank)) }
        }
        setAxes(&c.input, geometry.input, fill: 1)
        setAxes(&c.output, geometry.output, fill: 1)
        setAxes(&c.kernel, geometry.kernel, fill: 1)
        setAxes(&c.strides, geometry.strides, fill: 1)
        setAxes(&c.dilations, geometry.dilations, fill: 1)
        setAxes(&c.pad_before, geometry.padBefore, fill: 0)
        let conv = c
        let count = Shape.count(outShape)
        if let epilogue {
            try Self.check(epilogue, outShape: outShape, dtype: dtype)
            guard count > 0, self.count > 0, kernel.count > 0 else {
                // No terms: the sums are zeros, then the epilogue's ops.
                return try Self.applying(epilogue, to: Tensor.zeros(outShape, dtype: dtype))
            }
        }
        func run<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ w: UnsafeBufferPointer<T>, _ call: (UnsafePointer<parity_conv_shape>, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>, UnsafePointer<parity_epilogue>?) -> Int32) -> [T] {
            if count == 0 { return [] }
            if x.isEmpty || w.isEmpty { return [T](repeating: 0, count: count) }
            // The epilogue's operands in place, as the image and kernel (checked above: of this dtype).
            return [T](unsafeUninitializedCapacity: count) { out, initialized in
                Tensor.withUnsafeElements(of: epilogue?.scale, as: T.self) { sp in
                    Tensor.withUnsafeElements(of: epilogue?.shift, as: T.self) { hp in
                        Tensor.withUnsafeElements(of: epilogue?.residual, as: T.self) { rp in
                            var e = parity_epilogue()
                            if let epilogue {
                                e.scale = sp.flatMap { UnsafeRawPointer($0.baseAddress) }
                                e.shift = hp.flatMap { UnsafeRawPointer($0.baseAddress) }
                                e.fused_scale = epilogue.fusedScale ? 1 : 0
                                e.residual = rp.flatMap { UnsafeRawPointer($0.baseAddress) }
                                switch epilogue.activation {
                                case .relu?: e.activation = PARITY_ACTIVATION_RELU
                                case let .clip(lower, upper)?: (e.activation, e.lower, e.upper) = (PARITY_ACTIVATION_CLIP, lower, upper)
                                default: e.activation = PARITY_ACTIVATION_NONE
                                }
                            }
                            withUnsafePointer(to: conv) { shape in
                                withUnsafePointer(to: e) { ep in
                                    _ = call(shape, x.baseAddress!, w.baseAddress!, out.baseAddress!, epilogue == nil ? nil : ep)
                                }
                            }
                        }
                    }
                }
                initialized = count
            }
        }
        let packs = kept.flatMap { $0.holds(kernel) ? $0.packs : nil }
        let f: Int32 = fused ? 1 : 0
        // The operands in place (a kernel read from a file stays in its mapping).
        func convolved<T: FloatElement>(_: T.Type, _ call: (UnsafePointer<parity_conv_shape>, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>, UnsafePointer<parity_epilogue>?) -> Int32) -> [T]? {
            Tensor.withUnsafeElements(of: self, kernel, as: T.self) { x, w in run(x, w, call) }
        }
        if let values = convolved(Float.self, { shape, x, w, y, e in
            if let packs { return parity_conv_kept_f32(shape, x, w, packs, y, f, e) }
            return parity_conv_f32(shape, x, w, y, f, e)
        }) {
            return Tensor(shape: outShape, values: values)
        }
        if let values = convolved(Double.self, { shape, x, w, y, e in
            if let packs { return parity_conv_kept_f64(shape, x, w, packs, y, f, e) }
            return parity_conv_f64(shape, x, w, y, f, e)
        }) {
            return Tensor(shape: outShape, values: values)
        }
        throw TensorError.unsupportedDType(op: op, dtype: dtype)
    }

    /// Refuses an epilogue the kernels cannot apply to an output of `outShape`.
    static func check(_ epilogue: ConvolutionEpilogue, outShape: [Int], dtype: DType) throws {
        let op = "convolution epilogue"
        let channels = outShape.last ?? 0
        for t in [epilogue.scale, epilogue.shift].compactMap({ $0 }) where t.count != channels || t.dtype != dtype {
            throw TensorError.shapeMismatch(op: op, expected: "\(channels) per-channel values of \(dtype)", received: [t.shape])
        }
        if epilogue.scale != nil && epilogue.shift == nil {
            throw TensorError.invalidArgument(op: op, message: "a scale needs a shift")
        }
        if let r = epilogue.residual, r.shape != outShape || r.dtype != dtype {
            throw TensorError.shapeMismatch(op: op, expected: "a residual \(dtype) \(outShape)", received: [r.shape])
        }
        if let f = epilogue.activation, !ConvolutionEpilogue.takes(f) {
            throw TensorError.invalidArgument(op: op, message: "\(f) is not an epilogue activation (relu, clip)")
        }
    }

    /// The epilogue's steps as the separate elementwise ops.
    static func applying(_ epilogue: ConvolutionEpilogue, to y: Tensor) throws -> Tensor {
        var y = y
        let channels = [y.shape.last ?? 0]
        if let shift = epilogue.shift {
            let s = try shift.reshaped(channels)
            y = try epilogue.scale.map { try multiplyAdd(y, $0.reshaped(channels), s, fused: epilogue.fusedScale) } ?? y.combining(s, .add)
        }
        if let residual = epilogue.residual { y = try y.combining(residual, .add) }
        if let f = epilogue.activation { y = try y.map(f) }
        return y
    }
}
