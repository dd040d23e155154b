import Foundation
import Testing
import ParityKeras
import ParityTestSupport
import ZIPFoundation

/// Whole models saved by Keras itself (scripts/make_keras_model_fixtures.py) in each file format.
@Suite("Keras model files")
struct KerasModelTests {
    static let models = ["mlp", "two_towers", "cnn", "sequence", "text", "merge", "extras"]
    static let folder = Fixtures.root.appendingPathComponent("keras/models")

    enum Source: String, CaseIterable, Sendable { case keras = ".keras", legacy = ".h5", weights = ".weights.h5" }

    static func load(_ name: String, _ source: Source) throws -> KerasModel {
        switch source {
        case .keras: return try KerasModel.load(folder.appendingPathComponent("\(name).keras"))
        case .legacy: return try KerasModel.load(folder.appendingPathComponent("\(name).h5"))
        case .weights:
            return try KerasModel.load(architecture: folder.appendingPathComponent("\(name).keras"),
                                       weights: folder.appendingPathComponent("\(name).weights.h5"))
        }
    }

    static func expected(_ name: String) throws -> JSONValue { try Fixtures.json("keras/models/\(name).json") }

    @Test("float32 outputs match Keras, eager and graph", arguments: models, Source.allCases)
    func float32(_ name: String, _ source: Source) throws {
        let model = try Self.load(name, source)
        let fixture = try Self.expected(name)
        let inputs = try fixture["inputs"]!.array!.map { value in
            let t = try Fixtures.tensor(value)
            return t.dtype == .int64 ? t : t.cast(to: .float32)
        }
        for mode in [ExecutionMode.eager, .graph(.standard)] {
            let outputs = try model.run(inputs, mode: mode)
            for (output, expected) in zip(outputs, fixture["outputs32"]!.array!) {
                let violation = Tolerance(absolute: 1e-6, relative: 1e-5).violation(output, try Fixtures.tensor(expected, as: .float32))
                #expect(violation == nil, "\(name)\(source.rawValue) [\(mode)]: \(violation ?? "")")
            }
        }
    }

    @Test("float64 outputs match Keras's float64 copy", arguments: models)
    func float64(_ name: String) throws {
        let model = try Self.load(name, .keras)
        let fixture = try Self.expected(name)
        let inputs = try fixture["inputs"]!.array!.map { try Fixtures.tensor($0) }
        for (output, expected) in zip(try model.run(inputs, mode: .eager, dtype: .float64), fixture["outputs64"]!.array!) {
            let violation = Tolerance(absolute: 1e-12, relative: 1e-11).violation(output, try Fixtures.tensor(expected))
            #expect(violation == nil, "\(name): \(violation ?? "")")
        }
    }

    @Test("inspect: layers, output shapes and parameter counts")
    func summary() throws {
        let summary = try KerasModelSummary(try Self.load("two_towers", .keras), batch: 3)
        #expect(summary.totalParameters == 4 * 5 + 5 + 5 * 2 + 2 + 5 * 1 + 1, "\(summary.layers.map { ($0.name, $0.parameters) })")
        let shared = try #require(summary.layers.first { $0.name == "shared" })
        #expect(shared.outputShapes == [[3, 5], [3, 5]])
        #expect(shared.settings["activation"] == "tanh")
        #expect(summary.layers.map(\.name).contains("inner_dense"))
    }

