/// Convolution, pooling and their kin as compositions of primitive ops (``Remap`` for the windows,
/// ``MatMul`` or ``Reduce`` for the math), so each gets its gradient from those ops' VJPs.
///
/// Layout is channels-last, `[batch, spatial…, channels]`, Keras's default and the layout in which a
/// window's cells are contiguous rows; PyTorch's channels-first callers permute in and out.
extension Builder {
    /// Cross-correlation (no kernel flip, as both frameworks compute) of `x` `[batch, spatial…, cIn]`
    /// with `kernel` `[k…, cIn/groups, cOut]` (Keras's layout), plus an optional `bias` `[cOut]`.
    /// Group `g` reads input channels `g·cIn/groups ..< (g+1)·cIn/groups` and writes output channels
    /// `g·cOut/groups ..< (g+1)·cOut/groups`.
    public func convolution(
        _ x: Value, kernel: Value, bias: Value? = nil, strides: [Int], dilations: [Int], padding: Padding,
        groups: Int = 1, order: PatchOrder = .windowThenChannels, numerics: Numerics = .matmulDefault
    ) throws -> Value {
        let xShape = shape(of: x), kShape = shape(of: kernel)
        let rank = xShape.count - 2
        guard rank >= 1, kShape.count == rank + 2, groups >= 1, xShape[rank + 1] % groups == 0,
              kShape[rank] * groups == xShape[rank + 1], kShape[rank + 1] % groups == 0 else {
            throw TensorError.shapeMismatch(
                op: "convolution", expected: "x [batch, spatial…, cIn] and kernel [k…, cIn/\(groups), cOut] with cOut divisible by \(groups)",
                received: [xShape, kShape])
        }
        let geometry = try WindowGeometry(input: Array(xShape[1...rank]), channels: xShape[rank + 1], kernel: Array(kShape[..<rank]),
                                          strides: strides, dilations: dilations, padding: padding)
        let product = CrossCorrelation(geometry: geometry, groups: groups, order: order, numerics: numerics)
        var y = try product.runsDirectly ? apply(product, [x, kernel]) : product.definition(self, [x, kernel])
        if let bias { y = try add(y, bias) }
        return y
    }
    /// Max or average pooling over windows of channels-last `x`. Padded cells never win a max; an
    /// average divides by the number of real cells when `countPadding` is false (TensorFlow `same`)
    /// or by the window size when true (PyTorch's default `count_include_pad=True`).
    public func pool(_ x: Value, _ kind: ReductionKind, window: [Int], strides: [Int], padding: Padding,
                     countPadding: Bool = false) throws -> Value {
        let xShape = shape(of: x)
        let rank = xShape.count - 2
        guard rank >= 1, kind == .max || kind == .mean else {
            throw TensorError.invalidArgument(op: "pool", message: "pools max or mean over x [batch, spatial…, channels]; received \(kind) over \(xShape)")
        }
        let channels = xShape[rank + 1]
        let geometry = try WindowGeometry(input: Array(xShape[1...rank]), channels: channels, kernel: window, strides: strides,
                                          dilations: Array(repeating: 1, count: rank), padding: padding)
        let indices = geometry.patchIndices(order: .windowThenChannels)
        let cells = geometry.windowSize, positions = Shape.count(geometry.output)
        let fill = kind == .max ? -Double.infinity : 0
        let patches = try apply(Remap(indices: indices, innerShape: geometry.output + [cells, channels], batchRank: 1, fill: fill, label: "pool windows"), [x])
        // A tied maximum sends its gradient to the window's first cell, as TensorFlow's MaxPoolGrad does.
        if kind == .max { return try reduce(.max, patches, axes: [rank + 1], ties: .first) }
        let total = try reduce(.sum, patches, axes: [rank + 1])
        if countPadding { return try divide(total, scalar(Double(cells), like: x)) }
        // Real cells per output position, as a constant [output…, 1].
        let counts = (0..<positions).map { p in Double((0..<cells).filter { indices[(p * cells + $0) * channels] >= 0 }.count) }
        let countTensor = Tensor(shape: geometry.output + [1], values: counts).cast(to: type(of: x).dtype)
        return try divide(total, constant(countTensor))
    }
}

