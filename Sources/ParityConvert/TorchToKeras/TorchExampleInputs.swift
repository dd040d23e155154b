import ParityNN
import ParityTorch

extension TorchToKeras {
    /// Seeded inputs of the program's exported shapes: floats uniform in [−1, 1], integer inputs (token
    /// ids) uniform below the smallest `aten.embedding` table in the program (2 without one).
    public static func exampleInputs(for program: TorchProgram, seed: UInt64 = 0) throws -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        var tables: [Int] = []
        for node in program.graph.allNodes where node.target == "aten.embedding.default" {
            guard case .tensor(let name)? = node.argument("weight") else { continue }
            if let key = program.inputs.first(where: { $0.name == name }).flatMap({ input -> String? in
                if case .parameter(let fqn) = input.kind { return fqn }
                return nil
            }), let rows = program.weights[key]?.shape.first { tables.append(rows) }
        }
        let vocabulary = tables.min() ?? 2
        return try program.userInputs.map { name, meta in
            guard let meta else { throw ConvertError.shape(layer: name, message: "the program input has no static shape: give an input array") }
            if [7, 8, 6, 13].contains(meta.scalarType) { return Tensor.uniform(meta.shape, generator: &generator) }
            return Tensor(shape: meta.shape, int64: (0..<Shape.count(meta.shape)).map { _ in Int64.random(in: 0..<Int64(vocabulary), using: &generator) })
        }
    }
}
