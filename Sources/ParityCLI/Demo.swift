import ArgumentParser
import Foundation
import ParityCompare
import ParityFormats
import ParityNN

/// `parity demo`: the seed article reproduced with Parity's engine.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the seed examples PyTorch-style (eager) and Keras-style (graph) and explain the difference.",
        discussion: """
        Each example is built once with fixed weights, run in eager mode and in an optimised graph in \
        Float32, and checked against a Float64 run of the same weights. The cause of any difference is \
        found by rerunning the graph with fusion off. The seed LSTM is then trained a few steps \
        PyTorch-style and Keras-style, with SGD and with each framework's default Adam, and the step, \
        variable and convention where the weights part are named.
        """
    )

    @Option(help: "Seed for the examples' weights and inputs.")
    var seed: UInt64 = 2024

    @Option(help: "Folder of Keras models with PyTorch ports to compare after the seed examples (skipped when absent).")
    var examples: String = "examples"

    @OptionGroup var threads: ThreadOption

    func run() throws {
        threads.apply()
        print(try DemoReport.render(SeedExamples.all(seed: seed)))
        print(try TrainingDemo.render(seed: seed))
        print("")
        print(try DemoReport.renderPorts(in: examples))
    }
}

/// The demo's text: one block per example, a small table then the verdict and its cause.
enum DemoReport {
    static func render(_ examples: [SeedExample]) throws -> String {
        var out = ["Parity demo: the same weights run PyTorch-style (eager) and Keras-style (optimised graph)", ""]
        for example in examples {
            let result = try ModeComparison(model: example.model, input: example.input)
            out.append("(\(example.label)) \(example.title)")
            out.append("    run                      dtype     output[0...]")
            out.append("    PyTorch-style eager      float32   \(values(result.eager))")
            out.append("    Keras-style graph        float32   \(values(result.graph))")
            out.append("    Float64 reference        float64   \(values(result.reference))")
            let d = result.difference
            out.append("    eager vs graph: max abs \(sci(d.maxAbsolute)), max \(d.maxUlps) ULP over \(d.count) outputs")
            out.append("    closer to float64: \(result.closerToReference) (max abs error: eager \(sci(result.eagerError)), graph \(sci(result.graphError)))")
            out.append("    cause: \(result.cause)")
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    /// One line per PyTorch port in `folder/<example>/<port>/torch.pt2` of `folder/<example>/keras.keras`,
    /// compared on `folder/<example>/input.npy`: the verdict, where the outputs part, and the cause.
    static func renderPorts(in folder: String) throws -> String {
        let files = FileManager.default
        guard let examples = try? files.contentsOfDirectory(atPath: folder) else { return "" }
        var out = ["Ports of Keras models to PyTorch, compared layer by layer (parity compare):", ""]
        for example in examples.sorted() {
            let base = "\(folder)/\(example)"
            guard files.fileExists(atPath: "\(base)/keras.keras"), files.fileExists(atPath: "\(base)/input.npy") else { continue }
            let keras = ComparedModel(keras: try ModelFiles.keras("\(base)/keras.keras", weights: nil), label: "keras.keras")
            let input = try NumpyArray.read(contentsOf: URL(fileURLWithPath: "\(base)/input.npy")).toTensor().cast(to: .float32)
            out.append("\(example):")
            let ports = try files.contentsOfDirectory(atPath: base).sorted().filter { files.fileExists(atPath: "\(base)/\($0)/torch.pt2") }
            let width = ports.map(\.count).max() ?? 0
            for port in ports {
                let comparison = try Comparison.run(keras, try ComparedModel.load("\(base)/\(port)/torch.pt2"), input: input)
                let cause = comparison.findings.first.map { finding in
                    "\(finding.cause.rawValue)" + (finding.a.map { " (\($0) vs \(finding.b ?? "?"))" } ?? "") + (finding.fix.map { "; fix: \($0)" } ?? "")
                } ?? "no cause named"
                let place = comparison.firstDivergence.map { ", parts at \($0)" } ?? ""
                out.append("  \(port.padding(toLength: width, withPad: " ", startingAt: 0)) \(comparison.verdict.rawValue)\(place): \(cause)")
            }
            out.append("")
        }
        return out.count > 2 ? out.joined(separator: "\n") : ""
    }

    static func values(_ tensor: Tensor) -> String {
        let shown = tensor.doubles.prefix(3).map { tensor.dtype == .float32 ? "\(Float($0))" : "\($0)" }
        return shown.joined(separator: "  ") + (tensor.count > 3 ? "  …" : "")
    }

    static func sci(_ x: Double) -> String {
        x == 0 ? "0" : String(format: "%.2e", x)
    }
}