/// Cross-correlation of channels-last `x` `[batch, spatial…, cIn]` with `kernel` `[k…, cIn/groups, cOut]`,
/// no bias: ``Builder/convolution(_:kernel:bias:strides:dilations:padding:groups:order:numerics:)``'s
/// product.
///
/// Defined as the im2col formulation (``definition(_:_:)``): the zero-padded patches of each group,
/// their terms in `order`, times the kernel matrix through ``MatMul``. With sequential accumulation
/// (every preset's) the forward runs `ParityTensor/Tensor/convolved(with:shape:groups:channelsThenWindow:fused:)`,
/// which gives the same bits without materialising the patches; the VJP is the formulation's
/// (``CompositeOp``). Other accumulation orders run the formulation itself.
public struct CrossCorrelation: CompositeOp {
    /// The window's geometry.
    public var geometry: WindowGeometry
    /// The number of channel groups.
    public var groups: Int
    /// The order of each dot product's terms.
    public var order: PatchOrder
    /// How the dot products round.
    public var numerics: Numerics
    /// The kernel kept packed across runs when it is a graph constant (``GraphPass/kernelPacking``);
    /// read only for that very kernel (``KeptPacks/holds(_:)``), never changes a value.
    public var kept: KeptConvolutionKernel?

    /// The op; the parameters are the properties of the same names.
    public init(geometry: WindowGeometry, groups: Int, order: PatchOrder, numerics: Numerics) {
        self.geometry = geometry
        self.groups = groups
        self.order = order
        self.numerics = numerics
    }

    public var name: String { "convolution" }

    /// Whether the direct kernel computes this product (1 to 3 spatial axes, sequential accumulation).
    var runsDirectly: Bool {
        if case .sequential = numerics.accumulation { return ConvolutionShape.supportedRanks.contains(geometry.input.count) }
        return false
    }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2)
        let dtype = try expectSameFloat(inputs)
        let (x, k) = (inputs[0].shape, inputs[1].shape)
        let rank = geometry.input.count
        guard x.count == rank + 2, Array(x[1...rank]) == geometry.input, x[rank + 1] == geometry.channels,
              k.count == rank + 2, Array(k[..<rank]) == geometry.kernel, k[rank] * groups == geometry.channels,
              k[rank + 1] % groups == 0 else {
            throw TensorError.shapeMismatch(op: name, expected: "x [batch, \(geometry.input)…, \(geometry.channels)] and kernel [\(geometry.kernel)…, \(geometry.channels / max(groups, 1)), cOut]",
                                            received: [x, k])
        }
        return TensorType(dtype, [x[0]] + geometry.output + [k[rank + 1]])
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        guard runsDirectly else {
            let eager = EagerContext()
            return try definition(eager, inputs.map(eager.constant)).tensor
        }
        let shape = ConvolutionShape(input: geometry.input, output: geometry.output, kernel: geometry.kernel, strides: geometry.strides,
                                     dilations: geometry.dilations, padBefore: geometry.padBefore)
        return try inputs[0].convolved(with: inputs[1], shape: shape, groups: groups, channelsThenWindow: order == .channelsThenWindow,
                                       fused: numerics.fusedMultiplyAdd, kept: kept)
    }

    /// The definition, as ops on `b`: patches (``Remap``), the kernel matrix, ``MatMul``. What the
    /// direct kernel equals bit for bit, and what its gradient differentiates.
    public func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value {
        let (x, kernel) = (inputs[0], inputs[1])
        let xShape = b.shape(of: x), kShape = b.shape(of: kernel)
        let rank = xShape.count - 2
        let (batch, channels, outChannels) = (xShape[0], xShape[rank + 1], kShape[rank + 1])
        let window = geometry.windowSize, perGroup = channels / groups, outPerGroup = outChannels / groups
        let positions = Shape.count(geometry.output)
        // Patches laid out per group: [batch, positions, groups, window·perGroup] in the requested order.
        var indices = geometry.patchIndices(order: .windowThenChannels)
        if groups > 1 || order == .channelsThenWindow {
            var regrouped = [Int](repeating: -1, count: indices.count)
            var slot = 0
            for p in 0..<positions {
                for g in 0..<groups {
                    let cells: [(Int, Int)] = order == .windowThenChannels
                        ? (0..<window).flatMap { w in (0..<perGroup).map { (w, $0) } }
                        : (0..<perGroup).flatMap { c in (0..<window).map { (w: $0, c: c) } }
                    for (w, c) in cells {
                        regrouped[slot] = indices[(p * window + w) * channels + g * perGroup + c]
                        slot += 1
                    }
                }
            }
            indices = regrouped
        }
        let patches = try b.apply(Remap(indices: indices, innerShape: [positions, groups, window * perGroup], batchRank: 1, label: "conv patches"), [x])
        // Kernel [k…, perGroup, cOut] -> [groups, rows, outPerGroup] with rows in the patches' order.
        var w = try b.reshape(kernel, [window, perGroup, groups, outPerGroup])
        w = try b.permute(w, kernelOrder)
        w = try b.reshape(w, [groups, window * perGroup, outPerGroup])
        let rows = try b.permute(b.reshape(patches, [batch * positions, groups, window * perGroup]), [1, 0, 2])
        var y = try b.permute(b.matmul(rows, w, numerics: numerics), [1, 0, 2])
        y = try b.reshape(y, [batch] + geometry.output + [outChannels])
        return y
    }

    /// `[window, perGroup, groups, outPerGroup]` → `[groups, rows…, outPerGroup]` in the patches' term order.
    var kernelOrder: [Int] { order == .windowThenChannels ? [2, 0, 1, 3] : [2, 1, 0, 3] }
}

