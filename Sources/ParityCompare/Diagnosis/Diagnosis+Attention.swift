import ParityKeras
import ParityNN
import ParityTorch

extension Diagnosis {
    /// `attention-scaling`: Keras MultiHeadAttention rebuilt with the logit scale B uses: the `scale` of its
    /// `scaled_dot_product_attention` node (default `1/√head_dim`), else the scalar its module multiplies or
    /// divides by. Keras scales by `1/√key_dim` (conventions.md E.17).
    static func attentionScaling(_ c: Context) throws -> [Hypothesis] {
        guard var attention = c.layer.model as? MultiHeadAttention else { return [] }
        var scaleB: Double?
        if let node = c.node("scaled_dot_product_attention") {
            scaleB = float(node, "scale")
        }
        if scaleB == nil {
            for node in c.nodes {
                guard let value = float(node, "other") else { continue }
                if node.target.hasPrefix("aten.div.") { scaleB = 1 / value; break }
                if node.target.hasPrefix("aten.mul.") { scaleB = value; break }
            }
        }
        guard let scaleB, Swift.abs(scaleB - attention.scale) > 1e-12 * attention.scale else { return [] }
        let scaleA = attention.scale
        attention.scale = scaleB
        let keyDim = attention.queryKernel.shape.last
        return [Hypothesis(cause: .attentionScaling, a: "logits scaled by \(g(scaleA))" + (keyDim.map { " = 1/√key_dim (\($0))" } ?? ""),
                           b: "logits scaled by \(g(scaleB))" + (scaleB > 0 ? " = 1/√\(g(1 / (scaleB * scaleB)))" : ""),
                           fix: "scale the scores by 1/math.sqrt(\(keyDim.map(String.init) ?? "key_dim")) (the per-head key size), not the model width",
                           kerasFix: "Keras's MultiHeadAttention always scales by 1/√key_dim: scale the PyTorch scores the same way, or write the attention by hand",
                           rerun: { inputs, dtype in try run(attention, inputs, dtype) })]
    }
}
