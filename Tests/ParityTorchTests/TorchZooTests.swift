import Foundation
import Testing
import ParityFormats
import ParityTestSupport
import ParityTorch
import ParityTensor
import ParityEngine

/// The committed subset of the PyTorch model zoo (`Tests/Fixtures/zoo/{torchvision,timm,transformers}/<name>/`,
/// written by `scripts/zoo/export_torch.py --committed`): models built by the libraries' own code with
/// random weights, exported with `torch.export.export` (no decompositions) and saved with
/// `torch.export.save`, run against PyTorch's own float32 outputs, each output within 1e-5 of its own
/// scale: `max |Δ| ≤ 1e-5 · max |PyTorch|`. (Stricter than `parity zoo`'s `max(1, ·)`: a random
/// MobileNetV3's logits are ~1e-7, where an absolute 1e-5 would hold for any output.)
@Suite("PyTorch model zoo subset")
struct TorchZooTests {
    static let root = Fixtures.root.appendingPathComponent("zoo")

    static let cases: [String] = ["torchvision", "timm", "transformers"].flatMap { source in
        let folder = root.appendingPathComponent(source)
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted().map { "\(source)/\($0)" }
    }

    @Test("torchvision, timm and transformers models match PyTorch within 1e-5", arguments: cases)
    func model(_ name: String) throws {
        let folder = Self.root.appendingPathComponent(name)
        let program = try TorchProgram.load(folder.appendingPathComponent("model.pt2"))
        let arrays = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("input.npz"))
        let inputs = try program.userInputs.map { input in
            guard let entry = arrays.first(where: { $0.name == input.name }) else { throw FixtureError.malformed("input.npz has no \(input.name)") }
            return try entry.record.toTensor()
        }
        let outputs = try program.run(inputs, mode: .eager, dtype: .float32)
        let expected = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("expected.npz"))
        try #require(outputs.count == expected.count, "\(outputs.count) outputs, PyTorch \(expected.count)")
        for (i, output) in outputs.enumerated() {
            guard let entry = expected.first(where: { $0.name == "output\(i)" }) else { throw FixtureError.malformed("expected.npz has no output\(i)") }
            let reference = try entry.record.toTensor()
            try #require(output.shape == reference.shape, "output \(i): shape \(output.shape), PyTorch \(reference.shape)")
            let scale = reference.doubles.reduce(0.0) { $1.isFinite ? max($0, abs($1)) : $0 }
            let worst = zip(output.doubles, reference.doubles).reduce(0.0) { m, pair in
                pair.0 == pair.1 || (pair.0.isNaN && pair.1.isNaN) ? m : max(m, abs(pair.0 - pair.1).isNaN ? .infinity : abs(pair.0 - pair.1))
            }
            #expect(worst <= 1e-5 * scale, "\(name) output \(i): max |Δ| \(worst), bound \(1e-5 * scale)")
        }
    }

    @Test("transformers BERT in graph mode: each of its five layer_norm nodes runs as one op, with the bits of the graph without that pass")
    func bertLayerNorms() throws {
        let folder = Self.root.appendingPathComponent("transformers/bert")
        let program = try TorchProgram.load(folder.appendingPathComponent("model.pt2"))
        let arrays = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("input.npz"))
        let inputs = try program.userInputs.map { input in
            guard let entry = arrays.first(where: { $0.name == input.name }) else { throw FixtureError.malformed("input.npz has no \(input.name)") }
            return try entry.record.toTensor()
        }
        let without = GraphOptimizer(passes: GraphOptimizer.standard.passes.filter { $0 != .layerNorm })
        for dtype in [DType.float32, .float64] {
            let traced = try Graph.trace(inputs: inputs.map(TensorType.init(of:))) { b, xs in try program.outputs(xs, in: b, floatType: dtype) }
            let counts = Dictionary(uniqueKeysWithValues: try GraphOptimizer.standard.optimize(traced).opCounts.map { ($0.name, $0.count) })
            #expect(counts["layer norm"] == 5, "\(counts)")
            let y = try program.run(inputs, mode: .graph(.standard), dtype: dtype), expected = try program.run(inputs, mode: .graph(without), dtype: dtype)
            #expect(y.map { $0.doubles.map(\.bitPattern) } == expected.map { $0.doubles.map(\.bitPattern) }, "\(dtype)")
        }
    }

    @Test("the committed subset holds models of each PyTorch source")
    func subset() {
        for source in ["torchvision", "timm", "transformers"] {
            #expect(Self.cases.contains { $0.hasPrefix(source + "/") }, "no \(source) model under Tests/Fixtures/zoo")
        }
    }
}

extension TorchZooTests {
    /// Item 4 of issue 13: a `.pt2`'s weights are read in place from the mapped file (each float32
    /// weight of at least ``FileMapping/inPlaceMinimumBytes``), and running the model, in graph mode
    /// then eagerly, reads them there: kernels take them by pointer (GEMM and convolution operands,
    /// the layout copies that constant folding makes, embedding lookups), so none is copied into an
    /// array. (The outputs are those of ``model(_:)``, against PyTorch's.)
    @Test("a .pt2's weights stay in the file's mapping through graph and eager runs", arguments: cases)
    func weightsStayMapped(_ name: String) throws {
        let folder = Self.root.appendingPathComponent(name)
        let program = try TorchProgram.load(folder.appendingPathComponent("model.pt2"))
        let large = program.weights.filter { $0.value.dtype == .float32 && $0.value.count * 4 >= FileMapping.inPlaceMinimumBytes }
        #expect(!large.isEmpty)
        #expect(large.filter { !$0.value.isMapped }.keys.sorted() == [], "copied at load")
        let arrays = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("input.npz"))
        let inputs = try program.userInputs.map { input in
            guard let entry = arrays.first(where: { $0.name == input.name }) else { throw FixtureError.malformed("input.npz has no \(input.name)") }
            return try entry.record.toTensor()
        }
        _ = try program.run(inputs, mode: .graph(.standard), dtype: .float32)
        _ = try program.run(inputs, mode: .eager, dtype: .float32)
        #expect(large.filter { !$0.value.isMapped }.keys.sorted() == [], "copied by a run")
    }
}
