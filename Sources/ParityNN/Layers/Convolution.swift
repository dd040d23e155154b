/// Where a layer's channel axis is: last (`[batch, spatial…, channels]`, Keras's default
/// `channels_last`, TensorFlow's NHWC) or right after the batch (`channels_first`, PyTorch's NCHW).
/// Parity computes channels-last; a `channelsFirst` layer transposes in and out, as Keras's
/// `channels_first` layers do on TensorFlow (`keras/src/backend/tensorflow/nn.py`).
public enum DataFormat: String, Sendable, Hashable {
    /// `[batch, spatial…, channels]`.
    case channelsLast = "channels_last"
    /// `[batch, channels, spatial…]`.
    case channelsFirst = "channels_first"

    /// The `permute` order that brings a rank-`rank` tensor held in the other format into this one:
    /// channels-last `[0, 2, …, rank − 1, 1]` (NCHW → NHWC, NCW → NWC, NCDHW → NDHWC), channels-first
    /// `[0, rank − 1, 1, …, rank − 2]` (NHWC → NCHW). The one place this permutation is written: the
    /// layers, ATen kernels, both converters and compare's layout pairing call it. Rank 2 or less has no
    /// spatial axis: the identity.
    public func permutation(rank: Int) -> [Int] {
        guard rank > 2 else { return Array(0..<max(rank, 0)) }
        switch self {
        case .channelsLast: return [0] + Array(2..<rank) + [1]
        case .channelsFirst: return [0, rank - 1] + Array(1..<(rank - 1))
        }
    }
}

/// Which axis a `channels_first` convolution's bias is added along.
///
/// Keras's convolution layers reshape the bias to `(1, C, 1…)` and call `ops.add`; on the TensorFlow
/// backend `ops.add` (`keras/src/backend/tensorflow/numpy.py`, `add`) turns any bias-like operand
/// into `tf.nn.bias_add` and picks `NHWC` whenever the output's *last* axis has size `C`, so a
/// channels-first output whose last spatial size equals the filter count gets its bias along that
/// spatial axis (Keras 3.15.1, TF 2.21; measured). Channels-last layers are unaffected.
public enum ChannelsFirstBias: Sendable, Hashable {
    /// Along the channel axis (1), as the layer means and as JAX / PyTorch backends compute.
    case channelAxis
    /// Keras on TensorFlow: along the last axis when its size equals the channel count, else axis 1.
    case kerasTensorFlowAdd
}

extension Builder {
    /// Runs `body` on channels-last data, transposing in and out for `channelsFirst`.
    public func inChannelsLast(_ x: Value, _ format: DataFormat, _ body: (Value) throws -> Value) throws -> Value {
        format == .channelsLast ? try body(x) : try channelsFirst(body(channelsLast(x)))
    }

    /// Adds a convolution's `bias` `[C]` to its output in `format`, following `rule` for channels-first.
    public func addConvolutionBias(_ y: Value, _ bias: Tensor?, format: DataFormat, rule: ChannelsFirstBias) throws -> Value {
        guard let bias else { return y }
        let b = weight(bias, like: y)
        let shape = self.shape(of: y)
        if format == .channelsLast || (rule == .kerasTensorFlowAdd && shape.last == bias.count) { return try add(y, b) }
        return try add(y, reshape(b, [1, bias.count] + Array(repeating: 1, count: shape.count - 2)))
    }
}

/// An N-d convolution in Keras's convention (`keras/src/layers/convolutional/base_conv.py`):
/// `y = activation(x ⋆ kernel + bias)`, cross-correlation (no flip), `kernel` `[k…, cIn/groups, cOut]`,
/// TensorFlow's asymmetric `same` padding and Keras's `causal` (left pad `d·(k−1)`, Conv1D only).
/// PyTorch's `nn.ConvNd` stores `(cOut, cIn/groups, k…)` and pads symmetrically (docs/conventions.md,
/// A.2 and A.6).
public struct Convolution: Model {
    /// `[k…, cIn/groups, cOut]`.
    public var kernel: Tensor
    /// `[cOut]`, or `nil` without a bias.
    public var bias: Tensor?
    /// One stride per spatial axis.
    public var strides: [Int]
    /// One dilation per spatial axis.
    public var dilations: [Int]
    /// How the input is padded.
    public var padding: Padding
    /// The number of channel groups (`cIn` and `cOut` divisible by it).
    public var groups: Int
    /// Where the channel axis is.
    public var dataFormat: DataFormat
    /// Applied last, or `nil` for none.
    public var activation: Activation?
    /// Which axis a `channels_first` output's bias is added along.
    public var channelsFirstBias: ChannelsFirstBias

