import Foundation
import ParityFormats
import ParityTensor
import ParityTestSupport
import Testing

/// `parity train` as a user runs it, on the training fixtures (real Keras / PyTorch runs).
@Suite("parity train")
struct TrainCommandTests {
    static let train = Fixtures.root.appendingPathComponent("train")

    /// Writes a case's input and target as .npy files in a fresh folder.
    static func data(_ name: String) throws -> (folder: URL, input: String, target: String, expected: [String: Tensor]) {
        var arrays: [String: Tensor] = [:]
        for entry in try NumpyArchive.read(contentsOf: train.appendingPathComponent("cases/\(name).npz")) { arrays[entry.name] = try entry.record.toTensor() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parity-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let input = folder.appendingPathComponent("x.npy"), target = folder.appendingPathComponent("y.npy")
        try NumpyArray.write(ArrayRecord(try #require(arrays["input"])), to: input)
        try NumpyArray.write(ArrayRecord(try #require(arrays["target"])), to: target)
        return (folder, input.path, target.path, arrays)
    }

    /// Every weight of W.npz within 1e-5 + 1e-5·|w| of the framework's, under the framework's names.
    static func expectMatches(_ output: URL, _ expected: [String: Tensor]) throws {
        let written = try NumpyArchive.read(contentsOf: output)
        let names = Set(expected.keys.filter { $0.hasPrefix("weight:") }.map { String($0.dropFirst(7)) })
        #expect(Set(written.map(\.name)) == names)
        for entry in written {
            let value = try entry.record.toTensor(), reference = try #require(expected["weight:" + entry.name])
            #expect(value.shape == reference.shape && value.dtype == reference.dtype, "\(entry.name)")
            for (a, e) in zip(value.doubles, reference.doubles) { #expect(abs(a - e) <= 1e-5 + 1e-5 * abs(e), "\(entry.name): \(a) vs \(e)") }
        }
    }

    @Test("a .pt2 trains with the given optimizer and loss, as PyTorch does; --json has each step's loss")
    func torchProgram() throws {
        let (folder, x, y, expected) = try Self.data("torch_model_bn_mlp")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("w.npz"), report = folder.appendingPathComponent("r.json")
        let result = try CommandTests.run(["train", Self.train.appendingPathComponent("torch/bn_mlp.pt2").path, "--input", x, "--target", y,
                                           "--steps", "10", "--batch-size", "4", "--output", output.path,
                                           "--optimizer", "torch.optim.SGD(lr=0.1, momentum=0.9)", "--loss", "nn.MSELoss()", "--json", report.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("trained 10 steps (PyTorch, eager gradients, float32)"))
        try Self.expectMatches(output, expected)
        let json = try JSONValue.parse(Data(contentsOf: report))
        let losses = try #require(json["losses"]?.array).compactMap(\.double)
        let reference = try #require(expected["losses"]).doubles
        #expect(losses.count == 10)
        for (a, e) in zip(losses, reference) { #expect(abs(a - e) <= 1e-5 + 1e-5 * abs(e)) }
    }

    @Test("a run whose loss diverges writes it to --json as \"inf\"/\"nan\" strings, not an encoding error")
    func divergedLossInJSON() throws {
        let (folder, x, y, _) = try Self.data("torch_model_bn_mlp")
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("r.json")
        let result = try CommandTests.run(["train", Self.train.appendingPathComponent("torch/bn_mlp.pt2").path, "--input", x, "--target", y,
                                           "--steps", "4", "--batch-size", "4", "--output", folder.appendingPathComponent("w.npz").path,
                                           "--optimizer", "SGD(lr=1e30)", "--loss", "MSELoss()", "--json", report.path])
        #expect(result.status == 0, "\(result.stderr)")
        let losses = try #require(JSONValue.parse(Data(contentsOf: report))["losses"]?.array)
        #expect(losses.count == 4 && losses[0].double?.isFinite == true)
        #expect(losses.dropFirst().contains { ["inf", "nan"].contains($0.string) })
    }

    @Test("a .keras saved after compile trains with its own optimizer and loss")
    func kerasCompileConfig() throws {
        let (folder, x, y, expected) = try Self.data("keras_compiled_adam")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("w.npz")
        let result = try CommandTests.run(["train", Self.train.appendingPathComponent("keras/mlp_compiled_adam.keras").path, "--input", x,
                                           "--target", y, "--steps", "10", "--batch-size", "4", "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("Adam(epsilon=1e-06, learning_rate=0.019999999552965164), SparseCategoricalCrossentropy()"))
        try Self.expectMatches(output, expected)
    }

    @Test("--sample-weight weights each row as Keras's sample_weight does")
    func sampleWeights() throws {
        let (folder, x, y, expected) = try Self.data("keras_loss_sparse_weighted")
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = folder.appendingPathComponent("w.npy"), output = folder.appendingPathComponent("out.npz")
        try NumpyArray.write(ArrayRecord(try #require(expected["sample_weight"])), to: weights)
        let result = try CommandTests.run(["train", Self.train.appendingPathComponent("keras/mlp_softmax.keras").path, "--input", x, "--target", y,
                                           "--steps", "10", "--batch-size", "4", "--optimizer", "SGD(learning_rate=0.1)",
                                           "--loss", "SparseCategoricalCrossentropy()", "--sample-weight", weights.path, "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.expectMatches(output, expected)
    }

    @Test("--class-weight weights each row by its class as Keras's fit does")
    func classWeights() throws {
        let (folder, x, y, expected) = try Self.data("keras_loss_cce_class_weight")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.npz")
        let result = try CommandTests.run(["train", Self.train.appendingPathComponent("keras/mlp_softmax.keras").path, "--input", x, "--target", y,
                                           "--steps", "10", "--batch-size", "4", "--optimizer", "SGD(learning_rate=0.1)",
                                           "--loss", "CategoricalCrossentropy()", "--class-weight", "{0: 0.5, 3: 3.0}", "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.expectMatches(output, expected)
    }

    @Test("bad specs, targets and models exit 2 with the reason", arguments: [
        (["keras/mlp.keras"], "saved without compile_config"),
        (["torch/mlp.pt2"], "a .pt2 records no optimizer or loss"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1", "--loss", "MSELoss()"], "cannot parse 'SGD(lr=0.1' at character 10: missing ')'"),
        (["torch/mlp.pt2", "--optimizer", "Adamw(lr=0.1)", "--loss", "MSELoss()"], "unknown PyTorch optimizer 'Adamw' (did you mean AdamW?)"),
        (["torch/mlp.pt2", "--optimizer", "Adam(learning_rate=0.1)", "--loss", "MSELoss()"], "Adam takes no argument 'learning_rate' (learning_rate is Keras's spelling"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1)", "--loss", "NLLLoss()", "--batch-size", "4"], "bad target: NLLLoss takes class indices (an int64 target)"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1)", "--loss", "MSELoss()"], "exported for input 'input' of shape [4, 6]; this step gives [12, 6] (use --batch-size 4)"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1)", "--loss", "MSELoss(reduction='none')", "--batch-size", "4"], "expected 'mean' or 'sum'"),
        (["torch/no_weights.pt2", "--optimizer", "SGD(lr=0.1)", "--loss", "MSELoss()", "--batch-size", "4"], "has no trainable weights"),
        (["keras/no_weights.keras"], "has no trainable weights"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1)", "--loss", "MSELoss()", "--class-weight", "{0: 2}"], "PyTorch losses take no sample or class weights"),
        (["keras/mlp.keras", "--optimizer", "SGD()", "--loss", "MeanSquaredError()", "--class-weight", "{0: 2, one: 3}"], "expected {class: weight, ...}"),
        (["torch/mlp.pt2", "--optimizer", "Adagrad(lr=0.1) + OneCycleLR(max_lr=0.1, total_steps=10)", "--loss", "MSELoss()"],
         "Adagrad has no momentum or betas to cycle"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1) + OneCycleLR(max_lr=0.1)", "--loss", "MSELoss()"], "give total_steps, or epochs and steps_per_epoch"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1) + LinearLR(start_factor=0)", "--loss", "MSELoss()"], "must be in (0, 1]"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1) + OneCycleLR(max_lr=0.1, total_steps=10, pct_start=0.1)", "--loss", "MSELoss()"],
         "gives a phase of no steps"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1) + OneCycleLR(max_lr=0.1, total_steps=1, pct_start=0.0)", "--loss", "MSELoss()", "--batch-size", "4"],
         "runs at most that many steps"),
        (["torch/mlp.pt2", "--optimizer", "SGD(lr=0.1)", "--loss", "BCELoss(weight=[1.0, 2.0])", "--batch-size", "4"], "must broadcast to the input's shape [4, 3]"),
    ])
    func refusals(_ arguments: [String], _ message: String) throws {
        let (folder, x, y, _) = try Self.data("torch_loss_mse")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try CommandTests.run(["train", Self.train.appendingPathComponent(arguments[0]).path, "--input", x, "--target", y,
                                           "--steps", "2", "--output", folder.appendingPathComponent("w.npz").path] + arguments.dropFirst())
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}

/// `parity compare --train-steps` as a user runs it, on a Keras model and its PyTorch port
/// (Tests/Fixtures/train/compare, scripts/make_training_compare_pairs.py).
@Suite("parity compare --train-steps")
struct CompareTrainingCommandTests {
    static let pairs = Fixtures.root.appendingPathComponent("train/compare")

    static func data() throws -> (folder: URL, input: String, target: String) {
        var arrays: [String: Tensor] = [:]
        for entry in try NumpyArchive.read(contentsOf: pairs.appendingPathComponent("data.npz")) { arrays[entry.name] = try entry.record.toTensor() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parity-compare-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let input = folder.appendingPathComponent("x.npy"), target = folder.appendingPathComponent("y.npy")
        try NumpyArray.write(ArrayRecord(try #require(arrays["x"])), to: input)
        try NumpyArray.write(ArrayRecord(try #require(arrays["y"])), to: target)
        return (folder, input.path, target.path)
    }

    @Test("Keras Adam() against torch.optim.Adam(): exit 1, the step and the causes, and a JSON report with train_steps")
    func defaultAdams() throws {
        let (folder, x, y) = try Self.data()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("r.json"), page = folder.appendingPathComponent("r.html")
        let result = try CommandTests.run(["compare", Self.pairs.appendingPathComponent("mlp.keras").path, Self.pairs.appendingPathComponent("mlp.pt2").path,
                                           "--input", x, "--target", y, "--train-steps", "3", "--batch-size", "4",
                                           "--optimizer-b", "torch.optim.Adam(lr=0.001)", "--loss-b", "nn.MSELoss()", "--json", report.path,
                                           "--html", page.path])
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.contains("<section id=\"training\">"))
        #expect(html.contains("<code>adam-epsilon</code>"))
        #expect(html.components(separatedBy: "<svg").count == 4)  // the forward plot, then the loss and the parameter error per step
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("Training comparison: 3 steps, batches of 4"))
        #expect(result.stdout.contains("first parts at step 1"))
        #expect(result.stdout.contains("cause: adam-epsilon"))
        #expect(result.stdout.contains("cause: optimizer-hyperparameter"))
        let json = try JSONValue.parse(Data(contentsOf: report))
        #expect(json["training"]?["train_steps"]?.array?.count == 3)
        #expect(json["training"]?["first_divergence"]?["step"]?.double == 1)
        #expect(json["layers"]?.array?.isEmpty == false)
    }

    @Test("a PyTorch side without --optimizer-b exits 2 naming the option")
    func missingOptimizer() throws {
        let (folder, x, y) = try Self.data()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try CommandTests.run(["compare", Self.pairs.appendingPathComponent("mlp.keras").path, Self.pairs.appendingPathComponent("mlp.pt2").path,
                                           "--input", x, "--target", y, "--train-steps", "2", "--batch-size", "4"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--optimizer-b and --loss-b"))
    }
}