/// A ``CrossCorrelation`` followed by the elementwise ops the graph optimiser folds into its output
/// loop (``GraphPass/fusion``): a per-channel `y·scale + shift` (``MultiplyAdd``) or `y + shift` (an
/// add of a `[cOut]`-like constant: a bias, batch norm in inference), then an add of a `residual` of the
/// output's shape, then ReLU or a clip (ReLU6). Each step rounds exactly as its separate op does, so
/// the result has the unfused graph's bits (``definition(_:_:)``, which is also the VJP); the steps run
/// on each output tile while it is in cache (`ParityTensor/ConvolutionEpilogue`) instead of as passes
/// over fresh tensors.
///
/// Inputs: `x`, `kernel`, then `scale` and `shift` (``Affine/multiplyAdd(fused:)``) or `shift`
/// (``Affine/add``), then `residual` when ``residual`` is set.
public struct FusedConvolution: CompositeOp {
    /// The per-channel step after the product.
    public enum Affine: Sendable, Hashable {
        /// `y·scale + shift`, one rounding when `fused` (an FMA), else two.
        case multiplyAdd(fused: Bool)
        /// `y + shift`.
        case add
    }

    /// The product.
    public var product: CrossCorrelation
    /// The per-channel step, or nil.
    public var affine: Affine?
    /// Whether a residual of the output's shape is added after the per-channel step.
    public var residual: Bool
    /// ``UnaryFunction/relu`` or ``UnaryFunction/clip(lower:upper:)``, last, or nil.
    public var activation: UnaryFunction?

    /// The op; the parameters are the properties of the same names.
    public init(product: CrossCorrelation, affine: Affine? = nil, residual: Bool = false, activation: UnaryFunction? = nil) {
        self.product = product
        self.affine = affine
        self.residual = residual
        self.activation = activation
    }

    public var name: String {
        var parts = ["fused convolution"]
        switch affine {
        case .multiplyAdd(let fused)?: parts.append(fused ? "fused multiply-add" : "multiply-add")
        case .add?: parts.append("add")
        case nil: break
        }
        if residual { parts.append("residual") }
        if let activation { parts.append("\(activation)") }
        return parts.joined(separator: " + ")
    }

    /// The number of per-channel inputs the affine step reads.
    var perChannelInputs: Int {
        switch affine {
        case .multiplyAdd?: return 2
        case .add?: return 1
        case nil: return 0
        }
    }

    /// Whether `shape` holds one value per output channel along the last axis of a `[…, channels]`
    /// output (`[channels]` or `[1, …, 1, channels]` up to the output's rank).
    public static func isPerChannel(_ shape: [Int], channels: Int, rank: Int) -> Bool {
        shape.count >= 1 && shape.count <= rank && shape.last == channels && shape.dropLast().allSatisfy { $0 == 1 }
    }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 2 + perChannelInputs + (residual ? 1 : 0))
        _ = try expectSameFloat(inputs)
        let y = try product.outputType(Array(inputs.prefix(2)))
        let channels = y.shape.last ?? 0
        for t in inputs[2..<(2 + perChannelInputs)] where !Self.isPerChannel(t.shape, channels: channels, rank: y.shape.count) {
            throw TensorError.shapeMismatch(op: name, expected: "per-channel values [1, …, 1, \(channels)]", received: [t.shape])
        }
        if residual, inputs.last!.shape != y.shape {
            throw TensorError.shapeMismatch(op: name, expected: "a residual of shape \(y.shape)", received: [inputs.last!.shape])
        }
        if let activation, !ConvolutionEpilogue.takes(activation) {
            throw TensorError.invalidArgument(op: name, message: "\(activation) is not an epilogue activation (relu, clip)")
        }
        return y
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        guard product.runsDirectly else {
            let eager = EagerContext()
            return try definition(eager, inputs.map(eager.constant)).tensor
        }
        let g = product.geometry
        let shape = ConvolutionShape(input: g.input, output: g.output, kernel: g.kernel, strides: g.strides, dilations: g.dilations, padBefore: g.padBefore)
        var epilogue = ConvolutionEpilogue(residual: residual ? inputs.last : nil, activation: activation)
        switch affine {
        case .multiplyAdd(let fused)?: (epilogue.scale, epilogue.shift, epilogue.fusedScale) = (inputs[2], inputs[3], fused)
        case .add?: epilogue.shift = inputs[2]
        case nil: break
        }
        return try inputs[0].convolved(with: inputs[1], shape: shape, groups: product.groups, channelsThenWindow: product.order == .channelsThenWindow,
                                       fused: product.numerics.fusedMultiplyAdd, epilogue: epilogue, kept: product.kept)
    }

    /// The unfused ops: the product, ``MultiplyAdd`` or an add, an add, the activation's ``Unary``.
    public func definition<B: Builder>(_ b: B, _ inputs: [B.Value]) throws -> B.Value {
        var y = try b.apply(product, Array(inputs.prefix(2)))
        switch affine {
        case .multiplyAdd(let fused)?: y = try b.apply(MultiplyAdd(fused: fused), [y, inputs[2], inputs[3]])
        case .add?: y = try b.add(y, inputs[2])
        case nil: break
        }
        if residual { y = try b.add(y, inputs.last!) }
        if let activation { y = try b.unary(activation, y) }
        return y
    }
}

