/// One activation Keras names, spelled in each place Parity meets it: the Keras name (and aliases),
/// what Keras 3 computes (`keras/src/activations/activations.py`, TensorFlow backend), the ATen target
/// torch.export writes for PyTorch's equivalent with the arguments that give Keras's constants, and the
/// `torch.nn.functional` / `torch.nn` spellings. The Keras loader, both converters and compare's
/// diagnosis read this table, so a constant is changed here once.
public struct ActivationEntry: Sendable {
    /// The name in `activation="…"` and `keras.activations.<name>`.
    public let keras: String
    /// Other names Keras accepts for the same function (`swish` for `silu`).
    public let aliases: [String]
    /// What Keras computes; `float32Attribute` rounds the constants TensorFlow passes as Float32 op
    /// attributes (identity for exact constants).
    let compute: @Sendable (_ float32Attribute: (Double) -> Double) -> Activation
    /// The ATen target computing it in an exported PyTorch program (`nil`: PyTorch has no operator;
    /// `torch.nn.functional` composes it from others, or there is no PyTorch counterpart).
    public let aten: String?
    /// The ATen arguments that give Keras's constants (PyTorch's defaults differ for `leaky_relu`).
    public let atenArguments: [ATenConstant]
    /// `torch.nn.functional` (or `torch`) applied to `x`, with Keras's constants.
    public let functional: String?
    /// The `torch.nn` module with Keras's constants.
    public let module: String?
    /// Where PyTorch's operator differs from Keras's function, and by how much (`nil`: the same formula).
    public let difference: String?

    /// One named constant argument of an ATen operator.
    public struct ATenConstant: Sendable, Equatable {
        public let name: String
        public let value: Double
    }

    /// What Keras computes with its constants as written (Python doubles).
    public var exact: Activation { compute { $0 } }

    /// What Keras on TensorFlow computes: Float32 op attributes rounded to Float32 even in Float64.
    public var tensorFlow: Activation { compute { Double(Float($0)) } }

    /// Whether `name` is this entry's Keras name or an alias.
    public func isNamed(_ name: String) -> Bool { keras == name || aliases.contains(name) }
}

public enum ActivationTable {
    typealias C = ActivationEntry.ATenConstant

    static func row(_ keras: String, aliases: [String] = [], _ compute: @escaping @Sendable ((Double) -> Double) -> Activation,
                    aten: String?, _ arguments: [(String, Double)] = [], functional: String?, module: String?,
                    difference: String? = nil) -> ActivationEntry {
        ActivationEntry(keras: keras, aliases: aliases, compute: compute, aten: aten, atenArguments: arguments.map { C(name: $0.0, value: $0.1) },
                        functional: functional, module: module, difference: difference)
    }

    static func unary(_ f: UnaryFunction) -> @Sendable ((Double) -> Double) -> Activation { { _ in .unary(f) } }

