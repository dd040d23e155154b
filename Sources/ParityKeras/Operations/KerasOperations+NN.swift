import ParityNN

/// Neural-network operations of `keras/src/ops/nn.py` and `image.py` with tensor operands: convolutions
/// and pooling (`ops.conv(x, kernel)`; not `conv_transpose`, see ``KerasOperations/refusals``), normalisations (`layer_normalization`, `rms_normalization`,
/// `batch_normalization`, `normalize`), `dot_product_attention`, `depth_to_space` / `space_to_depth`,
/// `image.resize`.
extension KerasOperations {
    static let nn: [String: Factory] = [
        "Conv": { layer in ConvOperation(kind: .conv, window: try WindowOptions(layer)) },
        "DepthwiseConv": { layer in ConvOperation(kind: .depthwise, window: try WindowOptions(layer)) },
        "SeparableConv": { layer in ConvOperation(kind: .separable, window: try WindowOptions(layer)) },
        "MaxPool": { layer in try PoolOperation(kind: .max, layer) },
        "AveragePool": { layer in try PoolOperation(kind: .mean, layer) },
        "LayerNorm": { layer in
            NormalizationOperation(kind: .layer(rmsScaling: try layer.has("rms_scaling") ? layer.bool("rms_scaling") : false),
                                   axes: try layer.has("axis") ? layer.axes() : [-1], epsilon: try layer.optionalDouble("epsilon") ?? NormalizationDefaults.kerasBackendEpsilon)
        },
        "RMSNorm": { layer in
            NormalizationOperation(kind: .rms, axes: try layer.has("axis") ? layer.axes() : [-1], epsilon: try layer.optionalDouble("epsilon") ?? NormalizationDefaults.kerasBackendEpsilon)
        },
        "BatchNorm": { layer in
            NormalizationOperation(kind: .batch, axes: [try layer.int("axis")], epsilon: try layer.has("epsilon") ? layer.double("epsilon") : 1e-3)
        },
        "Normalize": { layer in
            let order = try layer.has("order") ? layer.int("order") : 2
            guard order >= 1 else { throw KerasError.badConfig(layer: layer.name, key: "order", found: "\(order)") }
            return NormalizationOperation(kind: .lp(order), axes: try layer.has("axis") ? layer.axes() : [-1],
                                          epsilon: try layer.optionalDouble("epsilon") ?? NormalizationDefaults.kerasBackendEpsilon)
        },
        "DotProductAttention": { layer in
            if try layer.has("flash_attention") && layer.bool("flash_attention") {
                throw KerasError.unsupportedSetting(layer: layer.name, key: "flash_attention", value: "true (the TensorFlow backend has none)")
            }
            return AttentionOperation(causal: try layer.has("is_causal") ? layer.bool("is_causal") : false,
                                      softCap: try layer.optionalDouble("attn_logits_soft_cap"))
        },
        "DepthToSpace": { layer in
            try SpaceDepthOperation(toSpace: true, block: layer.int("block_size"), format: layer.dataFormat())
        },
        "SpaceToDepth": { layer in
            try SpaceDepthOperation(toSpace: false, block: layer.int("block_size"), format: layer.dataFormat())
        },
        "Resize": { layer in
            for key in ["antialias", "crop_to_aspect_ratio", "pad_to_aspect_ratio"] { try layer.require(key, in: [.bool(false)]) }
            let name = try layer.has("interpolation") ? layer.string("interpolation") : "bilinear"
            guard let method = ImageResize.Method(rawValue: name) else { throw KerasError.unsupportedSetting(layer: layer.name, key: "interpolation", value: name) }
            return ResizeOperation(resize: ImageResize(size: try layer.ints("size", count: 2), method: method, dataFormat: try layer.dataFormat(),
                                                       float32Compute: layer.constants == .tensorFlow))
        },
    ]
}

/// Strides, padding, data format and dilation of a convolution or pooling operation.
struct WindowOptions: Sendable {
    var strides: KerasJSON
    var padding: Padding
    var dataFormat: DataFormat
    var dilations: KerasJSON

    init(_ layer: KerasLayerConfig) throws {
        strides = try layer.has("strides") ? layer.value("strides") : .int(1)
        dilations = try layer.has("dilation_rate") ? layer.value("dilation_rate") : .int(1)
        let name = try layer.has("padding") ? layer.string("padding") : "valid"
        switch name.lowercased() {
        case "valid": padding = .valid
        case "same": padding = .same
        default: throw KerasError.unsupportedSetting(layer: layer.name, key: "padding", value: name)
        }
        dataFormat = try layer.dataFormat()
    }

