import ParityKeras
import ParityNN
import ParityTorch

/// Keras operation nodes (`keras.src.ops.*`: what a functional model saves for `x + 3.0`, `x * (1 / 6)`,
/// `inputs + branch`, `ops.relu(x)`) as plain torch expressions in `forward`. The converter reads the
/// operation the loader built (``ParityKeras/BinaryOperation``, ``ParityKeras/UnaryOperation``) and the
/// call's arguments (tensors, and the Python numbers Keras saved as constants), never the JSON again.
///
/// Arithmetic: `Add`, `Subtract`, `Multiply`, `Divide`/`TrueDivide`, `Maximum`, `Minimum` of two tensors or
/// of a tensor and a Python number. A number takes the tensor's dtype in both frameworks (Keras's weak
/// typing, PyTorch's wrapped-number scalars), so `x + 3.0` is one float32 addition on each side. A
/// number divided by a tensor is written `torch.div(torch.tensor(c, dtype=x.dtype), x)`: PyTorch's
/// `c / x` is `reciprocal(x) * c`, two roundings where TensorFlow has one. Unary: Keras activations
/// (`Relu`, `Sigmoid`, `Silu`, `HardSigmoid`, …) by their name in ``ParityNN/ActivationTable``, and the
/// identities (`Copy`, `StopGradient`).
enum KerasOperationNodes {
    /// Why an operation node does not convert; `nil` when it does.
    static func refusal(_ layer: KerasNetwork.Layer) -> String? {
        switch layer.model {
        case let op as BinaryOperation:
            guard arithmetic(op) != nil else {
                return "\(op.op) has no converter to a torch expression (converted: \(binaryClasses) with tensors or Python numbers, the Keras activations, the identities)"
            }
            for call in layer.arguments {
                guard let first = call.argument(0, "x1"), let second = call.argument(1, "x2") else { return "\(op.op) is called with fewer than two operands" }
                for argument in [first, second] where argument.tensor == nil && number(argument) == nil {
                    return "\(op.op) reads a constant other than a Python number (\(argument.constant.map { "\($0)" } ?? "a list"))"
                }
                if first.tensor == nil && second.tensor == nil { return "\(op.op) of two constants" }
            }
            return nil
        case let op as UnaryOperation:
            switch op.kind {
            case .identity: return nil
            case .activation(let f) where ActivationTable.entry(for: f) != nil: return nil
            default: return "\(op.op) has no converter to a torch expression (converted: \(binaryClasses) with tensors or Python numbers, the Keras activations, the identities)"
            }
        default:
            return "\(layer.className) (\(type(of: layer.model))) has no converter to a torch expression"
        }
    }

    static let binaryClasses = "Add, Subtract, Multiply, Divide, TrueDivide, Maximum, Minimum"

    /// The Python operator or function and the ATen target of a binary operation.
    static func arithmetic(_ op: BinaryOperation) -> (python: String, function: Bool, target: String)? {
        switch op.kind {
        case .engine(.add): return ("+", false, "aten.add.Tensor")
        case .engine(.subtract): return ("-", false, "aten.sub.Tensor")
        case .engine(.multiply): return ("*", false, "aten.mul.Tensor")
        case .divide: return ("/", false, "aten.div.Tensor")
        case .engine(.maximum): return ("torch.maximum", true, "aten.maximum.default")
        case .engine(.minimum): return ("torch.minimum", true, "aten.minimum.default")
        default: return nil
        }
    }

