extension Graph {
    /// Replaces every op whose inputs are all constants by its computed value.
    func foldingConstants() throws -> Graph {
        var graph = self
        for index in graph.nodes.indices {
            guard case .op(let op) = graph.nodes[index].operation else { continue }
            var args: [Tensor] = []
            for input in graph.nodes[index].inputs {
                guard case .constant(let tensor) = graph.nodes[input].operation else { break }
                args.append(tensor)
            }
            guard args.count == graph.nodes[index].inputs.count else { continue }
            graph.nodes[index].operation = .constant(try op.forward(args))
            graph.nodes[index].inputs = []
        }
        return graph
    }
}
