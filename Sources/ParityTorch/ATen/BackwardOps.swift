import ParityNN

/// The backward kernels of the Core ATen IR, run as forward functions (a joint training graph from
/// `aot_autograd`, or a `.pt2` of a model that calls them, holds them as ordinary nodes). Each returns
/// what PyTorch's kernel returns; a gradient an `output_mask` leaves out is an empty tensor (PyTorch's
/// undefined tensor, which a graph never reads).
///
/// - `avg_pool2d_backward(grad_output, self, …)`, `_adaptive_avg_pool2d_backward(grad_output, self)`
///   (output size from `grad_output`), `convolution_backward(grad_output, input, weight, bias_sizes, …,
///   output_mask)`: the pullback of the forward operator's own lowering (``ParityEngine/pullback(_:at:cotangent:of:)``),
///   so forward and backward are one definition; `convolution_backward`'s bias gradient is `grad_output`
///   summed over every axis but the channels.
/// - `max_pool2d_with_indices_backward(grad_output, self, …, indices)`: `grad_output` added into zeros
///   of `self`'s shape at the given `indices` (flat in each `(H, W)` plane), as PyTorch routes it.
/// - `embedding_dense_backward(grad_output, indices, num_weights, padding_idx, scale_grad_by_freq)`: the
///   rows of `grad_output` added into `(num_weights, d)` at their indices, none into `padding_idx`,
///   each divided by its index's count with `scale_grad_by_freq`.
/// - `native_layer_norm_backward(grad_out, input, normalized_shape, mean, rstd, weight, bias, output_mask)`
///   and `native_group_norm_backward(grad_out, input, mean, rstd, weight, N, C, HxW, group, output_mask)`:
///   PyTorch's CPU formulas with the given statistics (`layer_norm_kernel.cpp`, `group_norm_kernel.cpp`):
///   per normalised row (per sample and group), `g = dY·γ`, `ds = Σ g·X`, `db = Σ g`,
///   `b = (db·mean − ds)·rstd³/n`, `c = −b·mean − db·rstd/n`, `dX = rstd·g + b·X + c`;
///   `dγ = Σ dY·(X − mean)·rstd`, `dβ = Σ dY` over the other axes.
///
/// Their own VJPs (second derivatives) are those of the ops they are made of.
enum BackwardOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.avg_pool2d_backward.default", "aten._adaptive_avg_pool2d_backward.default", "aten.convolution_backward.default",
        "aten.max_pool2d_with_indices_backward.default", "aten.embedding_dense_backward.default",
        "aten.native_layer_norm_backward.default", "aten.native_group_norm_backward.default",
    ]

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        switch c.target {
        case "aten.avg_pool2d_backward.default":
            let arguments = c.node.arguments.filter { $0.name != "grad_output" }
            return try forwardPullback(c, forward: "aten.avg_pool2d.default", arguments: arguments, wrt: ["self"])
        case "aten._adaptive_avg_pool2d_backward.default":
            let size = Array(c.shape(try c.tensor("grad_output")).suffix(2))
            return try forwardPullback(c, forward: "aten._adaptive_avg_pool2d.default",
                                       arguments: [("self", c.node.argument("self") ?? .none), ("output_size", .ints(size))], wrt: ["self"])
        case "aten.convolution_backward.default":
            let mask = try outputMask(c)
            let arguments = c.node.arguments.filter { !["grad_output", "bias_sizes", "output_mask"].contains($0.name) } + [("bias", .none)]
            let grads = try forwardPullback(c, forward: "aten.convolution.default", arguments: arguments, wrt: ["input", "weight"])
            let dy = try c.floating(c.tensor("grad_output"))
            let axes = [0] + Array(2..<c.rank(dy))
            let bias = try b.reduce(.sum, dy, axes: axes, numerics: TorchNumerics.reduction)
            return try zip([grads[0], grads[1], bias], mask).map { value, wanted in wanted ? value : empty(c, like: value) }
        case "aten.max_pool2d_with_indices_backward.default":
            let dy = try c.floating(c.tensor("grad_output")), x = try c.tensor("self"), indices = try c.tensor("indices")
            let shape = c.shape(x)
            guard shape.count >= 3, c.shape(indices) == c.shape(dy) else {
                throw c.fail("indices", "expected indices shaped like grad_output \(c.shape(dy)) for an input of shape \(shape)")
            }
            let plane = shape.suffix(2).reduce(1, *), planes = shape.dropLast(2).reduce(1, *)
            let outPlane = c.shape(dy).suffix(2).reduce(1, *)
            let offsets = c.constant((0..<planes).map { Double($0 * plane) }, shape: [planes, 1], dtype: .float64)
            let flat = try b.cast(b.add(b.cast(b.reshape(indices, [planes, outPlane]), to: .float64), offsets), to: .int64)
            let total = try b.apply(ScatterAdd(axis: 0, shape: [planes * plane]), [b.reshape(dy, [planes * outPlane]), b.reshape(flat, [planes * outPlane])])
            return [try b.reshape(total, shape)]
        case "aten.embedding_dense_backward.default":
            let dy = try c.floating(c.tensor("grad_output")), indices = try c.tensor("indices")
            let rows = try c.int("num_weights"), padding = try c.int("padding_idx")
            let count = c.shape(indices).reduce(1, *), d = c.shape(dy).last ?? 1
            guard Array(c.shape(dy).dropLast()) == c.shape(indices) else {
                throw c.fail("grad_output", "shape \(c.shape(dy)) is not the indices' \(c.shape(indices)) plus the embedding size")
            }
            let flat = try b.reshape(indices, [count])
            var grads = try b.reshape(dy, [count, d])
            let position = try b.cast(flat, to: .float64)
            if padding >= 0 {
                let kept = try b.subtract(b.scalar(1, like: position), b.binary(.equal, position, b.scalar(Double(padding), like: position)))
                grads = try b.multiply(grads, b.reshape(b.cast(kept, to: b.type(of: grads).dtype), [count, 1]))
            }
            if try c.bool("scale_grad_by_freq") {
                let frequency = try b.apply(ScatterAdd(axis: 0, shape: [rows]), [b.broadcast(b.scalar(1, like: position), to: [count]), flat])
                let perIndex = try b.apply(Gather(axis: 0), [frequency, flat])
                grads = try b.divide(grads, b.reshape(b.cast(perIndex, to: b.type(of: grads).dtype), [count, 1]))
            }
            return [try b.apply(ScatterAdd(axis: 0, shape: [rows, d]), [grads, flat])]
        case "aten.native_layer_norm_backward.default":
            let x = try c.floating(c.tensor("input")), shape = c.shape(x)
            let normalized = try c.ints("normalized_shape")
            guard normalized.count <= shape.count, Array(shape.suffix(normalized.count)) == normalized else {
                throw c.fail("normalized_shape", "\(normalized) is not the trailing shape of \(shape)")
            }
            let n = normalized.reduce(1, *), m = shape.reduce(1, *) / max(n, 1)
            let grads = try normBackward(c, x: b.reshape(x, [m, n]), dy: b.reshape(c.floating(c.tensor("grad_out")), [m, n]),
                                         mean: b.reshape(c.tensor("mean"), [m, 1]), rstd: b.reshape(c.tensor("rstd"), [m, 1]),
                                         gamma: c.optionalTensor("weight").map { try b.reshape($0, [1, n]) }, size: n)
            let mask = try outputMask(c)
            return [mask[0] ? try b.reshape(grads.input, shape) : empty(c, like: x),
                    mask[1] ? try b.reshape(grads.gamma, normalized) : empty(c, like: x),
                    mask[2] ? try b.reshape(grads.beta, normalized) : empty(c, like: x)]
        case "aten.native_group_norm_backward.default":
            let x = try c.floating(c.tensor("input")), shape = c.shape(x)
            let (n, channels, hw, groups) = (try c.int("N"), try c.int("C"), try c.int("HxW"), try c.int("group"))
            guard groups >= 1, channels % groups == 0, shape.reduce(1, *) == n * channels * hw else {
                throw c.fail("group", "N \(n), C \(channels), HxW \(hw), \(groups) groups do not describe an input of shape \(shape)")
            }
            let d = channels / groups
            // [N·G, D, HxW]: a row per (sample, group), γ per (group, channel).
            let gamma = try c.optionalTensor("weight").map { try b.reshape(b.broadcast(b.reshape($0, [1, groups, d, 1]), to: [n, groups, d, 1]), [n * groups, d, 1]) }
            let grads = try normBackward(c, x: b.reshape(x, [n * groups, d, hw]), dy: b.reshape(c.floating(c.tensor("grad_out")), [n * groups, d, hw]),
                                         mean: b.reshape(c.tensor("mean"), [n * groups, 1, 1]), rstd: b.reshape(c.tensor("rstd"), [n * groups, 1, 1]),
                                         gamma: gamma, size: d * hw)
            let mask = try outputMask(c)
            // dγ, dβ per channel: the (sample, group) rows' per-channel sums, summed over samples.
            let perChannel = { (v: B.Value) throws -> B.Value in
                try b.reduce(.sum, b.reshape(v, [n, channels]), axes: [0], numerics: TorchNumerics.reduction)
            }
            return [mask[0] ? try b.reshape(grads.input, shape) : empty(c, like: x),
                    mask[1] ? try perChannel(grads.gamma) : empty(c, like: x),
                    mask[2] ? try perChannel(grads.beta) : empty(c, like: x)]
        default:
            throw c.unsupported("not in the backward-kernel table")
        }
    }

    /// The pullback of `forward` (lowered by its own family) with `arguments`, for the cotangent
    /// `grad_output`, with respect to the tensor arguments named in `wrt`.
    static func forwardPullback<B: Builder>(_ c: ATenCall<B>, forward: String, arguments: [(name: String, value: TorchArgument)],
                                            wrt: [String]) throws -> [B.Value] {
        guard let family = ATenTable.family(for: forward) else { throw c.unsupported("its forward \(forward) is not mapped") }
        let dy = try c.floating(c.tensor("grad_output"))
        let inputs = try wrt.map { try c.floating(c.tensor($0)) }
        let names = wrt.map { name -> String in
            guard case .tensor(let n)? = c.node.argument(name) else { return name }
            return n
        }
        let node = TorchNode(target: forward, name: c.node.name, arguments: arguments, outputs: [c.node.name], moduleStack: c.node.moduleStack)
        let grads = try pullback(c.b, at: inputs, cotangent: dy) { tape, leaves in
            let call = ATenCall(b: tape, node: node, env: Dictionary(zip(names, leaves)) { first, _ in first }, known: [:], floatType: c.floatType)
            guard let y = try family.lower(call).first else { throw c.unsupported("its forward \(forward) returned nothing") }
            guard tape.shape(of: y) == c.shape(dy) else {
                throw c.fail("grad_output", "shape \(c.shape(dy)) is not the forward's output shape \(tape.shape(of: y))")
            }
            return y
        }
        return try zip(grads, inputs).map { grad, x in try grad ?? c.b.multiply(x, c.b.scalar(0, like: x)) }
    }

    /// The `output_mask` (three bools; all when absent).
    static func outputMask<B: Builder>(_ c: ATenCall<B>) throws -> [Bool] {
        switch c.node.argument("output_mask") {
        case .bools(let mask)? where mask.count == 3: return mask
        case .none?, nil: return [true, true, true]
        case let other?: throw c.fail("output_mask", "expected three bools; received \(other)")
        }
    }

    static func empty<B: Builder>(_ c: ATenCall<B>, like v: B.Value) -> B.Value {
        c.b.constant(Tensor.zeros([0], dtype: c.b.type(of: v).dtype))
    }

    /// For `x` shaped `[rows, size]` (layer norm) or `[rows, D, HxW]` (group norm, `size` = D·HxW), each
    /// row normalised with its `mean` and `rstd`: `dX`, and `dY·(X − mean)·rstd` and `dY` summed over the
    /// rows (layer norm) or over the spatial axis (group norm; the caller sums the samples).
    static func normBackward<B: Builder>(_ c: ATenCall<B>, x: B.Value, dy: B.Value, mean: B.Value, rstd: B.Value, gamma: B.Value?,
                                         size: Int) throws -> (input: B.Value, gamma: B.Value, beta: B.Value) {
        let b = c.b
        let rank = c.rank(x), inner = Array(1..<rank)
        let g = try gamma.map { try b.multiply(dy, $0) } ?? dy
        let ds = try b.reduce(.sum, b.multiply(g, x), axes: inner, keepDims: true, numerics: TorchNumerics.reduction)
        let db = try b.reduce(.sum, g, axes: inner, keepDims: true, numerics: TorchNumerics.reduction)
        let scale = b.scalar(1 / Double(size), like: x)
        let cube = try b.multiply(b.multiply(rstd, rstd), rstd)
        let bb = try b.multiply(b.multiply(b.subtract(b.multiply(db, mean), ds), cube), scale)
        let cc = try b.subtract(b.negate(b.multiply(bb, mean)), b.multiply(b.multiply(db, rstd), scale))
        let dx = try b.add(b.add(b.multiply(rstd, g), b.multiply(bb, x)), cc)
        let normalizedX = try b.multiply(b.subtract(x, mean), rstd)
        // γ's and β's gradients per channel: over the rows (and, for group norm, the spatial axis).
        let channelAxes = rank == 2 ? [0] : [2]
        let dGamma = try b.reduce(.sum, b.multiply(dy, normalizedX), axes: channelAxes, numerics: TorchNumerics.reduction)
        let dBeta = try b.reduce(.sum, dy, axes: channelAxes, numerics: TorchNumerics.reduction)
        return (dx, dGamma, dBeta)
    }
}
