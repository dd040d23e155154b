import Foundation
import ParityKeras
import ParityNN
import ParityTorch

/// Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax, and every layer's `activation` argument. Constants
/// come from the file where Keras and PyTorch defaults differ (LeakyReLU 0.3 vs 0.01, `leaky_relu` 0.2);
/// Keras's `gelu` is the exact (erf) form, PyTorch's `approximate="none"`. Keras's PReLU holds one slope
/// per element (1 on shared axes), `nn.PReLU` one per channel: it becomes the `KerasPReLU` helper module.
enum ActivationLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        let x = c.inputs[0]
        switch c.className {
        case "Activation":
            return [try apply(c, x, Activation.applied(by: c.layer.model))]
        case "ReLU":
            let relu = try c.typed(ReLU.self)
            let (slope, threshold, maxValue) = (relu.negativeSlope, relu.threshold, relu.maxValue)
            if threshold != 0 { return [self.relu(c, x, slope: slope, maxValue: maxValue, threshold: threshold)] }
            switch (slope, maxValue) {
            case (0, nil):
                return [c.apply("\(c.submodule("nn.ReLU()"))(\(x.python))", "aten.relu.default", [("self", .tensor(x.graph))], perm: x.perm)]
            case (0, 6?):
                return [c.apply("\(c.submodule("nn.ReLU6()"))(\(x.python))", "aten.hardtanh.default",
                                [("self", .tensor(x.graph)), ("min_val", .float(0)), ("max_val", .float(6))], perm: x.perm)]
            case (0, let m?):
                let module = c.submodule("nn.Hardtanh(0.0, \(Py.float(m)))", comment: "Keras ReLU(max_value=\(Py.float(m)))")
                return [c.apply("\(module)(\(x.python))", "aten.hardtanh.default",
                                [("self", .tensor(x.graph)), ("min_val", .float(0)), ("max_val", .float(m))], perm: x.perm)]
            case (let s, nil):
                let module = c.submodule("nn.LeakyReLU(negative_slope=\(Py.float(s)))", comment: "Keras ReLU(negative_slope=\(Py.float(s)))")
                return [c.apply("\(module)(\(x.python))", "aten.leaky_relu.default", [("self", .tensor(x.graph)), ("negative_slope", .float(s))], perm: x.perm)]
            case (let s, let m?):
                return [self.relu(c, x, slope: s, maxValue: m, threshold: 0)]
            }
        case "LeakyReLU":
            // The loader builds a LeakyReLU as a ReLU with only a slope, the slope as the file writes it.
            let slope = try c.typed(ReLU.self).negativeSlope
            let module = c.submodule("nn.LeakyReLU(negative_slope=\(Py.float(slope)))",
                                     comment: "slope from the file (PyTorch's default is \(Py.float(ActivationTable.pyTorchLeakyReLUSlope)))")
            return [c.apply("\(module)(\(x.python))", "aten.leaky_relu.default", [("self", .tensor(x.graph)), ("negative_slope", .float(slope))], perm: x.perm)]
        case "PReLU":
            return [try prelu(c)]
        case "ELU":
            guard case .unary(.elu(let alpha))? = Activation.applied(by: c.layer.model) else {
                throw ConvertError.shape(layer: c.name, message: "was loaded as \(type(of: c.layer.model)), not as an ELU")
            }
            let module = c.submodule("nn.ELU(alpha=\(Py.float(alpha)))")
            return [c.apply("\(module)(\(x.python))", "aten.elu.default", [("self", .tensor(x.graph)), ("alpha", .float(alpha))], perm: x.perm)]
        case "Softmax":
            // The loader refuses several axes.
            guard case .softmax(let keras)? = Activation.applied(by: c.layer.model) else {
                throw ConvertError.shape(layer: c.name, message: "was loaded as \(type(of: c.layer.model)), not as a softmax")
            }
            let axis = keras < 0 ? keras + x.rank : keras
            let dim = dimension(x, axis)
            let module = c.submodule("nn.Softmax(dim=\(dim))", comment: dim == -1 || keras == dim ? nil : "Keras axis \(keras), here at dim \(dim)")
            return [c.apply("\(module)(\(x.python))", "aten.softmax.int", [("self", .tensor(x.graph)), ("dim", .int(dim))], perm: x.perm)]
        default:
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
    }

    /// Keras activations with no `torch.nn.functional` kernel of their own, written as PyTorch computes
    /// them (softsign, tanhshrink) or as Keras's formula (squareplus b = 4, sparse_plus, sparse_sigmoid).
    static func composite(_ c: LayerConversion, _ x: TorchValue, _ name: String) -> TorchValue {
        let w = c.writer, s = x.python
        func node(_ target: String, _ arguments: [(String, TorchArgument)]) -> String { w.node(target, arguments, module: c.module)[0] }
        func plus(_ a: String, _ value: Double) -> String { node("aten.add.Tensor", [("self", .tensor(a)), ("other", .float(value))]) }
        func times(_ a: String, _ value: Double) -> String { node("aten.mul.Tensor", [("self", .tensor(a)), ("other", .float(value))]) }
        let (python, comment, y): (String, String?, String)
        switch name {
        case "softsign":
            let magnitude = node("aten.abs.default", [("self", .tensor(x.graph))])
            (python, comment, y) = ("F.softsign(\(s))", "x / (|x| + 1)", node("aten.div.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(plus(magnitude, 1)))]))
        case "tanh_shrink":
            let tanh = node("aten.tanh.default", [("self", .tensor(x.graph))])
            (python, comment, y) = ("F.tanhshrink(\(s))", "x - tanh(x)", node("aten.sub.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(tanh))]))
        case "squareplus":
            let root = node("aten.sqrt.default", [("self", .tensor(plus(node("aten.mul.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(x.graph))]), 4)))])
            let sum = node("aten.add.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(root))])
            (python, comment, y) = ("(\(s) + torch.sqrt(\(s) * \(s) + 4)) / 2", "Keras squareplus, b = 4",
                                    node("aten.div.Tensor", [("self", .tensor(sum)), ("other", .float(2))]))
        case "sparse_plus":
            let shifted = node("aten.clamp.default", [("self", .tensor(plus(x.graph, 1))), ("min", .float(0))])
            let square = times(node("aten.pow.Tensor_Scalar", [("self", .tensor(shifted)), ("exponent", .float(2))]), 0.25)
            let below = node("aten.lt.Scalar", [("self", .tensor(x.graph)), ("other", .float(1))])
            (python, comment, y) = ("torch.where(\(s) < 1, 0.25 * torch.clamp(\(s) + 1, min=0) ** 2, \(s))", "Keras sparse_plus: 0 up to -1, (x + 1)² / 4 up to 1, then x",
                                    node("aten.where.self", [("condition", .tensor(below)), ("self", .tensor(square)), ("other", .tensor(x.graph))]))
        default:
            (python, comment, y) = ("torch.clamp(0.5 * (\(s) + 1), 0, 1)", "Keras sparse_sigmoid: (x + 1) / 2 clipped to [0, 1]",
                                    node("aten.clamp.default", [("self", .tensor(times(plus(x.graph, 1), 0.5))), ("min", .float(0)), ("max", .float(1))]))
        }
        w.line("\(c.output) = \(python)" + (comment.map { "  # " + $0 } ?? ""))
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }

    static let reluHelper = """
    class KerasReLU(nn.Module):
        \"\"\"Keras ReLU with a threshold, or a leaky slope and a max_value together (no PyTorch module has
        either), in keras.activations.relu's order: x where x > threshold, else 0; clipped to
        [0, max_value]; minus negative_slope * relu(threshold - x).\"\"\"

        def __init__(self, negative_slope, max_value, threshold):
            super().__init__()
            self.negative_slope, self.max_value, self.threshold = negative_slope, max_value, threshold

        def forward(self, x):
            y = x * (x > self.threshold)
            if self.max_value is not None:
                y = torch.clamp(y, 0.0, self.max_value)
            if self.negative_slope != 0:
                y = y - self.negative_slope * F.relu(self.threshold - x)
            return y
    """

    /// Keras ReLU with a threshold, or with both a slope and a max_value: the `KerasReLU` helper.
    static func relu(_ c: LayerConversion, _ x: TorchValue, slope: Double, maxValue: Double?, threshold: Double) -> TorchValue {
        let w = c.writer
        w.helper("KerasReLU", reluHelper)
        let module = c.submodule("KerasReLU(negative_slope=\(Py.float(slope)), max_value=\(maxValue.map(Py.float) ?? "None"), threshold=\(Py.float(threshold)))")
        w.line("\(c.output) = \(module)(\(x.python))")
        func node(_ target: String, _ arguments: [(String, TorchArgument)]) -> String { w.node(target, arguments, module: c.module)[0] }
        let above = node("aten.gt.Scalar", [("self", .tensor(x.graph)), ("other", .float(threshold))])
        var y = node("aten.mul.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(above))])
        if let maxValue { y = node("aten.clamp.default", [("self", .tensor(y)), ("min", .float(0)), ("max", .float(maxValue))]) }
        if slope != 0 {
            let below = node("aten.relu.default", [("self", .tensor(node("aten.rsub.Scalar", [("self", .tensor(x.graph)), ("other", .float(threshold))])))])
            y = node("aten.sub.Tensor", [("self", .tensor(y)), ("other", .tensor(node("aten.mul.Tensor", [("self", .tensor(below)), ("other", .float(slope))])))])
        }
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }

    static let preluHelper = """
    class KerasPReLU(nn.Module):
        \"\"\"Keras PReLU: relu(x) - alpha * relu(-x), alpha shaped as the input without its batch axis (1 on
        shared axes). nn.PReLU holds one slope per channel (dim 1) only.\"\"\"

        def __init__(self, shape):
            super().__init__()
            self.alpha = nn.Parameter(torch.zeros(shape))

        def forward(self, x):
            return F.relu(x) - self.alpha * F.relu(-x)
    """

    /// PReLU on the input in Keras's layout, `alpha` kept as stored (1 on the shared axes).
    static func prelu(_ c: LayerConversion) throws -> TorchValue {
        let x = c.kerasInput()
        let alpha = try c.typed(PReLU.self).alpha
        guard alpha.shape.count == c.inputShapes[0].count - 1 else {
            throw ConvertError.shape(layer: c.name, message: "PReLU alpha \(alpha.shape) does not match the input \(c.inputShapes[0]) without its batch axis")
        }
        c.writer.helper("KerasPReLU", preluHelper)
        let module = c.submodule("KerasPReLU(\(Py.tuple(alpha.shape)))")
        let weight = c.parameter("alpha", alpha, from: "alpha", kerasShape: alpha.shape, transform: "as is")
        c.writer.line("\(c.output) = \(module)(\(x.python))")
        let w = c.writer
        let positive = w.node("aten.relu.default", [("self", .tensor(x.graph))], module: c.module)[0]
        let negated = w.node("aten.neg.default", [("self", .tensor(x.graph))], module: c.module)[0]
        let negative = w.node("aten.relu.default", [("self", .tensor(negated))], module: c.module)[0]
        let scaled = w.node("aten.mul.Tensor", [("self", .tensor(weight)), ("other", .tensor(negative))], module: c.module)[0]
        let y = w.node("aten.sub.Tensor", [("self", .tensor(positive)), ("other", .tensor(scaled))], module: c.module)[0]
        return TorchValue(graph: y, python: c.output, perm: x.perm)
    }

    /// Where Keras axis `axis` is held in `x`, as PyTorch's `dim` (`-1` for the last).
    static func dimension(_ x: TorchValue, _ axis: Int) -> Int {
        let position = x.position(of: axis)
        return position == x.rank - 1 ? -1 : position
    }

    /// `x` after `activation`, a layer's typed activation (`nil`: none), converted by its Keras name in
    /// ``ParityNN/ActivationTable``.
    static func apply(_ c: LayerConversion, _ x: TorchValue, _ activation: Activation?) throws -> TorchValue {
        guard let activation else { return x }
        guard let entry = ActivationTable.entry(for: activation) else { throw c.refuse("activation", "\(activation)", "no Keras activation computes this") }
        return try apply(c, x, named: entry.keras)
    }

    /// Comments written next to the converted call, by Keras activation name.
    static let notes = [
        "hard_sigmoid": "Keras 3 hard_sigmoid is relu6(x + 3) / 6, as PyTorch's",
        "leaky_relu": "keras.activations.leaky_relu's slope (PyTorch's default is \(ActivationTable.pyTorchLeakyReLUSlope))",
        "soft_shrink": "Keras soft_shrink threshold 0.5", "hard_shrink": "Keras hard_shrink threshold 0.5",
    ]

    /// `x` after Keras activation `name` (elementwise ones keep the layout; softmax runs along where
    /// Keras's last axis is held).
    static func apply(_ c: LayerConversion, _ x: TorchValue, named name: String?) throws -> TorchValue {
        guard let name else { return x }
        let s = x.python
        let input: [(String, TorchArgument)] = [("self", .tensor(x.graph))]
        func call(_ python: String, _ target: String, _ extra: [(String, TorchArgument)] = [], comment: String? = nil) -> TorchValue {
            c.apply(python, target, input + extra, perm: x.perm, comment: comment)
        }
        switch name {
        case "softmax", "log_softmax":
            let dim = dimension(x, x.rank - 1)
            let target = name == "softmax" ? "aten.softmax.int" : "aten.log_softmax.int"
            return call("F.\(name)(\(s), dim=\(dim))", target, [("dim", .int(dim))], comment: dim == -1 ? nil : "Keras's last axis is dim \(dim) here")
        case "gelu":
            return call("F.gelu(\(s))", "aten.gelu.default", [("approximate", .string("none"))], comment: "Keras 'gelu' is exact (erf), as approximate='none'")
        case "softplus":
            return call("F.softplus(\(s))", "aten.softplus.default", [("beta", .float(1)), ("threshold", .float(20))],
                        comment: "PyTorch returns x above 20, where log1p(exp(x)) − x < 2.1e-9")
        case "softsign", "tanh_shrink", "squareplus", "sparse_plus", "sparse_sigmoid":
            return composite(c, x, name)
        default:
            // The rest: PyTorch's operator with Keras's constants, as the activation table spells it.
            guard let entry = ActivationTable.keras(name), entry.difference == nil, let target = entry.aten, let python = entry.functional else {
                throw c.refuse("activation", name, "no converter for this activation")
            }
            return call(python.replacingOccurrences(of: "(x", with: "(\(s)"), target, entry.atenArguments.map { ($0.name, .float($0.value)) },
                        comment: notes[entry.keras])
        }
    }
}
