import Foundation
import ParityCompare
import ParityFormats
import ParityTestSupport
import Testing

/// Two models of one framework (a re-export, a refactor, a port against the faithful one): paired and judged as
/// Keras ↔ PyTorch pairs are, the causes found operation by operation (weights, ATen arguments, Keras config
/// keys). Uses the port corpus's `.pt2` files: each naive twin against its faithful port.
@Suite struct SameFrameworkTests {
    static func compare(_ a: String, _ b: String, input model: String) throws -> Comparison {
        let root = PortCorpusTests.root
        let arrays = try NumpyArchive.read(contentsOf: root.appendingPathComponent("\(model)/input.npz"))
        return try Comparison.run(ComparedModel.load(root.appendingPathComponent(a).path), ComparedModel.load(root.appendingPathComponent(b).path),
                                  inputs: ModelInputs(named: try arrays.map { ($0.name, try $0.record.toTensor()) }))
    }

    @Test(arguments: [("dense_bn", "batchnorm-epsilon", "batch_norm (bn)"), ("mha_module", "layernorm-epsilon", "layer_norm (norm)"),
                      ("bilstm", "weights-differ", "getitem (lstm)")])
    func twinAgainstFaithfulPortIsNamed(model: String, cause: String, layer: String) throws {
        let c = try Self.compare("\(model)/faithful/torch.pt2", "\(model)/\(cause)/torch.pt2", input: model)
        #expect(c.verdict == .mismatch)
        #expect(CompareExitCode.of(c) == 1)
        let first = try #require(c.findings.first, "no finding; tested \(c.testedHypotheses)")
        #expect(first.cause.rawValue == cause, "\(c.findings.map(\.cause))")
        #expect(first.layer.hasPrefix(layer), "\(first.layer)")
        #expect(first.explains > 0.99)
    }

    /// `.pt2` ↔ `.pt2` with inputs in another layout or dtype (`scripts/make_pt2_pairs.py`): B gets A's input
    /// brought to its layout (NHWC → NCHW) and dtype (int32 → int64 token ids), and the report says so.
    @Test(arguments: [("image_nhwc", "image_nchw", "image", "'x' permuted [0, 3, 1, 2] (NHWC → NCHW) → [2, 3, 8, 8]"),
                      ("tokens_int32", "tokens_int64", "tokens", "'ids' int32 → int64 → [2, 6]")])
    func pt2InputsAreBroughtToBsLayoutAndDType(a: String, b: String, input: String, note: String) throws {
        let root = Fixtures.root.appendingPathComponent("compare_pt2")
        let x = try NumpyArray.read(contentsOf: root.appendingPathComponent("\(input).npy")).toTensor()
        let c = try Comparison.run(ComparedModel.load(root.appendingPathComponent("\(a).pt2").path),
                                   ComparedModel.load(root.appendingPathComponent("\(b).pt2").path), input: x)
        #expect(c.inputs.map(\.note) == [note])
        #expect(c.verdict == .match, "\(c.findings.map(\.message))")
        #expect(!c.layers.isEmpty && !c.layers.contains { $0.diverges })
        #expect(c.outputs.allSatisfy { $0.metrics?.maxAbs == 0 })
    }

    @Test(arguments: ["dense_bn/faithful/torch.pt2", "mha_module/keras.keras", "bilstm/keras.keras"])
    func aModelAgainstItselfMatches(_ path: String) throws {
        let c = try Self.compare(path, path, input: String(path.split(separator: "/")[0]))
        #expect(c.verdict == .match)
        #expect(!c.layers.isEmpty && !c.layers.contains { $0.diverges })
        #expect(c.findings.map(\.cause) == [.floatNoise])
    }
}