    /// Every activation Keras 3 names (`linear`, the identity, is no entry: it applies nothing).
    public static let entries: [ActivationEntry] = [
        row("relu", unary(.relu), aten: "aten.relu.default", functional: "F.relu(x)", module: "nn.ReLU()"),
        row("relu6", unary(.relu6), aten: "aten.hardtanh.default", [("min_val", 0), ("max_val", 6)], functional: "F.relu6(x)", module: "nn.ReLU6()"),
        row("sigmoid", unary(.sigmoid), aten: "aten.sigmoid.default", functional: "torch.sigmoid(x)", module: "nn.Sigmoid()"),
        row("tanh", unary(.tanh), aten: "aten.tanh.default", functional: "torch.tanh(x)", module: "nn.Tanh()"),
        row("softmax", { _ in .softmax(axis: -1) }, aten: "aten.softmax.int", [("dim", -1)], functional: "F.softmax(x, dim=-1)", module: "nn.Softmax(dim=-1)"),
        row("log_softmax", { _ in .logSoftmax(axis: -1) }, aten: "aten.log_softmax.int", [("dim", -1)], functional: "F.log_softmax(x, dim=-1)",
            module: "nn.LogSoftmax(dim=-1)"),
        row("elu", unary(.elu(alpha: 1)), aten: "aten.elu.default", [("alpha", 1)], functional: "F.elu(x)", module: "nn.ELU()"),
        row("selu", unary(.selu), aten: "aten.selu.default", functional: "F.selu(x)", module: "nn.SELU()"),
        row("softplus", unary(.softplus(beta: 1, threshold: .infinity)), aten: "aten.softplus.default", [("beta", 1), ("threshold", 20)],
            functional: "F.softplus(x)", module: "nn.Softplus()",
            difference: "PyTorch returns x above threshold 20, where log1p(exp(x)) − x < 2.1e-9"),
        row("softsign", unary(.softsign), aten: nil, functional: "F.softsign(x)", module: "nn.Softsign()"),
        row("silu", aliases: ["swish"], unary(.silu), aten: "aten.silu.default", functional: "F.silu(x)", module: "nn.SiLU()"),
        // TensorFlow's exact gelu, 0.5·x·erfc(−x·c) with c = 1/√2 rounded through Float32
        // (`math_ops.cast(0.7071067811865476, dtype)` in tensorflow/python/ops/nn_ops.py).
        row("gelu", { round in .unary(.geluErfc(scale: round(0.7071067811865476))) }, aten: "aten.gelu.default",
            functional: "F.gelu(x)", module: "nn.GELU()",
            difference: "PyTorch computes x·½(1 + erf(x/√2)); TensorFlow ½x·erfc(−x·c) with c rounded to Float32"),
        row("hard_sigmoid", unary(.hardSigmoid), aten: "aten.hardsigmoid.default", functional: "F.hardsigmoid(x)", module: "nn.Hardsigmoid()"),
        row("hard_silu", aliases: ["hard_swish"], unary(.hardSwish), aten: "aten.hardswish.default", functional: "F.hardswish(x)", module: "nn.Hardswish()"),
        // tf.nn.leaky_relu takes alpha as a Float32 op attribute: rounded to Float32 even in Float64.
        row("leaky_relu", { round in .unary(.leakyRelu(slope: round(kerasLeakyReLUSlope))) }, aten: "aten.leaky_relu.default",
            [("negative_slope", kerasLeakyReLUSlope)], functional: "F.leaky_relu(x, negative_slope=\(kerasLeakyReLUSlope))",
            module: "nn.LeakyReLU(negative_slope=\(kerasLeakyReLUSlope))"),
        row("hard_tanh", unary(.clip(lower: -1, upper: 1)), aten: "aten.hardtanh.default", [("min_val", -1), ("max_val", 1)],
            functional: "F.hardtanh(x)", module: "nn.Hardtanh()"),
        row("celu", unary(.celu(alpha: 1)), aten: "aten.celu.default", [("alpha", 1)], functional: "F.celu(x)", module: "nn.CELU()"),
        row("log_sigmoid", unary(.logSigmoid), aten: "aten.log_sigmoid.default", functional: "F.logsigmoid(x)", module: "nn.LogSigmoid()"),
        row("mish", unary(.mish), aten: "aten.mish.default", functional: "F.mish(x)", module: "nn.Mish()"),
        row("tanh_shrink", unary(.tanhShrink), aten: nil, functional: "F.tanhshrink(x)", module: "nn.Tanhshrink()"),
        row("soft_shrink", unary(.softShrink(threshold: 0.5)), aten: "aten.softshrink.default", [("lambd", 0.5)],
            functional: "F.softshrink(x, 0.5)", module: "nn.Softshrink(0.5)"),
        row("hard_shrink", unary(.hardShrink(threshold: 0.5)), aten: "aten.hardshrink.default", [("lambd", 0.5)],
            functional: "F.hardshrink(x, 0.5)", module: "nn.Hardshrink(0.5)"),
        row("squareplus", unary(.squareplus(b: 4)), aten: nil, functional: nil, module: nil),
        row("sparse_plus", unary(.sparsePlus), aten: nil, functional: nil, module: nil),
        row("sparse_sigmoid", unary(.sparseSigmoid), aten: nil, functional: nil, module: nil),
        row("exponential", unary(.exp), aten: "aten.exp.default", functional: "torch.exp(x)", module: nil),
    ]

