import Foundation
import Testing
import ParityKeras
import ParityTestSupport

/// The committed subset of the Keras model zoo (`Tests/Fixtures/zoo/<source>/<name>/`, written by
/// `scripts/zoo/keras_*.py --subset`): models built by keras.applications' and KerasHub's own code
/// with random weights, saved with `model.save`, run against Keras's own float32 outputs.
@Suite("Keras model zoo subset")
struct KerasZooTests {
    static let root = Fixtures.root.appendingPathComponent("zoo")

    static func cases(_ source: String) -> [String] {
        let folder = root.appendingPathComponent(source)
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// `torch.testing.assert_close`'s float32 bound, the measure of the zoo (`|Δ| ≤ 1e-5 + 1.3e-6·|keras|`).
    static let bound = Tolerance(absolute: 1e-5, relative: 1.3e-6)

    @Test("keras.applications families match Keras within 1e-5", arguments: cases("keras.applications"))
    func applications(_ name: String) throws {
        try check(ZooCase(folder: Self.root.appendingPathComponent("keras.applications/\(name)")), name)
    }

    @Test("KerasHub backbones (direct, one-input wrapper, converted from transformers) match Keras within 1e-5",
          arguments: cases("keras_hub"))
    func hub(_ name: String) throws {
        try check(ZooCase(folder: Self.root.appendingPathComponent("keras_hub/\(name)")), name)
    }

    func check(_ zoo: ZooCase, _ name: String) throws {
        let outputs = try zoo.model.run(zoo.inputs, mode: .eager, dtype: .float32)
        #expect(outputs.count == zoo.expected.count)
        for (index, (output, expected)) in zip(outputs, zoo.expected).enumerated() {
            let violation = Self.bound.violation(output.cast(to: expected.dtype == .int64 ? .int64 : .float32), expected)
            #expect(violation == nil, "\(name) output \(index): \(violation ?? "")")
        }
    }
}

/// A model in the shared zoo layout (`model.keras`, `input.npz` keyed by input name, `expected.npz`
/// with `output0`, `output1`, …, `meta.json`).
struct ZooCase {
    var model: KerasModel
    var inputs: [Tensor]
    var expected: [Tensor]
    /// `meta.json`'s `outputs` labels when present, else `output<i>`.
    var labels: [String]
    var meta: JSONValue

    init(folder: URL) throws {
        model = try KerasModel.load(folder.appendingPathComponent("model.keras"))
        let arrays = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("input.npz"))
        inputs = try model.network.inputs.map { ref in
            guard let entry = arrays.first(where: { $0.name == ref.layer }) else { throw FixtureError.malformed("input.npz has no \(ref.layer)") }
            return try entry.record.toTensor()
        }
        let outputs = try NumpyArchive.read(contentsOf: folder.appendingPathComponent("expected.npz"))
        expected = try (0..<outputs.count).map { i in
            guard let entry = outputs.first(where: { $0.name == "output\(i)" }) else { throw FixtureError.malformed("expected.npz has no output\(i)") }
            return try entry.record.toTensor()
        }
        meta = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("meta.json")))
        labels = meta["outputs"]?.array?.compactMap(\.string) ?? expected.indices.map { "output\($0)" }
    }
}
