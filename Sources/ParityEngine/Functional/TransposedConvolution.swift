/// Transposed convolution as the exact adjoint of ``Builder/convolution(_:kernel:bias:strides:dilations:padding:groups:order:numerics:)``:
/// each input position's products with the kernel (`x·Kᵀ`, one row per window cell) are scatter-added
/// (col2im, ``RemapAdjoint``) into the output at the cells of the window that the forward convolution
/// of the output would read. This is what TensorFlow's `conv_transpose` computes (the gradient of a
/// convolution with respect to its input, `Conv2DBackpropInput`), with no flipped kernel or dilated
/// input materialised.
extension Builder {
    /// `x` `[batch, spatial…, cIn]`, `kernel` `[k…, cOut, cIn]` (Keras's transposed layout), output
    /// `[batch, outputSpatial…, cOut]`. `padding` is that of the forward convolution over the output
    /// (TensorFlow's rule: `same` pads by `outputSpatial`, stride and kernel), and that convolution must
    /// map `outputSpatial` back onto the input's spatial size.
    public func transposedConvolution(
        _ x: Value, kernel: Value, bias: Value? = nil, outputSpatial: [Int], strides: [Int], dilations: [Int],
        padding: Padding, numerics: Numerics = .matmulDefault
    ) throws -> Value {
        let xShape = shape(of: x), kShape = shape(of: kernel)
        let rank = xShape.count - 2
        guard rank >= 1, kShape.count == rank + 2, kShape[rank + 1] == xShape[rank + 1], outputSpatial.count == rank else {
            throw TensorError.shapeMismatch(op: "transposed convolution",
                                            expected: "x [batch, spatial…, cIn] and kernel [k…, cOut, cIn] with \(rank) output sizes",
                                            received: [xShape, kShape, outputSpatial])
        }
        let (batch, inChannels, outChannels) = (xShape[0], xShape[rank + 1], kShape[rank])
        let inputSpatial = Array(xShape[1...rank])
        let geometry = try WindowGeometry(input: outputSpatial, channels: outChannels, kernel: Array(kShape[..<rank]),
                                          strides: strides, dilations: dilations, padding: padding)
        guard geometry.output == inputSpatial else {
            throw TensorError.invalidArgument(
                op: "transposed convolution",
                message: "the forward convolution of an output \(outputSpatial) gives \(geometry.output), not the input's \(inputSpatial)")
        }
        let window = geometry.windowSize, positions = Shape.count(inputSpatial)
        // cols[b·p, w·cOut + o] = Σ_i x[b, p, i] · K[w, o, i]
        let rows = try reshape(x, [batch * positions, inChannels])
        let w = try transposeMatrix(reshape(kernel, [window * outChannels, inChannels]))
        var cols = try matmul(rows, w, numerics: numerics)
        cols = try reshape(cols, [batch, positions * window * outChannels])
        var y = try apply(RemapAdjoint(indices: geometry.patchIndices(order: .windowThenChannels),
                                       innerShape: outputSpatial + [outChannels], batchRank: 1, label: "transposed conv"), [cols])
        if let bias { y = try add(y, bias) }
        return y
    }
}
