import ParityKeras
import ParityNN

extension KerasToTorch {
    /// Seeded inputs of the model's declared shapes (batch `batch`): floats uniform in [−1, 1], token ids
    /// (integer inputs) uniform below the smallest Embedding `input_dim` in the model. Throws when an input
    /// has an unknown dimension besides the batch (give an input array instead).
    public static func exampleInputs(for network: KerasNetwork, batch: Int = 2, seed: UInt64 = 0) throws -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        let vocabulary = network.layers.compactMap { ($0.model as? Embedding)?.embeddings.shape.first }.min() ?? 2
        return try zip(network.inputs, zip(network.inputShapes, network.inputDTypes)).map { ref, spec in
            let (dims, dtype) = spec
            let known = dims.compactMap { $0 }
            guard known.count == dims.count, !dims.isEmpty else {
                throw ConvertError.shape(layer: ref.layer, message: "input shape \(dims.map { $0.map(String.init) ?? "None" }) has unknown dimensions: give an input array")
            }
            let shape = [batch] + known
            if dtype.hasPrefix("int") || dtype.hasPrefix("uint") {
                return Tensor(shape: shape, int64: (0..<Shape.count(shape)).map { _ in Int64.random(in: 0..<Int64(vocabulary), using: &generator) })
            }
            return Tensor.uniform(shape, generator: &generator)
        }
    }
}
