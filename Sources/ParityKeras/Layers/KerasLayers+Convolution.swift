import ParityNN

/// Conv1D/2D/3D, DepthwiseConv2D, SeparableConv2D and the transposed convolutions
/// (`keras/src/layers/convolutional/`).
extension KerasLayers {
    static let convolution: [String: Factory] = [
        "Conv1D": { try conv($0, rank: 1) }, "Conv2D": { try conv($0, rank: 2) }, "Conv3D": { try conv($0, rank: 3) },
        "Convolution1D": { try conv($0, rank: 1) }, "Convolution2D": { try conv($0, rank: 2) }, "Convolution3D": { try conv($0, rank: 3) },
        "DepthwiseConv1D": { try depthwise($0, rank: 1) }, "DepthwiseConv2D": { try depthwise($0, rank: 2) },
        "SeparableConv1D": { try separable($0, rank: 1) }, "SeparableConv2D": { try separable($0, rank: 2) },
        "Conv1DTranspose": { try transposed($0, rank: 1) }, "Conv2DTranspose": { try transposed($0, rank: 2) },
        "Conv3DTranspose": { try transposed($0, rank: 3) },
    ]

    /// Strides, dilation and padding, checked: Keras refuses strides > 1 with dilation > 1 for
    /// ordinary convolutions, and `causal` exists only in 1-D.
    static func window(_ layer: KerasLayerConfig, rank: Int, causal: Bool) throws -> (kernel: [Int], strides: [Int], dilations: [Int], padding: Padding) {
        let kernel = try layer.ints("kernel_size", count: rank)
        let strides = try layer.ints("strides", count: rank)
        let dilations = try layer.has("dilation_rate") ? layer.ints("dilation_rate", count: rank) : Array(repeating: 1, count: rank)
        let padding = try layer.padding(allowCausal: causal && rank == 1)
        for (key, values) in [("kernel_size", kernel), ("strides", strides), ("dilation_rate", dilations)] where values.contains(where: { $0 < 1 }) {
            throw KerasError.badConfig(layer: layer.name, key: key, found: "\(values)")
        }
        return (kernel, strides, dilations, padding)
    }

    /// The trailing axis of `weights[index]`, or 0 when missing (the shape check then reports it).
    static func dimension(_ layer: KerasLayerConfig, weight index: Int, axis: Int) -> Int {
        guard index < layer.weights.count, axis < layer.weights[index].rank else { return 0 }
        return layer.weights[index].shape[axis]
    }

    static func conv(_ layer: KerasLayerConfig, rank: Int) throws -> any Model {
        let (kernel, strides, dilations, padding) = try window(layer, rank: rank, causal: true)
        let filters = try layer.int("filters"), useBias = try layer.bool("use_bias")
        let groups = try layer.has("groups") ? layer.int("groups") : 1
        guard groups >= 1, filters % groups == 0 else { throw KerasError.badConfig(layer: layer.name, key: "groups", found: "\(groups)") }
        let perGroup = dimension(layer, weight: 0, axis: rank)
        let weights = try layer.weights(shapes: [kernel + [perGroup, filters]] + (useBias ? [[filters]] : []))
        return Convolution(kernel: weights[0], bias: useBias ? weights[1] : nil, strides: strides, dilations: dilations,
                           padding: padding, groups: groups, dataFormat: try layer.dataFormat(), activation: try layer.activation(), channelsFirstBias: .kerasTensorFlowAdd)
    }

    static func depthwise(_ layer: KerasLayerConfig, rank: Int) throws -> any Model {
        let (kernel, strides, dilations, padding) = try window(layer, rank: rank, causal: true)
        let multiplier = try layer.int("depth_multiplier"), useBias = try layer.bool("use_bias")
        let channels = dimension(layer, weight: 0, axis: rank)
        let weights = try layer.weights(shapes: [kernel + [channels, multiplier]] + (useBias ? [[channels * multiplier]] : []))
        return DepthwiseConvolution(kernel: weights[0], bias: useBias ? weights[1] : nil, strides: strides, dilations: dilations,
                                    padding: padding, dataFormat: try layer.dataFormat(), activation: try layer.activation(), channelsFirstBias: .kerasTensorFlowAdd)
    }

    static func separable(_ layer: KerasLayerConfig, rank: Int) throws -> any Model {
        let (kernel, strides, dilations, padding) = try window(layer, rank: rank, causal: true)
        let multiplier = try layer.int("depth_multiplier"), filters = try layer.int("filters"), useBias = try layer.bool("use_bias")
        let channels = dimension(layer, weight: 0, axis: rank)
        let ones = Array(repeating: 1, count: rank)
        let weights = try layer.weights(shapes: [kernel + [channels, multiplier], ones + [channels * multiplier, filters]] + (useBias ? [[filters]] : []))
        return SeparableConvolution(depthwiseKernel: weights[0], pointwiseKernel: weights[1], bias: useBias ? weights[2] : nil,
                                    strides: strides, dilations: dilations, padding: padding, dataFormat: try layer.dataFormat(),
                                    activation: try layer.activation(), channelsFirstBias: .kerasTensorFlowAdd)
    }

    static func transposed(_ layer: KerasLayerConfig, rank: Int) throws -> any Model {
        let (kernel, strides, dilations, padding) = try window(layer, rank: rank, causal: false)
        let filters = try layer.int("filters"), useBias = try layer.bool("use_bias")
        let outputPadding = try layer.optionalInts("output_padding", count: rank)
        if let outputPadding, let axis = (0..<rank).first(where: { outputPadding[$0] < 0 || outputPadding[$0] >= strides[$0] }) {
            throw KerasError.badConfig(layer: layer.name, key: "output_padding", found: "\(outputPadding) (axis \(axis) must be below the stride \(strides[axis]))")
        }
        let inChannels = dimension(layer, weight: 0, axis: rank + 1)
        let weights = try layer.weights(shapes: [kernel + [filters, inChannels]] + (useBias ? [[filters]] : []))
        return TransposedConvolution(kernel: weights[0], bias: useBias ? weights[1] : nil, strides: strides, dilations: dilations,
                                     padding: padding, outputPadding: outputPadding, dataFormat: try layer.dataFormat(),
                                     activation: try layer.activation(), channelsFirstBias: .kerasTensorFlowAdd)
    }
}
