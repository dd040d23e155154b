/// A static dataflow graph, TensorFlow style: built once ahead of execution (by ``trace(inputs:_:)``),
/// optimised by passes that may change rounding (see ``GraphOptimizer``), then executed by
/// ``GraphExecutor``.
///
/// Nodes are in topological order (every node's inputs come before it) and each has one output.
public struct Graph: Sendable, CustomStringConvertible {
    /// What a node computes.
    public enum Operation: Sendable {
        /// The graph's `n`th input.
        case input(Int)
        /// A tensor fixed at build time (a weight, or a folded constant).
        case constant(Tensor)
        /// An op applied to the node's inputs.
        case op(any Op)
        /// `tf.cond`: node inputs are `[predicate] + operands`; each branch is a graph taking the
        /// operands and returning one value of the same type as the other branch.
        case cond(then: Graph, else: Graph)
    }

    /// One node: what it computes, from which nodes, and its output's type.
    public struct Node: Sendable {
        /// What the node computes.
        public var operation: Operation
        /// The indices of the nodes it reads, in order.
        public var inputs: [Int]
        /// Its output's dtype and shape.
        public var type: TensorType
    }

    /// The nodes, in topological order.
    public internal(set) var nodes: [Node]
    /// The types of the graph's inputs.
    public internal(set) var inputTypes: [TensorType]
    /// The indices of the output nodes, in order.
    public internal(set) var outputs: [Int]

    /// Builds a graph by running `body` once on symbolic inputs of the given types.
    public static func trace(inputs: [TensorType], _ body: (GraphBuilder, [Symbol]) throws -> [Symbol]) throws -> Graph {
        let builder = GraphBuilder(inputs: inputs)
        let outputs = try body(builder, builder.inputs)
        return try builder.finish(outputs: outputs)
    }

    /// The number of nodes of each kind of op, `cond` branches included, in order of first
    /// appearance (for summaries: "matmul ×2").
    public var opCounts: [(name: String, count: Int)] {
        var counts: [String: Int] = [:]
        var order: [String] = []
        func count(_ name: String, _ n: Int) {
            if counts[name] == nil { order.append(name) }
            counts[name, default: 0] += n
        }
        for node in nodes {
            switch node.operation {
            case .op(let op): count(op.name, 1)
            case .cond(let a, let b):
                count("cond", 1)
                for (name, n) in a.opCounts + b.opCounts { count(name, n) }
            case .input, .constant: continue
            }
        }
        return order.map { ($0, counts[$0]!) }
    }

    public var description: String {
        var lines = ["graph(\(inputTypes.map(\.description).joined(separator: ", "))) -> \(outputs.map { "%\($0)" }.joined(separator: ", "))"]
        for (index, node) in nodes.enumerated() {
            let args = node.inputs.map { "%\($0)" }.joined(separator: ", ")
            switch node.operation {
            case .input(let n): lines.append("  %\(index) = input \(n) : \(node.type)")
            case .constant: lines.append("  %\(index) = constant : \(node.type)")
            case .op(let op): lines.append("  %\(index) = \(op.name)(\(args)) : \(node.type)")
            case .cond(let a, let b):
                lines.append("  %\(index) = cond(\(args)) : \(node.type) { then: \(a.nodes.count) nodes, else: \(b.nodes.count) nodes }")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// A value inside a graph being built: a node index and its static type.
public struct Symbol: Sendable {
    /// The index of the node that produces it.
    public let node: Int
    /// Its dtype and shape.
    public let type: TensorType
    let owner: ObjectIdentifier
}

/// The ``Builder`` of graph mode: applying an op infers its output type and appends a node; nothing
/// is computed.
public final class GraphBuilder: Builder {
    public typealias Value = Symbol

    private(set) var nodes: [Graph.Node] = []
    let inputTypes: [TensorType]
    private(set) var inputs: [Symbol] = []

    init(inputs: [TensorType]) {
        inputTypes = inputs
        for (index, type) in inputs.enumerated() {
            self.inputs.append(append(.input(index), inputs: [], type: type))
        }
    }

    /// A builder that continues an existing graph: its nodes keep their indices.
    init(extending graph: Graph, extraInputs: [TensorType]) {
        inputTypes = graph.inputTypes + extraInputs
        nodes = graph.nodes
        inputs = graph.nodes.enumerated().compactMap { index, node in
            if case .input = node.operation { return symbol(index) }
            return nil
        }
        for (offset, type) in extraInputs.enumerated() {
            inputs.append(append(.input(graph.inputTypes.count + offset), inputs: [], type: type))
        }
    }

    func symbol(_ node: Int) -> Symbol { Symbol(node: node, type: nodes[node].type, owner: ObjectIdentifier(self)) }

    @discardableResult
    func append(_ operation: Graph.Operation, inputs: [Int], type: TensorType) -> Symbol {
        nodes.append(Graph.Node(operation: operation, inputs: inputs, type: type))
        return symbol(nodes.count - 1)
    }

    func finish(outputs: [Symbol]) throws -> Graph {
        try check(outputs, op: "graph outputs")
        return Graph(nodes: nodes, inputTypes: inputTypes, outputs: outputs.map(\.node))
    }

    private func check(_ values: [Symbol], op: String) throws {
        for value in values where value.owner != ObjectIdentifier(self) {
            throw TensorError.invalidArgument(
                op: op, message: "uses a value from another graph (inside a cond branch, pass outer values as operands)")
        }
    }

    public func type(of value: Symbol) -> TensorType { value.type }

    public func constant(_ tensor: Tensor) -> Symbol { append(.constant(tensor), inputs: [], type: TensorType(of: tensor)) }

    public func apply(_ op: any Op, _ inputs: [Symbol]) throws -> Symbol {
        try check(inputs, op: op.name)
        return append(.op(op), inputs: inputs.map(\.node), type: try op.checkedOutputType(inputs.map(\.type)))
    }

    public func cond(_ predicate: Symbol, operands: [Symbol],
                     then thenBranch: (GraphBuilder, [Symbol]) throws -> Symbol,
                     else elseBranch: (GraphBuilder, [Symbol]) throws -> Symbol) throws -> Symbol {
        try check([predicate] + operands, op: "cond")
        guard Shape.count(predicate.type.shape) == 1 else {
            throw TensorError.invalidArgument(op: "cond", message: "the predicate must have one element; received shape \(predicate.type.shape)")
        }
        let types = operands.map(\.type)
        let thenGraph = try Graph.trace(inputs: types) { b, xs in [try thenBranch(b, xs)] }
        let elseGraph = try Graph.trace(inputs: types) { b, xs in [try elseBranch(b, xs)] }
        let (a, b) = (thenGraph.nodes[thenGraph.outputs[0]].type, elseGraph.nodes[elseGraph.outputs[0]].type)
        guard a == b else {
            throw TensorError.invalidArgument(op: "cond", message: "branches return different types: \(a) and \(b)")
        }
        return append(.cond(then: thenGraph, else: elseGraph), inputs: [predicate.node] + operands.map(\.node), type: a)
    }
}
