extension Graph {
    /// Keeps only the nodes the outputs depend on (inputs always stay), renumbering the rest.
    func eliminatingDeadCode() -> Graph {
        var live = [Bool](repeating: false, count: nodes.count)
        for output in outputs { live[output] = true }
        for index in stride(from: nodes.count - 1, through: 0, by: -1) {
            if case .input = nodes[index].operation { live[index] = true }
            guard live[index] else { continue }
            for input in nodes[index].inputs { live[input] = true }
        }
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
