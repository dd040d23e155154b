import ArgumentParser
import Foundation
import ParityKeras

/// `parity inspect`: what a model file holds, with the settings that decide cross-framework results.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model: layers, classes, output shapes, parameters and convention settings."
    )

    @Argument(help: "The model file (.keras, .h5; or an architecture with --weights).") var model: String
    @Option(name: .long, help: "Weights to load onto MODEL's architecture (.weights.h5).") var weights: String?
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let summary = try KerasModelSummary(ModelFiles.keras(model, weights: weights))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            return
        }
        print("\(summary.model) (\(summary.format)\(summary.kerasVersion.map { ", Keras \($0)" } ?? ""))")
        print("inputs: \(summary.inputs.joined(separator: ", "))")
        let rows = summary.layers.map { layer in
            [layer.name, layer.className, layer.outputShapes.map { "\($0)" }.joined(separator: " "), "\(layer.parameters)",
             layer.settings.keys.sorted().map { "\($0)=\(layer.settings[$0]!)" }.joined(separator: " ")]
        }
        print(TextTable.render(header: ["layer", "class", "output shape", "params", "settings"], rows: rows))
        print("total parameters: \(summary.totalParameters)")
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
