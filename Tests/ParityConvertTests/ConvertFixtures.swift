import Foundation
import Testing
import ParityConvert
import ParityTorch
import ParityKeras
import ParityTestSupport

/// A single-layer Keras fixture (`Tests/Fixtures/keras/layers/*.json`, made by the real Keras) as a
/// one-layer Functional network, so it converts like a whole model.
struct LayerCase: CustomTestStringConvertible, Sendable {
    let family: String
    let json: JSONValue
    var testDescription: String { "\(family): \(json["name"]!.string!)" }
    var className: String { json["class_name"]!.string! }
    /// `conv_conv2d_same_stride_2_even`: the case's folder name.
    var slug: String {
        let text = "\(family) \(json["name"]!.string!)".lowercased()
        return String(text.map { $0.isLetter || $0.isNumber ? $0 : "_" }).split(separator: "_").joined(separator: "_")
    }

    static let all: [LayerCase] = {
        let folder = Fixtures.root.appendingPathComponent("keras/layers")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.sorted().flatMap { file in
            let root = try! Fixtures.json("keras/layers/\(file)")
            return root["cases"]!.array!.map { LayerCase(family: String(file.dropLast(5)), json: $0) }
        }
    }()

    /// The cases whose class converts.
    static let convertible = all.filter { KerasToTorch.supportedClasses.contains($0.className) }

    func inputs() throws -> [Tensor] {
        try json["inputs"]!.array!.map { value in
            let t = try Fixtures.tensor(value)
            return t.dtype == .int64 ? t : t.cast(to: .float32)
        }
    }

    /// Keras's own float32 outputs for ``inputs()``.
    func kerasOutputs() throws -> [Tensor] { try json["output32"]!.array!.map { try Fixtures.tensor($0, as: .float32) } }

    struct Weights: KerasWeightSource {
        let tensors: [Tensor]
        func weights(for layer: KerasLayerLocation) throws -> [Tensor] { tensors }
    }

    /// `{"class_name": "Functional", ...}` with one InputLayer per input and the layer reading them; its
    /// outputs are the layer's (several for a recurrent layer's `return_state` or `merge_mode=None`).
    func network() throws -> KerasNetwork {
        let config = json["config"]!
        let name = config["name"]!.string!
        let shapes = try inputs().map(\.shape)
        func history(_ layer: String) -> JSONValue {
            .object(["class_name": .string("__keras_tensor__"), "config": .object(["keras_history": .array([.string(layer), .int(0), .int(0)])])])
        }
        let inputNames = shapes.indices.map { "input_\($0)" }
        var layers: [JSONValue] = zip(inputNames, shapes).map { input, shape in
            .object(["class_name": .string("InputLayer"), "config": .object([
                "name": .string(input), "batch_shape": .array([.null] + shape.dropFirst().map { .int($0) }),
                "dtype": .string(json["inputs"]!.array![inputNames.firstIndex(of: input)!]["dtype"]?.string == "int64" ? "int64" : "float32"),
            ])])
        }
        let args: JSONValue = inputNames.count == 1 ? .array([history(inputNames[0])]) : .array([.array(inputNames.map(history))])
        layers.append(.object(["class_name": .string(className), "config": config,
                               "inbound_nodes": .array([.object(["args": args, "kwargs": .object([:])])])]))
        let model: JSONValue = .object(["class_name": .string("Functional"), "config": .object([
            "name": .string("case"), "layers": .array(layers),
            "input_layers": .array(inputNames.map { .array([.string($0), .int(0), .int(0)]) }),
            "output_layers": .array(json["output32"]!.array!.indices.map { .array([.string(name), .int(0), .int($0)]) }),
        ])])
        let weights = try json["weights"]!.array!.map { try Fixtures.tensor($0, as: .float32) }
        return try KerasNetwork(config: model, weights: Weights(tensors: weights))
    }
}

/// The whole-model conversion fixtures, `Tests/Fixtures/convert/<name>/`: the Keras model (`keras.keras`,
/// or a shared one from `Tests/Fixtures/keras/models`), `inputs.npz` and the real Keras's
/// `keras_outputs.npz` (scripts/make_convert_fixtures.py), and the golden PyTorch side: `model.py`,
/// `model.pt` (recorded with `PARITY_RECORD=1`, checked in real PyTorch by scripts/verify_conversions.py).
enum ModelFixtures {
    static let names = ["mlp", "cnn", "sequence", "convnet", "recurrent", "graph", "two_towers", "merge", "text", "extras", "convnext_forms", "keras_ops", "custom_scale"]
    static let record = ProcessInfo.processInfo.environment["PARITY_RECORD"] == "1"

    static func folder(_ name: String) -> URL { Fixtures.root.appendingPathComponent("convert/\(name)") }

    static func url(_ name: String) -> URL {
        let shared = Fixtures.root.appendingPathComponent("keras/models/\(name).keras")
        return FileManager.default.fileExists(atPath: shared.path) ? shared : folder(name).appendingPathComponent("keras.keras")
    }

