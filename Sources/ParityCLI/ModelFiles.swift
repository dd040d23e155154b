import Foundation
import ParityCompare
import ParityFormats
import ParityKeras
import ParityTorch

/// A model the CLI can run, whichever framework wrote it.
struct RunnableModel {
    var inputNames: [String]
    var outputNames: [String]
    var run: ([Tensor], ExecutionMode, DType) throws -> [Tensor]
}

/// Opens the model files the CLI accepts, by extension, and reads and writes `.npy` / `.npz` arrays.
enum ModelFiles {
    /// A Keras (`.keras`, `.h5`, architecture + `--weights`) or PyTorch (`.pt2`, optionally with
    /// `--weights` from a state_dict `.pt` or `.safetensors`) model.
    static func runnable(_ path: String, weights: String?) throws -> RunnableModel {
        if isTorchProgram(path) {
            guard case .torch(let program) = try ModelFile.open(path, weights: weights) else { throw CLIError.unsupportedFile(path, "not a .pt2 program") }
            let outputs = program.outputs.count == 1 ? ["output"] : program.outputs.indices.map { "output_\($0)" }
            return RunnableModel(inputNames: program.userInputs.map(\.name), outputNames: outputs) { inputs, mode, dtype in
                try program.run(inputs, mode: mode, dtype: dtype)
            }
        }
        let keras = try ModelFiles.keras(path, weights: weights)
        return RunnableModel(inputNames: keras.network.inputs.map(\.layer), outputNames: keras.network.outputNames) { inputs, mode, dtype in
            try keras.run(inputs, mode: mode, dtype: dtype)
        }
    }

    static func isTorchProgram(_ path: String) -> Bool { ModelFile.isTorchProgram(path) }

    /// A Keras model from a `.keras` or legacy `.h5` file, or a `.weights.h5` file on an architecture.
    /// `isolated` first loads it in a child process (see ``IsolatedCheck``).
    static func keras(_ path: String, weights: String?, isolated: Bool = true) throws -> KerasModel {
        guard ["keras", "h5", "json"].contains(URL(fileURLWithPath: path).pathExtension.lowercased()) else {
            throw CLIError.unsupportedFile(path, "expected a model: .keras, .h5 (or config.json with --weights) for Keras, .pt2 for PyTorch")
        }
        if isolated { try IsolatedCheck.keras(path, weights: weights) }
        guard case .keras(let model) = try ModelFile.open(path, weights: weights) else { throw CLIError.unsupportedFile(path, "not a Keras model") }
        return model
    }

    /// The two models of `parity compare`: through ``keras(_:weights:isolated:)`` for Keras files (their
    /// isolated checks run in child processes while the `.pt2` programs load, then the files load here), else
    /// the library's opener.
    static func compared(_ a: (path: String, weights: String?), _ b: (path: String, weights: String?)) throws -> (ComparedModel, ComparedModel) {
        let checks = try [a, b].map { m -> IsolatedCheck.Running? in
            guard !isTorchProgram(m.path), ["keras", "h5", "json"].contains(URL(fileURLWithPath: m.path).pathExtension.lowercased()) else { return nil }
            return try IsolatedCheck.start(m.path, weights: m.weights)
        }
        defer { for check in checks { if let check, check.process.isRunning { check.process.terminate() } } }
        var models: [ComparedModel?] = try [a, b].map { isTorchProgram($0.path) ? try ComparedModel.load($0.path, weights: $0.weights) : nil }
        for (index, m) in [a, b].enumerated() where models[index] == nil {
            try checks[index]?.wait()
            models[index] = ComparedModel(keras: try keras(m.path, weights: m.weights, isolated: checks[index] == nil), label: m.path)
        }
        return (models[0]!, models[1]!)
    }

    /// Arrays for `parity compare`: one `.npy`, or a `.npz` whose keys name the model's inputs.
    static func compareInputs(_ path: String) throws -> ModelInputs {
        if path.lowercased().hasSuffix(".npz") {
            let arrays = try NumpyArchive.read(contentsOf: URL(fileURLWithPath: path))
            return ModelInputs(named: try arrays.map { ($0.name, try Self.tensor($0.record.toTensor())) })
        }
        return ModelInputs(try Self.tensor(NumpyArray.read(contentsOf: URL(fileURLWithPath: path)).toTensor()))
    }

    /// Floating arrays as Float32 (the models' dtype), integer ones (token ids) as they are.
    static func tensor(_ t: Tensor) -> Tensor { t.dtype.isFloatingPoint ? t.cast(to: .float32) : t }

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
