import ParityKeras
import ParityNN
import ParityTorch

/// InputLayer (the forward argument itself), Dense → `nn.Linear` (weight = kernelᵀ), Dropout → `nn.Dropout` (identity in `eval()`, as Keras at
/// inference), Embedding → `nn.Embedding` (same layout). The spatial dropouts and the noise layers are
/// identities at inference in Keras and have no PyTorch module: `forward` passes the value on, with a comment.
enum CoreLayers: KerasToTorchFamily {
    static let classes: Set<String> = Set(["InputLayer", "Dense", "Dropout", "Embedding"]).union(KerasLayers.inferenceIdentities)

    static func convert(_ c: LayerConversion) throws -> [TorchValue] {
        switch c.className {
        case "InputLayer":
            return c.inputs
        case let name where KerasLayers.inferenceIdentities.contains(name):
            c.comment("\(c.name): Keras \(name) is the identity at inference")
            return c.inputs
        case "Dense":
            let dense = try c.typed(Dense.self)
            let x = c.kerasInput()
            let (inputs, units, useBias) = (dense.kernel.shape[0], dense.kernel.shape[1], dense.bias != nil)
            let module = c.submodule("nn.Linear(\(inputs), \(units)\(useBias ? "" : ", bias=False"))")
            let p = try c.parameters(ParameterTable.rows("Dense", .init(bias: useBias))!, [dense.kernel] + (dense.bias.map { [$0] } ?? []))
            var arguments: [(String, TorchArgument)] = [("input", .tensor(x.graph)), ("weight", .tensor(p[0]))]
            if useBias { arguments.append(("bias", .tensor(p[1]))) }
            let y = c.apply("\(module)(\(x.python))", "aten.linear.default", arguments, perm: x.perm)
            return [try ActivationLayers.apply(c, y, Activation.applied(by: c.layer.model))]
        case "Dropout":
            let x = c.inputs[0]
            let rate = try c.typed(Dropout.self).rate
            let module = c.submodule("nn.Dropout(p=\(Py.float(rate)))", comment: "identity in eval(), as Keras at inference")
            return [c.apply("\(module)(\(x.python))", "aten.dropout.default", [("input", .tensor(x.graph)), ("p", .float(rate)), ("train", .bool(false))],
                            perm: x.perm)]
        case "Embedding":
            // A mask_zero Embedding is refused by the loader (Parity propagates no masks).
            let embeddings = try c.typed(Embedding.self).embeddings
            let x = c.inputs[0]
            let module = c.submodule("nn.Embedding(\(embeddings.shape[0]), \(embeddings.shape[1]))")
            let weight = try c.parameters(ParameterTable.rows("Embedding")!, [embeddings])[0]
            return [c.apply("\(module)(\(x.python))", "aten.embedding.default", [("weight", .tensor(weight)), ("indices", .tensor(x.graph))],
                            perm: Array(0...x.rank))]
        default:
            throw ConvertError.unsupportedLayer(name: c.name, className: c.className, supported: KerasToTorch.supportedClasses)
        }
    }
}