    /// A layer; the parameters are the properties of the same names.
    public init(kernel: Tensor, bias: Tensor?, strides: [Int], dilations: [Int], padding: Padding, groups: Int = 1,
                dataFormat: DataFormat = .channelsLast, activation: Activation? = nil, channelsFirstBias: ChannelsFirstBias = .channelAxis) {
        self.channelsFirstBias = channelsFirstBias
        self.kernel = kernel
        self.bias = bias
        self.strides = strides
        self.dilations = dilations
        self.padding = padding
        self.groups = groups
        self.dataFormat = dataFormat
        self.activation = activation
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        var y = try b.inChannelsLast(x, dataFormat) { x in
            try b.convolution(x, kernel: b.weight(kernel, like: x), strides: strides, dilations: dilations, padding: padding, groups: groups)
        }
        y = try b.addConvolutionBias(y, bias, format: dataFormat, rule: channelsFirstBias)
        if let activation { y = try activation.apply(y, in: b) }
        return y
    }
}

/// A depthwise 2-D convolution in Keras's convention (`keras/src/layers/convolutional/base_depthwise_conv.py`):
/// each input channel `c` convolved with its own `depthMultiplier` filters, `kernel` `[kh, kw, C, M]`,
/// output channel `c·M + m`, `bias` `[C·M]`. PyTorch: `Conv2d(C, C·M, groups=C)`, weight
/// `K.permute(2,3,0,1).reshape(C·M, 1, kh, kw)` (docs/conventions.md, A.3).
public struct DepthwiseConvolution: Model {
    /// The same computation as a grouped convolution: kernel `[k…, 1, C·M]`, one group per input channel.
    public var convolution: Convolution

    /// A layer from Keras's `depthwise_kernel` `[k…, C, M]`; the other parameters are ``Convolution``'s.
    public init(kernel: Tensor, bias: Tensor?, strides: [Int], dilations: [Int], padding: Padding,
                dataFormat: DataFormat = .channelsLast, activation: Activation? = nil, channelsFirstBias: ChannelsFirstBias = .channelAxis) {
        let rank = max(kernel.rank - 2, 0)
        let (channels, multiplier) = kernel.rank >= 2 ? (kernel.shape[rank], kernel.shape[rank + 1]) : (1, kernel.count)
        // The same elements under the grouped shape (a kernel read in place from a file stays there).
        let groupedShape = Array(kernel.shape.prefix(rank)) + [1, channels * multiplier]
        let grouped = (try? kernel.reshaped(groupedShape)) ?? Tensor(shape: groupedShape, storage: kernel.storage)
        convolution = Convolution(kernel: grouped, bias: bias, strides: strides, dilations: dilations, padding: padding,
                                  groups: channels, dataFormat: dataFormat, activation: activation, channelsFirstBias: channelsFirstBias)
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value { try convolution(inputs, in: b) }
}

/// A separable 2-D convolution in Keras's convention (`keras/src/layers/convolutional/base_separable_conv.py`,
/// TensorFlow's `tf.nn.separable_conv2d`): the depthwise step (`depthwiseKernel` `[kh, kw, C, M]`, with
/// the strides, dilations and padding, no bias), then a pointwise 1×1 convolution
/// (`pointwiseKernel` `[1, 1, C·M, filters]`), then one `bias` `[filters]`.
public struct SeparableConvolution: Model {
    /// The depthwise step, without bias.
    public var depthwise: DepthwiseConvolution
    /// The 1×1 convolution, carrying the bias and the activation.
    public var pointwise: Convolution

