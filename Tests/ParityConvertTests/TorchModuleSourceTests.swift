import Foundation
import Testing
import ParityConvert
import ParityTestSupport

/// The written PyTorch side: model.py against committed golden files (byte for byte), and the
/// state_dict as `.pt` and `.safetensors` read back by Parity's own readers with the right keys,
/// shapes and values. `PARITY_RECORD=1 swift test --filter ParityConvertTests` rewrites the goldens
/// (`Tests/Fixtures/convert/<model>/model.py`, `model.pt`).
@Suite("Converted PyTorch source and state_dict")
struct TorchModuleSourceTests {
    @Test("model.py equals the committed golden file", arguments: ModelFixtures.names)
    func golden(_ name: String) throws {
        let module = try ModelFixtures.convert(name).module
        let golden = ModelFixtures.folder(name).appendingPathComponent("model.py")
        if ModelFixtures.record {
            try Data(module.python.utf8).write(to: golden)
            try TorchStateDict.write(module.stateDict, to: ModelFixtures.folder(name).appendingPathComponent("model.pt"))
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(module.python == expected, "\(name): model.py changed; if intended, rerun with PARITY_RECORD=1 and commit")
    }

    @Test("the committed model.pt holds the current conversion's state_dict", arguments: ModelFixtures.names)
    func committedWeights(_ name: String) throws {
        let module = try ModelFixtures.convert(name).module
        let stored = try TorchStateDict.read(contentsOf: ModelFixtures.folder(name).appendingPathComponent("model.pt"))
        #expect(stored.map(\.name) == module.parameters.map(\.key))
        for ((key, record), parameter) in zip(stored, module.parameters) {
            #expect(try record.toTensor() == parameter.tensor, "\(name): \(key)")
        }
    }

    @Test("model.pt and model.safetensors read back with the state_dict's keys, shapes and values", arguments: ModelFixtures.names)
    func roundTrip(_ name: String) throws {
        let module = try ModelFixtures.convert(name).module
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parity-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pt = directory.appendingPathComponent("model.pt"), safetensors = directory.appendingPathComponent("model.safetensors")
        try TorchStateDict.write(module.stateDict, to: pt)
        try SafeTensors.write(module.stateDict, to: safetensors)
        // A .pt keeps the state_dict's order; safetensors sorts its keys.
        let ordered = try TorchStateDict.read(contentsOf: pt)
        #expect(ordered.map(\.name) == module.parameters.map(\.key))
        for stored in [ordered, try SafeTensors.read(contentsOf: safetensors).tensors] {
            #expect(stored.map(\.name).sorted() == module.parameters.map(\.key).sorted())
            for parameter in module.parameters {
                let key = parameter.key
                let tensor = try #require(stored.first { $0.name == key }).record.toTensor()
                #expect(tensor.shape == parameter.tensor.shape && tensor == parameter.tensor, "\(name): \(key)")
                #expect(tensor.dtype == (key.hasSuffix("num_batches_tracked") ? .int64 : .float32), "\(name): \(key) is \(tensor.dtype)")
            }
        }
    }

    @Test("the mapping names each Keras weight, its PyTorch parameter and the transform")
    func mapping() throws {
        let lines = try ModelFixtures.convert("recurrent").module.mapping
        #expect(lines.contains { $0.hasPrefix("gru/kernel (7, 15)") && $0.hasSuffix("→ gru.weight_ih_l0 (15, 7): transpose, gate blocks [z, r, h] → [r, z, n]") })
        #expect(lines.contains { $0.hasPrefix("(not in Keras)") && $0.hasSuffix("→ lstm.bias_hh_l0 (28): zeros (bias = bias_ih_l0 + bias_hh_l0)") })
        #expect(lines.contains { $0.hasPrefix("causal_conv/kernel (3, 6, 8)") && $0.hasSuffix("→ causal_conv.weight (8, 6, 3): permute (2, 1, 0)") })
    }

    @Test("Keras names become Python identifiers that shadow nothing")
    func identifiers() throws {
        let module = try ModelFixtures.convert("graph").module
        #expect(module.python.contains("max_ = torch.maximum(gap, side)"))
        #expect(module.python.contains("def forward(self, pixels, features):"))
    }
}
