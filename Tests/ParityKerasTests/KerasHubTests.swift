import Foundation
import Testing
import ParityKeras
import ParityTestSupport

/// KerasHub backbones rebuilt from their constructor arguments, and classes Parity refuses because
/// their behaviour is Python code. (The backbones' outputs are checked in KerasZooTests.)
@Suite("KerasHub and Python-only classes")
struct KerasHubTests {
    struct NoWeights: KerasWeightSource {
        func weights(for layer: KerasLayerLocation) throws -> [Tensor] { [] }
    }

    static func functional(_ layer: JSONValue) -> JSONValue {
        let input: JSONValue = .object(["class_name": .string("InputLayer"), "module": .string("keras.layers"), "name": .string("x"),
                                        "config": .object(["name": .string("x"), "batch_shape": .array([.null, .int(3)]), "dtype": .string("float32")]),
                                        "inbound_nodes": .array([])])
        return .object(["class_name": .string("Functional"), "config": .object([
            "name": .string("m"), "layers": .array([input, layer]),
            "input_layers": .array([.array([.string("x"), .int(0), .int(0)])]),
            "output_layers": .array([.array([.string("y"), .int(0), .int(0)])])])])
    }

    static func call(_ className: String, module: String, registered: String? = nil, config: JSONObject = [:]) -> JSONValue {
        var fields = config
        fields["name"] = .string("y")
        let x: JSONValue = .object(["class_name": .string("__keras_tensor__"), "config": .object(["keras_history": .array([.string("x"), .int(0), .int(0)])])])
        return .object(["class_name": .string(className), "module": .string(module), "registered_name": registered.map { .string($0) } ?? .null,
                        "name": .string("y"), "config": .object(fields),
                        "inbound_nodes": .array([.object(["args": .array([x]), "kwargs": .object([:])])])])
    }

    static func message(_ config: JSONValue) -> String? {
        do {
            _ = try KerasNetwork(config: config, weights: NoWeights())
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a Lambda layer is refused with its name, class and why")
    func lambda() throws {
        let text = try #require(Self.message(Self.functional(Self.call("Lambda", module: "keras.layers", config: ["function": .object([:])]))))
        #expect(text.contains("'y'") && text.contains("Lambda") && text.contains("Python bytecode"), "\(text)")
    }

    @Test("a custom class is refused with its module and registered name")
    func custom() throws {
        let text = try #require(Self.message(Self.functional(Self.call("Frobnicate", module: "my_project.layers", registered: "Custom>Frobnicate"))))
        #expect(text.contains("Frobnicate") && text.contains("my_project.layers") && text.contains("Custom>Frobnicate") && text.contains("Python code"), "\(text)")
    }

    @Test("a KerasHub backbone without a builder is refused naming those Parity rebuilds")
    func unknownBackbone() throws {
        let config: JSONValue = .object(["class_name": .string("T5Backbone"), "module": .string("keras_hub.src.models.t5.t5_backbone"),
                                         "config": .object(["name": .string("t5"), "vocabulary_size": .int(10)])])
        let text = try #require(Self.message(config))
        #expect(text.contains("T5Backbone") && text.contains("constructor arguments") && text.contains("BertBackbone"), "\(text)")
    }

    @Test("a backbone's config rebuilds the graph KerasHub builds (layer order fixes the saved names)")
    func bertGraph() throws {
        let config: JSONValue = .object(["class_name": .string("BertBackbone"), "module": .string("keras_hub.src.models.bert.bert_backbone"),
                                         "config": .object(["name": .string("bert"), "vocabulary_size": .int(10), "num_layers": .int(2),
                                                            "num_heads": .int(2), "hidden_dim": .int(4), "intermediate_dim": .int(8),
                                                            "max_sequence_length": .int(6)])])
        let graph = try #require(try KerasHub.functionalConfig(config))
        let layers = graph["config"]?["layers"]?.array ?? []
        #expect(layers.compactMap { $0["name"]?.string } == ["token_ids", "token_embedding", "segment_ids", "position_embedding", "segment_embedding",
                                                             "embeddings_add", "embeddings_layer_norm", "embeddings_dropout", "padding_mask",
                                                             "transformer_layer_0", "transformer_layer_1", "get_item", "pooled_dense"])
        #expect(graph["config"]?["output_layers"]?["pooled_output"] == .array([.string("pooled_dense"), .int(0), .int(0)]))
    }
}
