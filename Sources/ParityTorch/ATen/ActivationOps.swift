import ParityNN

/// Elementwise activations with PyTorch's constants as explicit values (`torch/nn/functional.py`,
/// `aten/src/ATen/native/Activation.cpp`): `gelu(approximate: "none" | "tanh")`, `hardtanh(min, max)`
/// (ReLU6 is `hardtanh(0, 6)` in the graph), `leaky_relu` slope 0.01, `elu(alpha)`, `celu(alpha)`,
/// `softplus(beta, threshold)`, `log_sigmoid` (`min(x, 0) − log1p(e^{−|x|})`), `softshrink(lambd)` /
/// `hardshrink(lambd)` (default 0.5), `prelu` `x > 0 ? x : w·x` with one weight or one per channel (axis 1);
/// `softmax` / `log_softmax` along `dim` (core ATen's `_softmax` / `_log_softmax` with
/// `half_to_float=False`, the only value a float32 or float64 input takes).
enum ActivationOps: ATenFamily {
    static let targets: Set<String> = [
        "aten.relu.default", "aten.gelu.default", "aten.silu.default", "aten.sigmoid.default", "aten.tanh.default",
        "aten.hardtanh.default", "aten.leaky_relu.default", "aten.elu.default", "aten.selu.default", "aten.celu.default",
        "aten.softplus.default", "aten.hardsigmoid.default", "aten.hardswish.default", "aten.mish.default", "aten.prelu.default",
        "aten.log_sigmoid.default", "aten.softshrink.default", "aten.hardshrink.default",
        "aten.softmax.int", "aten.log_softmax.int", "aten._softmax.default", "aten._log_softmax.default",
    ]

    static func function<B: Builder>(_ c: ATenCall<B>) throws -> UnaryFunction? {
        switch c.target {
        case "aten.relu.default": return .relu
        case "aten.gelu.default":
            let mode = try c.string("approximate", default: "none")
            guard mode == "none" || mode == "tanh" else { throw c.fail("approximate", "'\(mode)' is neither 'none' nor 'tanh'") }
            return .gelu(approximate: mode == "tanh")
        case "aten.silu.default": return .silu
        case "aten.sigmoid.default": return .sigmoid
        case "aten.tanh.default": return .tanh
        case "aten.hardtanh.default": return .clip(lower: try c.double("min_val", default: -1), upper: try c.double("max_val", default: 1))
        case "aten.leaky_relu.default": return .leakyRelu(slope: try c.double("negative_slope", default: ActivationTable.pyTorchLeakyReLUSlope))
        case "aten.elu.default":
            guard try c.double("scale", default: 1) == 1, try c.double("input_scale", default: 1) == 1 else {
                throw c.unsupported("elu with scale or input_scale other than 1 is not mapped")
            }
            return .elu(alpha: try c.double("alpha", default: 1))
        case "aten.selu.default": return .selu
        case "aten.celu.default": return .celu(alpha: try c.double("alpha", default: 1))
        case "aten.softplus.default": return .softplus(beta: try c.double("beta", default: 1), threshold: try c.double("threshold", default: 20))
        case "aten.hardsigmoid.default": return .hardSigmoid
        case "aten.hardswish.default": return .hardSwish
        case "aten.mish.default": return .mish
        case "aten.log_sigmoid.default": return .logSigmoid
        case "aten.softshrink.default": return .softShrink(threshold: try c.double("lambd", default: 0.5))
        case "aten.hardshrink.default": return .hardShrink(threshold: try c.double("lambd", default: 0.5))
        default: return nil
        }
    }

    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value] {
        let b = c.b
        if let f = try function(c) { return [try b.unary(f, c.floating(c.tensor("self")))] }
        switch c.target {
        case "aten.prelu.default":
            let x = try c.floating(c.tensor("self")), w = try c.tensor("weight")
            let count = c.shape(w).reduce(1, *)
            var weight = w
            if count > 1 {
                guard c.rank(x) >= 2, c.shape(x)[1] == count else {
                    throw c.fail("weight", "\(count) weights for an input of shape \(c.shape(x)) (one per channel, axis 1)")
                }
                weight = try b.reshape(w, [1, count] + Array(repeating: 1, count: c.rank(x) - 2))
            } else {
                weight = try b.reshape(w, [])
            }
            let positive = try b.binary(.greater, x, b.scalar(0, like: x))
            return [try b.apply(Select(), [positive, x, b.multiply(x, weight)])]
        case "aten.softmax.int", "aten.log_softmax.int", "aten._softmax.default", "aten._log_softmax.default":
            let x = try c.floating(c.tensor("self"))
            let axis = try c.dim(c.int("dim"), rank: c.rank(x))
            if let dtype = try c.dtype("dtype"), dtype != b.type(of: x).dtype { throw c.unsupported("softmax with dtype \(dtype)") }
            if try c.bool("half_to_float", default: false) { throw c.unsupported("softmax with half_to_float (float16 input) is not mapped") }
            let logarithm = c.target == "aten.log_softmax.int" || c.target == "aten._log_softmax.default"
            return [try b.apply(Softmax(axis: axis, logarithm: logarithm), [x])]
        default:
            throw c.unsupported("not in the activation table")
        }
    }
}

extension TorchNode {
    /// The elementwise activation this node applies, PyTorch's defaults supplied for omitted arguments
    /// (`leaky_relu` slope 0.01, `gelu` approximate "none", …); `nil` for a node that is not one.
    public func activationFunction() throws -> UnaryFunction? {
        try ActivationOps.function(ATenCall(b: EagerContext(), node: self, env: [:], known: [:], floatType: .float32))
    }
}
