import ArgumentParser
import Foundation
import ParityKeras

/// `parity run`: runs a model file on `.npy` / `.npz` inputs with its framework's semantics.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on .npy/.npz inputs and write its outputs.",
        discussion: """
        MODEL is a Keras .keras archive or legacy .h5 file (or an architecture — .keras or config.json — \
        with --weights FILE.weights.h5). Several inputs: one .npy per input in order, or one .npz keyed by \
        input name. Several outputs are written to a .npz keyed by output name.
        """
    )

    @Argument(help: "The model file.") var model: String
    @Option(name: .long, help: "Input array (.npy), repeated per input, or one .npz.") var input: [String] = []
    @Option(name: .long, help: "Where to write the output (.npy, or .npz for several outputs).") var output: String
    @Option(name: .long, help: "Weights to load onto MODEL's architecture (.weights.h5).") var weights: String?
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

    func run() throws {
        let keras = try ModelFiles.keras(model, weights: weights)
        let network = keras.network
        let inputs = try ModelFiles.inputs(input, names: network.inputs.map(\.layer), dtype: dtype == .float32 ? .float32 : .float64)
        let outputs = try keras.run(inputs, mode: mode.execution, dtype: dtype == .float32 ? .float32 : .float64)
        try ModelFiles.write(outputs, names: network.outputs.map(\.layer), to: output)
        let shapes = outputs.map { "\($0.shape)" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("wrote \(output): \(outputs.count) output(s) \(shapes), \(dtype.rawValue), \(mode.rawValue) mode\n".utf8))
    }
}
