import ParityKeras
import ParityTorch

/// Elementwise activations → `Activation(name)` where Keras's function has PyTorch's formula and
/// constants (relu, exact-erf gelu, silu, sigmoid, tanh, selu, hard_sigmoid = `hardsigmoid`'s
/// `clip(x/6 + 1/2)`, hard_silu = hardswish, mish, softplus with PyTorch's default threshold 20, above
/// which both give `x` in float32); `LeakyReLU(negative_slope)` with the node's slope (PyTorch's
/// default 0.01, Keras's 0.3); `ELU(alpha)`; `hardtanh(0, m)` → `ReLU(max_value=m)` (ReLU6 is
/// `hardtanh(0, 6)`), `hardtanh(−1, 1)` → hard_tanh; `softmax(dim)` → `Softmax(axis)` at the axis's
/// Keras position; `log_softmax(dim)` → log_softmax with the axis held last.
/// gelu's tanh approximation → the `gelu(approximate=True)` operation (the Activation layer takes no
/// arguments); other `hardtanh` bounds → the `clip` operation; softmax over Keras's batch axis → the
/// `softmax` operation; softplus with another `beta` or `threshold` → PyTorch's formula in operations,
/// `Where(x·β > threshold, x, Softplus(x·β) / β)` (TensorFlow's softplus returns its argument above
/// 13.9, where `log1p(exp(z))` rounds to `z` in float32 too). Refused: other constants.
enum ActivationOps: TorchToKerasFamily {
    static let targets: Set<String> = [
        "aten.relu.default", "aten.gelu.default", "aten.silu.default", "aten.sigmoid.default", "aten.tanh.default",
        "aten.selu.default", "aten.hardsigmoid.default", "aten.hardswish.default", "aten.mish.default", "aten.softplus.default",
        "aten.leaky_relu.default", "aten.elu.default", "aten.hardtanh.default",
        "aten.softmax.int", "aten._softmax.default", "aten.log_softmax.int", "aten._log_softmax.default",
    ]

    static func convert(_ c: NodeConversion) throws -> [TorchOperand] {
        switch c.target {
        case "aten.softmax.int", "aten._softmax.default": return [.value(try softmax(c))]
        case "aten.log_softmax.int", "aten._log_softmax.default": return [.value(try logSoftmax(c))]
        default: break
        }
        let x = try c.value("self")
        if c.target == "aten.gelu.default", case .string("tanh")? = c.node.argument("approximate") {
            return [.value(try c.operation("Gelu", module: "nn", ["approximate": .bool(true)], arguments: [.value(x)], perm: x.perm))]
        }
        if c.target == "aten.hardtanh.default" {
            let low = try c.double("min_val", default: -1), high = try c.double("max_val", default: 1)
            if !(low == 0 && high > 0) && !(low == -1 && high == 1) {
                return [.value(try c.operation("Clip", ["x_min": .double(low), "x_max": .double(high)], arguments: [.value(x)], perm: x.perm))]
            }
        }
        if c.target == "aten.softplus.default" {
            let beta = try c.double("beta", default: 1), threshold = try c.double("threshold", default: 20)
            if beta != 1 || threshold != 20 { return [.value(try softplus(c, x, beta: beta, threshold: threshold))] }
        }
        let (className, config) = try layer(c)
        return [.value(try c.layer(className, config, inputs: [x], perm: x.perm)[0])]
    }

    /// The Keras class and config computing the node's function.
    static func layer(_ c: NodeConversion) throws -> (String, JSONObject) {
        switch c.target {
        case "aten.gelu.default":
            if case .string(let approximate)? = c.node.argument("approximate"), approximate != "none" {
                throw c.refuse("approximate='\(approximate)': Keras's gelu activation is the exact erf form (keras.activations.gelu with approximate=False), and the Activation layer takes no arguments")
            }
        case "aten.leaky_relu.default":
            return ("LeakyReLU", ["negative_slope": .double(try c.double("negative_slope", default: ActivationTable.pyTorchLeakyReLUSlope))])
        case "aten.elu.default":
            let alpha = try c.double("alpha", default: 1), scale = try c.double("scale", default: 1), inputScale = try c.double("input_scale", default: 1)
            guard scale == 1, inputScale == 1 else { throw c.refuse("scale=\(scale), input_scale=\(inputScale): Keras's ELU has alpha only") }
            return ("ELU", ["alpha": .double(alpha)])
        case "aten.hardtanh.default":
            let low = try c.double("min_val", default: -1), high = try c.double("max_val", default: 1)
            if low == 0 && high > 0 {
                return ("ReLU", ["max_value": .double(high), "negative_slope": .double(0), "threshold": .double(0)])
            }
            guard low == -1 && high == 1 else { throw c.refuse("hardtanh(\(low), \(high)): Keras clips at (0, max_value) (ReLU) or (−1, 1) (hard_tanh) only") }
            return ("Activation", ["activation": .string("hard_tanh")])
        default: break
        }
        guard let name = ActivationTable.kerasName(forATen: c.target) else { throw c.refuse("no Keras activation in the activation table") }
        return ("Activation", ["activation": .string(name)])
    }

    /// PyTorch's `x·β > threshold ? x : log1p(exp(x·β)) / β`, β as the float32 PyTorch multiplies by.
    static func softplus(_ c: NodeConversion, _ x: KerasValue, beta: Double, threshold: Double) throws -> KerasValue {
        guard beta > 0 else { throw c.refuse("beta=\(beta): only a positive beta converts") }
        let b = KerasJSON.double(Double(Float(beta)))
        let scaled = beta == 1 ? x : try c.operation("Multiply", arguments: [.value(x), .constant(b)], perm: x.perm, shape: x.torchShape)
        var soft = try c.operation("Softplus", module: "nn", arguments: [.value(scaled)], perm: x.perm, shape: x.torchShape)
        if beta != 1 { soft = try c.operation("Divide", arguments: [.value(soft), .constant(b)], perm: x.perm, shape: x.torchShape) }
        let linear = try c.operation("Greater", arguments: [.value(scaled), .constant(.double(Double(Float(threshold))))], perm: x.perm,
                                     shape: x.torchShape, dtype: "bool")
        return try c.operation("Where", arguments: [.value(linear), .value(x), .value(soft)], perm: x.perm, shape: x.torchShape)
    }

    static func softmax(_ c: NodeConversion) throws -> KerasValue {
        let x = try c.value("self")
        if try c.bool("half_to_float", default: false) { throw c.refuse("half_to_float=True (a float16 program)") }
        let dim = try c.dim(c.int("dim"), rank: x.rank)
        if dim == x.perm[0] {
            return try c.operation("Softmax", module: "nn", ["axis": .int(0)], arguments: [.value(x)], perm: x.perm)
        }
        return try c.layer("Softmax", ["axis": .int(x.position(of: dim))], inputs: [x], perm: x.perm)[0]
    }

    static func logSoftmax(_ c: NodeConversion) throws -> KerasValue {
        var x = try c.value("self")
        if try c.bool("half_to_float", default: false) { throw c.refuse("half_to_float=True (a float16 program)") }
        let dim = try c.dim(c.int("dim"), rank: x.rank)
        if x.perm.last != dim { x = c.arrange(x, as: x.perm.filter { $0 != dim } + [dim]) }
        return try c.layer("Activation", ["activation": .string("log_softmax")], inputs: [x], perm: x.perm)[0]
    }
}
