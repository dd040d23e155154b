extension Graph {
    /// Keeps only the nodes the outputs depend on (inputs always stay), renumbering the rest.
    func eliminatingDeadCode() -> Graph {
        var live = reachedFromOutputs
        for (index, node) in nodes.enumerated() { if case .input = node.operation { live[index] = true } }
        var newIndex = [Int](repeating: -1, count: nodes.count)
        var kept: [Node] = []
        for (index, node) in nodes.enumerated() where live[index] {
            newIndex[index] = kept.count
            var copy = node
            copy.inputs = node.inputs.map { newIndex[$0] }
            kept.append(copy)
        }
        return Graph(nodes: kept, inputTypes: inputTypes, outputs: outputs.map { newIndex[$0] })
    }
}
