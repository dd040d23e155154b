import ArgumentParser
import Foundation
import ParityFormats
import ParityKeras
import ParityTorch

/// `parity inspect`: what a model or weights file holds, with the settings that decide
/// cross-framework results.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model or weights file.",
        discussion: """
        Keras (.keras, .h5, architecture + --weights): layers, classes, output shapes, parameters and \
        convention settings. PyTorch .pt2: weights, then the graph's operators grouped by module. \
        State_dict .pt and .safetensors: every tensor with its dtype, shape and size.
        """
    )

    @Argument(help: "The file.") var model: String
    @Option(name: .long, help: "Weights to load onto MODEL's architecture (Keras .weights.h5).") var weights: String?
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let lower = model.lowercased()
        if lower.hasSuffix(".pt") || lower.hasSuffix(".pth") || lower.hasSuffix(".bin") || lower.hasSuffix(".safetensors") {
            let url = URL(fileURLWithPath: model)
            let arrays = lower.hasSuffix(".safetensors") ? try SafeTensors.read(contentsOf: url).tensors : try TorchStateDict.read(contentsOf: url)
            try printTensors(arrays.map { TensorEntry(name: $0.name, dtype: "\($0.record.elementType)", shape: $0.record.shape, bytes: $0.record.bytes.count) }, operators: nil)
        } else if ModelFiles.isTorchProgram(model) {
            let program = try TorchProgram.read(URL(fileURLWithPath: model))
            let entries = program.weights.keys.sorted().map { key in
                TensorEntry(name: key, dtype: "\(program.weights[key]!.dtype)", shape: program.weights[key]!.shape,
                            bytes: program.weights[key]!.count * (program.weights[key]!.dtype == .float32 ? 4 : 8))
            }
            let operators = program.summary.modules.map { module in
                ModuleEntry(module: module.path.isEmpty ? "<root>" : module.path, className: module.className,
                            operators: module.operators.map { $0.count > 1 ? "\($0.target) ×\($0.count)" : $0.target })
            }
            try printTensors(entries, operators: operators, unsupported: program.unsupportedNodes.map { "\($0.target) (\($0.modulePath))" })
        } else {
            try printKeras()
        }
    }

    struct TensorEntry: Encodable { var name: String; var dtype: String; var shape: [Int]; var bytes: Int }
    struct ModuleEntry: Encodable { var module: String; var className: String; var operators: [String] }
    struct TensorReport: Encodable {
        var file: String
        var tensors: [TensorEntry]
        var totalElements: Int
        var totalBytes: Int
        var modules: [ModuleEntry]?
        var unsupportedOperators: [String]?
    }

    func printTensors(_ entries: [TensorEntry], operators: [ModuleEntry]?, unsupported: [String]? = nil) throws {
        let report = TensorReport(file: model, tensors: entries, totalElements: entries.reduce(0) { $0 + Shape.count($1.shape) },
                                  totalBytes: entries.reduce(0) { $0 + $1.bytes }, modules: operators, unsupportedOperators: unsupported)
        if json { return try printJSON(report) }
        print(TextTable.render(header: ["tensor", "dtype", "shape", "bytes"],
                               rows: entries.map { [$0.name, $0.dtype, "\($0.shape)", "\($0.bytes)"] }))
        print("\(entries.count) tensors, \(report.totalElements) elements, \(report.totalBytes) bytes")
        if let operators {
            print("")
            print(TextTable.render(header: ["module", "class", "operators"],
                                   rows: operators.map { [$0.module, $0.className, $0.operators.joined(separator: ", ")] }))
        }
        if let unsupported, !unsupported.isEmpty { print("unsupported operators: \(unsupported.joined(separator: ", "))") }
    }

    func printKeras() throws {
        let summary = try KerasModelSummary(ModelFiles.keras(model, weights: weights))
        if json { return try printJSON(summary) }
        print("\(summary.model) (\(summary.format)\(summary.kerasVersion.map { ", Keras \($0)" } ?? ""))")
        print("inputs: \(summary.inputs.joined(separator: ", "))")
        let rows = summary.layers.map { layer in
            [layer.name, layer.className, layer.outputShapes.map { "\($0)" }.joined(separator: " "), "\(layer.parameters)",
             layer.settings.keys.sorted().map { "\($0)=\(layer.settings[$0]!)" }.joined(separator: " ")]
        }
        print(TextTable.render(header: ["layer", "class", "output shape", "params", "settings"], rows: rows))
        print("total parameters: \(summary.totalParameters)")
    }

    func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// Left-aligned columns separated by two spaces, a rule under the header.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
    }
}
