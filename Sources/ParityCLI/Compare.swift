import ArgumentParser
import Foundation
import ParityCompare
import ParityFormats
import ParityNN
import ParityTrain

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

        With --train-steps N (and --target), the forward comparison runs on the first batch in inference mode,         then both models train N steps from their own weights (optimizer and loss from --optimizer-a/-b and         --loss-a/-b, written as in the framework's Python, or a Keras file's compile_config), each in float32         and Float64. Every step compares the loss, each paired parameter's gradient and its value after the         step (a Keras variable against the PyTorch parameters of its faithful port), names the first step and         parameter where the runs part beyond float noise, and tests the training conventions that could         explain it (docs/training.md). --html adds a plot of the parameters' error per step. Exit 1 when \
        the training runs part.
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

    @Option(name: .long, help: "With --train-steps: the target array (.npy) for A (and B unless --target-b).") var target: String?
    @Option(name: .customLong("target-b"), help: "B's own target (.npy).") var targetB: String?
    @Option(name: .customLong("train-steps"), help: "Train both models this many steps and compare every step.") var trainSteps: Int?
    @Option(name: .customLong("optimizer-a"), help: "A's optimizer, as in its framework's Python (default: a Keras file's compile_config).") var optimizerA: String?
    @Option(name: .customLong("optimizer-b"), help: "B's optimizer.") var optimizerB: String?
    @Option(name: .customLong("loss-a"), help: "A's loss, as in its framework's Python (default: a Keras file's compile_config).") var lossA: String?
    @Option(name: .customLong("loss-b"), help: "B's loss.") var lossB: String?
    @Option(name: .customLong("batch-size"), help: "Rows per training step (default: all rows).") var batchSize: Int?

    func validate() throws {
        if let trainSteps {
            guard trainSteps >= 1 else { throw ValidationError("--train-steps must be at least 1; received \(trainSteps)") }
            guard target != nil else { throw ValidationError("--train-steps needs --target (the training target of A, and of B unless --target-b)") }
        } else if target != nil || optimizerA != nil || optimizerB != nil || lossA != nil || lossB != nil || batchSize != nil {
            throw ValidationError("--target, --optimizer-a/-b, --loss-a/-b and --batch-size go with --train-steps N")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1; received \(batchSize)") }
        if (rtol == nil) != (atol == nil) { throw ValidationError("give --rtol and --atol together (or neither, for assert_close's defaults)") }
    }

    @OptionGroup var threads: ThreadOption

    func run() throws {
        threads.apply()
        let (modelA, modelB) = try ModelFiles.compared((a, weightsA), (b, weightsB))
        let inputs = try ModelFiles.compareInputs(input)
        let inputsB = try inputB.map(ModelFiles.compareInputs)
        let tolerance = rtol.flatMap { r in atol.map { CompareTolerance(rtol: r, atol: $0, source: "given") } }
        if let trainSteps, let target { return try runTraining(modelA, modelB, inputs: inputs, inputsB: inputsB, tolerance: tolerance, steps: trainSteps, target: target) }
        let comparison = try Comparison.run(modelA, modelB, inputs: inputs, inputsB: inputsB, tolerance: tolerance, progress: Self.progress())
        if let json { try comparison.jsonData().write(to: URL(fileURLWithPath: json)) }
        if let html { try Data(comparison.html().utf8).write(to: URL(fileURLWithPath: html)) }
        FileHandle.standardOutput.write(Data(comparison.text(color: isatty(STDOUT_FILENO) == 1).utf8))
        let code = CompareExitCode.of(comparison)
        if code != 0 { Foundation.exit(code) }
    }

    func runTraining(_ modelA: ComparedModel, _ modelB: ComparedModel, inputs: ModelInputs, inputsB: ModelInputs?, tolerance: CompareTolerance?,
                     steps: Int, target: String) throws {
        func frameworkOf(_ m: ComparedModel) -> ParityTrain.Framework { m.framework == .keras ? .keras : .pyTorch }
        func array(_ path: String) throws -> Tensor { try NumpyArray.read(contentsOf: URL(fileURLWithPath: path)).toTensor() }
        let setup = TrainingSetup(
            steps: steps, batchSize: batchSize, inputs: inputs, inputsB: inputsB, target: try array(target), targetB: try targetB.map(array),
            optimizerA: try optimizerA.map { try Optimizer.parse($0, framework: frameworkOf(modelA)) },
            optimizerB: try optimizerB.map { try Optimizer.parse($0, framework: frameworkOf(modelB)) },
            lossA: try lossA.map(Loss.parse), lossB: try lossB.map(Loss.parse))
        let (forward, training) = try TrainingComparison.run(modelA, modelB, setup: setup, tolerance: tolerance, progress: Self.progress())
        if let json {
            var report = try JSONSerialization.jsonObject(with: forward.jsonData()) as? [String: Any] ?? [:]
            report["training"] = try JSONSerialization.jsonObject(with: JSONEncoder.report([]).encode(training))
            try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: json))
        }
        if let html { try Data(forward.html(training: training).utf8).write(to: URL(fileURLWithPath: html)) }
        FileHandle.standardOutput.write(Data((forward.text(color: isatty(STDOUT_FILENO) == 1) + training.text()).utf8))
        if training.verdict == .mismatch || CompareExitCode.of(forward) != 0 { Foundation.exit(1) }
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