    /// Keras's `leaky_relu` activation function's default `negative_slope` (`keras/src/activations/activations.py`).
    public static let kerasLeakyReLUSlope = 0.2
    /// Keras's `LeakyReLU` layer's default `negative_slope` (`keras/src/layers/activations/leaky_relu.py`).
    public static let kerasLeakyReLULayerSlope = 0.3
    /// PyTorch's `nn.LeakyReLU` / `F.leaky_relu` default `negative_slope` (`torch/nn/modules/activation.py`).
    public static let pyTorchLeakyReLUSlope = 0.01

    /// The entry Keras names `name` (or an alias of it); `nil` for `linear` and unknown names.
    public static func keras(_ name: String) -> ActivationEntry? { entries.first { $0.isNamed(name) } }

    /// The entry computing `activation` with Keras's constants, as written or as TensorFlow rounds them
    /// (the form a loaded layer holds); `nil` when no entry does (another slope, another axis).
    public static func entry(for activation: Activation) -> ActivationEntry? {
        entries.first { $0.exact == activation || $0.tensorFlow == activation }
    }

    /// Every name Keras accepts, aliases included, with `linear`.
    public static var kerasNames: [String] { ["linear"] + entries.flatMap { [$0.keras] + $0.aliases } }

    /// The Keras activation an ATen operator computes (the first entry with that target: `aten.hardtanh.default`
    /// gives `relu6`); the caller checks the node's constants against the entry's ``ActivationEntry/atenArguments``.
    public static func kerasName(forATen target: String) -> String? { entries.first { $0.aten == target }?.keras }

    /// The `torch.nn` module computing `f` with its constants (`nil`: none does).
    public static func torchModule(_ f: UnaryFunction) -> String? {
        switch f {
        case .leakyRelu(let slope): return "nn.LeakyReLU(negative_slope=\(slope))"
        case .elu(let alpha): return "nn.ELU(alpha=\(alpha))"
        case .celu(let alpha): return "nn.CELU(alpha=\(alpha))"
        case .clip(0, 6): return "nn.ReLU6()"
        case .clip(let lower, let upper): return lower == -1 && upper == 1 ? "nn.Hardtanh()" : "nn.Hardtanh(\(lower), \(upper))"
        case .gelu(let approximate): return "nn.GELU(approximate=\"\(approximate ? "tanh" : "none")\")"
        case .geluErfc: return "nn.GELU()"
        case .softplus(let beta, let threshold) where threshold.isFinite: return "nn.Softplus(beta=\(beta), threshold=\(threshold))"
        case .softShrink(let t): return "nn.Softshrink(\(t))"
        case .hardShrink(let t): return "nn.Hardshrink(\(t))"
        default: return entries.first { $0.exact == .unary(f) }?.module
        }
    }

    /// The Keras layer or function computing `f` with its constants (`nil`: none does).
    public static func kerasSpelling(_ f: UnaryFunction) -> String? {
        switch f {
        case .leakyRelu(let slope): return "keras.layers.LeakyReLU(negative_slope=\(slope))"
        case .elu(let alpha): return "keras.layers.ELU(alpha=\(alpha))"
        case .relu: return "keras.layers.ReLU()"
        case .clip(0, let upper): return "keras.layers.ReLU(max_value=\(upper))"
        case .gelu(let approximate): return "keras.activations.gelu(x, approximate=\(approximate ? "True" : "False"))"
        case .geluErfc: return "keras.layers.Activation(\"gelu\")"
        default: return entries.first { $0.exact == .unary(f) }.map { "keras.layers.Activation(\"\($0.keras)\")" }
        }
    }
}
