/// Runs a ``Graph`` node by node with the ops' forward definitions, the same ones eager mode uses.
/// A `cond` evaluates its predicate and runs only the chosen branch's graph.
public struct GraphExecutor: Sendable {
    /// An executor.
    public init() {}

    /// Runs `graph` on `inputs` and returns its outputs.
    public func run(_ graph: Graph, inputs: [Tensor]) throws -> [Tensor] {
        guard inputs.map(TensorType.init(of:)) == graph.inputTypes else {
            throw TensorError.invalidArgument(
                op: "graph", message: "expects inputs \(graph.inputTypes); received \(inputs.map(TensorType.init(of:)))")
        }
        var values = [Tensor?](repeating: nil, count: graph.nodes.count)
        // The last node that reads each value, so intermediates can be released early.
        var lastUse = [Int](repeating: -1, count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() { for input in node.inputs { lastUse[input] = index } }
        for output in graph.outputs { lastUse[output] = graph.nodes.count }
        for (index, node) in graph.nodes.enumerated() {
            let args = node.inputs.map { values[$0]! }
            switch node.operation {
            case .input(let n): values[index] = inputs[n]
            case .constant(let tensor): values[index] = tensor
            case .op(let op): values[index] = try op.forward(args)
            case .cond(let thenGraph, let elseGraph):
                guard let flag = args[0].scalarValue else {
                    throw TensorError.invalidArgument(op: "cond", message: "the predicate must have one element")
                }
                values[index] = try run(flag != 0 ? thenGraph : elseGraph, inputs: Array(args.dropFirst()))[0]
            }
            for input in node.inputs where lastUse[input] == index { values[input] = nil }
        }
        return graph.outputs.map { values[$0]! }
    }
}
