@_exported import ParityEngine

/// A layer or model: a function of its inputs written once against ``Builder``, so that it runs in
/// eager mode and in graph mode from the same definition (Keras's "one function for eager and
/// symbolic calls").
public protocol Model: Sendable {
    func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value
}

/// How a model is executed.
public enum ExecutionMode: Sendable, CustomStringConvertible {
    /// Define-by-run, op by op (PyTorch's default).
    case eager
    /// Traced to a static graph, optimised, then executed (Keras 3 on TensorFlow's `tf.function`).
    case graph(GraphOptimizer)

    public var description: String {
        switch self {
        case .eager: return "eager"
        case .graph(let optimizer): return "graph [\(optimizer.passes.map(\.description).joined(separator: ", "))]"
        }
    }
}

extension Model {
    /// Runs the model on concrete inputs. Weights are cast to the inputs' dtype, so Float64 inputs
    /// give the Float64 reference run with the same weights.
    public func run(_ inputs: [Tensor], mode: ExecutionMode) throws -> Tensor {
        switch mode {
        case .eager:
            let context = EagerContext()
            return try self(inputs.map(context.constant), in: context).tensor
        case .graph(let optimizer):
            let graph = try optimizer.optimize(tracedGraph(for: inputs.map(TensorType.init(of:))))
            return try GraphExecutor().run(graph, inputs: inputs)[0]
        }
    }

    /// The model as an unoptimised static graph for inputs of the given types.
    public func tracedGraph(for inputs: [TensorType]) throws -> Graph {
        try Graph.trace(inputs: inputs) { b, xs in [try self(xs, in: b)] }
    }
}

extension Builder {
    /// A weight as a constant in the dtype the model runs in.
    func weight(_ tensor: Tensor, like value: Value) -> Value {
        constant(tensor.cast(to: type(of: value).dtype))
    }
}
