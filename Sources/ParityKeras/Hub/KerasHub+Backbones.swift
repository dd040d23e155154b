import Foundation
import ParityNN

/// The functional graphs KerasHub's backbones build in `__init__`, rebuilt from their constructor
/// arguments (`keras_hub/src/models/<model>/<model>_backbone.py`), layers in `model.layers` order.
/// Inputs are int32 `token_ids` / `padding_mask` (BERT also `segment_ids`) of shape `[batch, length]`,
/// ViT's `images`; outputs a dict (BERT: `pooled_output`, `sequence_output`) or one tensor.
extension KerasHub {
    static let backbones: [String: BackboneBuilder] = [
        "BertBackbone": { try bert($0, &$1) },
        "DistilBertBackbone": { try distilBert($0, &$1) },
        "GPT2Backbone": { try gpt2($0, &$1) },
        "LlamaBackbone": { try llama($0, &$1) },
        "Llama3Backbone": { try llama($0, &$1) },
        "MistralBackbone": { try mistral($0, &$1) },
        "GemmaBackbone": { try gemma($0, &$1) },
        "ViTBackbone": { try vit($0, &$1) },
    ]

    static func layerNormConfig(_ epsilon: Double) -> JSONObject {
        ["axis": .int(-1), "epsilon": .double(epsilon), "center": .bool(true), "scale": .bool(true)]
    }

    /// `x[:, index, :]` as a `GetItem` operation node.
    static func token(_ g: inout HubGraph, _ x: HubGraph.Ref, index: Int, name: String) -> HubGraph.Ref {
        let all = KerasJSON.kerasSlice()
        return g.operation("GetItem", name, [x.json, .array([all, .int(index), all])])
    }

    static func bert(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        let hidden = try a.int("hidden_dim"), dropout = try a.optionalDouble("dropout") ?? 0.1
        let ids = g.input("token_ids", shape: [nil], dtype: "int32")
        let tokens = g.hub("ReversibleEmbedding", "token_embedding", [ids.json])
        let segmentIDs = g.input("segment_ids", shape: [nil], dtype: "int32")
        let positions = g.hub("PositionEmbedding", "position_embedding", config: ["sequence_length": .int(try a.optionalInt("max_sequence_length") ?? 512)], [tokens.json])
        let segments = g.layer("Embedding", "segment_embedding", config: ["input_dim": .int(try a.optionalInt("num_segments") ?? 2), "output_dim": .int(hidden)], [segmentIDs.json])
        let sum = g.layer("Add", "embeddings_add", [.array([tokens.json, positions.json, segments.json])])
        let x = try encoders(a, &g, sum, dropout: dropout, activation: "gelu_approximate", epsilon: HubEpsilon.bert)
        let cls = token(&g, x, index: 0, name: "get_item")
        let pooled = g.layer("Dense", "pooled_dense", config: ["units": .int(hidden), "activation": .string("tanh"), "use_bias": .bool(true)], [cls.json])
        g.outputs(["sequence_output": x, "pooled_output": pooled])
    }

    static func distilBert(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        let dropout = try a.optionalDouble("dropout") ?? 0.1
        let ids = g.input("token_ids", shape: [nil], dtype: "int32")
        let embedded = g.hub("TokenAndPositionEmbedding", "token_and_position_embedding", [ids.json])
        g.output(try encoders(a, &g, embedded, dropout: dropout, activation: "gelu", epsilon: HubEpsilon.distilBert))
    }

    /// BERT's and DistilBERT's body after their embeddings: a LayerNormalization and dropout, the `padding_mask`
    /// input, then `num_layers` TransformerEncoders with `activation` and the `epsilon` the backbone passes.
    static func encoders(_ a: KerasLayerConfig, _ g: inout HubGraph, _ embedded: HubGraph.Ref, dropout: Double, activation: String,
                         epsilon: Double) throws -> HubGraph.Ref {
        var x = g.layer("LayerNormalization", "embeddings_layer_norm", config: layerNormConfig(epsilon), [embedded.json])
        x = g.layer("Dropout", "embeddings_dropout", config: ["rate": .double(dropout)], [x.json])
        let padding = g.input("padding_mask", shape: [nil], dtype: "int32")
        for i in 0..<(try a.int("num_layers")) {
            x = g.hub("TransformerEncoder", "transformer_layer_\(i)",
                      config: ["num_heads": .int(try a.int("num_heads")), "intermediate_dim": .int(try a.int("intermediate_dim")),
                               "dropout": .double(dropout), "activation": .string(activation), "layer_norm_epsilon": .double(epsilon)],
                      [x.json], kwargs: ["padding_mask": padding.json])
        }
        return x
    }

    static func gpt2(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        let dropout = try a.optionalDouble("dropout") ?? 0.1
        let ids = g.input("token_ids", shape: [nil], dtype: "int32")
        let tokens = g.hub("ReversibleEmbedding", "token_embedding", [ids.json])
        let positions = g.hub("PositionEmbedding", "position_embedding", config: ["sequence_length": .int(try a.optionalInt("max_sequence_length") ?? 1024)], [tokens.json])
        var x = g.layer("Add", "embeddings_add", [.array([tokens.json, positions.json])])
        x = g.layer("Dropout", "embeddings_dropout", config: ["rate": .double(dropout)], [x.json])
        let padding = g.input("padding_mask", shape: [nil], dtype: "int32")
        for i in 0..<(try a.int("num_layers")) {
            x = g.hub("TransformerDecoder", "transformer_layer_\(i)",
                      config: ["num_heads": .int(try a.int("num_heads")), "intermediate_dim": .int(try a.int("intermediate_dim")),
                               "dropout": .double(dropout), "activation": .string("gelu_approximate"), "layer_norm_epsilon": .double(HubEpsilon.gpt2),
                               "normalize_first": .bool(true)],
                      [x.json], kwargs: ["decoder_padding_mask": padding.json])
        }
        g.output(g.layer("LayerNormalization", "layer_norm", config: layerNormConfig(HubEpsilon.gpt2), [x.json]))
    }