    /// A Python number argument (`3`, `3.0`, `True`).
    static func number(_ argument: KerasArgument<KerasNetwork.TensorRef>) -> Double? {
        guard let json = argument.constant else { return nil }
        if let flag = json.bool { return flag ? 1 : 0 }
        return json.double
    }

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        if let reason = refusal(c.layer) {
            throw ConvertError.unsupportedOperation(name: c.name, className: c.className, module: c.layer.module ?? "keras.src.ops", reason: reason)
        }
        switch c.layer.model {
        case let op as BinaryOperation: return [try binary(c, op)]
        case let op as UnaryOperation:
            if case .activation(let f) = op.kind { return [try ActivationLayers.apply(c, c.inputs[0], f)] }
            c.comment("\(c.name): keras.ops \(op.op) is the identity")
            return c.inputs
        default: throw ConvertError.shape(layer: c.name, message: "was loaded as \(type(of: c.layer.model)), not as an operation")
        }
    }

    static func binary(_ c: LayerConversion, _ op: BinaryOperation) throws -> TorchValue {
        let (symbol, isFunction, target) = arithmetic(op)!
        let call = c.layer.arguments[c.call]
        let arguments = [call.argument(0, "x1")!, call.argument(1, "x2")!]
        let w = c.writer
        // Two tensors: the second in the first's layout when the ranks agree (broadcasting then pairs the
        // same Keras axes), both in Keras's layout otherwise (NumPy's trailing-axis broadcasting).
        if arguments.allSatisfy({ $0.tensor != nil }) {
            let sameRank = c.inputs[0].rank == c.inputs[1].rank
            let a = sameRank ? c.inputs[0] : c.kerasInput(0)
            let b = sameRank ? c.input(1, perm: a.perm) : c.kerasInput(1)
            let python = isFunction ? "\(symbol)(\(a.python), \(b.python))" : "\(a.python) \(symbol) \(b.python)"
            return c.apply(python, target, [("self", .tensor(a.graph)), ("other", .tensor(b.graph))], perm: a.perm)
        }
        let x = c.inputs[0]
        let constantFirst = arguments[0].tensor == nil
        let value = number(constantFirst ? arguments[0] : arguments[1])!
        let literal = Py.float(value)
        if isFunction {
            // maximum/minimum with a number: the number as a 0-d tensor of x's dtype (torch.maximum takes tensors only).
            let python = "\(symbol)(\(x.python), torch.tensor(\(literal), dtype=\(x.python).dtype))"
            let scalar = w.node("aten.full.default", [("size", .ints([])), ("fill_value", .float(value))], module: c.module)[0]
            return c.apply(python, target, [("self", .tensor(x.graph)), ("other", .tensor(scalar))], perm: x.perm)
        }
        if !constantFirst {
            return c.apply("\(x.python) \(symbol) \(literal)", target, [("self", .tensor(x.graph)), ("other", .float(value))], perm: x.perm)
        }
        switch symbol {
        case "+", "*":
            return c.apply("\(literal) \(symbol) \(x.python)", target, [("self", .tensor(x.graph)), ("other", .float(value))], perm: x.perm)
        case "-":
            return c.apply("\(literal) - \(x.python)", "aten.rsub.Scalar", [("self", .tensor(x.graph)), ("other", .float(value))], perm: x.perm)
        default:
            return c.apply("torch.div(torch.tensor(\(literal), dtype=\(x.python).dtype), \(x.python))", target,
                           [("self", .float(value)), ("other", .tensor(x.graph))], perm: x.perm,
                           comment: "c / x in one division, as TensorFlow (PyTorch's `c / x` is reciprocal(x) * c)")
        }
    }
}

/// The layers keras.applications defines for its own models (`keras/src/applications/`): ConvNeXt's
/// `LayerScale` (`x * gamma`, one gamma per channel: the `KerasLayerScale` helper module holding it as
/// a parameter) and Inception-ResNet-v2's `CustomScaleLayer` (`inputs[0] + inputs[1] * scale`, the
/// Python float taking the tensors' dtype in both frameworks). ConvNeXt's `StochasticDepth` is the
/// identity at inference (``CoreLayers``).
enum ApplicationLayers: KerasToTorchFamily {
    static let classes: Set<String> = ["LayerScale", "CustomScaleLayer"]

    static let layerScaleHelper = """
    class KerasLayerScale(nn.Module):
        \"\"\"keras.applications ConvNeXt's LayerScale: x * gamma, one gamma per channel (the last axis).\"\"\"

        def __init__(self, dim):
            super().__init__()
            self.gamma = nn.Parameter(torch.empty(dim))

        def forward(self, x):
            return x * self.gamma
    """

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        switch c.className {
        case "LayerScale":
            let gamma = try c.typed(ScaleByWeights.self).scale
            // gamma multiplies Keras's last axis: the input as it is held when that axis is held last.
            let x = c.inputs[0].perm.last == c.inputs[0].rank - 1 ? c.inputs[0] : c.kerasInput()
            c.writer.helper("KerasLayerScale", layerScaleHelper)
            let module = c.submodule("KerasLayerScale(\(gamma.count))")
            let p = try c.parameters(ParameterTable.rows("LayerScale")!, [gamma])
            return [c.apply("\(module)(\(x.python))", "aten.mul.Tensor", [("self", .tensor(x.graph)), ("other", .tensor(p[0]))], perm: x.perm)]
        case "CustomScaleLayer":
            guard c.inputs.count == 2 else { throw ConvertError.shape(layer: c.name, message: "CustomScaleLayer takes 2 inputs; received \(c.inputs.count)") }
            let scale = try c.typed(ScaledResidual.self).scale
            let a = c.inputs[0], b = c.input(1, perm: a.perm)
            let scaled = c.writer.node("aten.mul.Tensor", [("self", .tensor(b.graph)), ("other", .float(scale))], module: c.module)[0]
            return [c.apply("\(a.python) + \(b.python) * \(Py.float(scale))", "aten.add.Tensor", [("self", .tensor(a.graph)), ("other", .tensor(scaled))],
                            perm: a.perm, comment: "Keras CustomScaleLayer(scale=\(Py.float(scale)))")]
        default:
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
    }
}
