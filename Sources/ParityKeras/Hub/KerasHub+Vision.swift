import ParityNN

/// KerasHub's ViT layers (`keras_hub/src/models/vit/vit_layers.py`): `ViTPatchingAndEmbedding` (a
/// strided Conv2D over patches, the class token prepended, learned position embeddings added) and
/// `ViTEncoder` (pre-norm blocks of Keras `MultiHeadAttention` and a gelu MLP, then a final LayerNormalization).
extension KerasHub {
    static let visionLayers: [String: KerasLayers.Factory] = [
        "ViTPatchingAndEmbedding": { layer in
            let patch = try layer.ints("patch_size", count: 2)
            let conv = try layer.hubVariables("patch_embedding")
            let format = try layer.dataFormat()
            return ViTPatching(patches: Convolution(kernel: conv[0], bias: conv.count == 2 ? conv[1] : nil, strides: patch, dilations: [1, 1],
                                                    padding: .valid, dataFormat: format, channelsFirstBias: .kerasTensorFlowAdd),
                               dataFormat: format, classToken: try layer.has("use_class_token") && !layer.bool("use_class_token") ? nil : layer.hubVariables("", count: 1)[0],
                               positions: try layer.hubVariables("position_embedding", count: 1)[0])
        },
        "ViTEncoder": { layer in
            let count = try layer.int("num_layers")
            let epsilon = try layer.optionalDouble("layer_norm_epsilon") ?? HubEpsilon.vitEncoder
            let dropout = try layer.optionalDouble("attention_dropout") ?? 0
            let blocks = try (0..<count).map { i -> ViTBlock in
                let path = "encoder_layers/vi_t_encoder_block" + (i == 0 ? "" : "_\(i)")
                return ViTBlock(norm1: try layerNorm(layer, at: "\(path)/layer_norm_1", epsilon: epsilon),
                                attention: try multiHeadAttention(layer, at: "\(path)/mha", dropout: dropout),
                                norm2: try layerNorm(layer, at: "\(path)/layer_norm_2", epsilon: epsilon),
                                dense1: try dense(layer, at: "\(path)/mlp/dense_1", activation: KerasLayerConfig.activation(named: "gelu", layer: layer.name, constants: layer.constants)),
                                dense2: try dense(layer, at: "\(path)/mlp/dense_2"))
            }
            return ViTEncoder(blocks: blocks, norm: try layerNorm(layer, at: "layer_norm", epsilon: epsilon))
        },
    ]
}

struct ViTPatching: Model {
    var patches: Convolution
    var dataFormat: DataFormat
    var classToken: Tensor?
    var positions: Tensor

    func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        var y = try patches(inputs, in: b)
        if dataFormat == .channelsFirst { y = try b.channelsLast(y) }
        let s = b.shape(of: y)
        y = try b.reshape(y, [s[0], -1, s[3]])
        if let classToken {
            y = try b.concat([b.broadcast(b.weight(classToken, like: y), to: [s[0], 1, s[3]]), y], axis: 1)
        }
        return try b.add(y, b.reshape(b.weight(positions, like: y), [1] + positions.shape))
    }
}

struct ViTBlock: Sendable {
    var norm1: LayerNorm
    var attention: MultiHeadAttention
    var norm2: LayerNorm
    var dense1: Dense
    var dense2: Dense
}

struct ViTEncoder: Model {
    var blocks: [ViTBlock]
    var norm: LayerNorm

    func callAsFunction<B: Builder>(_ inputs: [B.Value], in b: B) throws -> B.Value {
        var x = inputs[0]
        for block in blocks {
            let h = try block.norm1([x], in: b)
            x = try b.add(block.attention.attend(query: h, value: h, key: nil, mask: nil, in: b).output, x)
            x = try b.add(x, block.dense2([block.dense1([block.norm2([x], in: b)], in: b)], in: b))
        }
        return try norm([x], in: b)
    }
}
