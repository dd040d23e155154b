import ParityNN

extension TorchProgram {
    /// Runs one node on given tensors and returns all its results (one per output slot), in `dtype`.
    ///
    /// `values` binds graph names the node reads (user inputs, earlier nodes' outputs); a name bound there
    /// takes precedence over the program's own weights and constants, so a caller can also run the node
    /// with other parameters. Every other weight or constant the node reads comes from the program. Floating
    /// tensors are cast to `dtype`; integer tensors (token ids, indices) stay as they are. `parity compare`
    /// reruns parts of a program on the other model's tensors through it.
    public func evaluate(_ node: TorchNode, values: [String: Tensor], dtype: DType) throws -> [Tensor] {
        guard let family = ATenTable.family(for: node.target) else {
            throw TorchError.unsupportedOperator(target: node.target, node: node.name, modulePath: node.modulePath, moduleClass: node.moduleClass)
        }
        let context = EagerContext()
        var env: [String: EagerContext.Value] = [:]
        var known: [String: Tensor] = [:]
        func cast(_ t: Tensor) -> Tensor { t.dtype.isFloatingPoint ? t.cast(to: dtype) : t }
        let read = Set(node.arguments.flatMap { $0.value.tensorNames })
        for input in inputs where read.contains(input.name) && values[input.name] == nil {
            switch input.kind {
            case .parameter(let fqn), .buffer(let fqn, _), .tensorConstant(let fqn):
                guard let stored = weights[fqn] ?? constants[fqn] else { continue }
                known[input.name] = cast(stored)
                env[input.name] = context.constant(cast(stored))
            case .userInput:
                continue
            }
        }
        for (name, tensor) in values where read.contains(name) {
            env[name] = context.constant(cast(tensor))
            if inputs.contains(where: { $0.name == name && $0.kind != .userInput }) { known[name] = cast(tensor) }
        }
        let results: [EagerContext.Value]
        do {
            results = try family.lower(ATenCall(b: context, node: node, env: env, known: known, floatType: dtype))
        } catch let error as TorchError {
            throw error
        } catch {
            throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath, message: "\(error)")
        }
        return results.map(\.tensor)
    }
}

extension TorchTensorMeta {
    /// The dtype's name (`float32`, `int64`, …; torch.export's `ScalarType` codes).
    public var dtypeName: String { ScalarTypes.name(scalarType) }
}
