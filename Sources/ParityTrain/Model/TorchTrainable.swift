import ParityNN
import ParityTorch

/// A torch.export program made ready to train as `model.train(); loss.backward(); optimizer.step()`
/// trains the module: parameters are trained, buffers are state (assigned by training-mode BatchNorm and
/// `num_batches_tracked += 1`, see ParityTorch's training operators), lifted constants are neither.
/// Variables are named by their state_dict keys.
///
/// Training mode is the one each module was exported in: `torch.export` records it per node
/// (`batch_norm(…, training)`, `dropout(…, train)`), so a program exported after `model.eval()`, or a port
/// that calls `model.bn.eval()` after `model.train()`, trains those nodes in inference mode, as PyTorch
/// trains that module (``inferenceModeNodes``). A parameter saved with `requires_grad: false` is not trained.
public struct TorchTrainable: TrainableModel {
    /// The program.
    public let program: TorchProgram
    public let variables: [TrainingVariable]
    public let name: String
    public var framework: Framework { .pyTorch }
    public var inputNames: [String] { program.userInputs.map(\.name) }
    public var outputCount: Int { program.outputs.count }

    /// The program's parameters as trainable variables and its buffers as state; throws ``TrainError``
    /// when a parameter or buffer has no value.
    public init(_ program: TorchProgram, name: String = "the PyTorch program") throws {
        self.program = program
        self.name = name
        var variables: [TrainingVariable] = []
        for input in program.inputs {
            switch input.kind {
            case .parameter(let fqn):
                guard let value = program.weights[fqn] else { throw TrainError.unsupportedModel("no value for parameter '\(fqn)'") }
                variables.append(TrainingVariable(name: fqn, value: value, trainable: value.dtype.isFloatingPoint && !program.frozenParameters.contains(fqn)))
            case .buffer(let fqn, let persistent):
                guard let value = program.weights[fqn] ?? program.constants[fqn] else { throw TrainError.unsupportedModel("no value for buffer '\(fqn)'") }
                variables.append(TrainingVariable(name: fqn, value: value, trainable: false, saved: persistent))
            case .tensorConstant, .userInput:
                continue
            }
        }
        self.variables = variables
    }

    /// Checks the inputs against the shapes the program was exported for (static in a default export).
    public func outputs<B: Builder>(_ inputs: [B.Value], in b: B, dtype: DType) throws -> [B.Value] {
        for ((name, meta), value) in zip(program.userInputs, inputs) {
            if let meta, meta.shape != b.shape(of: value) {
                let batch = meta.shape.first.map { " (use --batch-size \($0))" } ?? ""
                throw TrainError.badInput(reason: "the program was exported for input '\(name)' of shape \(meta.shape); this step gives \(b.shape(of: value))\(batch)")
            }
        }
        return try program.outputs(inputs, in: b, floatType: dtype)
    }

    public func converted(to dtype: DType) throws -> TorchTrainable {
        var weights: [String: Tensor] = [:]
        for (key, value) in program.weights { weights[key] = value.dtype.isFloatingPoint ? value.cast(to: dtype) : value }
        for (key, value) in program.constants where weights[key] == nil { weights[key] = value }
        var rebuilt = try TorchProgram(source: program.source, graph: program.graph, inputs: program.inputs, outputs: program.outputs, weights: weights)
        rebuilt.frozenParameters = program.frozenParameters
        return try TorchTrainable(rebuilt, name: name)
    }

    /// The `batch_norm` and `dropout` nodes exported in eval mode (`training=False`, `train=False`), which
    /// train in inference mode: on running statistics, never updated, and as the identity.
    public var inferenceModeNodes: [TorchNode] {
        program.graph.allNodes.filter { node in
            guard let flag = ["aten.batch_norm.default": "training", "aten.dropout.default": "train"][node.target] else { return false }
            if case .bool(false)? = node.argument(flag) { return true }
            return false
        }
    }
}
