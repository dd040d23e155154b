import ParityKeras
import ParityNN
import ParityTorch

extension Diagnosis {
    /// `gelu-approximation` and `activation-variant`: B's activation node (its function and constants, e.g.
    /// `gelu(approximate='tanh')`, `leaky_relu` slope 0.01) applied to A's input, when it differs from A's
    /// (conventions.md F.20, F.24; Keras LeakyReLU layer 0.3, `leaky_relu` function 0.2, PyTorch 0.01).
    static func activationVariant(_ c: Context) throws -> [Hypothesis] {
        guard let functionA = kerasActivation(c.layer) else { return [] }
        for node in c.nodes {
            guard let functionB = try? node.activationFunction() else { continue }
            guard functionB != functionA else { return [] }
            let argument = node.argument("self") != nil ? "self" : "input"
            if case .gelu(let approximateA) = functionA, case .gelu(let approximateB) = functionB {
                let name = { (approximate: Bool) in approximate ? "tanh approximation" : "exact (erf)" }
                return [Hypothesis(cause: "gelu-approximation", a: "gelu \(name(approximateA))", b: "gelu \(name(approximateB))",
                                   fix: "nn.GELU(approximate=\"\(approximateA ? "tanh" : "none")\")",
                                   kerasFix: "keras.activations.gelu(x, approximate=\(approximateB ? "True" : "False"))", rerun: c.applyingB(node, argument: argument))]
            }
            return [Hypothesis(cause: "activation-variant", a: "\(functionA)", b: "\(functionB) (\(node.target))",
                               fix: torchActivation(functionA), kerasFix: kerasActivationFix(functionB), rerun: c.applyingB(node, argument: argument))]
        }
        return []
    }

    /// `softmax-axis`: B's softmax node (its `dim`, brought to A's layout) applied to A's input, when it
    /// normalises another axis than A's (conventions.md E.19: `nn.Softmax()` without `dim` is not the last axis).
    static func softmaxAxis(_ c: Context) throws -> [Hypothesis] {
        let rank = c.inputs[0].rank
        let axisA: Int
        switch c.layer.className {
        case "Softmax": axisA = c.layer.config["axis"]?.int ?? -1
        case "Activation" where c.layer.config["activation"]?.string == "softmax": axisA = -1
        default: return []
        }
        guard let node = c.nodes.first(where: { $0.target.contains("softmax") }), case .int(let dim)? = node.argument("dim") else { return [] }
        let dimB = dim < 0 ? dim + rank : dim
        let mapped = c.permutationB.flatMap { $0.firstIndex(of: dimB) } ?? dimB
        let normalizedA = axisA < 0 ? axisA + rank : axisA
        guard mapped != normalizedA else { return [] }
        let fix = c.permutationB.map { Layout.inverse($0)[normalizedA] } ?? normalizedA
        return [Hypothesis(cause: "softmax-axis", a: "softmax over axis \(normalizedA) (Keras axis \(axisA))",
                           b: "softmax over dim \(dimB)" + (mapped != dimB ? " (axis \(mapped) in A's layout)" : ""),
                           fix: "nn.Softmax(dim=\(fix == rank - 1 ? -1 : fix))", kerasFix: "keras.layers.Softmax(axis=\(mapped))", rerun: c.applyingB(node, argument: "self"))]
    }

    /// The elementwise function of a Keras activation layer, with its constants (`nil`: not one Parity
    /// compares).
    static func kerasActivation(_ layer: KerasNetwork.Layer) -> UnaryFunction? {
        let config = layer.config
        switch layer.className {
        case "LeakyReLU": return .leakyRelu(slope: config["negative_slope"]?.double ?? config["alpha"]?.double ?? 0.3)
        case "ELU": return .elu(alpha: config["alpha"]?.double ?? 1)
        case "ReLU":
            guard (config["negative_slope"]?.double ?? 0) == 0, (config["threshold"]?.double ?? 0) == 0 else { return nil }
            switch config["max_value"]?.double {
            case nil: return .relu
            case 6?: return .clip(lower: 0, upper: 6)
            default: return nil
            }
        case "Activation":
            switch config["activation"]?.string {
            case "relu": return .relu
            case "relu6": return .clip(lower: 0, upper: 6)
            case "gelu": return .gelu(approximate: false)
            case "sigmoid": return .sigmoid
            case "tanh": return .tanh
            case "silu", "swish": return .silu
            case "elu": return .elu(alpha: 1)
            case "selu": return .selu
            case "leaky_relu": return .leakyRelu(slope: 0.2)
            case "hard_sigmoid": return .hardSigmoid
            case "hard_silu", "hard_swish": return .hardSwish
            case "mish": return .mish
            default: return nil
            }
        default: return nil
        }
    }

    /// The Keras layer computing `f`, for a fix.
    static func kerasActivationFix(_ f: UnaryFunction) -> String {
        switch f {
        case .leakyRelu(let slope): return "keras.layers.LeakyReLU(negative_slope=\(slope))"
        case .elu(let alpha): return "keras.layers.ELU(alpha=\(alpha))"
        case .relu: return "keras.layers.ReLU()"
        case .clip(0, 6): return "keras.layers.ReLU(max_value=6)"
        case .gelu(let approximate): return "keras.activations.gelu(x, approximate=\(approximate ? "True" : "False"))"
        default: return "the Keras activation computing \(f)"
        }
    }

    /// The PyTorch module computing `f`, for a fix.
    static func torchActivation(_ f: UnaryFunction) -> String {
        switch f {
        case .leakyRelu(let slope): return "nn.LeakyReLU(negative_slope=\(slope))"
        case .elu(let alpha): return "nn.ELU(alpha=\(alpha))"
        case .relu: return "nn.ReLU()"
        case .clip(0, 6): return "nn.ReLU6()"
        case .sigmoid: return "nn.Sigmoid()"
        case .tanh: return "nn.Tanh()"
        case .silu: return "nn.SiLU()"
        case .selu: return "nn.SELU()"
        case .hardSigmoid: return "nn.Hardsigmoid()"
        case .hardSwish: return "nn.Hardswish()"
        case .mish: return "nn.Mish()"
        case .gelu(let approximate): return "nn.GELU(approximate=\"\(approximate ? "tanh" : "none")\")"
        default: return "the activation \(f)"
        }
    }
}