    @Test("a damaged or foreign file is a clear KerasError")
    func badFiles() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("parity-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        let good = try Data(contentsOf: Self.folder.appendingPathComponent("mlp.keras"))
        let goodH5 = try Data(contentsOf: Self.folder.appendingPathComponent("mlp.h5"))
        let cases: [(String, Data)] = [
            ("truncated.keras", good.prefix(good.count / 2)),
            ("zip-header-only.keras", good.prefix(40)),
            ("random.h5", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })),
            ("truncated.h5", goodH5.prefix(goodH5.count / 3)),
            ("empty.h5", Data()),
        ]
        for (name, data) in cases {
            let url = temp.appendingPathComponent(name)
            try data.write(to: url)
            do {
                _ = try KerasModel.load(url)
                Issue.record("\(name) loaded")
            } catch let error as KerasError {
                #expect("\(error)".contains(url.path), "\(name): \(error)")
            } catch {
                Issue.record("\(name): not a KerasError: \(error)")
            }
        }
        #expect(throws: KerasError.self) { try KerasModel.load(temp.appendingPathComponent("missing.keras")) }
        // A weights-only file on its own says what is missing.
        do {
            _ = try KerasModel.load(Self.folder.appendingPathComponent("mlp.weights.h5"))
            Issue.record("weights-only file loaded as a model")
        } catch {
            #expect("\(error)".contains("architecture"))
        }
    }

    /// A copy of `mlp.keras` whose `config.json` went through `edit` (and whose weights file is
    /// `weights`, when given).
    static func editedArchive(_ edit: (String) -> String, weights: URL? = nil) throws -> URL {
        let source = try Archive(url: folder.appendingPathComponent("mlp.keras"), accessMode: .read)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-edited-\(UUID().uuidString).keras")
        let target = try Archive(url: url, accessMode: .create)
        for entry in source {
            var data = Data()
            _ = try source.extract(entry) { data.append($0) }
            if entry.path == "config.json" { data = Data(edit(String(decoding: data, as: UTF8.self)).utf8) }
            if entry.path == "model.weights.h5", let weights { data = try Data(contentsOf: weights) }
            try target.addEntry(with: entry.path, type: .file, uncompressedSize: Int64(data.count)) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return url
    }

    @Test("an unknown layer class names the layer, its class and the supported classes")
    func unknownLayer() throws {
        let url = try Self.editedArchive { $0.replacingOccurrences(of: "\"class_name\": \"Dropout\"", with: "\"class_name\": \"Frobnicate\"") }
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try KerasModel.load(url)
            Issue.record("loaded")
        } catch let error as KerasError {
            guard case let .unsupportedLayer(name, className, supported) = error else { Issue.record("\(error)"); return }
            #expect(className == "Frobnicate" && name.hasPrefix("dropout") && supported.contains("Dense"))
        }
    }

    @Test("weights that do not fit the architecture are a clear error")
    func mismatchedWeights() throws {
        // two_towers' weights file on mlp's architecture: the layer paths exist with other shapes.
        let url = try Self.editedArchive({ $0 }, weights: Self.folder.appendingPathComponent("two_towers.weights.h5"))
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: KerasError.self) { try KerasModel.load(url) }
        // A config asking for more units than the saved kernel has.
        let wider = try Self.editedArchive { $0.replacingOccurrences(of: "\"units\": 8", with: "\"units\": 9") }
        defer { try? FileManager.default.removeItem(at: wider) }
        do {
            _ = try KerasModel.load(wider)
            Issue.record("loaded")
        } catch {
            #expect("\(error)".contains("shape"), "\(error)")
        }
    }

    // MARK: Weights read in place

    static let mapped = Fixtures.root.appendingPathComponent("keras/mapped")

    /// The weights of every layer, in order.
    static func weights(_ model: KerasModel) -> [Tensor] { model.network.layers.flatMap(\.weights) }

    /// `run(dtype: .float64)` on float32 inputs computes in float64 from the first layer: the result of
    /// float64 inputs, bit for bit (the first Dense used to run in float32, its output cast after).
    @Test("a float64 run of float32 inputs computes in float64 from the first layer")
    func float64RunCastsInputs() throws {
        let model = try KerasModel.load(Self.mapped.appendingPathComponent("dense.h5"))
        let input = try Fixtures.tensor(try Fixtures.json("keras/mapped/dense.json")["inputs"]!).cast(to: .float32)
        for mode in [ExecutionMode.eager, .graph(.standard)] {
            let y = try model.run([input], mode: mode, dtype: .float64)[0], wide = try model.run([input.cast(to: .float64)], mode: mode)[0]
            #expect(y.dtype == .float64 && y.doubles.map(\.bitPattern) == wide.doubles.map(\.bitPattern), "\(mode)")
        }
    }

    /// `keras/mapped/` (scripts/make_mapped_weight_fixtures.py): one Dense stack (8 KiB and 4 KiB kernels)
    /// saved by Keras as `.keras` (weights entry stored at an 8-aligned offset), legacy `.h5` and
    /// `.weights.h5`, whose kernels are read in place; and as `.keras` re-zipped deflated and `.keras`
    /// with its stored weights entry at an offset ≡ 1 mod 4, whose weights are copied (read through
    /// libhdf5). Every load gives the same weights bit for bit, and the same outputs, eager and graph,
    /// bit for bit, within 1e-6 of Keras's (float32 sums in another order).
    @Test("large weights of .keras, .h5 and .weights.h5 are read in place; the outputs are the copies' bit for bit")
    func weightsInPlace() throws {
        let folder = Self.mapped
        let inPlace = [try KerasModel.load(folder.appendingPathComponent("dense.keras")),
                       try KerasModel.load(folder.appendingPathComponent("dense.h5")),
                       try KerasModel.load(architecture: folder.appendingPathComponent("dense.keras"),
                                           weights: folder.appendingPathComponent("dense.weights.h5"))]
        let copied = [try KerasModel.load(folder.appendingPathComponent("dense_deflated.keras")),
                      try KerasModel.load(folder.appendingPathComponent("dense_misaligned.keras"))]
        for model in inPlace {
            // The kernels (8 KiB, 4 KiB) are mapped; the biases (256, 64 bytes) are below one page, copied.
            #expect(Self.weights(model).map(\.isMapped) == [true, false, true, false], "\(model.format)")
        }
        for model in copied { #expect(Self.weights(model).allSatisfy { !$0.isMapped }) }
        let fixture = try Fixtures.json("keras/mapped/dense.json")
        let input = try Fixtures.tensor(fixture["inputs"]!).cast(to: .float32)
        let keras = try Fixtures.tensor(fixture["outputs32"]!, as: .float32)
        for mode in [ExecutionMode.eager, .graph(.standard)] {
            let expected = try copied[0].run([input], mode: mode)[0]
            #expect(Tolerance(absolute: 1e-6, relative: 1e-5).violation(expected, keras) == nil)
            for model in inPlace + [copied[1]] {
                let output = try model.run([input], mode: mode)[0]
                #expect(output.doubles.map(\.bitPattern) == expected.doubles.map(\.bitPattern), "\(model.format) [\(mode)]")
            }
        }
        for model in inPlace {
            #expect(Self.weights(model).map(\.isMapped) == [true, false, true, false], "after runs: \(model.format)")
        }
        let reference = Self.weights(copied[0])
        #expect(reference.map(\.shape) == [[32, 64], [64], [64, 16], [16]])
        for model in inPlace + [copied[1]] { #expect(Self.weights(model) == reference, "\(model.format)") }
    }
}
