import Foundation
import Testing
import ParityFormats
import ParityTestSupport
import ParityTorch
import ParityNN

/// `--weights`: a state_dict `.pt` or `.safetensors` with other values replaces the archive's.
@Suite("Replacing weights")
struct WeightReplacementTests {
    static let models = ["linear_algebra", "conv2d", "normalization", "recurrent"]

    @Test("a .pt state_dict gives PyTorch's outputs for those weights", arguments: models)
    func torchSave(name: String) throws { try check(name, suffix: ".alt.pt") }

    @Test("a .safetensors file gives PyTorch's outputs for those weights", arguments: models)
    func safetensors(name: String) throws { try check(name, suffix: ".alt.safetensors") }

    func check(_ name: String, suffix: String) throws {
        let fixture = try TorchFixture(name)
        let program = try TorchProgram.load(fixture.archive).replacingWeights(from: fixture.file(suffix))
        let inputs = try fixture.tensors("inputs", as: .float32)
        let expected = try fixture.tensors("outputs_alt_float32"), original = try fixture.tensors("outputs_float32")
        let outputs = try program.run(inputs, mode: .eager)
        for (i, (a, e)) in zip(outputs, expected).enumerated() {
            #expect(TorchTolerance.float32(name).violation(a, e) == nil, "\(name) output \(i)")
        }
        // The replacement changed something (the check could not pass with the archive's weights).
        #expect(zip(outputs, original).contains { TorchTolerance.float32.violation($0, $1) != nil })
    }

    @Test("missing, unexpected and mis-shaped keys are all listed")
    func mismatch() throws {
        let fixture = try TorchFixture("linear_algebra")
        let program = try TorchProgram.load(fixture.archive)
        var named = try TorchStateDict.read(contentsOf: fixture.file(".alt.pt")).filter { $0.name != "fc1.bias" }
        named = named.map { $0.name == "w" ? ($0.name, ArrayRecord(Tensor.zeros([4, 6]))) : $0 }
        named.append(("extra.weight", ArrayRecord(Tensor.zeros([1]))))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-torch-mismatch-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(named, to: url)
        let error = try #require(throws: TorchError.self) { try program.replacingWeights(from: url) }
        guard case let .weightMismatch(_, missing, unexpected, shapes) = error else { Issue.record("\(error)"); return }
        #expect(missing == ["fc1.bias"])
        #expect(unexpected == ["extra.weight"])
        #expect(shapes == ["w: [4, 6] in the file, [6, 4] in the program"])
    }
}
