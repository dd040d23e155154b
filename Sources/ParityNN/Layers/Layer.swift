@_exported import ParityEngine

/// A layer or model: a function of its inputs written once against `Builder`, so that it runs in
/// eager mode and in graph mode from the same definition (Keras's "one function for eager and
/// symbolic calls").
public protocol Model: Sendable {
    /// Applies the model to `inputs` with `b`'s ops: eagerly, or as graph nodes.
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
    public func weight(_ tensor: Tensor, like value: Value) -> Value {
        constant(tensor.cast(to: type(of: value).dtype))
    }
}

/// A layer with several outputs (Keras `return_state=True` recurrent layers return the sequence or
/// last output, then the states). ``Model/callAsFunction(_:in:)`` gives the first output, so such a
/// layer still composes like any other.
public protocol MultiOutputModel: Model {
    /// Applies the model to `inputs` with `b`'s ops and returns every output, in order.
    func outputs<B: Builder>(_ inputs: [B.Value], in b: B) throws -> [B.Value]
}

extension MultiOutputModel {
    /// The first output, so a multi-output layer also works where one value is expected.
    public func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        try outputs(inputs, in: b)[0]
    }

    /// Runs the model and returns every output (see ``Model/run(_:mode:)``).
    public func runOutputs(_ inputs: [Tensor], mode: ExecutionMode) throws -> [Tensor] {
        switch mode {
        case .eager:
            let context = EagerContext()
            return try outputs(inputs.map(context.constant), in: context).map(\.tensor)
        case .graph(let optimizer):
            let graph = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in try self.outputs(xs, in: b) }
            return try GraphExecutor().run(optimizer.optimize(graph), inputs: inputs)
        }
    }
}

extension Model {
    /// Every output of the model: all of a ``MultiOutputModel``'s, else the one output.
    public func runAll(_ inputs: [Tensor], mode: ExecutionMode) throws -> [Tensor] {
        if let multi = self as? any MultiOutputModel { return try multi.runOutputs(inputs, mode: mode) }
        return [try run(inputs, mode: mode)]
    }
}

extension Builder {
    /// `[batch, channels, spatial…]` → `[batch, spatial…, channels]` (Keras `channels_first` layers
    /// transpose in, compute channels-last, and transpose back).
    public func channelsLast(_ x: Value) throws -> Value {
        try permute(x, DataFormat.channelsLast.permutation(rank: shape(of: x).count))
    }

    /// `[batch, spatial…, channels]` → `[batch, channels, spatial…]`.
    public func channelsFirst(_ x: Value) throws -> Value {
        try permute(x, DataFormat.channelsFirst.permutation(rank: shape(of: x).count))
    }
}
