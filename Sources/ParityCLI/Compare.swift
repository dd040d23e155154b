import ArgumentParser
import Foundation
import ParityCompare
import ParityFormats

/// `parity compare`: runs two models on one input, layer by layer, and says whether they agree.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two models layer by layer on one input.",
        discussion: """
        A and B are Keras (.keras, .h5) or PyTorch (.pt2) models, either way round or of one framework. --input \
        is one .npy, or an .npz whose keys name the inputs (Keras input names, .pt2 input names; else in order), \
        in A's layout; B gets them brought to its layout and dtype (NHWC → NCHW, batch- ↔ time-first, int32 → \
        int64 token ids), as the report says (--input-b gives B's own). Both models run in Float32 and Float64; \
        every tensor of the Keras model (every layer, nested models opened) is paired with the tensor of the \
        other model computing the same quantity (module outputs, functional ops in forward, indexing of tuple \
        outputs), confirmed by the Float64 values, and judged locally: the other model's part rerun on this \
        model's own values at the layer's inputs, so that a layer is flagged only when it introduces a \
        difference itself. Exit 0 when the outputs agree within the tolerance (torch.testing.assert_close \
        defaults for float32 unless given) and no layer introduces a difference beyond float noise, 1 \
        otherwise, 2 on error. At each such layer Parity tests the convention hypotheses (docs/compare.md) and \
        names the ones that explain it, with a fix. --json writes the report for machines; --html as one \
        self-contained page. Progress goes to stderr for models that take a while.
        """
    )

    @Argument(help: "Model A (the reference).") var a: String
    @Argument(help: "Model B.") var b: String
    @Option(name: .long, help: "Input array (.npy), or an .npz keyed by input names, in A's layout.") var input: String
    @Option(name: .customLong("input-b"), help: "B's input (.npy or .npz), instead of A's brought to B's layout and dtype.") var inputB: String?
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
        let modelA = try ModelFiles.compared(a, weights: weightsA)
        let modelB = try ModelFiles.compared(b, weights: weightsB)
        let inputs = try ModelFiles.compareInputs(input)
        let inputsB = try inputB.map(ModelFiles.compareInputs)
        let tolerance = rtol.flatMap { r in atol.map { CompareTolerance(rtol: r, atol: $0, source: "given") } }
        let comparison = try Comparison.run(modelA, modelB, inputs: inputs, inputsB: inputsB, tolerance: tolerance, progress: Self.progress())
        if let json { try comparison.jsonData().write(to: URL(fileURLWithPath: json)) }
        if let html { try Data(comparison.html().utf8).write(to: URL(fileURLWithPath: html)) }
        FileHandle.standardOutput.write(Data(comparison.text(color: isatty(STDOUT_FILENO) == 1).utf8))
        let code = CompareExitCode.of(comparison)
        if code != 0 { Foundation.exit(code) }
    }

    /// Progress lines on stderr once the comparison has taken more than two seconds, at most one a second.
    static func progress() -> CompareProgress {
        final class Clock: @unchecked Sendable {
            let start = Date()
            var last = Date.distantPast
        }
        let clock = Clock()
        return CompareProgress { message in
            let now = Date()
            guard now.timeIntervalSince(clock.start) > 2, now.timeIntervalSince(clock.last) >= 1 else { return }
            clock.last = now
            FileHandle.standardError.write(Data("parity compare: \(message)\n".utf8))
        }
    }
}
