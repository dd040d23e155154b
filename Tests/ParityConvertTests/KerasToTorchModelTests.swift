import Foundation
import Testing
import ParityConvert
import ParityKeras
import ParityTestSupport

/// Whole Keras models: converted, proven in Parity, checked against the real Keras's outputs; the
/// proof catches a planted conversion mistake; a model with an unsupported layer is refused by name.
@Suite("Keras → PyTorch, whole models")
struct KerasToTorchModelTests {
    @Test("the converted model reproduces Keras (the proof, and the real Keras's outputs)", arguments: ModelFixtures.names)
    func model(_ name: String) throws {
        let conversion = try ModelFixtures.convert(name)
        let proof = try ConversionProof(module: conversion.module, inputs: conversion.inputs, kerasOutputs: conversion.kerasOutputs)
        #expect(proof.passed, "\(name): \(proof)")
        let torch = try conversion.module.program().run(conversion.inputs, mode: .eager, dtype: .float32)
        let real = try ConversionProof(torch: torch, keras: ModelFixtures.kerasOutputs(name))
        #expect(real.passed, "\(name) vs the real Keras: \(real)")
    }

    /// A mistake a hand port makes, planted in one converted parameter (each keeps the shape).
    enum Mistake: String, CaseIterable, Sendable {
        /// `weight.copy_(kernel.reshape(weight.shape))` in place of the transpose / permute.
        case reshapeInsteadOfTranspose
        /// GRU gate blocks left in Keras's `[z, r, h]` order (transposed only).
        case gatesInKerasOrder
    }

    @Test("the proof catches a planted conversion mistake",
          arguments: [("convnet", "fc.weight", Mistake.reshapeInsteadOfTranspose), ("convnet", "conv_a.weight", .reshapeInsteadOfTranspose),
                      ("recurrent", "lstm.weight_ih_l0", .reshapeInsteadOfTranspose), ("mlp", "dense.weight", .reshapeInsteadOfTranspose),
                      ("recurrent", "gru.weight_hh_l0", .gatesInKerasOrder)])
    func plantedMistake(_ name: String, _ key: String, _ mistake: Mistake) throws {
        let conversion = try ModelFixtures.convert(name)
        var module = conversion.module
        let index = try #require(module.parameters.firstIndex { $0.key == key })
        let converted = module.parameters[index].tensor
        let layer = String(key.split(separator: ".")[0])
        let keras = try #require(KerasModel.load(ModelFixtures.url(name)).network.layers.first { $0.name == layer })
        switch mistake {
        case .reshapeInsteadOfTranspose: module.parameters[index].tensor = try keras.weights[0].reshaped(converted.shape)
        case .gatesInKerasOrder: module.parameters[index].tensor = try keras.weights[1].transposedMatrix()
        }
        #expect(module.parameters[index].tensor.shape == converted.shape && module.parameters[index].tensor != converted)
        let proof = try ConversionProof(module: module, inputs: conversion.inputs, kerasOutputs: conversion.kerasOutputs)
        #expect(!proof.passed, "\(name) with \(key) (\(mistake)): \(proof)")
        #expect(proof.description.contains("BEYOND"))
    }

    @Test("a model with an unsupported layer is refused, naming the layer and its class (nested models searched too)")
    func unsupported() throws {
        let upsampling: JSONValue = .object(["class_name": .string("UpSampling3D"), "config": .object(["name": .string("up3d"), "size": .array([2, 2, 2].map { .int($0) })])])
        let inner: JSONValue = .object(["class_name": .string("Sequential"), "config": .object([
            "name": .string("inner"),
            "layers": .array([.object(["class_name": .string("InputLayer"), "config": .object(["name": .string("voxels"), "batch_shape": .array([.null, .int(2), .int(2), .int(2), .int(1)])])]), upsampling]),
        ])])
        let config = JSONValue.object(["class_name": .string("Sequential"), "config": .object([
            "name": .string("outer"),
            "layers": .array([.object(["class_name": .string("InputLayer"), "config": .object(["name": .string("input"), "batch_shape": .array([.null, .int(2), .int(2), .int(2), .int(1)])])]), inner]),
        ])])
        let network = try KerasNetwork(config: config, weights: LayerCase.Weights(tensors: []))
        let inputs = try KerasToTorch.exampleInputs(for: network)
        let error = ConvertError.unsupportedLayer(name: "up3d", className: "UpSampling3D", supported: KerasToTorch.supportedClasses)
        #expect(throws: error) { try KerasToTorch.convert(network, inputs: inputs, source: "outer", kerasVersion: nil) }
        #expect("\(error)".hasPrefix("layer 'up3d' (UpSampling3D) cannot be converted to PyTorch"))
    }

    @Test("a keras.ops node with no torch expression is refused, naming the node, the operation and why")
    func unsupportedOperation() throws {
        func tensor(_ layer: String) -> JSONValue {
            .object(["class_name": .string("__keras_tensor__"), "config": .object(["shape": .array([.null, .int(3)]), "dtype": .string("float32"),
                                                                                  "keras_history": .array([.string(layer), .int(0), .int(0)])])])
        }
        let input: JSONValue = .object(["class_name": .string("InputLayer"), "name": .string("x"),
                                        "config": .object(["name": .string("x"), "batch_shape": .array([.null, .int(3)]), "dtype": .string("float32")]),
                                        "inbound_nodes": .array([])])
        let sqrt: JSONValue = .object(["module": .string("keras.src.ops.numpy"), "class_name": .string("Sqrt"), "name": .string("root"),
                                       "config": .object(["name": .string("root")]),
                                       "inbound_nodes": .array([.object(["args": .array([tensor("x")]), "kwargs": .object([:])])])])
        let config: JSONValue = .object(["class_name": .string("Functional"), "config": .object([
            "name": .string("ops"), "layers": .array([input, sqrt]),
            "input_layers": .array([.array([.string("x"), .int(0), .int(0)])]), "output_layers": .array([.array([.string("root"), .int(0), .int(0)])]),
        ])])
        let network = try KerasNetwork(config: config, weights: LayerCase.Weights(tensors: []))
        let inputs = try KerasToTorch.exampleInputs(for: network)
        do {
            _ = try KerasToTorch.convert(network, inputs: inputs, source: "ops", kerasVersion: nil)
            Issue.record("a Sqrt operation node converted")
        } catch let error as ConvertError {
            #expect(error == .unsupportedOperation(name: "root", className: "Sqrt", module: "keras.src.ops.numpy",
                                                   reason: "Sqrt has no converter to a torch expression (converted: Add, Subtract, Multiply, Divide, TrueDivide, Maximum, Minimum with tensors or Python numbers, the Keras activations, the identities)"))
            #expect("\(error)".hasPrefix("operation node 'root' (Sqrt, keras.src.ops.numpy) cannot be converted to PyTorch: Sqrt has no converter"), "\(error)")
        }
    }

    @Test("seeded example inputs: the model's shapes, token ids below the embedding size")
    func exampleInputs() throws {
        let model = try KerasModel.load(ModelFixtures.url("recurrent"))
        let inputs = try KerasToTorch.exampleInputs(for: model.network, batch: 3, seed: 1)
        #expect(inputs.map(\.shape) == [[3, 9]])
        #expect(inputs[0].int64s!.allSatisfy { (0..<20).contains($0) })
        #expect(try KerasToTorch.exampleInputs(for: model.network, batch: 3, seed: 1)[0].int64s == inputs[0].int64s)
    }
}
