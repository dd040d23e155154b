import Foundation
import Testing
import ParityConvert
import ParityKeras
import ParityTestSupport

/// Every single-layer Keras fixture of a converted class: either it converts and its PyTorch program
/// (run by Parity with PyTorch's semantics on the converted tensors) reproduces both Keras-in-Parity and
/// the real Keras's output, or it is refused with an error naming the layer, its class and the setting.
/// Each converted case's model.py is a golden file under `Tests/Fixtures/convert/layers/<case>/`, with
/// its model.pt, input and the real Keras's outputs for scripts/verify_conversions.py (`PARITY_RECORD=1`
/// rewrites them).
@Suite("Keras → PyTorch, layer by layer")
struct KerasToTorchLayerTests {
    /// Settings refused on purpose (no faithful PyTorch form yet), by fixture name: none, every
    /// fixture of a converted class converts.
    static let refused: Set<String> = []

    @Test("converted layer reproduces Keras (proof and real Keras output)", arguments: LayerCase.convertible)
    func layer(_ row: LayerCase) throws {
        let name = row.json["name"]!.string!
        let network = try row.network()
        let conversion: KerasToTorch.Conversion
        do {
            conversion = try KerasToTorch.convert(network, inputs: row.inputs(), source: "case", kerasVersion: nil)
        } catch let error as ConvertError {
            #expect(Self.refused.contains(name), "\(row.testDescription): refused unexpectedly: \(error)")
            guard case .unsupportedSetting(let layer, let className, _, _, _) = error else { Issue.record("\(error)"); return }
            #expect(layer == row.json["config"]!["name"]!.string! && className == row.className)
            return
        }
        #expect(!Self.refused.contains(name), "\(row.testDescription) converted; take it off the refused list")
        let proof = try ConversionProof(module: conversion.module, inputs: conversion.inputs, kerasOutputs: conversion.kerasOutputs)
        #expect(proof.passed, "\(row.testDescription): \(proof)")
        let torch = try conversion.module.program().run(conversion.inputs, mode: .eager, dtype: .float32)
        let real = try ConversionProof(torch: torch, keras: row.kerasOutputs())
        #expect(real.passed, "\(row.testDescription) vs the real Keras: \(real)")

        let folder = Fixtures.root.appendingPathComponent("convert/layers/\(row.slug)")
        if ModelFixtures.record {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(conversion.module.python.utf8).write(to: folder.appendingPathComponent("model.py"))
            try TorchStateDict.write(conversion.module.stateDict, to: folder.appendingPathComponent("model.pt"))
            try NumpyArchive.write(conversion.inputs.enumerated().map { (name: "input_\($0.offset)", record: ArrayRecord($0.element)) },
                                   to: folder.appendingPathComponent("inputs.npz"))
            try NumpyArchive.write(row.kerasOutputs().enumerated().map { (name: "\($0.offset)", record: ArrayRecord($0.element)) },
                                   to: folder.appendingPathComponent("keras_outputs.npz"))
        }
        let golden = try String(contentsOf: folder.appendingPathComponent("model.py"), encoding: .utf8)
        #expect(conversion.module.python == golden, "\(row.testDescription): model.py changed; if intended, rerun with PARITY_RECORD=1 and commit")
    }
}