    /// One int repeated, or one per spatial axis.
    static func list(_ json: KerasJSON, rank: Int, key: String, layer: String) throws -> [Int] {
        if let i = json.int { return Array(repeating: i, count: rank) }
        guard let items = json.array?.compactMap(\.int), items.count == rank else {
            throw KerasError.badConfig(layer: layer, key: key, found: "\(json)")
        }
        return items
    }
}

/// `conv`, `depthwise_conv`, `separable_conv` with the kernel an operand.
struct ConvOperation: KerasCallable {
    enum Kind: Sendable { case conv, depthwise, separable }
    var kind: Kind
    var window: WindowOptions

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Conv")
        let x = try o.float(o.value(0, "inputs"))
        let kernel = try o.float(o.value(1, kindKernelName))
        let rank = b.shape(of: x).count - 2
        let strides = try WindowOptions.list(window.strides, rank: rank, key: "strides", layer: context.layer)
        let dilations = try WindowOptions.list(window.dilations, rank: rank, key: "dilation_rate", layer: context.layer)
        let y = try b.inChannelsLast(x, window.dataFormat) { x in
            let channels = b.shape(of: x).last!
            let k = b.shape(of: kernel)
            switch kind {
            case .conv:
                return try b.convolution(x, kernel: kernel, strides: strides, dilations: dilations, padding: window.padding,
                                         groups: max(channels / max(k[rank], 1), 1))
            case .depthwise:
                let grouped = try b.reshape(kernel, Array(k.prefix(rank)) + [1, k[rank] * k[rank + 1]])
                return try b.convolution(x, kernel: grouped, strides: strides, dilations: dilations, padding: window.padding, groups: k[rank])
            case .separable:
                let pointwise = try o.float(o.value(2, "pointwise_kernel"))
                let grouped = try b.reshape(kernel, Array(k.prefix(rank)) + [1, k[rank] * k[rank + 1]])
                let depthwise = try b.convolution(x, kernel: grouped, strides: strides, dilations: dilations, padding: window.padding, groups: k[rank])
                let ones = Array(repeating: 1, count: rank)
                return try b.convolution(depthwise, kernel: pointwise, strides: ones, dilations: ones, padding: .valid)
            }
        }
        return [y]
    }

    var kindKernelName: String {
        switch kind {
        case .depthwise, .separable: return "depthwise_kernel"
        default: return "kernel"
        }
    }
}

/// `max_pool` / `average_pool` (TensorFlow's `same`: padding never wins a max nor counts in an average).
struct PoolOperation: KerasCallable {
    var kind: ReductionKind
    var poolSize: KerasJSON
    var strides: KerasJSON?
    var window: WindowOptions

    init(kind: ReductionKind, _ layer: KerasLayerConfig) throws {
        self.kind = kind
        poolSize = try layer.value("pool_size")
        strides = try layer.has("strides") ? layer.value("strides") : nil
        window = try WindowOptions(layer)
    }

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Pool")
        let x = try o.float(o.value(0, "inputs"))
        let rank = b.shape(of: x).count - 2
        let size = try WindowOptions.list(poolSize, rank: rank, key: "pool_size", layer: context.layer)
        let step = try strides.map { try WindowOptions.list($0, rank: rank, key: "strides", layer: context.layer) } ?? size
        return [try b.inChannelsLast(x, window.dataFormat) { x in
            try b.pool(x, kind, window: size, strides: step, padding: window.padding)
        }]
    }
}

