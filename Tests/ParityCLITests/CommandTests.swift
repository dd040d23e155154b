import Foundation
import Testing
import ParityFormats
import ParityTestSupport

/// The `parity` executable, run as a user runs it: output, stderr and exit codes.
@Suite("parity command")
struct CommandTests {
    /// The built `parity` binary, next to the test bundle in the build folder.
    static let binary: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("parity")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: ".build/debug/parity")
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("parity demo prints the three seed examples with their verdicts")
    func demo() throws {
        let result = try Self.run(["demo"])
        #expect(result.status == 0, "\(result.stderr)")
        for label in ["(a) Feed-forward", "(b) LSTM(10)", "(c) Branching", "(c') Branching"] {
            #expect(result.stdout.contains(label))
        }
        let seedSection = result.stdout.components(separatedBy: "Training the seed LSTM")[0]
        #expect(seedSection.components(separatedBy: "PyTorch-style eager").count == 5)
        #expect(seedSection.components(separatedBy: "Float64 reference").count == 5)
        #expect(seedSection.components(separatedBy: "cause: ").count == 5)
        #expect(result.stdout.contains("closer to float64: "))
        #expect(result.stdout.contains("fusion changed rounding"))
    }

    @Test("parity demo trains the seed LSTM both ways and names where and why the weights part")
    func demoTraining() throws {
        let result = try Self.run(["demo"])
        #expect(result.status == 0, "\(result.stderr)")
        let section = try #require(result.stdout.components(separatedBy: "Training the seed LSTM").last)
        // SGD: the eager tape and the traced graph differ by rounding only.
        #expect(section.contains("cause: float-noise"))
        // Each framework's default Adam: the weights part, and both Adam conventions are named with their share.
        #expect(section.contains("the weights part at step 1"))
        #expect(section.contains("cause: optimizer-hyperparameter (ε 1e-7 in Keras, 1e-8 in PyTorch) explains"))
        #expect(section.contains("cause: adam-epsilon"))
        #expect(section.contains("with both swapped in, the runs agree within float noise"))
    }

    @Test("parity demo compares the bundled PyTorch ports after the seed examples")
    func demoPorts() throws {
        let result = try Self.run(["demo", "--examples", Self.examples.deletingLastPathComponent().path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("  faithful          match"))
        #expect(result.stdout.contains("  padding-same      mismatch, parts at conv ↔ conv2d (conv): padding-same"))
        #expect(result.stdout.contains("  pool-ceil-mode mismatch, parts at pool ↔ max_pool2d (pool): pool-ceil-mode"))
        #expect(result.stdout.contains("batchnorm-epsilon (epsilon 0.001 vs epsilon 1e-05)"))
    }

    @Test("parity --help explains the tool and its exit codes")
    func help() throws {
        let result = try Self.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Keras and PyTorch"))
        #expect(result.stdout.contains("Exit codes"))
        #expect(result.stdout.contains("demo"))
    }

    @Test("a bad command or option exits 2 with the message on stderr", arguments: [["nonsense"], ["demo", "--seed", "x"]])
    func badInput(_ arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 2)
        #expect(!result.stderr.isEmpty)
        #expect(result.stdout.isEmpty)
    }

    static let models = Fixtures.root.appendingPathComponent("keras/models").path

    @Test("parity run writes Keras's outputs (npz in, npz out), eager and graph, float32 and float64",
          arguments: ["eager", "graph"], ["float32", "float64"])
    func runKeras(_ mode: String, _ dtype: String) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("parity-run-\(UUID().uuidString).npz")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Self.run(["run", "\(Self.models)/two_towers.keras", "--input", "\(Self.models)/two_towers.inputs.npz",
                                   "--output", output.path, "--mode", mode, "--dtype", dtype])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try NumpyArchive.dictionary(contentsOf: output)
        let expected = try NumpyArchive.dictionary(contentsOf: URL(fileURLWithPath: "\(Self.models)/two_towers.outputs.npz"))
        #expect(Set(written.keys) == ["inner", "head_b"])
        for (name, record) in expected {
            let actual = try #require(written[name]).toTensor()
            #expect(actual.dtype == (dtype == "float32" ? .float32 : .float64))
            let violation = Tolerance(absolute: 1e-6, relative: 1e-5).violation(actual, try record.toTensor())
            #expect(violation == nil, "\(name): \(violation ?? "")")
        }
    }

    @Test("parity run with a .npy input and output, and from a legacy .h5")
    func runNpy() throws {
        let inputs = try NumpyArchive.dictionary(contentsOf: URL(fileURLWithPath: "\(Self.models)/mlp.inputs.npz"))
        let temp = FileManager.default.temporaryDirectory
        let input = temp.appendingPathComponent("parity-in-\(UUID().uuidString).npy"), output = temp.appendingPathComponent("parity-out-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(at: output) }
        try NumpyArray.write(try #require(inputs.values.first), to: input)
        let result = try Self.run(["run", "\(Self.models)/mlp.h5", "--input", input.path, "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try NumpyArchive.dictionary(contentsOf: URL(fileURLWithPath: "\(Self.models)/mlp.outputs.npz")).values.first!
        let violation = Tolerance(absolute: 1e-6, relative: 1e-5).violation(try NumpyArray.read(contentsOf: output).toTensor(), try expected.toTensor())
        #expect(violation == nil)
    }

    @Test("parity run --threads: the same output bytes at 1 and 3 threads; --threads 0 is exit 2")
    func runThreads() throws {
        let temp = FileManager.default.temporaryDirectory
        let outputs = [1, 3].map { temp.appendingPathComponent("parity-threads-\($0)-\(UUID().uuidString).npz") }
        defer { for output in outputs { try? FileManager.default.removeItem(at: output) } }
        for (threads, output) in zip([1, 3], outputs) {
            let result = try Self.run(["run", "\(Self.models)/two_towers.keras", "--input", "\(Self.models)/two_towers.inputs.npz",
                                       "--output", output.path, "--threads", "\(threads)"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let (one, three) = (try NumpyArchive.dictionary(contentsOf: outputs[0]), try NumpyArchive.dictionary(contentsOf: outputs[1]))
        #expect(!one.isEmpty && one.keys.sorted() == three.keys.sorted())
        for key in one.keys { #expect(try one[key]!.toTensor() == three[key]!.toTensor()) }
        let bad = try Self.run(["run", "\(Self.models)/two_towers.keras", "--input", "x.npz", "--output", "y.npz", "--threads", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("--threads"))
    }

    @Test("parity inspect lists layers, shapes, parameters and settings; --json for machines")
    func inspect() throws {
        let text = try Self.run(["inspect", "\(Self.models)/two_towers.keras"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("shared") && text.stdout.contains("activation=tanh") && text.stdout.contains("total parameters: 43"))
        let json = try Self.run(["inspect", "\(Self.models)/two_towers.h5", "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"totalParameters\" : 43"))
    }

    @Test("bad model files and inputs exit 2 with a message on stderr")
    func badFiles() throws {
        let cases: [[String]] = [
            ["run", "\(Self.models)/missing.keras", "--input", "x.npy", "--output", "y.npy"],
            ["run", "\(Self.models)/two_towers.keras", "--input", "\(Self.models)/mlp.inputs.npz", "--output", "/tmp/y.npz"],
            ["inspect", "\(Self.models)/two_towers.json"],
            ["inspect", "\(Self.models)/mlp.weights.h5"],
            // A file that crashes libhdf5 itself: caught by the isolated load.
            ["inspect", Fixtures.root.appendingPathComponent("keras/bad/crashes-libhdf5.h5").path],
            ["run", Fixtures.root.appendingPathComponent("keras/bad/crashes-libhdf5.h5").path, "--input", "x.npy", "--output", "/tmp/y.npy"],
        ]
        for arguments in cases {
            let result = try Self.run(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.hasPrefix("error: "), "\(arguments): \(result.stderr)")
        }
    }

    static let torch = Fixtures.root.appendingPathComponent("torch")

    @Test("parity run on a torch.export .pt2, with and without --weights (.pt, .safetensors)",
          arguments: [nil, "conv2d.alt.pt", "conv2d.alt.safetensors"])
    func runTorch(_ weights: String?) throws {
        let fixture = try Fixtures.json("torch/conv2d.json")
        let temp = FileManager.default.temporaryDirectory
        let input = temp.appendingPathComponent("parity-torch-in-\(UUID().uuidString).npy")
        let output = temp.appendingPathComponent("parity-torch-out-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(at: output) }
        try NumpyArray.write(ArrayRecord(try Fixtures.tensor(fixture["inputs"]!.array![0], as: .float32)), to: input)
        var arguments = ["run", Self.torch.appendingPathComponent("conv2d.pt2").path, "--input", input.path, "--output", output.path]
        if let weights { arguments += ["--weights", Self.torch.appendingPathComponent(weights).path] }
        let result = try Self.run(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try Fixtures.tensor(fixture[weights == nil ? "outputs_float32" : "outputs_alt_float32"]!.array![0], as: .float32)
        let violation = Tolerance(absolute: 1e-6, relative: 1e-5).violation(try NumpyArray.read(contentsOf: output).toTensor(), expected)
        #expect(violation == nil, "\(violation ?? "")")
    }

    @Test("parity inspect on .pt2, .pt and .safetensors; an unsupported operator exits 2 naming its module")
    func inspectTorch() throws {
        let program = try Self.run(["inspect", Self.torch.appendingPathComponent("conv2d.pt2").path])
        #expect(program.status == 0)
        #expect(program.stdout.contains("c1.weight") && program.stdout.contains("aten.conv2d"))
        for file in ["conv2d.alt.pt", "conv2d.alt.safetensors"] {
            let weights = try Self.run(["inspect", Self.torch.appendingPathComponent(file).path, "--json"])
            #expect(weights.status == 0)
            #expect(weights.stdout.contains("\"c1.weight\"") && weights.stdout.contains("\"totalBytes\" : 1184"))
        }
        let unsupported = try Self.run(["run", Self.torch.appendingPathComponent("unsupported.pt2").path, "--input", "x.npy", "--output", "y.npy"])
        #expect(unsupported.status == 2)
        #expect(unsupported.stderr.contains("aten.stft") && unsupported.stderr.contains("block.inner"))
    }

    static let examples = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples/conv_bn_dense")

    @Test("parity compare: a faithful port exits 0, a port with a planted mistake exits 1 naming the layer",
          arguments: [("faithful", Int32(0), nil), ("batchnorm-epsilon", Int32(1), "bn"), ("flatten-order", Int32(1), "flatten")] as [(String, Int32, String?)])
    func compare(_ port: String, _ status: Int32, _ layer: String?) throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("parity-compare-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: report) }
        let result = try Self.run(["compare", Self.examples.appendingPathComponent("keras.keras").path,
                                   Self.examples.appendingPathComponent("\(port)/torch.pt2").path,
                                   "--input", Self.examples.appendingPathComponent("input.npy").path, "--json", report.path])
        #expect(result.status == status, "\(result.stderr)")
        #expect(result.stdout.contains(status == 0 ? "verdict: MATCH" : "verdict: MISMATCH"))
        if let layer { #expect(result.stdout.contains("first layer beyond float noise: \(layer)")) }
        let json = try JSONValue.parse(Data(contentsOf: report))
        #expect(json["verdict"]?.string == (status == 0 ? "match" : "mismatch"))
    }

    @Test("parity compare --input X.npz feeds a two-input model by input name, B's inputs re-laid out, and says so",
          arguments: [("faithful", Int32(0)), ("weights-differ", Int32(1))] as [(String, Int32)])
    func compareTwoInputs(_ port: String, _ status: Int32) throws {
        let base = Self.examples.deletingLastPathComponent().appendingPathComponent("ports/two_inputs")
        let result = try Self.run(["compare", base.appendingPathComponent("keras.keras").path, base.appendingPathComponent("\(port)/torch.pt2").path,
                                   "--input", base.appendingPathComponent("input.npz").path])
        #expect(result.status == status, "\(result.stderr)")
        #expect(result.stdout.contains("input: 'image' permuted [0, 3, 1, 2] (NHWC → NCHW) → [2, 2, 6, 6]"), "\(result.stdout)")
        #expect(result.stdout.contains("input: 'meta' as it is"))
        if status == 1 { #expect(result.stdout.contains("- [weights-differ] fc ↔ ")) }
    }

    @Test("parity compare --html writes a self-contained report with the plot and the finding")
    func compareHTML() throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("parity-compare-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: report) }
        let result = try Self.run(["compare", Self.examples.appendingPathComponent("keras.keras").path,
                                   Self.examples.appendingPathComponent("padding-same/torch.pt2").path,
                                   "--input", Self.examples.appendingPathComponent("input.npy").path, "--html", report.path])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("verdict: MISMATCH"))
        let html = try String(contentsOf: report, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg") && html.contains("MISMATCH") && html.contains("<code>padding-same</code>"))
        #expect(!html.contains("http"))
    }

    @Test("a report path in a missing folder is exit 2 naming the path and the reason")
    func compareUnwritableReport() throws {
        let report = "/nonexistent-\(UUID().uuidString)/report.html"
        let result = try Self.run(["compare", Self.examples.appendingPathComponent("keras.keras").path,
                                   Self.examples.appendingPathComponent("faithful/torch.pt2").path,
                                   "--input", Self.examples.appendingPathComponent("input.npy").path, "--html", report])
        #expect(result.status == 2)
        #expect(result.stderr == "error: cannot access \(report): No such file or directory\n")
    }
}

/// `parity convert`: files written, the mapping and the proof printed, exit codes.
@Suite("parity convert")
struct ConvertCommandTests {
    static let models = Fixtures.root.appendingPathComponent("keras/models")

    @Test("Keras → PyTorch writes model.py, model.pt, model.safetensors, prints the mapping and the proof, exits 0")
    func keras() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parity-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandTests.run(["convert", Self.models.appendingPathComponent("mlp.keras").path, "--to", "torch", "--output", directory.path,
                                           "--input", Self.models.appendingPathComponent("mlp.inputs.npz").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("dense/kernel (6, 8)   → dense.weight (8, 6): transpose"), "\(result.stdout)")
        #expect(result.stdout.contains("proof: converted (PyTorch semantics) vs Keras, 9 outputs in float32: max abs"), "\(result.stdout)")
        #expect(result.stdout.contains("within |Δ| ≤ 1e-05 + 1.3e-06·|keras|"))
        for file in ["model.py", "model.pt", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
        }
        #expect(try String(contentsOf: directory.appendingPathComponent("model.py"), encoding: .utf8).contains("class Model(nn.Module):"))
    }

    @Test("PyTorch → Keras writes model.keras, prints the mapping, the rounding notes and the proof, exits 0")
    func torch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parity-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandTests.run(["convert", Fixtures.root.appendingPathComponent("torch/keras_sequence.pt2").path, "--to", "keras",
                                           "--output", directory.path, "--seed", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("  lstm.weight_ih_l0 (20, 4) "), "\(result.stdout)")
        #expect(result.stdout.contains(" → lstm/kernel (4, 20): gates [i, f, g, o] = [i, f, c, o], transpose\n"))
        #expect(result.stdout.contains("  lstm.bias_ih_l0 (20), lstm.bias_hh_l0 (20) → lstm/bias (20): each gates [i, f, g, o] = [i, f, c, o], bias = bias_ih_l0 + bias_hh_l0 (one sum, exact up to its rounding)"))
        #expect(result.stdout.contains("exact up to a stated rounding:\n  lstm: Keras bias = bias_ih + bias_hh"))
        #expect(result.stdout.contains("proof: converted (Keras semantics) vs PyTorch, 172 outputs in float32: max abs"), "\(result.stdout)")
        #expect(result.stdout.contains("within |Δ| ≤ 1e-05 + 1.3e-06·|torch|"))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.keras").path))
    }

    @Test("a proof side that cannot fit in --proof-memory exits 2 saying what it needs; the archive is written, not proven")
    func proofMemory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parity-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandTests.run(["convert", Fixtures.root.appendingPathComponent("torch/keras_sequence.pt2").path, "--to", "keras",
                                           "--output", directory.path, "--proof-memory", "0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("the proof cannot run the PyTorch side within memory: with its weights ("), "\(result.stderr)")
        #expect(result.stderr.contains("the converted files are written but not proven"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.keras").path))
    }

    @Test("an unsupported layer or node, and a file of the wrong framework, exit 2 with the reason on stderr",
          arguments: [(["../../convert/refused/upsampling3d.keras", "--to", "torch"], "layer 'up3d' (UpSampling3D) cannot be converted to PyTorch"),
                      (["mlp.keras", "--to", "keras"], "--to keras converts a PyTorch program (.pt2, from torch.export)"),
                      (["../../torch/activations.pt2", "--to", "torch"], "a PyTorch program converts --to keras"),
                      (["../../torch/refused_lstm_projection.pt2", "--to", "keras"],
                       "node 'lstm' (aten.lstm.input) in module 'lstm' (torch.nn.modules.rnn.LSTM) cannot be converted to Keras: LSTM with proj_size")])
    func refused(_ arguments: [String], _ message: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parity-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandTests.run(["convert", Self.models.appendingPathComponent(arguments[0]).path] + arguments.dropFirst() + ["--output", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
