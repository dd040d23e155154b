import ParityKeras
import ParityNN
import ParityTensor
import ParityTorch

extension Diagnosis {
    /// `gelu-approximation` and `activation-variant`: B's activation node (its function and constants, e.g.
    /// `gelu(approximate='tanh')`, `leaky_relu` slope 0.01) applied to A's input, when it differs from A's
    /// (conventions.md F.20, F.24; Keras LeakyReLU layer 0.3, `leaky_relu` function 0.2, PyTorch 0.01).
    /// A layer with a fused activation (`Dense(activation="gelu")`) is rerun as its linear part followed by B's node.
    static func activationVariant(_ c: Context) throws -> [Hypothesis] {
        guard let functionA = kerasActivation(c.layer) else { return [] }
        for node in c.nodes.reversed() {
            guard let functionB = try? node.activationFunction() else { continue }
            guard !same(functionA, functionB) else { return [] }
            let argument = node.argument("self") != nil ? "self" : "input"
            let rerun = try c.applyingActivation(node, argument: argument)
            if let approximateA = geluApproximate(functionA), let approximateB = geluApproximate(functionB) {
                let name = { (approximate: Bool) in approximate ? "tanh approximation" : "exact (erf)" }
                let module = c.layer.className == "Activation"
                return [Hypothesis(cause: .geluApproximation, a: "gelu \(name(approximateA))", b: "gelu \(name(approximateB))",
                                   fix: module ? "nn.GELU(approximate=\"\(approximateA ? "tanh" : "none")\")" : "F.gelu(x, approximate=\"\(approximateA ? "tanh" : "none")\")",
                                   kerasFix: "keras.activations.gelu(x, approximate=\(approximateB ? "True" : "False"))", rerun: rerun)]
            }
            return [Hypothesis(cause: .activationVariant, a: "\(functionA)", b: "\(functionB) (\(node.target))",
                               fix: torchActivation(functionA), kerasFix: kerasActivationFix(functionB), rerun: rerun)]
        }
        return []
    }

    /// Whether two elementwise functions agree in Float64 on a grid over [−8, 8] (Keras's exact gelu through
    /// erfc and PyTorch's through erf are one function).
    static func same(_ f: UnaryFunction, _ g: UnaryFunction) -> Bool {
        let grid = Tensor(shape: [321], values: (0...320).map { -8 + Double($0) * 0.05 })
        let context = EagerContext()
        guard let x = try? context.unary(f, context.constant(grid)).tensor.doubles,
              let y = try? context.unary(g, context.constant(grid)).tensor.doubles else { return false }
        return zip(x, y).allSatisfy { Swift.abs($0 - $1) <= 1e-12 * Swift.max(1, Swift.abs($0)) }
    }

    /// `approximate` of a gelu (`nil`: not a gelu).
    static func geluApproximate(_ f: UnaryFunction) -> Bool? {
        switch f {
        case .gelu(let approximate): return approximate
        case .geluErfc: return false
        default: return nil
        }
    }

    /// `softmax-axis`: B's softmax node (its `dim`, brought to A's layout) applied to A's input, when it
    /// normalises another axis than A's (conventions.md E.19: `nn.Softmax()` without `dim` is not the last axis).
    static func softmaxAxis(_ c: Context) throws -> [Hypothesis] {
        let rank = c.inputs[0].rank
        guard case .softmax(let axisA)? = Activation.applied(by: c.layer.model) else { return [] }
        guard let node = c.nodes.last(where: { $0.target.contains("softmax") }), case .int(let dim)? = node.argument("dim") else { return [] }
        let dimB = dim < 0 ? dim + rank : dim
        let mapped = c.permutationTorch.flatMap { $0.firstIndex(of: dimB) } ?? dimB
        let normalizedA = axisA < 0 ? axisA + rank : axisA
        guard mapped != normalizedA else { return [] }
        let fix = c.permutationTorch.map { Layout.inverse($0)[normalizedA] } ?? normalizedA
        return [Hypothesis(cause: .softmaxAxis, a: "softmax over axis \(normalizedA) (Keras axis \(axisA))",
                           b: "softmax over dim \(dimB)" + (mapped != dimB ? " (axis \(mapped) in A's layout)" : ""),
                           fix: "nn.Softmax(dim=\(fix == rank - 1 ? -1 : fix))", kerasFix: "keras.layers.Softmax(axis=\(mapped))",
                           rerun: try c.applyingActivation(node, argument: "self"))]
    }

    /// The elementwise function of a Keras activation layer, or of a layer's fused activation (`Dense(...,
    /// activation="gelu")`), with exact constants (`nil`: none, or not elementwise).
    static func kerasActivation(_ layer: KerasNetwork.Layer) -> UnaryFunction? {
        // A ReLU or LeakyReLU layer holds its constants as written.
        if let relu = layer.model as? ReLU {
            switch (relu.negativeSlope, relu.threshold, relu.maxValue) {
            case (0, 0, nil): return .relu
            case (0, 0, let m?): return .clip(lower: 0, upper: m)
            case (let slope, 0, nil): return .leakyRelu(slope: slope)
            default: return nil
            }
        }
        guard case .unary(let f)? = Activation.applied(by: layer.model) else { return nil }
        // A named activation with Keras's constants as written (the loaded layer holds TensorFlow's Float32-rounded ones).
        if case .unary(let exact)? = ActivationTable.entry(for: .unary(f))?.exact { return exact }
        return f
    }

    /// The Keras layer computing `f`, for a fix (``ActivationTable``).
    static func kerasActivationFix(_ f: UnaryFunction) -> String { ActivationTable.kerasSpelling(f) ?? "the Keras activation computing \(f)" }

    /// The PyTorch module computing `f`, for a fix (``ActivationTable``).
    static func torchActivation(_ f: UnaryFunction) -> String { ActivationTable.torchModule(f) ?? "the activation \(f)" }
}
