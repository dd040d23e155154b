import Foundation
import Testing
import ParityTestSupport
@testable import ParityTorch
import ParityNN

@Suite("Reading .pt2 archives")
struct ArchiveTests {
    @Test("torch's schema spells non-finite floats as strings (serialize.py _dataclass_to_dict)")
    func nonFiniteFloats() throws {
        let json = try JSONValue.parse(#"[{"as_float": "Infinity"}, {"as_float": "-Infinity"}, {"as_floats": [1, 0.5, "NaN"]}, {"as_int": 9223372036854775807}]"#)
        let arguments = try #require(json.array).enumerated().map { try GraphParser.argument($1, path: "[\($0)]") }
        guard case .float(let inf) = arguments[0], case .float(let negative) = arguments[1], case .floats(let list) = arguments[2],
              case .int(let end) = arguments[3] else { Issue.record("\(arguments)"); return }
        #expect(inf == .infinity && negative == -.infinity && list[0] == 1 && list[1] == 0.5 && list[2].isNaN && end == .max)
    }

    @Test("the graph, signature and weights of an archive are read")
    func structure() throws {
        let program = try TorchProgram.load(TorchFixture("normalization").archive)
        #expect(program.schemaVersion.major == 8)
        #expect(program.torchVersion.hasPrefix("2."))
        #expect(program.userInputs.map(\.name) == ["x"])
        #expect(program.userInputs.first?.meta?.shape == [2, 4, 5, 5])
        #expect(program.stateDictKeys.contains("bn2.running_var"))
        #expect(program.stateDictKeys.contains("bn2.num_batches_tracked"))
        #expect(program.weights["bn2.num_batches_tracked"]?.dtype == .int64)
        #expect(program.weights["gn.weight"]?.shape == [4])
        let batchNorm = try #require(program.graph.nodes.first { $0.target == "aten.batch_norm.default" })
        #expect(batchNorm.modulePath == "bn2")
        #expect(batchNorm.moduleClass == "torch.nn.modules.batchnorm.BatchNorm2d")
        if case .float(let eps)? = batchNorm.argument("eps") { #expect(eps == 1e-3) } else { Issue.record("eps is not a float") }
    }

    @Test("the core ATen fixture is in core ATen form (run_decompositions), with a transposed convolution")
    func coreATen() throws {
        let program = try TorchProgram.load(TorchFixture("core_aten").archive)
        let targets = Set(program.graph.nodes.map(\.target))
        for target in ["aten._native_batch_norm_legit_no_training.default", "aten.native_layer_norm.default", "aten.native_group_norm.default",
                       "aten._softmax.default", "aten.addmm.default", "aten.index.Tensor", "aten._to_copy.default", "aten.where.self"] {
            #expect(targets.contains(target), "\(target)")
        }
        #expect(!targets.contains("aten.linear.default") && !targets.contains("aten.layer_norm.default"))
        let transposed = program.graph.nodes.filter { node in
            guard node.target == "aten.convolution.default", case .bool(true)? = node.argument("transposed") else { return false }
            return true
        }
        #expect(transposed.count == 1)
    }

    @Test("the summary groups operators by module path")
    func summary() throws {
        let program = try TorchProgram.load(TorchFixture("recurrent").archive)
        let modules = program.summary.modules
        #expect(modules.map(\.path) == ["lstm", "", "gru", "rnn", "lstm1"])
        #expect(modules.first { $0.path == "lstm" }?.operators.map(\.target) == ["aten.zeros.default", "aten.lstm.input"])
        #expect(modules.first { $0.path == "lstm" }?.operators.first?.count == 2)
        #expect(program.summary.description.contains("gru (torch.nn.modules.rnn.GRU): aten.zeros.default, aten.gru.input"))
    }

    @Test("an unsupported operator is refused before running, naming the operator and its module")
    func unsupportedOperator() throws {
        let url = try TorchFixture("unsupported").archive
        #expect(throws: TorchError.unsupportedOperator(target: "aten.stft.default", node: "stft", modulePath: "block.inner", moduleClass: "__main__.Inner")) {
            try TorchProgram.load(url)
        }
        let error = try #require(throws: TorchError.self) { try TorchProgram.load(url) }
        #expect(error.description.contains("aten.stft.default") && error.description.contains("block.inner"))
        #expect(error.description.contains("short-time Fourier transforms are not implemented"), "\(error)")
        // Readable for inspection all the same.
        #expect(try TorchProgram.read(url).unsupportedNodes.map(\.target) == ["aten.stft.default"])
    }

    @Test("corrupt archives give errors, never a crash", arguments: ["truncated", "garbage", "flipped", "no-model", "bad-json", "empty"])
    func corrupt(kind: String) throws {
        let original = try Data(contentsOf: TorchFixture("conv1d").archive)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-torch-\(kind)-\(UUID().uuidString).pt2")
        defer { try? FileManager.default.removeItem(at: url) }
        var data: Data
        switch kind {
        case "truncated": data = original.prefix(original.count / 2)
        case "garbage": data = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })
        case "flipped":
            data = original
            // Corrupt bytes inside the stored model.json: the CRC check must catch it.
            let marker = Data("nn_module_stack".utf8)
            let at = try #require(data.range(of: marker)).lowerBound
            data[at] ^= 0x20
        case "no-model", "bad-json":
            data = try rewrite(original, kind: kind)
        default: data = Data()
        }
        try data.write(to: url)
        #expect(throws: TorchError.self) { try TorchProgram.load(url) }
    }

    @Test("a missing file or a directory is named as such, not as a damaged zip")
    func unreadablePaths() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("parity-missing-\(UUID().uuidString).pt2")
        for (url, reason) in [(missing, "no such file"), (FileManager.default.temporaryDirectory, "a directory, not a file")] {
            #expect(throws: TorchError.unreadableArchive(file: url.path, reason: reason)) { try TorchProgram.load(url) }
        }
    }

    /// The archive with `models/model.json` renamed or its JSON broken (rewritten with ZIP tools
    /// from the standard `zip`/`unzip`, when available).
    func rewrite(_ original: Data, kind: String) throws -> Data {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parity-torch-rewrite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("conv1d.pt2")
        try original.write(to: source)
        func sh(_ command: String) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", command]
            p.currentDirectoryURL = dir
            try p.run()
            p.waitUntilExit()
        }
        try sh("unzip -q conv1d.pt2 -d out")
        let model = dir.appendingPathComponent("out/conv1d/models/model.json")
        if kind == "no-model" { try FileManager.default.removeItem(at: model) } else { try Data("{\"graph_module\": [".utf8).write(to: model) }
        try sh("cd out && zip -q -r -0 ../rewritten.pt2 conv1d")
        return try Data(contentsOf: dir.appendingPathComponent("rewritten.pt2"))
    }
}