/// The normalisation operations, in Keras's own formulas (`keras/src/ops/nn.py`): `layer_normalization`
/// (`x·inv + (−mean·inv + beta)`, `inv = rsqrt(var + ε)·gamma`, moments over `axes`; `rms_scaling` uses the
/// centred variance), `rms_normalization` (`x·rsqrt(mean(x²) + ε)·scale`), `batch_normalization`
/// (`tf.nn.batch_normalization`: `x·inv + (offset − mean·inv)`), `normalize` (L2: `x·min(rsqrt(Σx²), 1/ε)`;
/// other orders `x / max(‖x‖ₚ, ε)`).
struct NormalizationOperation: KerasCallable {
    enum Kind: Sendable { case layer(rmsScaling: Bool), rms, batch, lp(Int) }
    var kind: Kind
    var axes: [Int]
    var epsilon: Double

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Normalization")
        let x = try o.float(o.value(0, "x"))
        let shape = b.shape(of: x)
        let axes = try self.axes.map { try Shape.axis($0, rank: shape.count, op: "Normalization") }.sorted()
        var broadcastShape = Array(repeating: 1, count: shape.count)
        for a in axes { broadcastShape[a] = shape[a] }
        func optional(_ index: Int, _ name: String) throws -> B.Value? {
            guard let argument = o.argument(index, name), argument.constant?.isNull != true else { return nil }
            let v = try o.float(o.value(argument, name))
            return b.shape(of: v).count == shape.count ? v : try b.reshape(v, broadcastShape)
        }
        let eps = b.scalar(epsilon, like: x)
        switch kind {
        case .layer(let rmsScaling):
            let gamma = try optional(1, "gamma"), beta = try optional(2, "beta")
            let mean = try b.reduce(.mean, x, axes: axes, keepDims: true)
            let deviation = try b.subtract(x, b.broadcast(mean, to: shape))
            let variance = try b.reduce(.mean, b.multiply(deviation, deviation), axes: axes, keepDims: true)
            var inv = try b.apply(ElementwiseMath(.rsqrt), [b.add(variance, eps)])
            if rmsScaling {
                var y = try b.multiply(x, inv)
                if let gamma { y = try b.multiply(y, gamma) }
                return [y]
            }
            if let gamma { inv = try b.multiply(inv, gamma) }
            var offset = try b.multiply(b.negate(mean), inv)
            if let beta { offset = try b.add(offset, beta) }
            return [try b.add(b.multiply(x, inv), offset)]
        case .rms:
            let scale = try optional(1, "scale")
            let inv = try b.apply(ElementwiseMath(.rsqrt), [b.add(b.reduce(.mean, b.multiply(x, x), axes: axes, keepDims: true), eps)])
            var y = try b.multiply(x, inv)
            if let scale { y = try b.multiply(y, scale) }
            return [y]
        case .batch:
            let mean = try optional(1, "mean")!, variance = try optional(2, "variance")!
            let offset = try optional(3, "offset"), scale = try optional(4, "scale")
            var inv = try b.apply(ElementwiseMath(.rsqrt), [b.add(variance, eps)])
            if let scale { inv = try b.multiply(inv, scale) }
            let shift = try b.multiply(mean, inv)
            return [try b.add(b.multiply(x, inv), offset.map { try b.subtract($0, shift) } ?? b.negate(shift))]
        case .lp(let order):
            if order == 2 { return [try KerasNormalize.l2(x, axes: axes, epsilon: epsilon, in: b)] }
            let p = b.scalar(Double(order), like: x)
            let norm = try order == 1 ? b.reduce(.sum, b.unary(.abs, x), axes: axes, keepDims: true)
                : b.binary(.power, b.reduce(.sum, b.binary(.power, b.unary(.abs, x), p), axes: axes, keepDims: true), b.scalar(1 / Double(order), like: x))
            return [try b.divide(x, b.binary(.maximum, norm, eps))]
        }
    }
}

/// Keras's `normalize` (`keras/src/ops/nn.py`, `_normalize`), the L2 case: `x·min(rsqrt(Σx²), 1/ε)` over `axes`, the
/// sum kept for broadcasting (the `normalize` operation node, OrthogonalRegularizer's rows or columns).
public enum KerasNormalize {
    public static func l2<B: Builder>(_ x: B.Value, axes: [Int], epsilon: Double = NormalizationDefaults.kerasBackendEpsilon, in b: B) throws -> B.Value {
        let inv = try b.apply(ElementwiseMath(.rsqrt), [b.reduce(.sum, b.multiply(x, x), axes: axes, keepDims: true)])
        return try b.multiply(x, b.binary(.minimum, inv, b.scalar(1 / epsilon, like: x)))
    }
}

