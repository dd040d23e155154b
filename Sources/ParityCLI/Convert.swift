import ArgumentParser
import Foundation
import ParityConvert
import ParityFormats
import ParityKeras
import ParityTorch

/// `parity convert`: writes a model in the other framework and proves it equal by running both in Parity.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a model to the other framework and prove the result equal.",
        discussion: """
        Keras → PyTorch: MODEL is a .keras archive or legacy .h5 file; --to torch writes DIR/model.py \
        (class Model(nn.Module), forward in the Keras layout), DIR/model.pt (its state_dict, for \
        torch.load(weights_only=True)) and DIR/model.safetensors, and prints each Keras weight with the \
        PyTorch parameter it became and the transform. Then Parity runs the converted model as a PyTorch \
        program (ATen calls with PyTorch's semantics) and the Keras model with Keras's, on --input (or a \
        seeded random input of the model's shape), and prints the max abs / ULP difference. Exit 0 within \
        torch.testing.assert_close's float32 bound (atol 1e-5, rtol 1.3e-6), 1 beyond it, 2 on error \
        (an unsupported layer is named with its class).

        PyTorch → Keras: MODEL is a torch.export .pt2 program; --to keras writes DIR/model.keras (a Keras 3 \
        archive for keras.saving.load_model, a Functional model taking and returning PyTorch's layout: \
        NCHW stays NCHW through explicit Permute layers, Keras layers named after the PyTorch modules) \
        and prints each PyTorch tensor with the Keras weight it became and the transform, and what is \
        exact only up to a stated rounding (an LSTM's two biases summed). Then Parity reads model.keras \
        back and runs it with Keras's semantics and the program with PyTorch's, and prints the max abs / \
        ULP difference, with the same bound and exit codes. An ATen node with no exact Keras equivalent \
        is refused (exit 2) naming the node, its operator and its module path and class. The proof runs \
        one side at a time and drops each intermediate value after its last reader, so it holds one \
        model's weights plus one run's working set (reported); a side that cannot fit in --proof-memory \
        (default: the memory available) is refused with what it needs (exit 2), not killed.
        """
    )

    enum Target: String, ExpressibleByArgument { case torch, keras }

    @Argument(help: "The model file (.keras or .h5 for --to torch, .pt2 for --to keras).") var model: String
    @Option(name: .long, help: "The framework to convert to: torch or keras.") var to: Target
    @Option(name: .long, help: "The directory to write into (created if missing).") var output: String
    @Option(name: .long, help: "Input array (.npy) per model input, or one .npz, for the proof (default: seeded random).") var input: [String] = []
    @Option(name: .long, help: "Seed of the random proof input.") var seed: UInt64 = 0
    @Option(name: .customLong("proof-memory"),
            help: "MB the proof may use per side (one model's weights plus its run's intermediate values; default: what the system has available). A PyTorch side that cannot fit is refused with its needs (exit 2); a run outgrowing it is stopped.")
    var proofMemoryMB: Int?

    @OptionGroup var threads: ThreadOption

    func run() throws {
        threads.apply()
        switch (to, ModelFiles.isTorchProgram(model)) {
        case (.keras, true): try toKeras()
        case (.torch, false): try toTorch()
        case (.keras, false): throw CLIError.unsupportedFile(model, "--to keras converts a PyTorch program (.pt2, from torch.export)")
        case (.torch, true): throw CLIError.unsupportedFile(model, "a PyTorch program converts --to keras")
        }
    }

    func toTorch() throws {
        let keras = try ModelFiles.keras(model, weights: nil)
        let network = keras.network
        let inputs = input.isEmpty ? try KerasToTorch.exampleInputs(for: network, seed: seed)
            : try ModelFiles.inputs(input, names: network.inputs.map(\.layer), dtype: .float32)
        let source = URL(fileURLWithPath: model).lastPathComponent
        let conversion = try KerasToTorch.convert(network, inputs: inputs, source: source, kerasVersion: keras.kerasVersion)
        let directory = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let module = conversion.module
        try Data(module.python.utf8).write(to: directory.appendingPathComponent("model.py"))
        try TorchStateDict.write(module.stateDict, to: directory.appendingPathComponent("model.pt"))
        try SafeTensors.write(module.stateDict, to: directory.appendingPathComponent("model.safetensors"))
        var lines = ["\(model) → \(output)/model.py, model.pt, model.safetensors (\(module.parameters.count) state_dict entries)", "weights:"]
        lines += module.mapping.map { "  " + $0 }
        let proof = try ConversionProof(module: module, inputs: conversion.inputs, kerasOutputs: conversion.kerasOutputs, memory: proofMemory)
        lines.append(proof.description)
        print(lines.joined(separator: "\n"))
        if !proof.passed { Foundation.exit(1) }
    }

    func toKeras() throws {
        let url = URL(fileURLWithPath: output).appendingPathComponent("model.keras")
        // The program lives only in this closure: the conversion is written and the PyTorch side of the
        // proof run, then the written model is read back and run alone (one model's weights at a time).
        let (lines, inputs, source) = try { () throws -> ([String], [Tensor], ConversionProof.Run) in
            let program = try TorchProgram.load(URL(fileURLWithPath: model))
            let inputs = input.isEmpty ? try TorchToKeras.exampleInputs(for: program, seed: seed)
                : try ModelFiles.inputs(input, names: program.userInputs.map(\.name), dtype: .float32)
            let lines = try writeKeras(program, to: url)
            ProofMemory.returnFreedPages()
            return (lines, inputs, try ConversionProof.run(program, inputs: inputs, within: proofMemory))
        }()
        ProofMemory.returnFreedPages()
        let converted = try ConversionProof.run(KerasModel.load(url), inputs: inputs, within: proofMemory)
        let proof = try ConversionProof(converted: converted, source: source, direction: .torchToKeras)
        print((lines + [proof.description]).joined(separator: "\n"))
        if !proof.passed { Foundation.exit(1) }
    }

    /// Converts `program`, writes the archive at `url` and returns the report's lines (the conversion's
    /// weights are released when it returns).
    func writeKeras(_ program: TorchProgram, to url: URL) throws -> [String] {
        let conversion = try TorchToKeras.convert(program, name: URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try conversion.archive().write(to: url)
        let model = conversion.model
        var lines = ["\(self.model) → \(output)/model.keras (\(model.layers.count) Keras layers, \(model.layerWeights.values.reduce(0) { $0 + $1.count }) weights)",
                     "weights:"]
        lines += model.mapping.map { "  " + $0 }
        if !conversion.notes.isEmpty { lines += ["exact up to a stated rounding:"] + conversion.notes.map { "  " + $0 } }
        return lines
    }

    /// The memory each side of the proof may use.
    var proofMemory: ProofMemory { proofMemoryMB.map { .bytes($0 * 1_000_000) } ?? .available }
}
