import ParityNN

extension TorchProgram {
    /// The bytes of the program's weights and constants as Parity holds them.
    public var weightBytes: Int {
        weights.values.reduce(0) { $0 + $1.count * $1.dtype.byteCount } + constants.values.reduce(0) { $0 + $1.count * $1.dtype.byteCount }
    }

    /// The most bytes of intermediate values an eager run in `floatType` holds at once, planned from the
    /// shapes and dtypes torch.export recorded for every node's outputs, with each value dropped after its
    /// last reader as the run drops it: what a ``WorkingSet`` measures on the same run (a value of a
    /// dynamic dimension counts that dimension as 1; a value without recorded metadata counts 0). It
    /// says before a run whether the run fits in memory.
    public func plannedWorkingSet(floatType: DType = .float32) -> Int {
        let releases = Interpreter<EagerContext>.releases(graph)
        func bytes(_ name: String) -> Int {
            guard let meta = graph.tensorMeta[name], let dtype = ScalarTypes.dtype(meta.scalarType) else { return 0 }
            let count = meta.shape.reduce(1) { $0 * Swift.max($1, 1) }
            return count * (dtype.isFloatingPoint ? floatType : dtype).byteCount
        }
        let graphInputs = Set(graph.inputs)
        var held: [String: Int] = [:]
        var peak = 0
        for (index, node) in graph.nodes.enumerated() {
            for case let name? in node.outputs { held[name] = bytes(name) }
            let functional = ATenTable.functional(node.target)
            // An in-place node's output is the tensor it overwrote, held under both names.
            if functional != node.target, let mutated = Aliasing.source(of: node), !graphInputs.contains(mutated), let output = node.outputs.first.flatMap({ $0 }) {
                held[mutated] = held[output]
            }
            peak = Swift.max(peak, held.values.reduce(0, +))
            for name in releases[index] { held[name] = nil }
        }
        return peak
    }
}
