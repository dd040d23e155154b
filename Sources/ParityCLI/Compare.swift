import ArgumentParser
import Foundation
import ParityCompare
import ParityFormats

/// `parity compare`: runs two models on one input, layer by layer, and says whether they agree.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two models layer by layer on one input.",
        discussion: """
        A and B are Keras (.keras, .h5) or PyTorch (.pt2) models with one input. --input is in A's layout; \
        when B expects another (NHWC vs NCHW, batch-first vs time-first) the permutation is found from the \
        shapes and reported (--input-b overrides). Both run in Float32 and Float64; layers are paired by name \
        (Keras layer ↔ PyTorch module path), else by order and shape. Exit 0 when the outputs agree within \
        the tolerance (torch.testing.assert_close defaults for float32 unless given) and no layer differs \
        beyond float noise, 1 otherwise, 2 on error. At the first layer beyond float noise (A Keras, B PyTorch), \
        Parity reruns A's layer on its own input with B's convention swapped in (batchnorm-epsilon, padding-same, \
        flatten-order) and names each convention that brings the difference back within float noise, with a fix. \
        --json writes the report for machines; --html writes it as one self-contained page (no scripts, no \
        external references) with a log-scale plot of the error per layer, the per-layer table and the findings.
        """
    )

    @Argument(help: "Model A (the reference).") var a: String
    @Argument(help: "Model B.") var b: String
    @Option(name: .long, help: "Input array (.npy) in A's layout.") var input: String
    @Option(name: .customLong("input-b"), help: "Input array (.npy) for B, instead of the permuted --input.") var inputB: String?
    @Option(name: .customLong("weights-a"), help: "Weights replacing A's.") var weightsA: String?
    @Option(name: .customLong("weights-b"), help: "Weights replacing B's.") var weightsB: String?
    @Option(name: .long, help: "Relative tolerance (default: assert_close's for float32, 1.3e-6).") var rtol: Double?
    @Option(name: .long, help: "Absolute tolerance (default: assert_close's for float32, 1e-5).") var atol: Double?
    @Option(name: .long, help: "Write the report as JSON to this file.") var json: String?
    @Option(name: .long, help: "Write the report as a self-contained HTML page (log-scale error plot, tables) to this file.") var html: String?

    func validate() throws {
        if (rtol == nil) != (atol == nil) { throw ValidationError("give --rtol and --atol together (or neither, for assert_close's defaults)") }
    }

    @OptionGroup var threads: ThreadOption

    func run() throws {
        threads.apply()
        let modelA = try open(a, weights: weightsA)
        let modelB = try open(b, weights: weightsB)
        let x = try NumpyArray.read(contentsOf: URL(fileURLWithPath: input)).toTensor().cast(to: .float32)
        let xb = try inputB.map { try NumpyArray.read(contentsOf: URL(fileURLWithPath: $0)).toTensor().cast(to: .float32) }
        let tolerance = rtol.flatMap { r in atol.map { CompareTolerance(rtol: r, atol: $0, source: "given") } }
        let comparison = try Comparison.run(modelA, modelB, input: x, inputB: xb, tolerance: tolerance)
        if let json { try comparison.jsonData().write(to: URL(fileURLWithPath: json)) }
        if let html { try Data(comparison.html().utf8).write(to: URL(fileURLWithPath: html)) }
        FileHandle.standardOutput.write(Data(comparison.text(color: isatty(STDOUT_FILENO) == 1).utf8))
        let code = try CompareExitCode.of(comparison)
        if code != 0 { Foundation.exit(code) }
    }

    private func open(_ path: String, weights: String?) throws -> ComparedModel {
        if ModelFiles.isTorchProgram(path) { return try ComparedModel.load(path, weights: weights) }
        // Keras files go through the CLI's child-process check first (libhdf5 can crash on hostile files).
        return ComparedModel(keras: try ModelFiles.keras(path, weights: weights), label: path)
    }
}
