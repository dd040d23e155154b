import ArgumentParser
import Foundation
import ParityNN

/// `parity run`: runs a model file on `.npy` / `.npz` inputs with its framework's semantics.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on .npy/.npz inputs and write its outputs.",
        discussion: """
        MODEL is a Keras .keras archive or legacy .h5 file (or an architecture — .keras or config.json — \
        with --weights FILE.weights.h5), or a PyTorch torch.export .pt2 archive (--weights: a state_dict .pt \
        or .safetensors with the same keys). Several inputs: one .npy per input in order, or one .npz keyed \
        by input name. Several outputs are written to a .npz keyed by output name.
        """
    )

    @Argument(help: "The model file.") var model: String
    @Option(name: .long, help: "Input array (.npy), repeated per input, or one .npz.") var input: [String] = []
    @Option(name: .long, help: "Where to write the output (.npy, or .npz for several outputs).") var output: String
    @Option(name: .long, help: "Weights replacing MODEL's: .weights.h5 (Keras), .pt or .safetensors (PyTorch).") var weights: String?
    @Option(name: .long, help: "Precision to run in: float32 or float64.") var dtype: Precision = .float32
    @Option(name: .long, help: "eager (op by op) or graph (traced, optimised with fusion).") var mode: Mode = .eager

    enum Precision: String, ExpressibleByArgument { case float32, float64 }
    enum Mode: String, ExpressibleByArgument {
        case eager, graph
        var execution: ExecutionMode { self == .eager ? .eager : .graph(.standard) }
    }

    func validate() throws {
        guard !input.isEmpty else { throw ValidationError("give at least one --input") }
    }

    @OptionGroup var threads: ThreadOption

    func run() throws {
        threads.apply()
        let runnable = try ModelFiles.runnable(model, weights: weights)
        let precision: DType = dtype == .float32 ? .float32 : .float64
        let inputs = try ModelFiles.inputs(input, names: runnable.inputNames, dtype: precision)
        let outputs = try runnable.run(inputs, mode.execution, precision)
        try ModelFiles.write(outputs, names: runnable.outputNames, to: output)
        let shapes = outputs.map { "\($0.shape)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("wrote \(output): \(outputs.count) output(s) \(shapes), \(dtype.rawValue), \(mode.rawValue) mode\n".utf8))
    }
}
