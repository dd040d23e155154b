import ParityNN

/// `aten.conv{1,2,3}d` (int padding), `aten.conv2d.padding` (`"same"` / `"valid"`),
/// `aten.conv_transpose{1,2,3}d` and core ATen's `aten.convolution` (both directions).
///
/// PyTorch keeps NCHW at the graph level; the mapping permutes to channels-last around
/// ``ParityEngine/Builder/convolution(_:kernel:bias:strides:dilations:padding:groups:order:numerics:)``,
/// converts the weight `(out, in/g, k…)` to `(k…, in/g, out)`, and sums each dot product over
/// `(c, kh, kw)` as PyTorch's NCHW im2col does (``PatchOrder/channelsThenWindow``). `padding="same"`
/// pads `d·(k−1)` in total, the extra cell after (PyTorch's `_conv_forward` rule, which for stride 1
/// equals TensorFlow's split).
///
/// Transposed convolution (`ConvTranspose*d`, `slow_conv_transpose` / col2im): weight
/// `(in, out/g, k…)`, output `(in−1)·s − 2p + d·(k−1) + op + 1` per spatial axis. It is the adjoint of
/// the forward convolution of the output with padding `p` before and `p − op` after, which is
/// ``ParityEngine/Builder/transposedConvolution(_:kernel:bias:outputSpatial:strides:dilations:padding:numerics:)``
/// with the weight as `(k…, out/g, in/g)`, one call per group (input channels `g·in/G ..<`,
/// output channels `g·out/G ..<`). When `op > p` the last `op − p` cells receive no product (only
/// the bias): the adjoint is taken onto the output without them and zeros are appended.
enum ConvolutionOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.conv1d.default", "aten.conv2d.default", "aten.conv3d.default",
        "aten.conv2d.padding", "aten.convolution.default",
        "aten.conv_transpose1d.default", "aten.conv_transpose2d.input", "aten.conv_transpose3d.input",
    ]
    // `conv1d.padding` and `conv3d.padding` are handled by the code below but left out of the table
    // until a fixture exercises them.

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        var x = try c.floating(c.tensor("input"))
        let w = try c.tensor("weight")
        let n = c.rank(w) - 2
        guard n >= 1 else { throw c.fail("weight", "expected (out, in/groups, k…); received \(c.shape(w))") }
        var transposed = c.target.hasPrefix("aten.conv_transpose")
        if c.target == "aten.convolution.default" { transposed = try c.bool("transposed", default: false) }
        let strides = try c.ints("stride", default: [1], count: n)
        let dilations = try c.ints("dilation", default: [1], count: n)
        let groups = try c.int("groups", default: 1)
        guard strides.count == n, dilations.count == n, (strides + dilations).allSatisfy({ $0 >= 1 }), groups >= 1 else {
            throw c.fail("stride", "strides \(strides), dilations \(dilations) and groups \(groups) must be positive, one per spatial axis (\(n))")
        }
        let kernel = Array(c.shape(w).dropFirst(2))
        var before: [Int], after: [Int]
        if case .string(let mode)? = c.node.argument("padding") {
            guard !transposed else { throw c.fail("padding", "a transposed convolution takes int padding") }
            switch mode {
            case "valid": (before, after) = (Array(repeating: 0, count: n), Array(repeating: 0, count: n))
            case "same":
                let total = (0..<n).map { dilations[$0] * (kernel[$0] - 1) }
                before = total.map { $0 / 2 }
                after = zip(total, before).map { $0 - $1 }
            default: throw c.fail("padding", "'\(mode)' is neither 'same' nor 'valid'")
            }
        } else {
            before = try c.ints("padding", default: [0], count: n)
            after = before
        }
        guard before.count == n, before.allSatisfy({ $0 >= 0 }) else { throw c.fail("padding", "\(before) for \(n) spatial axes") }
        // The patch index map has output positions × window × channels entries: bound it (and the
        // sizes it is computed from) before the engine builds it.
        let inputSpatial = Array(c.shape(x).suffix(n))
        var positions: [Int] = []
        for i in 0..<n where i < inputSpatial.count {
            let span = inputSpatial[i] * (transposed ? strides[i] : 1) + before[i] + after[i] + dilations[i] * kernel[i]
            positions.append(transposed ? span : span / strides[i] + 1)
        }
        try c.checkCount(positions + kernel + [c.shape(x).count > n ? c.shape(x)[c.rank(x) - n - 1] : 1, c.shape(x).first ?? 1], "padding")
        let unbatched = c.rank(x) == n + 1
        if unbatched { x = try b.reshape(x, [1] + c.shape(x)) }
        guard c.rank(x) == n + 2 else { throw c.fail("input", "expected rank \(n + 2) (N, C, spatial…); received \(c.shape(x))") }
        let bias = try c.optionalTensor("bias")
        var y: B.Value
        if transposed {
            let outputPadding = try c.ints("output_padding", default: [0], count: n)
            y = try transposedConvolution(c, x, w, bias: bias, strides: strides, dilations: dilations, padding: before,
                                          outputPadding: outputPadding, groups: groups)
        } else {
            if c.target == "aten.convolution.default", let op = try c.optionalInts("output_padding"), op.contains(where: { $0 != 0 }) {
                throw c.fail("output_padding", "\(op) in a forward (not transposed) convolution")
            }
            let k = try b.permute(w, Array(2..<(n + 2)) + [1, 0])
            y = try b.convolution(b.channelsLast(x), kernel: k, bias: bias, strides: strides, dilations: dilations,
                                  padding: .explicit(before: before, after: after), groups: groups, order: .channelsThenWindow)
            y = try b.channelsFirst(y)
        }
        if unbatched { y = try b.reshape(y, Array(c.shape(y).dropFirst())) }
        return [y]
    }

    /// `x` `(N, in, spatial…)`, `w` `(in, out/groups, k…)` → `(N, out, outputSpatial…)`.
    static func transposedConvolution<B: Builder>(
        _ c: ATenCall<B>, _ x: B.Value, _ w: B.Value, bias: B.Value?, strides: [Int], dilations: [Int], padding: [Int],
        outputPadding: [Int], groups: Int
    ) throws -> B.Value {
        let b = c.b
        let (xs, ws) = (c.shape(x), c.shape(w))
        let n = ws.count - 2
        let inChannels = xs[1]
        guard ws[0] == inChannels, inChannels % groups == 0 else {
            throw c.fail("weight", "\(ws) for an input of \(inChannels) channels in \(groups) groups (expected (in, out/groups, k…))")
        }
        guard outputPadding.count == n, (0..<n).allSatisfy({ outputPadding[$0] >= 0 && (outputPadding[$0] < strides[$0] || outputPadding[$0] < dilations[$0]) }) else {
            throw c.fail("output_padding", "\(outputPadding) must be smaller than the stride \(strides) or the dilation \(dilations)")
        }
        let kernel = Array(ws.dropFirst(2))
        let inputSpatial = Array(xs.dropFirst(2))
        var output: [Int] = []
        for i in 0..<n {
            let span: Int = dilations[i] * (kernel[i] - 1) + outputPadding[i] + 1
            output.append((inputSpatial[i] - 1) * strides[i] - 2 * padding[i] + span)
        }
        guard output.allSatisfy({ $0 >= 1 }) else { throw c.fail("padding", "gives an empty output \(output) for an input \(inputSpatial)") }
        // Cells past the last one any product reaches (op > p) are appended as zeros.
        let appended = (0..<n).map { Swift.max(outputPadding[$0] - padding[$0], 0) }
        let reached = zip(output, appended).map { $0 - $1 }
        let padAfter = (0..<n).map { padding[$0] - outputPadding[$0] + appended[$0] }
        let (inPerGroup, outPerGroup) = (inChannels / groups, ws[1])
        let xLast = try b.channelsLast(x)
        // (in, out/g, k…) → (k…, out/g, in)
        let kernelLast = try b.permute(w, Array(2..<(n + 2)) + [1, 0])
        let rank = n + 2
        var parts: [B.Value] = []
        for g in 0..<groups {
            var xg = xLast, kg = kernelLast
            if groups > 1 {
                xg = try b.slice(xLast, Array(repeating: .all, count: rank - 1) + [SliceAxis(start: g * inPerGroup, end: (g + 1) * inPerGroup)])
                kg = try b.slice(kernelLast, Array(repeating: .all, count: rank - 1) + [SliceAxis(start: g * inPerGroup, end: (g + 1) * inPerGroup)])
            }
            parts.append(try b.transposedConvolution(xg, kernel: kg, outputSpatial: reached, strides: strides, dilations: dilations,
                                                     padding: .explicit(before: padding, after: padAfter)))
        }
        var y = parts.count == 1 ? parts[0] : try b.concat(parts, axis: rank - 1)
        if appended.contains(where: { $0 > 0 }) {
            y = try b.apply(Pad(before: Array(repeating: 0, count: rank), after: [0] + appended + [0]), [y])
        }
        if let bias {
            guard c.shape(bias) == [groups * outPerGroup] else { throw c.fail("bias", "\(c.shape(bias)) for \(groups * outPerGroup) output channels") }
            y = try b.add(y, bias)
        }
        return try b.channelsFirst(y)
    }
}
