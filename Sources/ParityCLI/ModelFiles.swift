import Foundation
import ParityFormats
import ParityKeras

/// Opens the model files the CLI accepts, by extension, and reads and writes `.npy` / `.npz` arrays.
enum ModelFiles {
    /// A Keras model from a `.keras` or legacy `.h5` file, or a `.weights.h5` file on an architecture.
    /// `isolated` first loads it in a child process (see ``IsolatedCheck``).
    static func keras(_ path: String, weights: String?, isolated: Bool = true) throws -> KerasModel {
        let url = URL(fileURLWithPath: path)
        guard ["keras", "h5", "json"].contains(url.pathExtension.lowercased()) else {
            throw CLIError.unsupportedFile(path, "expected a Keras model (.keras, .h5; or config.json with --weights)")
        }
        if isolated { try IsolatedCheck.keras(path, weights: weights) }
        if let weights { return try KerasModel.load(architecture: url, weights: URL(fileURLWithPath: weights)) }
        return try KerasModel.load(url)
    }

    /// Input arrays for a model's inputs: one `.npy` per input in order, or one `.npz` keyed by input
    /// names (a single-entry `.npz` feeds a single-input model whatever its key).
    static func inputs(_ paths: [String], names: [String], dtype: DType) throws -> [Tensor] {
        var tensors: [Tensor]
        if paths.count == 1, paths[0].lowercased().hasSuffix(".npz") {
            let arrays = try NumpyArchive.read(contentsOf: URL(fileURLWithPath: paths[0]))
            if arrays.count == 1, names.count == 1 {
                tensors = [try arrays[0].record.toTensor()]
            } else {
                tensors = try names.map { name in
                    guard let entry = arrays.first(where: { $0.name == name }) else {
                        throw CLIError.badInput("\(paths[0]) has no array named '\(name)'; it has \(arrays.map(\.name)); the model's inputs are \(names)")
                    }
                    return try entry.record.toTensor()
                }
            }
        } else {
            guard paths.count == names.count else {
                throw CLIError.badInput("the model has \(names.count) inputs \(names); received \(paths.count) .npy files (or pass one .npz keyed by input name)")
            }
            tensors = try paths.map { try NumpyArray.read(contentsOf: URL(fileURLWithPath: $0)).toTensor() }
        }
        return tensors.map { $0.dtype == .int64 ? $0 : $0.cast(to: dtype) }
    }

    /// Writes outputs to a `.npy` (one output) or a `.npz` keyed by output names.
    static func write(_ outputs: [Tensor], names: [String], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        if path.lowercased().hasSuffix(".npz") {
            try NumpyArchive.write(zip(names, outputs).map { (name: $0, record: ArrayRecord($1)) }, to: url)
        } else {
            guard outputs.count == 1 else {
                throw CLIError.badInput("the model has \(outputs.count) outputs \(names): write them to a .npz")
            }
            try NumpyArray.write(ArrayRecord(outputs[0]), to: url)
        }
    }
}

/// Errors of the command line itself (the libraries' errors pass through unchanged).
enum CLIError: Error, CustomStringConvertible {
    case unsupportedFile(String, String)
    case badInput(String)

    var description: String {
        switch self {
        case let .unsupportedFile(path, expected): return "\(path): \(expected)"
        case let .badInput(message): return message
        }
    }
}
