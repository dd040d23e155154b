import Foundation
import Testing
import ParityConvert
import ParityKeras
import ParityTestSupport
import ParityTorch

/// PyTorch programs converted to Keras archives: written, read back by ParityKeras with identical
/// weights, proven equal to the program (and to PyTorch's own outputs); a planted conversion mistake
/// is caught; nodes without an exact Keras equivalent are refused by node, operator and module.
@Suite("PyTorch → Keras")
struct TorchToKerasTests {
    static func temporaryArchive() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("parity-torch-keras-\(UUID().uuidString).keras")
    }

    /// Writes `conversion`'s archive, reads it back and proves it against `program` on `inputs`.
    static func prove(_ conversion: TorchToKeras.Conversion, _ program: TorchProgram, _ inputs: [Tensor]) throws -> (KerasModel, ConversionProof) {
        let url = temporaryArchive()
        defer { try? FileManager.default.removeItem(at: url) }
        try conversion.archive().write(to: url)
        let keras = try KerasModel.load(url)
        return (keras, try ConversionProof(keras: keras, program: program, inputs: inputs))
    }

    /// Fixtures converted with a lower limit for inline constants, so that a small file has a stored one.
    static let constantLimits = ["convert_timm_forms": 512]

    @Test("the written archive reloads with identical weights and reproduces the program (and PyTorch's outputs)",
          arguments: TorchProgramCase.convertible)
    func converts(_ fixture: TorchProgramCase) throws {
        let program = try fixture.program()
        let inputs = try fixture.inputs(program)
        let conversion = try TorchToKeras.convert(program, name: fixture.name, inlineConstantLimit: Self.constantLimits[fixture.name] ?? TorchToKeras.inlineConstantLimit)
        let (keras, proof) = try Self.prove(conversion, program, inputs)
        #expect(proof.passed, "\(fixture.name): \(proof)")
        for layer in conversion.model.layers where !layer.weights.isEmpty {
            let loaded = try #require(keras.network.layers.first { $0.name == layer.name }, "\(layer.name)")
            #expect(loaded.weights == layer.weights.map(\.tensor), "\(fixture.name)/\(layer.name): weights differ after reloading")
        }
        if let real = try fixture.torchOutputs() {
            let outputs = try keras.run(inputs, mode: .eager, dtype: .float32)
            let check = try ConversionProof(converted: outputs, source: real, direction: .torchToKeras)
            #expect(check.passed, "\(fixture.name) vs the real PyTorch: \(check)")
        }
        let committed = fixture.folder.appendingPathComponent("model.keras")
        if ModelFixtures.record {
            try FileManager.default.createDirectory(at: fixture.folder, withIntermediateDirectories: true)
            try conversion.archive().write(to: committed)
            let names = program.userInputs.map(\.name)
            try NumpyArchive.write(zip(names, inputs).map { (name: $0, record: ArrayRecord($1)) }, to: fixture.folder.appendingPathComponent("inputs.npz"))
            try Data((fixture.path + "\n").utf8).write(to: fixture.folder.appendingPathComponent("source.txt"))
        } else {
            // The committed archive (checked in the real Keras) is what the converter writes today.
            let saved = try KerasModel.load(committed)
            #expect(saved.network.layers.map(\.className) == keras.network.layers.map(\.className), "\(fixture.name): regenerate with PARITY_RECORD=1")
            #expect(saved.network.layers.map(\.weights) == keras.network.layers.map(\.weights), "\(fixture.name): regenerate with PARITY_RECORD=1")
        }
    }

    @Test("the real Keras reproduces PyTorch on every committed archive (scripts/verify_torch_to_keras.py)")
    func verifiedInRealKeras() throws {
        let verified = try Fixtures.json("convert/torch_to_keras/verified.json")
        #expect(verified["keras"]?.string == "3.15.1" && verified["torch"]?.string?.hasPrefix("2.") == true)
        #expect(verified["bound"]?.double == 1e-5 && verified["all_within_bound"]?.bool == true)
        for fixture in TorchProgramCase.convertible {
            let entry = try #require(verified["models"]?[fixture.name], "\(fixture.name) is not verified: run the script")
            #expect(entry["source"]?.string == fixture.path)
            #expect(entry["within_bound"]?.bool == true && entry["assert_close_float32"]?.bool == true, "\(fixture.name): \(entry)")
        }
    }

    /// A mistake a hand port makes, planted in one converted Keras weight or setting.
    enum Mistake: String, Sendable {
        /// `kernel = weight.reshape(kernel.shape)` in place of the transpose / permute.
        case reshapeInsteadOfTranspose
        /// GRU gate blocks left in PyTorch's `[r, z, n]` order (transposed only).
        case gatesInTorchOrder
        /// Keras's default BatchNormalization epsilon (1e-3) instead of the program's.
        case defaultEpsilon
    }

    @Test("the proof catches a planted conversion mistake",
          arguments: [("keras_cnn", "fc", Mistake.reshapeInsteadOfTranspose), ("keras_cnn", "stem", .reshapeInsteadOfTranspose),
                      ("keras_sequence", "lstm", .reshapeInsteadOfTranspose), ("keras_sequence", "gru", .gatesInTorchOrder),
                      ("example_conv_bn_dense_batchnorm_epsilon", "bn", .defaultEpsilon)])
    func plantedMistake(_ name: String, _ layerName: String, _ mistake: Mistake) throws {
        let fixture = TorchProgramCase.get(name)
        let program = try fixture.program()
        var conversion = try TorchToKeras.convert(program, name: name)
        let index = try #require(conversion.model.layers.firstIndex { $0.name == layerName })
        var layer = conversion.model.layers[index]
        let source = try #require(program.weights[layer.weights[0].sources[0]]).cast(to: .float32)
        switch mistake {
        case .reshapeInsteadOfTranspose: layer.weights[0].tensor = try source.reshaped(layer.weights[0].tensor.shape)
        case .gatesInTorchOrder: layer.weights[1].tensor = try #require(program.weights[layer.weights[1].sources[0]]).cast(to: .float32).transposedMatrix()
        case .defaultEpsilon:
            #expect(layer.config["epsilon"] != .double(1e-3))
            layer.config["epsilon"] = .double(1e-3)
        }
        conversion.model.layers[index] = layer
        let (_, proof) = try Self.prove(conversion, program, try fixture.inputs(program))
        #expect(!proof.passed, "\(name) with \(layerName) (\(mistake)): \(proof)")
        #expect(proof.description.contains("BEYOND"))
    }

    @Test("a node without an exact Keras equivalent is refused, naming the node, its operator and its module",
          arguments: [
              ("Tests/Fixtures/torch/conv_transpose.pt2", "conv_transpose1d_2", "aten.conv_transpose1d.default", "t1",
               "torch.nn.modules.conv.ConvTranspose1d", "expects a batched (N, C, spatial…) input"),
              ("Tests/Fixtures/torch/refused_lstm_projection.pt2", "lstm", "aten.lstm.input", "lstm", "torch.nn.modules.rnn.LSTM",
               "Keras's LSTM has no projection"),
              ("Tests/Fixtures/torch/refused_view_write.pt2", "fill_", "aten.fill_.Scalar", "", "__main__.RefusedViewWrite",
               "'mul' shares its storage with 'transpose' and is read later"),
              ("Tests/Fixtures/torch/pooling.pt2", "max_pool2d_2", "aten.max_pool2d.default", "", "__main__.Pooling", "dilation [2, 1]"),
          ])
    func refused(_ path: String, _ node: String, _ target: String, _ modulePath: String, _ moduleClass: String, _ reason: String) throws {
        let program = try TorchProgram.load(TorchProgramCase.repository.appendingPathComponent(path))
        let error = try #require(throws: ConvertError.self) { try TorchToKeras.convert(program, name: "refused") }
        guard case let .unsupportedNode(n, t, p, k, why) = error else { Issue.record("\(error)"); return }
        #expect((n, t, p, k) == (node, target, modulePath, moduleClass))
        #expect(why.contains(reason), "\(why)")
        #expect("\(error)".hasPrefix("node '\(node)' (\(target)) in module '\(modulePath.isEmpty ? "<root>" : modulePath)' (\(moduleClass)) cannot be converted to Keras: "))
    }

    @Test("a node no layer computes becomes a Keras operation node, written as Keras 3 saves one")
    func operationNodes() throws {
        let model = try TorchToKeras.convert(TorchProgramCase.get("example_attention_block_faithful").program(), name: "attention").model
        let entries = model.config["config"]?["layers"]?.array ?? []
        let matmul = try #require(entries.first { $0["class_name"]?.string == "Matmul" }, "no Matmul node in \(entries.compactMap { $0["class_name"]?.string })")
        #expect(matmul["module"]?.string == "keras.src.ops.numpy" && matmul["registered_name"]?.string == "Matmul")
        #expect(matmul["config"]?["trainable"] == nil && matmul["config"]?["dtype"] == nil, "an operation's config holds its constructor arguments only")
        let args = matmul["inbound_nodes"]?.array?.first?["args"]?.array ?? []
        #expect(args.count == 2 && args.allSatisfy { $0["class_name"]?.string == "__keras_tensor__" })
        // Listed as Keras's map_graph orders them: every layer after the layers it reads.
        let position = Dictionary(uniqueKeysWithValues: model.layers.enumerated().map { ($1.name, $0) })
        for layer in model.layers { #expect(layer.inputs.allSatisfy { position[$0.layer]! < position[layer.name]! }) }
    }

    @Test("a write into a slice or select of a tensor read later (MViTv2's attn[:, :, 1:, 1:] = …) rebuilds the tensor: GetItem blocks and the new part joined by Concatenate")
    func viewWrites() throws {
        let fixture = TorchProgramCase.get("convert_view_writes")
        let program = try fixture.program()
        #expect(program.graph.nodes.contains { $0.target == "aten.copy_.default" } && program.graph.nodes.contains { $0.target == "aten.fill_.Scalar" })
        let conversion = try TorchToKeras.convert(program, name: "writes")
        let classes = conversion.model.layers.map(\.className)
        // One join per view: attn (2 slices), attn[:, 0] += 1 (add_, then its copy_ back: 1 each), y's fill_ (2 slices) and copy_ (2 selects), z's fill_ (1).
        #expect(classes.filter { $0 == "Concatenate" }.count == 9, "\(classes)")
        #expect(classes.contains("ExpandDims"))
        let (_, proof) = try Self.prove(conversion, program, try fixture.inputs(program))
        #expect(proof.passed, "\(proof)")
    }

    @Test("in-place overloads are ParityTorch's (ATenTable.isInPlace): `a |= b` converts as a write of `__or__`, `a & b` is no write into `a`")
    func inPlaceOverloads() throws {
        // m = a & b; a |= b; y = m + a — PyTorch gives y = (a & b) + (a | b).
        let shape = [1, 6]
        var meta: [String: TorchTensorMeta] = [:]
        var nodes: [TorchNode] = []
        for name in ["a", "b", "m", "w", "y"] { meta[name] = TorchTensorMeta(scalarType: 5, shape: shape) }
        func node(_ target: String, _ x: String, _ y: String, _ output: String) {
            nodes.append(TorchNode(target: target, name: output, arguments: [("self", .tensor(x)), ("other", .tensor(y))], outputs: [output], moduleStack: []))
        }
        node("aten.__and__.Tensor", "a", "b", "m")
        node("aten.__ior__.Tensor", "a", "b", "w")
        node("aten.add.Tensor", "m", "a", "y")
        let program = try TorchProgram(source: "in_place", graph: ExportedGraph(inputs: ["a", "b"], nodes: nodes, outputs: ["y"], tensorMeta: meta),
                                       inputs: [.init(name: "a", kind: .userInput), .init(name: "b", kind: .userInput)], outputs: ["y"], weights: [:])
        let a = Tensor(shape: shape, int64: [0, 1, 2, 3, 12, 5]), b = Tensor(shape: shape, int64: [1, 1, 6, 8, 10, 0])
        let (keras, proof) = try Self.prove(TorchToKeras.convert(program, name: "in_place"), program, [a, b])
        #expect(proof.passed, "\(proof)")
        let y = try keras.run([a, b], mode: .eager, dtype: .float32)[0]
        #expect(y.doubles == [1, 2, 8, 11, 22, 5], "\(y.doubles)")
    }

    @Test("a node computing a complex tensor is refused, naming the dtype from ParityTorch's ScalarTypes; integer inputs keep their Keras dtype")
    func complexAndIntegerDTypes() throws {
        let meta = ["x": TorchTensorMeta(scalarType: 7, shape: [1, 4, 2]), "z": TorchTensorMeta(scalarType: 10, shape: [1, 4])]
        let node = TorchNode(target: "aten.view_as_complex.default", name: "z", arguments: [("self", .tensor("x"))], outputs: ["z"], moduleStack: [])
        let program = try TorchProgram(source: "complex", graph: ExportedGraph(inputs: ["x"], nodes: [node], outputs: ["z"], tensorMeta: meta),
                                       inputs: [.init(name: "x", kind: .userInput)], outputs: ["z"], weights: [:])
        #expect { _ = try TorchToKeras.convert(program, name: "complex") } throws: {
            "\($0)".contains("complex64 tensor") && "\($0)".contains("aten.view_as_complex.default")
        }
        // uint8 (1), int16 (3), int32 (4), bool (12) inputs: the Keras input layers' dtypes.
        for (code, name) in [(1, "uint8"), (3, "int16"), (4, "int32"), (12, "bool")] {
            let alias = TorchNode(target: "aten.alias.default", name: "y", arguments: [("self", .tensor("x"))], outputs: ["y"], moduleStack: [])
            let graph = ExportedGraph(inputs: ["x"], nodes: [alias], outputs: ["y"],
                                      tensorMeta: ["x": TorchTensorMeta(scalarType: code, shape: [1, 3]), "y": TorchTensorMeta(scalarType: code, shape: [1, 3])])
            let typed = try TorchProgram(source: name, graph: graph, inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
            let input = try #require(TorchToKeras.convert(typed, name: name).model.layers.first { $0.className == "InputLayer" })
            #expect(input.config["dtype"]?.string == name, "\(name): \(input.config)")
        }
    }

    @Test("pooling windows are ParityTorch's (TorchPoolingWindows): adaptive average to a size that does not divide the input, max pool with padding and ceil_mode, ceil_mode windows that are Keras's `same`")
    func poolingWindows() throws {
        let shape = [1, 2, 7, 8]
        let cases: [(String, [(String, TorchArgument)], [Int])] = [
            ("aten.adaptive_avg_pool2d.default", [("output_size", .ints([3, 5]))], [1, 2, 3, 5]),
            ("aten.max_pool2d.default", [("kernel_size", .ints([3, 3])), ("stride", .ints([2, 2])), ("padding", .ints([1, 1])), ("ceil_mode", .bool(true))], [1, 2, 4, 5]),
            ("aten.max_pool2d.default", [("kernel_size", .ints([2, 3])), ("stride", .ints([2, 2])), ("ceil_mode", .bool(true))], [1, 2, 4, 4]),
        ]
        let x = Tensor(shape: shape, values: (0..<112).map { Float(($0 * 37) % 23) / 7 - 1.5 })
        for (target, arguments, output) in cases {
            let node = TorchNode(target: target, name: "y", arguments: [("self", .tensor("x"))] + arguments.map { (name: $0.0, value: $0.1) }, outputs: ["y"], moduleStack: [])
            let meta = ["x": TorchTensorMeta(scalarType: 7, shape: shape), "y": TorchTensorMeta(scalarType: 7, shape: output)]
            let program = try TorchProgram(source: "pool", graph: ExportedGraph(inputs: ["x"], nodes: [node], outputs: ["y"], tensorMeta: meta),
                                           inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
            #expect(try program.run([x], mode: .eager)[0].shape == output, "\(target) \(arguments)")
            let conversion = try TorchToKeras.convert(program, name: "pool")
            let (_, proof) = try Self.prove(conversion, program, [x])
            #expect(proof.passed, "\(target) \(arguments): \(proof)")
            let layers = conversion.model.layers.map { "\($0.className) \($0.config["padding"]?.string ?? "")" }
            let expected = ["Matmul ", "MaxPooling2D valid", "MaxPooling2D same"][cases.firstIndex { $0.2 == output }!]
            #expect(layers.contains(expected), "\(target) \(arguments): \(layers)")
        }
    }

    @Test("nn.RNN (rnn_tanh / rnn_relu) → SimpleRNN with that activation, bidirectional as Bidirectional(SimpleRNN); the summed bias is a stated rounding")
    func simpleRNN() throws {
        let conversion = try TorchToKeras.convert(TorchProgramCase.get("convert_rnn").program(), name: "rnn")
        let layers = conversion.model.layers
        let activations = layers.filter { $0.className == "SimpleRNN" }.map { $0.config["activation"]?.string }
        #expect(activations == ["relu", "tanh"], "\(activations)")
        let bidirectional = layers.filter { $0.className == "Bidirectional" }
        #expect(bidirectional.count == 2 && bidirectional.allSatisfy { $0.config["layer"]?["class_name"]?.string == "SimpleRNN" })
        #expect(layers.allSatisfy { $0.config["recurrent_activation"] == nil || $0.className != "SimpleRNN" })
        // Two biased layers of the bidirectional RNN and the relu one; the bias-free one is exact.
        #expect(conversion.notes.count == 3 && conversion.notes.allSatisfy { $0.contains("bias_ih + bias_hh") }, "\(conversion.notes)")
    }

    @Test("initial states (graph inputs, a learned h0, a computed h0) → each layer's slice as Keras's initial_state, the call's second positional argument")
    func initialStates() throws {
        let conversion = try TorchToKeras.convert(TorchProgramCase.get("convert_rnn_states").program(), name: "states")
        let entries = conversion.model.config["config"]?["layers"]?.array ?? []
        func args(_ name: String) -> [KerasJSON] { entries.first { $0["name"]?.string == name }?["inbound_nodes"]?.array?.first?["args"]?.array ?? [] }
        // Bidirectional LSTM layers: forward's [h, c] then backward's, each a Take of h0 / c0 by layer·2 + direction.
        for name in ["lstm", "lstm_l1", "gru", "rnn"] {
            let states = args(name).dropFirst().first?.array ?? []
            #expect(args(name).count == 2 && states.count == (name.hasPrefix("lstm") ? 4 : 1), "\(name): \(args(name))")
            #expect(states.allSatisfy { $0["class_name"]?.string == "__keras_tensor__" })
        }
        let takes = conversion.model.layers.filter { $0.className == "Take" && $0.name.hasPrefix("lstm") }
        #expect(takes.compactMap { $0.arguments?.last.flatMap { if case .constant(let k) = $0 { return k.int } else { return nil } } } == [0, 0, 1, 1, 2, 2, 3, 3])
        // The learned h0 is a stored constant (an Embedding row read at index 0), not a graph input.
        #expect(conversion.model.inputs.count == 3 && conversion.model.layers.contains { $0.className == "Embedding" && $0.name.hasPrefix("gru") })
    }

    @Test("nn.LSTM(num_layers=2, bidirectional=True): consecutive Bidirectional(LSTM, merge_mode=concat) layers, the weights of each direction through the parameter table, h_n and c_n stacked in PyTorch's order")
    func bidirectionalStacked() throws {
        let conversion = try TorchToKeras.convert(TorchProgramCase.get("convert_bilstm").program(), name: "bilstm")
        let recurrent = conversion.model.layers.filter { $0.className == "Bidirectional" }
        #expect(recurrent.map(\.name) == ["lstm", "lstm_l1"])
        #expect(recurrent[1].inputs.map(\.layer) == ["lstm"] && recurrent[1].inputs.map(\.tensor) == [0], "the second layer reads the first one's sequence")
        for layer in recurrent {
            #expect(layer.config["merge_mode"] == .string("concat"))
            #expect(layer.config["layer"]?["config"]?["go_backwards"] == .bool(false) && layer.config["backward_layer"]?["config"]?["go_backwards"] == .bool(true))
            #expect(layer.config["layer"]?["class_name"] == .string("LSTM") && layer.config["layer"]?["config"]?["units"] == .int(4))
        }
        // Forward then reverse, each kernel, recurrent kernel and summed bias.
        let suffix = ["l1", "l1_reverse"]
        #expect(recurrent[1].weights.map(\.sources) == suffix.flatMap { s in [["lstm.weight_ih_\(s)"], ["lstm.weight_hh_\(s)"], ["lstm.bias_ih_\(s)", "lstm.bias_hh_\(s)"]] })
        #expect(recurrent[1].weights.map(\.tensor.shape) == [[8, 16], [4, 16], [16], [8, 16], [4, 16], [16]])
        #expect(conversion.notes == ["lstm: Keras bias = bias_ih + bias_hh, exact up to the rounding of that Float32 sum",
                                     "lstm_l1: Keras bias = bias_ih + bias_hh, exact up to the rounding of that Float32 sum"])
        // c_n (output 3): the four final cell states, joined on the layer·direction axis.
        let states = try #require(conversion.model.layers.first { $0.className == "Concatenate" })
        #expect(states.inputs.count == 4 && states.config["axis"] == .int(1))
    }

    @Test("conventions carried over as values: epsilon, momentum, slope, axis, padding, gate order")
    func conventions() throws {
        let cnn = try TorchToKeras.convert(TorchProgramCase.get("keras_cnn").program(), name: "cnn").model
        func config(_ name: String) throws -> JSONObject { try #require(cnn.layers.first { $0.name == name }).config }
        #expect(try config("bn")["epsilon"] == .double(1e-3) && config("bn")["momentum"] == .double(0.95) && config("bn")["axis"] == .int(3))
        #expect(try config("stem")["padding"] == .string("same"))
        #expect(try config("down")["padding"] == .string("valid"))
        #expect(cnn.layers.contains { $0.name == "down_pad" && $0.className == "ZeroPadding2D" })
        #expect(try config("dw")["depth_multiplier"] == .int(2))
        #expect(try config("pool")["padding"] == .string("same"))
        #expect(try config("relu6")["max_value"] == .double(6))
        #expect(cnn.layers.contains { $0.className == "LeakyReLU" && $0.config["negative_slope"] == .double(0.1) })
        let sequence = try TorchToKeras.convert(TorchProgramCase.get("keras_sequence").program(), name: "sequence")
        #expect(sequence.notes == ["lstm: Keras bias = bias_ih + bias_hh, exact up to the rounding of that Float32 sum"])
        let gru = try #require(sequence.model.layers.first { $0.name == "gru" })
        #expect(gru.config["reset_after"] == .bool(true))
        #expect(gru.weights.map(\.transform) == ["gate blocks [r, z, n] → [z, r, h], transpose", "gate blocks [r, z, n] → [z, r, h], transpose",
                                                 "each gate blocks [r, z, n] → [z, r, h], rows [bias_ih_l0, bias_hh_l0]"])
        #expect(try #require(sequence.model.layers.first { $0.name == "norm" }).config["epsilon"] == .double(1e-6))
    }
}
