import Foundation
import Testing
import ParityConvert
import ParityKeras
import ParityTorch

/// The proof's memory: each side runs alone, holding its intermediate values only until their last
/// reader; a side that cannot fit in its bound is refused (before running, from the plan) or stopped
/// (while running), with a ``ConvertError/proofMemory(side:weights:intermediates:limit:at:)`` naming
/// what it needs.
@Suite("Conversion proof memory")
struct ConversionProofTests {
    static let shape = [1, 512], activation = 512 * 4

    /// `h1 = relu(x)`, `depth` alternating neg / tanh / `relu_` nodes, `y = h1 + h_depth`, and a
    /// Linear(512, 512) weight so that both sides have weights.
    static func chain(depth: Int) throws -> TorchProgram {
        var nodes: [TorchNode] = []
        var meta = ["x": TorchTensorMeta(scalarType: 7, shape: shape)]
        func node(_ target: String, _ arguments: [(name: String, value: TorchArgument)], _ output: String) {
            nodes.append(TorchNode(target: target, name: output, arguments: arguments, outputs: [output], moduleStack: []))
            meta[output] = TorchTensorMeta(scalarType: 7, shape: shape)
        }
        node("aten.linear.default", [("input", .tensor("x")), ("weight", .tensor("p_w")), ("bias", .tensor("p_b"))], "h0")
        node("aten.relu.default", [("self", .tensor("h0"))], "h1")
        for i in 2...depth {
            node(i % 3 == 0 ? "aten.relu_.default" : i % 2 == 0 ? "aten.neg.default" : "aten.tanh.default", [("self", .tensor("h\(i - 1)"))], "h\(i)")
        }
        node("aten.add.Tensor", [("self", .tensor("h1")), ("other", .tensor("h\(depth)"))], "y")
        let kernel: [Float] = (0..<(512 * 512)).map { (i: Int) -> Float in Float((i * 7919) % 1000) / 20_000 - 0.025 }
        let bias: [Float] = (0..<512).map { (i: Int) -> Float in Float(i % 13) / 100 }
        let weights = ["fc.weight": Tensor(shape: [512, 512], values: kernel), "fc.bias": Tensor(shape: [512], values: bias)]
        return try TorchProgram(source: "chain", graph: ExportedGraph(inputs: ["x", "p_w", "p_b"], nodes: nodes, outputs: ["y"], tensorMeta: meta),
                                inputs: [.init(name: "x", kind: .userInput), .init(name: "p_w", kind: .parameter(fqn: "fc.weight")),
                                         .init(name: "p_b", kind: .parameter(fqn: "fc.bias"))],
                                outputs: ["y"], weights: weights)
    }

    static func converted(_ program: TorchProgram) throws -> KerasModel {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-proof-\(UUID().uuidString).keras")
        defer { try? FileManager.default.removeItem(at: url) }
        try TorchToKeras.convert(program, name: "chain").archive().write(to: url)
        return try KerasModel.load(url)
    }

    static let input = Tensor(shape: shape, values: (0..<512).map { (i: Int) -> Float in Float(i % 11) / 5 - 1 })

    @Test("each side of a 60-node chain holds at most 4 activations (61 before values were dropped), and the proof passes")
    func bounded() throws {
        let program = try Self.chain(depth: 60)
        let source = try ConversionProof.run(program, inputs: [Self.input], within: .available)
        let converted = try ConversionProof.run(Self.converted(program), inputs: [Self.input], within: .available)
        #expect(source.weightBytes == (512 * 512 + 512) * 4)
        #expect(converted.weightBytes == source.weightBytes)
        #expect(source.peakIntermediateBytes <= 4 * Self.activation, "PyTorch side held \(source.peakIntermediateBytes)")
        #expect(converted.peakIntermediateBytes <= 4 * Self.activation, "Keras side held \(converted.peakIntermediateBytes)")
        let proof = try ConversionProof(converted: converted, source: source, direction: .torchToKeras)
        #expect(proof.passed, "\(proof)")
        #expect(proof.description.contains("intermediate values held at most: Keras"))
    }

    @Test("a side that cannot fit is refused before running (PyTorch, from the plan) or stopped while running (Keras), saying what it needs")
    func refused() throws {
        let program = try Self.chain(depth: 60)
        let weights = program.weightBytes
        // Room for the weights and two activations; each side needs three or four.
        let bound = ProofMemory.bytes(weights + 2 * Self.activation)
        #expect(throws: ConvertError.proofMemory(side: "PyTorch", weights: weights, intermediates: program.plannedWorkingSet(), limit: 2 * Self.activation, at: nil)) {
            try ConversionProof.run(program, inputs: [Self.input], within: bound)
        }
        do {
            _ = try ConversionProof.run(Self.converted(program), inputs: [Self.input], within: bound)
            Issue.record("the Keras side ran beyond its bound")
        } catch let error as ConvertError {
            guard case let .proofMemory(side, _, reached, limit, at) = error else { Issue.record("\(error)"); return }
            #expect(side == "Keras" && limit == 2 * Self.activation && reached > limit && at != nil)
            #expect(error.description.contains("cannot run the Keras side within memory"), "\(error)")
        }
    }
}