/// PyTorch's max pooling value: the maximum over the window axis of the patches a ``Remap`` gathers
/// (padding −∞), scanned in place (`Tensor.windowMaximum`) instead of materialising `window`× the
/// input: the value `reduce(.max)` of the patches gives (the canonical NaN where a window has one).
/// Its gradient goes to the window's argmax (``ArgExtremum``: the first maximum, or the first NaN), as
/// gathering the patches at the argmax does (`max_pool2d_with_indices_backward`).
public struct WindowMax: Op {
    /// Per patch element (`patchShape`, row-major), the element of the input's slice it reads; −1: −∞.
    public var indices: [Int]
    /// The patches' shape after the batch axes: positions…, the window, trailing axes….
    public var patchShape: [Int]
    /// The window's axis in `patchShape`.
    public var windowAxis: Int
    /// How many leading input axes the map is applied to independently.
    public var batchRank: Int
    /// Channels-last pooling: `indices` has one entry per (position, window cell), and the axes after
    /// the window's (`inner` elements) are read at `index·inner + j` (``Tensor/groupedWindowIndices(_:inner:)``).
    /// Permute sinking makes it from an NCHW pool whose input is a channels-last value.
    public var grouped: Bool

    /// The op; the parameters are the properties of the same names.
    public init(indices: [Int], patchShape: [Int], windowAxis: Int, batchRank: Int, grouped: Bool = false) {
        self.indices = indices
        self.patchShape = patchShape
        self.windowAxis = windowAxis
        self.batchRank = batchRank
        self.grouped = grouped
    }

    public var name: String { "window max" }

    /// The patches' index map, one entry per patch element.
    var patchIndices: [Int] {
        grouped ? Tensor.groupedWindowIndices(indices, inner: Shape.count(Array(patchShape[(windowAxis + 1)...]))) : indices
    }

    var patchOp: Remap { Remap(indices: patchIndices, innerShape: patchShape, batchRank: batchRank, fill: -.infinity, label: "pool windows") }

    public func outputType(_ inputs: [TensorType]) throws -> TensorType {
        try expect(inputs, count: 1)
        _ = try expectSameFloat(inputs)
        guard windowAxis >= 0, windowAxis < patchShape.count else {
            throw TensorError.invalidArgument(op: name, message: "window axis \(windowAxis) of patches \(patchShape)")
        }
        let patches = try patchOp.outputType(inputs)
        var shape = patches.shape
        shape.remove(at: batchRank + windowAxis)
        return TensorType(patches.dtype, shape)
    }

    public func forward(_ inputs: [Tensor]) throws -> Tensor {
        try inputs[0].windowMaximum(indices, patchShape: patchShape, windowAxis: windowAxis, batchRank: batchRank, grouped: grouped)
    }

    /// The cotangent placed at each window's argmax cell of the patches, scattered back (``RemapAdjoint``).
    public func vjp<B: Builder>(_ b: B, inputs: [B.Value], output: B.Value, cotangent g: B.Value) throws -> [B.Value?] {
        let x = inputs[0], dtype = b.type(of: x).dtype
        let patches = try b.apply(patchOp, [x])
        let axis = batchRank + windowAxis
        var kept = b.shape(of: patches)
        let window = kept[axis]
        kept[axis] = 1
        let position = try b.apply(Cast(dtype: dtype), [b.apply(ArgExtremum(maximum: true, axis: axis, keepDims: true), [patches])])
        var cellShape = Array(repeating: 1, count: kept.count)
        cellShape[axis] = window
        let cells = b.constant(Tensor(shape: cellShape, values: (0..<window).map(Double.init)).cast(to: dtype))
        let hit = try b.binary(.equal, position, cells)
        let spread = try b.apply(Select(), [hit, b.reshape(g, kept), b.scalar(0, like: g)])
        let inner = Array(b.shape(of: x)[batchRank...])
        return [try b.apply(RemapAdjoint(indices: patchIndices, innerShape: inner, batchRank: batchRank, label: "pool windows"), [spread])]
    }
}
