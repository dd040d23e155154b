import ParityNN

/// `aten.conv{1,2,3}d` (int padding) and `aten.conv2d.padding` (`"same"` / `"valid"`).
///
/// PyTorch keeps NCHW at the graph level; the mapping permutes to channels-last around
/// ``ParityEngine/Builder/convolution(_:kernel:bias:strides:dilations:padding:groups:order:numerics:)``,
/// converts the weight `(out, in/g, k…)` to `(k…, in/g, out)`, and sums each dot product over
/// `(c, kh, kw)` as PyTorch's NCHW im2col does (``PatchOrder/channelsThenWindow``). `padding="same"`
/// pads `d·(k−1)` in total, the extra cell after (PyTorch's `_conv_forward` rule, which for stride 1
/// equals TensorFlow's split).
enum ConvolutionOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.conv1d.default", "aten.conv2d.default", "aten.conv3d.default",
        "aten.conv2d.padding",
    ]
    // `aten.convolution.default` (core ATen), `conv1d.padding` and `conv3d.padding` are handled by
    // the code below but left out of the table until a fixture exercises them.

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        var x = try c.floating(c.tensor("input"))
        let w = try c.tensor("weight")
        let n = c.rank(w) - 2
        guard n >= 1 else { throw c.fail("weight", "expected (out, in/groups, k…); received \(c.shape(w))") }
        if c.target == "aten.convolution.default", try c.bool("transposed", default: false) {
            throw c.unsupported("transposed convolution is not mapped yet")
        }
        let strides = try c.ints("stride", default: [1], count: n)
        let dilations = try c.ints("dilation", default: [1], count: n)
        let groups = try c.int("groups", default: 1)
        let kernel = Array(c.shape(w).dropFirst(2))
        var before: [Int], after: [Int]
        if case .string(let mode)? = c.node.argument("padding") {
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
        let unbatched = c.rank(x) == n + 1
        if unbatched { x = try b.reshape(x, [1] + c.shape(x)) }
        guard c.rank(x) == n + 2 else { throw c.fail("input", "expected rank \(n + 2) (N, C, spatial…); received \(c.shape(x))") }
        let k = try b.permute(w, Array(2..<(n + 2)) + [1, 0])
        var y = try b.convolution(b.channelsLast(x), kernel: k, bias: c.optionalTensor("bias"), strides: strides, dilations: dilations,
                                  padding: .explicit(before: before, after: after), groups: groups, order: .channelsThenWindow)
        y = try b.channelsFirst(y)
        if unbatched { y = try b.reshape(y, Array(c.shape(y).dropFirst())) }
        return [y]
    }
}