    /// A layer from Keras's two kernels and bias; the other parameters are ``Convolution``'s.
    public init(depthwiseKernel: Tensor, pointwiseKernel: Tensor, bias: Tensor?, strides: [Int], dilations: [Int],
                padding: Padding, dataFormat: DataFormat = .channelsLast, activation: Activation? = nil,
                channelsFirstBias: ChannelsFirstBias = .channelAxis) {
        depthwise = DepthwiseConvolution(kernel: depthwiseKernel, bias: nil, strides: strides, dilations: dilations,
                                         padding: padding, dataFormat: dataFormat)
        let ones = Array(repeating: 1, count: strides.count)
        pointwise = Convolution(kernel: pointwiseKernel, bias: bias, strides: ones, dilations: ones, padding: .valid,
                                dataFormat: dataFormat, activation: activation, channelsFirstBias: channelsFirstBias)
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try pointwise([depthwise(inputs, in: b)], in: b)
    }
}

/// A transposed N-d convolution in Keras's convention (`keras/src/layers/convolutional/base_conv_transpose.py`,
/// TensorFlow's `tf.nn.conv_transpose`): `kernel` `[k…, cOut, cIn]`, the adjoint of the convolution of
/// the output. Output size per axis (`keras/src/backend/common/backend_utils.py`,
/// `_get_output_shape_given_tf_padding`), with `k' = d·(k − 1) + 1`:
/// `valid`: `(in − 1)·s + k' + op` with `op = max(k', s) − k'` unless given; `same`: `in·s`, or
/// `(in − 1)·s + k' mod 2 + op` when an output padding `op` is given. PyTorch's `ConvTranspose` crops `padding` symmetrically instead (A.7).
public struct TransposedConvolution: Model {
    /// `[k…, cOut, cIn]`.
    public var kernel: Tensor
    /// `[cOut]`, or `nil` without a bias.
    public var bias: Tensor?
    /// One stride per spatial axis.
    public var strides: [Int]
    /// One dilation per spatial axis.
    public var dilations: [Int]
    /// `.valid` or `.same` (TensorFlow's rule).
    public var padding: Padding
    /// Keras's `output_padding`, one per spatial axis (`nil`: computed as above).
    public var outputPadding: [Int]?
    /// Where the channel axis is.
    public var dataFormat: DataFormat
    /// Applied last, or `nil` for none.
    public var activation: Activation?
    /// Which axis a `channels_first` output's bias is added along.
    public var channelsFirstBias: ChannelsFirstBias

    /// A layer; the parameters are the properties of the same names.
    public init(kernel: Tensor, bias: Tensor?, strides: [Int], dilations: [Int], padding: Padding, outputPadding: [Int]? = nil,
                dataFormat: DataFormat = .channelsLast, activation: Activation? = nil, channelsFirstBias: ChannelsFirstBias = .channelAxis) {
        self.channelsFirstBias = channelsFirstBias
        self.kernel = kernel
        self.bias = bias
        self.strides = strides
        self.dilations = dilations
        self.padding = padding
        self.outputPadding = outputPadding
        self.dataFormat = dataFormat
        self.activation = activation
    }

    /// Keras's output size for spatial input `input`.
    public func outputSpatial(_ input: [Int]) -> [Int] {
        Self.outputSpatial(input, kernel: Array(kernel.shape.prefix(input.count)), strides: strides, dilations: dilations,
                           padding: padding, outputPadding: outputPadding)
    }

    /// Keras's output size of a transposed convolution (`_get_output_shape_given_tf_padding`).
    public static func outputSpatial(_ input: [Int], kernel: [Int], strides: [Int], dilations: [Int], padding: Padding,
                                     outputPadding: [Int]?) -> [Int] {
        (0..<input.count).map { i in
            let k = (kernel[i] - 1) * dilations[i] + 1, s = strides[i]
            if padding == .same {
                guard let op = outputPadding?[i] else { return input[i] * s }
                return (input[i] - 1) * s + k % 2 + op
            }
            return (input[i] - 1) * s + k + (outputPadding?[i] ?? (max(k, s) - k))
        }
    }

    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        let x = inputs[0]
        var y = try b.inChannelsLast(x, dataFormat) { x in
            let shape = b.shape(of: x)
            return try b.transposedConvolution(x, kernel: b.weight(kernel, like: x),
                                               outputSpatial: outputSpatial(Array(shape.dropFirst().dropLast())),
                                               strides: strides, dilations: dilations, padding: padding)
        }
        y = try b.addConvolutionBias(y, bias, format: dataFormat, rule: channelsFirstBias)
        if let activation { y = try activation.apply(y, in: b) }
        return y
    }
}