    static func arrays(_ name: String, _ file: String) throws -> [Tensor] {
        try NumpyArchive.read(contentsOf: folder(name).appendingPathComponent(file)).map { try $0.record.toTensor() }
    }

    /// In the model's input order (the archive is keyed by input layer).
    static func inputs(_ name: String, network: KerasNetwork) throws -> [Tensor] {
        let entries = try NumpyArchive.read(contentsOf: folder(name).appendingPathComponent("inputs.npz"))
        return try network.inputs.map { ref in
            let t = try entries.first { $0.name == ref.layer }!.record.toTensor()
            return t.dtype.isFloatingPoint ? t.cast(to: .float32) : t.cast(to: .int64)
        }
    }

    static func kerasOutputs(_ name: String) throws -> [Tensor] { try arrays(name, "keras_outputs.npz").map { $0.cast(to: .float32) } }

    static func convert(_ name: String) throws -> KerasToTorch.Conversion {
        let model = try KerasModel.load(url(name))
        return try KerasToTorch.convert(model.network, inputs: inputs(name, network: model.network), source: url(name).lastPathComponent,
                                        kerasVersion: model.kerasVersion)
    }
}

/// The PyTorch programs that convert to Keras: the `.pt2` fixtures whose every node has an exact Keras
/// layer (`Tests/Fixtures/torch/`, made by scripts/make_torch_fixtures.py, with PyTorch's outputs) and
/// the example ports (`examples/<example>/<variant>/torch.pt2`, run on seeded inputs). The converted
/// archives are committed under `Tests/Fixtures/convert/torch_to_keras/<name>/` (recorded with
/// `PARITY_RECORD=1`) with `inputs.npz` and `source.txt`, for scripts/verify_torch_to_keras.py to run
/// in the real Keras against the real PyTorch.
struct TorchProgramCase: CustomTestStringConvertible, Sendable {
    /// The folder name under `convert/torch_to_keras/`.
    let name: String
    /// The `.pt2` path from the repository root.
    let path: String
    var testDescription: String { name }

    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    static let fixtureNames = [
        "activations", "conv1d", "conv2d", "conv3d", "convert_bigru", "convert_bilstm", "convert_conv_transpose", "convert_dilated_transpose", "convert_interpolate", "convert_masks_math", "convert_nearest_nd", "convert_rms_attention", "convert_stacked_rnn", "convert_statistics", "convert_rnn", "convert_rnn_states", "convert_timm_forms", "convert_view_writes",
        "embedding_dropout",
        "keras_cnn", "keras_sequence", "keras_text", "normalization", "shapes", "upsample",
    ]
    static let examples = [
        "cnn_pool_upsample/faithful", "cnn_pool_upsample/activation-variant", "cnn_pool_upsample/kernel-layout",
        "cnn_pool_upsample/pool-count-include-pad", "cnn_pool_upsample/weights-differ", "conv_bn_dense/faithful",
        "conv_bn_dense/batchnorm-epsilon", "conv_bn_dense/flatten-order", "conv_bn_dense/padding-same", "dense_bn_small_effect/faithful",
        "dense_bn_small_effect/batchnorm-epsilon", "pool_ceil/faithful", "pool_ceil/pool-ceil-mode", "rnn_sequence/faithful",
        "attention_block/faithful", "cnn_pool_upsample/interpolation-mode",
    ]
    static let convertible: [TorchProgramCase] = fixtureNames.map { TorchProgramCase(name: $0, path: "Tests/Fixtures/torch/\($0).pt2") }
        + examples.map { TorchProgramCase(name: "example_" + $0.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "-", with: "_"),
                                          path: "examples/\($0)/torch.pt2") }

    static func get(_ name: String) -> TorchProgramCase { convertible.first { $0.name == name }! }

    var url: URL { Self.repository.appendingPathComponent(path) }
    var folder: URL { Fixtures.root.appendingPathComponent("convert/torch_to_keras/\(name)") }
    /// The fixture's JSON (inputs and PyTorch's outputs), for the `Tests/Fixtures/torch` programs.
    var fixtureJSON: JSONValue? { path.hasPrefix("Tests/") ? try? Fixtures.json("torch/\(name).json") : nil }

    func program() throws -> TorchProgram { try TorchProgram.load(url) }

    /// The fixture's own inputs, else seeded ones of the exported shapes.
    func inputs(_ program: TorchProgram) throws -> [Tensor] {
        guard let json = fixtureJSON else { return try TorchToKeras.exampleInputs(for: program) }
        return try json["inputs"]!.array!.map { value in
            let t = try Fixtures.tensor(value)
            return t.dtype == .int64 ? t : t.cast(to: .float32)
        }
    }

    /// PyTorch's own float32 outputs (fixtures only).
    func torchOutputs() throws -> [Tensor]? {
        try fixtureJSON?["outputs_float32"]?.array?.map { try Fixtures.tensor($0, as: .float32) }
    }
}
