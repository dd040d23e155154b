import Foundation
import ParityKeras
import ParityTorch

/// One side of a comparison: a Keras model or a torch.export program, run with its own framework's semantics.
public struct ComparedModel: Sendable {
    /// The framework whose semantics a side runs with.
    public enum Framework: String, Sendable, Codable {
        /// A Keras model (`.keras`, `.h5`), run as Keras on TensorFlow runs it.
        case keras
        /// A torch.export program (`.pt2`), run as PyTorch's ATen CPU kernels run it.
        case pytorch
    }

    enum Body: Sendable {
        case keras(KerasModel)
        case torch(TorchProgram)
    }

    let body: Body
    /// Where the model came from (a file path), for reports.
    public var label: String

    /// A Keras model, named `label` in reports.
    public init(keras: KerasModel, label: String) { body = .keras(keras); self.label = label }
    /// A torch.export program, named `label` in reports.
    public init(torch: TorchProgram, label: String) { body = .torch(torch); self.label = label }

    /// Opens a model file by its extension (``ModelFile``).
    public static func load(_ path: String, weights: String? = nil) throws -> ComparedModel {
        switch try ModelFile.open(path, weights: weights) {
        case .keras(let model): return ComparedModel(keras: model, label: path)
        case .torch(let program): return ComparedModel(torch: program, label: path)
        }
    }

    /// Keras or PyTorch.
    public var framework: Framework {
        switch body {
        case .keras: return .keras
        case .torch: return .pytorch
        }
    }

    /// One model input: its name, the shape it takes (`nil` where the model leaves an axis free, such as Keras's
    /// batch) and the dtype the file declares (`float32`, `int32`, `int64`, …).
    public struct InputSpec: Sendable, Equatable {
        /// The input's name.
        public var name: String
        /// Its shape, `nil` for a free axis; `nil` when the file does not say.
        public var shape: [Int?]?
        /// The dtype the file declares.
        public var dtype: String
    }

    /// The model's inputs in order: Keras input layer names, `.pt2` user input names.
    public var inputs: [InputSpec] {
        switch body {
        case .keras(let model):
            let n = model.network
            return n.inputs.indices.map { i in
                InputSpec(name: n.inputs[i].layer, shape: i < n.inputShapes.count ? [nil] + n.inputShapes[i] : nil,
                          dtype: i < n.inputDTypes.count ? n.inputDTypes[i] : "float32")
            }
        case .torch(let program):
            return program.userInputs.map { name, meta in
                InputSpec(name: name, shape: meta.map { $0.shape.map { Optional($0) } }, dtype: meta?.dtypeName ?? "float32")
            }
        }
    }

    /// The dataflow graph of the model (``ModelGraph``).
    func graph() throws -> ModelGraph {
        switch body {
        case .keras(let model): return try ModelGraph(keras: model.network, exact: model.network.with(constants: .exact))
        case .torch(let program): return try ModelGraph(torch: program)
        }
    }
}

/// The model files Parity reads, opened by extension: `.pt2` (torch.export, optionally with other weights from a
/// state_dict `.pt` or `.safetensors`), `.keras` and legacy `.h5` (optionally with a `.weights.h5`), or a Keras
/// `config.json` with `--weights`. The one opener of the library and the CLI (which first loads Keras files in a
/// child process: libhdf5 can crash on a corrupt file).
public enum ModelFile {
    /// An opened model file: a Keras model or a torch.export program.
    public enum Opened: Sendable {
        /// A `.keras`, `.h5` or `config.json` model.
        case keras(KerasModel)
        /// A `.pt2` program.
        case torch(TorchProgram)
    }

    /// Whether `path` names a torch.export program (its extension is `.pt2`).
    public static func isTorchProgram(_ path: String) -> Bool { path.lowercased().hasSuffix(".pt2") }

    /// Opens the model at `path` by its extension.
    ///
    /// - Parameters:
    ///   - path: A `.pt2`, `.keras`, `.h5`, or a Keras `config.json` (which needs `weights`).
    ///   - weights: Other weights: a state_dict `.pt` or `.safetensors` replacing a `.pt2`'s, or a Keras
    ///     `.weights.h5` for a `.keras`, `.h5` or `config.json` architecture.
    /// - Throws: ``CompareError/badInput(_:)`` for another extension; the format's own error
    ///   (`KerasError`, `TorchError`, `FormatError`) for a file it cannot read.
    public static func open(_ path: String, weights: String? = nil) throws -> Opened {
        let url = URL(fileURLWithPath: path)
        if isTorchProgram(path) {
            var program = try TorchProgram.load(url)
            if let weights { program = try program.replacingWeights(from: URL(fileURLWithPath: weights)) }
            return .torch(program)
        }
        guard ["keras", "h5", "json"].contains(url.pathExtension.lowercased()) else {
            throw CompareError.badInput("\(path): expected a model: .keras, .h5 (or config.json with --weights) for Keras, .pt2 for PyTorch")
        }
        if let weights { return .keras(try KerasModel.load(architecture: url, weights: URL(fileURLWithPath: weights))) }
        guard url.pathExtension.lowercased() != "json" else {
            throw CompareError.badInput("\(path): a Keras config.json needs its weights (--weights W.weights.h5)")
        }
        return .keras(try KerasModel.load(url))
    }
}