/// `dot_product_attention(query, key, value, bias, mask, scale, is_causal)` on `[batch, time, heads,
/// dim]` operands, as the TensorFlow backend computes it: grouped key/value heads repeated, logits
/// `einsum(BTNH,BSNH→BNTS)` times `scale` (default `1/√dim` in Float32), plus `bias`, masked positions
/// (`mask` false, or above the diagonal when causal) set to the dtype's large negative
/// (−0.7 · 3.38953e38, `_get_large_negative`), softmax over keys, then `einsum(BNTS,BSNH→BTNH)`.
struct AttentionOperation: KerasCallable {
    var causal: Bool
    var softCap: Double?

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "DotProductAttention")
        let q = try o.float(o.value(0, "query"))
        var k = try o.float(o.value(1, "key")), v = try o.float(o.value(2, "value"))
        let (qs, ks) = (b.shape(of: q), b.shape(of: k))
        guard qs.count == 4, ks.count == 4 else { throw TensorError.shapeMismatch(op: "dot_product_attention", expected: "4-D query, key, value", received: [qs, ks]) }
        if qs[2] > ks[2], ks[2] > 1 {
            let groups = qs[2] / ks[2]
            k = try repeatHeads(k, groups, b)
            v = try repeatHeads(v, groups, b)
        }
        // `tf.cast(scale, logits.dtype)` converts a Python float to a float32 tensor first: the scale is rounded
        // to float32 in a float64 run too (as the default 1/√dim, computed in float32).
        let scale = Double(Float(o.constant(5, "scale")?.double ?? Double(Float(1) / Float(ks[3]).squareRoot())))
        // logits [B, N, T, S]
        var logits = try b.matmul(b.permute(q, [0, 2, 1, 3]), b.permute(k, [0, 2, 3, 1]))
        logits = try b.multiply(logits, b.scalar(scale, like: logits))
        if let softCap {
            let cap = b.scalar(softCap, like: logits)
            logits = try b.multiply(b.unary(.tanh, b.divide(logits, cap)), cap)
        }
        if let biasArgument = o.argument(3, "bias"), biasArgument.constant?.isNull != true {
            logits = try b.add(logits, o.float(o.value(biasArgument, "bias")))
        }
        let shape = b.shape(of: logits)
        var keep: B.Value?
        if let maskArgument = o.argument(4, "mask"), maskArgument.constant?.isNull != true {
            let mask = try b.cast(o.value(maskArgument, "mask"), to: b.type(of: logits).dtype)
            keep = try b.broadcast(b.binary(.greater, b.unary(.abs, mask), b.scalar(0, like: logits)), to: shape)
        }
        if causal {
            let (t, s) = (shape[2], shape[3])
            let lower = Tensor(shape: [1, 1, t, s], values: (0..<(t * s)).map { Double($0 % s <= $0 / s ? 1 : 0) }).cast(to: b.type(of: logits).dtype)
            let causalMask = try b.broadcast(b.constant(lower), to: shape)
            keep = try keep.map { try b.multiply($0, causalMask) } ?? causalMask
        }
        if let keep {
            // `_get_large_negative`: 3.38953e38 · −0.7 in the logits' dtype.
            let largeNegative = 3.38953e38 * -0.7
            logits = try b.apply(Select(), [keep, logits, b.scalar(largeNegative, like: logits)])
        }
        let probabilities = try b.softmax(logits, axis: -1)
        return [try b.permute(b.matmul(probabilities, b.permute(v, [0, 2, 1, 3])), [0, 2, 1, 3])]
    }

    /// `tf.repeat(x, groups, axis=2)`.
    func repeatHeads<B: Builder>(_ x: B.Value, _ groups: Int, _ b: B) throws -> B.Value {
        let s = b.shape(of: x)
        return try b.reshape(b.broadcast(b.reshape(x, [s[0], s[1], s[2], 1, s[3]]), to: [s[0], s[1], s[2], groups, s[3]]), [s[0], s[1], s[2] * groups, s[3]])
    }
}

/// `depth_to_space` / `space_to_depth` (`tf.nn.depth_to_space`, NHWC, DCR order: channel
/// `(i·block + j)·C' + c` goes to spatial offset `(i, j)`).
struct SpaceDepthOperation: KerasCallable {
    var toSpace: Bool
    var block: Int
    var format: DataFormat

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: toSpace ? "DepthToSpace" : "SpaceToDepth")
        let x = try o.value(0, "x")
        return [try b.inChannelsLast(x, format) { x in
            let s = b.shape(of: x)
            guard s.count == 4 else { throw TensorError.shapeMismatch(op: o.op, expected: "4-D input", received: [s]) }
            let (n, h, w, c) = (s[0], s[1], s[2], s[3])
            if toSpace {
                guard c % (block * block) == 0 else { throw TensorError.invalidArgument(op: o.op, message: "\(c) channels for block \(block)") }
                let v = try b.reshape(x, [n, h, w, block, block, c / (block * block)])
                return try b.reshape(b.permute(v, [0, 1, 3, 2, 4, 5]), [n, h * block, w * block, c / (block * block)])
            }
            guard h % block == 0, w % block == 0 else { throw TensorError.invalidArgument(op: o.op, message: "spatial \(h)×\(w) for block \(block)") }
            let v = try b.reshape(x, [n, h / block, block, w / block, block, c])
            return try b.reshape(b.permute(v, [0, 1, 3, 2, 4, 5]), [n, h / block, w / block, block * block * c])
        }]
    }
}

/// `keras.ops.image.resize` to a fixed size (TensorFlow's `tf.image.resize`, ``ImageResize``).
struct ResizeOperation: KerasCallable {
    var resize: ImageResize

    func outputs<B: Builder>(_ call: KerasCall<B.Value>, context: KerasCallContext, in b: B) throws -> [B.Value] {
        let o = OperationCall(call, context, b, op: "Resize")
        return [try resize([o.float(o.value(0, "images"))], in: b)]
    }
}