    /// `LlamaBackbone` and `Llama3Backbone` (the same graph; Llama 3.1's RoPE frequency adjustment when given).
    static func llama(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        try rotaryBackbone(a, &g, decoder: "LlamaTransformerDecoder", norm: "LlamaLayerNorm", epsilon: HubEpsilon.llamaBackbone,
                           keys: ["rope_max_wavelength", "rope_frequency_adjustment_factor", "rope_low_freq_factor", "rope_high_freq_factor",
                                  "rope_pretraining_sequence_length", "dropout"])
    }

    static func mistral(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        try rotaryBackbone(a, &g, decoder: "MistralTransformerDecoder", norm: "MistralLayerNormalization", epsilon: HubEpsilon.mistralBackbone,
                           keys: ["rope_max_wavelength", "rope_scaling_factor", "sliding_window", "dropout"])
    }

    /// Llama's and Mistral's graph: token embedding, `num_layers` SiLU decoders given the backbone's
    /// `keys` and epsilon (`layer_norm_epsilon`, else `epsilon`, the backbone's default), a final RMS norm `norm`.
    static func rotaryBackbone(_ a: KerasLayerConfig, _ g: inout HubGraph, decoder: String, norm: String, epsilon fallback: Double,
                               keys: [String]) throws {
        let epsilon = try a.optionalDouble("layer_norm_epsilon") ?? fallback
        let ids = g.input("token_ids", shape: [nil], dtype: "int32")
        var x = g.hub("ReversibleEmbedding", "token_embedding", [ids.json])
        let padding = g.input("padding_mask", shape: [nil], dtype: "int32")
        var config: JSONObject = ["layer_norm_epsilon": .double(epsilon), "activation": .string("silu")]
        for key in keys { if let v = a.config[key] { config[key] = v } }
        for i in 0..<(try a.int("num_layers")) {
            x = g.hub(decoder, "transformer_layer_\(i)", config: config, [x.json], kwargs: ["decoder_padding_mask": padding.json])
        }
        g.output(g.hub(norm, "sequence_output_layernorm", config: ["epsilon": .double(epsilon)], [x.json]))
    }

    /// Gemma and Gemma 2 (`GemmaBackbone`: soft caps, post norms and sliding windows as options).
    static func gemma(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        let epsilon = try a.optionalDouble("layer_norm_epsilon") ?? HubEpsilon.gemmaBackbone
        let hidden = try a.int("hidden_dim")
        let ids = g.input("token_ids", shape: [nil], dtype: "int32")
        var x = g.hub("ReversibleEmbedding", "token_embedding", [ids.json])
        // `x * ops.cast(ops.sqrt(hidden_dim), x.dtype)`: the square root of an int32 tensor, in float32.
        let scale: KerasJSON = .object(["class_name": .string("__tensor__"),
                                        "config": .object(["value": .double(Double(Float(hidden).squareRoot())), "dtype": .string("float32")])])
        x = g.operation("Multiply", "multiply", [x.json, scale])
        let padding = g.input("padding_mask", shape: [nil], dtype: "int32")
        let sliding = try a.has("use_sliding_window_attention") && a.bool("use_sliding_window_attention")
        for i in 0..<(try a.int("num_layers")) {
            var config: JSONObject = ["layer_norm_epsilon": .double(epsilon), "head_dim": .int(try a.int("head_dim")),
                                               "use_sliding_window_attention": .bool(sliding && i % 2 == 0)]
            if let v = a.config["attention_logit_soft_cap"] { config["logit_soft_cap"] = v }
            if let v = a.config["sliding_window_size"] { config["sliding_window_size"] = v }
            x = g.hub("GemmaDecoderBlock", "decoder_block_\(i)", config: config, [x.json], kwargs: ["padding_mask": padding.json])
        }
        g.output(g.hub("RMSNormalization", "final_normalization", config: ["epsilon": .double(epsilon)], [x.json]))
    }

    static func vit(_ a: KerasLayerConfig, _ g: inout HubGraph) throws {
        let shape = try a.ints("image_shape")
        let images = g.input("images", shape: shape, dtype: "float32")
        var patching: JSONObject = ["patch_size": .array(try a.ints("patch_size", count: 2).map { .int($0) })]
        for key in ["use_class_token", "data_format"] { if let v = a.config[key] { patching[key] = v } }
        let x = g.hub("ViTPatchingAndEmbedding", "vit_patching_and_embedding", config: patching, [images.json])
        var encoder: JSONObject = ["num_layers": .int(try a.int("num_layers"))]
        for key in ["layer_norm_epsilon", "attention_dropout"] { if let v = a.config[key] { encoder[key] = v } }
        g.output(g.hub("ViTEncoder", "vit_encoder", config: encoder, [x.json]))
    }
}
