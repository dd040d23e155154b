import ParityNN

/// Runs an ``ExportedGraph`` on a ``Builder``: each node is lowered by its op family
/// (``ATenTable``) to engine ops, so eager execution, graph tracing and gradients share one mapping.
struct Interpreter<B: Builder> {
    let b: B
    /// The dtype floating values compute in (the run's dtype; PyTorch's float32 when exported).
    let floatType: DType
    /// Sees every top-level node's results as they are computed (``TorchProgram/outputs(_:in:floatType:observe:)``).
    var observe: ((_ node: TorchNode, _ results: [B.Value]) -> Void)? = nil

    /// `known`: graph inputs whose tensor is fixed (weights, buffers), for ops that need a constant
    /// argument (a gather's index).
    func run(_ graph: ExportedGraph, inputs: [B.Value], known: [String: Tensor]) throws -> [B.Value] {
        guard inputs.count == graph.inputs.count else {
            throw TorchError.inputMismatch(expected: "\(graph.inputs.count) graph inputs", received: "\(inputs.count)")
        }
        var env: [String: B.Value] = [:]
        for (name, value) in zip(graph.inputs, inputs) { env[name] = value }
        for node in graph.nodes {
            guard let family = ATenTable.family(for: node.target) else {
                throw TorchError.unsupportedOperator(target: node.target, node: node.name, modulePath: node.modulePath, moduleClass: node.moduleClass)
            }
            let call = ATenCall(b: b, node: node, env: env, known: known, floatType: floatType)
            let results: [B.Value]
            do {
                results = try family.lower(call)
            } catch let error as TorchError {
                throw error
            } catch {
                throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath, message: "\(error)")
            }
            guard results.count >= node.outputs.compactMap({ $0 }).count || results.count >= node.outputs.count else {
                throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath,
                                           message: "produced \(results.count) outputs; the graph names \(node.outputs.count)")
            }
            for (slot, name) in node.outputs.enumerated() {
                guard let name else { continue }
                guard slot < results.count else {
                    throw TorchError.execution(target: node.target, node: node.name, modulePath: node.modulePath,
                                               message: "output \(slot) ('\(name)') is not produced")
                }
                env[name] = results[slot]
            }
            observe?(node, results)
        }
        return try graph.outputs.map { name in
            guard let value = env[name] else {
                throw TorchError.execution(target: "output", node: name, modulePath: "", message: "no node produces '\(name)'")
            }
            return value
        }
    }
}

/// A family of ATen operators mapped to engine ops (one file per family).
protocol ATenFamily {
    /// The overloads handled, without `torch.ops.` (`aten.linear.default`).
    static var targets: Set<String> { get }
    /// The node's outputs, in the order torch lists them.
    static func lower<B: Builder>(_ c: ATenCall<B>) throws -> [B.Value]
}

/// The table of supported operators: every family, looked up by target.
enum ATenTable {
    /// Looked up in order: ``TrainingOps`` comes first, taking the targets it runs in a training step and
    /// handing them to their inference family otherwise.
    nonisolated(unsafe) static let families: [any ATenFamily.Type] = [
        TrainingOps.self, LinearAlgebraOps.self, ConvolutionOps.self, PoolingOps.self, ActivationOps.self, NormalizationOps.self,
        ShapeOps.self, ArithmeticOps.self, ReductionOps.self, EmbeddingOps.self, PaddingOps.self, UpsamplingOps.self,
        RecurrentOps.self, AttentionOps.self, ControlFlowOps.self, ConversionOps.self,
    ]

    static func family(for target: String) -> (any ATenFamily.Type)? {
        for family in families where family.targets.contains(target) { return family }
        return nil
    }

    /// Every supported target, sorted (for docs and error messages).
    static var allTargets: [String] {
        var all: Set<String> = []
        for family in families { all.formUnion(family.targets) }
        return all.sorted()
    }
}
