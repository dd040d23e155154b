import Foundation
import ParityCompare
import ParityFormats
import ParityNN
import ParityTestSupport
@testable import ParityTorch
import Testing

/// The conventions catalog (``Conventions``) and docs/conventions.md, which is its Markdown.
@Suite struct ConventionsTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    @Test("docs/conventions.md is `parity conventions --markdown` (regenerate with PARITY_RECORD_CONVENTIONS=1)")
    func documentMatchesTheCode() throws {
        let url = Self.repository.appendingPathComponent("docs/conventions.md")
        if ProcessInfo.processInfo.environment["PARITY_RECORD_CONVENTIONS"] == "1" {
            try Data(Conventions.markdown.utf8).write(to: url)
        }
        let committed = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        #expect(committed == Conventions.markdown, "docs/conventions.md drifted from the code: run `parity conventions --markdown > docs/conventions.md`")
    }

    @Test("ids are unique, every Parity source named exists, every cause id that is a convention has a row")
    func catalog() throws {
        let ids = Conventions.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        for convention in Conventions.all {
            #expect(!convention.parity.isEmpty, "\(convention.id)")
            for path in convention.parity {
                #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(path).path), "\(convention.id): \(path)")
            }
        }
        let covered = Set(Conventions.all.compactMap(\.cause))
        #expect(Set(Cause.allCases).subtracting(covered) == [.floatNoise, .weightsDiffer, .weightsPrecision])
        let trainingCovered = Set(Conventions.all.compactMap(\.trainingCause))
        #expect(Set(TrainingCause.allCases).subtracting(trainingCovered).isSubset(of: [.floatNoise, .optimizerAlgorithm, .labelSmoothing]))
    }

    @Test("every id a source cites as `docs/conventions.md, X.N` is in the catalog")
    func citedIdsExist() throws {
        let sources = Self.repository.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        let ids = Set(Conventions.all.map(\.id))
        let pattern = try Regex(#"docs/conventions\.md,? ([A-H])\.(\d+)"#)
        var cited = 0
        for file in files {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            for match in text.matches(of: pattern) {
                let id = "\(match.output[1].substring!).\(match.output[2].substring!)"
                #expect(ids.contains(id), "\(file.lastPathComponent) cites \(id)")
                cited += 1
            }
        }
        #expect(cited > 10)
    }

    @Test("JSON has both presets and the cause for each row")
    func json() throws {
        let rows = try #require(try JSONValue.parse(Conventions.json).array)
        #expect(rows.count == Conventions.all.count)
        let bn = try #require(rows.first { $0["id"]?.string == "C.11" })
        #expect(bn["keras"]?["value"]?.string == "0.001" && bn["pytorch"]?["value"]?.string == "1e-05" && bn["cause"]?.string == "batchnorm-epsilon")
    }
}

/// A convention is one value every reader follows. The demonstration for PyTorch's default normalisation
/// epsilon: `NormalizationDefaults.pyTorchEpsilon` (`Sources/ParityNN/Layers/Normalization.swift`) is
/// the only place it is written; the ATen kernels use it when a node omits `eps`, the catalog and the
/// cause wording print it, PyTorch → Keras and the diagnosis read it (the same name, checked by `grep`
/// in docs/parameters.md). Changing that one line changes all of them.
@Suite struct ConventionValueTests {
    /// One ATen node on `x` (values of order 1e-2, so an epsilon of 1e-5 and of 1e-3 give different bits).
    static func run(_ target: String, _ arguments: [(String, TorchArgument)], eps: Double?) throws -> Tensor {
        let x = Tensor(shape: [2, 4, 3], values: (0..<24).map { Float(sin(Double($0))) * 0.01 })
        let all = [("input", TorchArgument.tensor("x"))] + arguments + (eps.map { [("eps", TorchArgument.float($0))] } ?? [])
        let node = TorchNode(target: target, name: "op", arguments: all.map { (name: $0.0, value: $0.1) }, outputs: ["y"], moduleStack: [])
        let program = try TorchProgram(source: target, graph: ExportedGraph(inputs: ["x"], nodes: [node], outputs: ["y"]),
                                       inputs: [.init(name: "x", kind: .userInput)], outputs: ["y"], weights: [:])
        return try program.evaluate(node, values: ["x": x], dtype: .float32)[0]
    }

    @Test("PyTorch's default normalisation epsilon is one value: the kernels, the catalog and the causes follow it",
          arguments: [("aten.layer_norm.default", [("normalized_shape", TorchArgument.ints([3]))]),
                      ("aten.group_norm.default", [("num_groups", TorchArgument.int(2))]),
                      ("aten.instance_norm.default", [("use_input_stats", TorchArgument.bool(true))])])
    func pyTorchEpsilon(_ target: String, _ arguments: [(String, TorchArgument)]) throws {
        let omitted = try Self.run(target, arguments, eps: nil)
        let explicit = try Self.run(target, arguments, eps: NormalizationDefaults.pyTorchEpsilon)
        let keras = try Self.run(target, arguments, eps: NormalizationDefaults.kerasEpsilon)
        #expect(omitted.values(Float.self) == explicit.values(Float.self), "\(target) without eps uses NormalizationDefaults.pyTorchEpsilon")
        #expect(omitted.values(Float.self) != keras.values(Float.self), "\(target): the input is one where epsilon shows")
        let written = "\(NormalizationDefaults.pyTorchEpsilon)"
        #expect(Conventions.all.first { $0.id == "C.11" }?.pytorch.value == written)
        #expect(Conventions.all.first { $0.id == "C.12" }?.pytorch.value == written)
        #expect(Cause.batchNormEpsilon.summary.hasSuffix("PyTorch \(written)") && Cause.layerNormEpsilon.summary.hasSuffix("PyTorch \(written)"))
    }
}
