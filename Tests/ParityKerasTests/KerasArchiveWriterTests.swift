import Foundation
import ParityHDF5
import ParityKeras
import ParityTestSupport
import Testing
import ZIPFoundation

/// `.keras` archives written by ``KerasArchiveWriter``: every Keras-made fixture model loaded, written
/// back out and loaded again, and the committed archives in `Tests/Fixtures/keras/written_by_parity/`
/// that Keras itself opened (`scripts/verify_keras_writer.py`, results in `verified.json`).
///
/// With `PARITY_RECORD_KERAS_WRITER=1`, ``writerStillProducesTheVerifiedArchives()`` rewrites the
/// committed archives; then run the script in the Keras venv to verify them again.
@Suite("Keras archives written by Parity")
struct KerasArchiveWriterTests {
    static let models = KerasModelTests.models
    static let written = Fixtures.root.appendingPathComponent("keras/written_by_parity")
    static var recording: Bool { ProcessInfo.processInfo.environment["PARITY_RECORD_KERAS_WRITER"] == "1" }
    /// The committed archives' metadata: fixed, so that rewriting them changes nothing.
    static let fixtureMetadata = KerasArchiveMetadata(kerasVersion: KerasArchiveMetadata.formatVersion, dateSaved: "2026-11-27@00:00:00")

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-keras-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func inputs(_ name: String) throws -> [Tensor] {
        try KerasModelTests.expected(name)["inputs"]!.array!.map { value in
            let tensor = try Fixtures.tensor(value)
            return tensor.dtype == .int64 ? tensor : tensor.cast(to: .float32)
        }
    }

    /// Every layer's weights by saved path, nested models included.
    static func weights(_ network: KerasNetwork) -> [String: [Tensor]] {
        var result: [String: [Tensor]] = [:]
        for layer in network.layers {
            if let nested = layer.model as? KerasNetwork {
                result.merge(weights(nested)) { first, _ in first }
            } else {
                result[layer.location.path.joined(separator: "/") + " " + layer.name] = layer.weights
            }
        }
        return result
    }

    static func bits(_ tensor: Tensor) -> [UInt64] {
        switch tensor.storage {
        case .float32(let values): return values.map { UInt64($0.bitPattern) }
        case .float64(let values): return values.map(\.bitPattern)
        case .int64(let values): return values.map { UInt64(bitPattern: $0) }
        case .int32, .bool, .float16, .bfloat16, .complex64, .complex128: return ArrayRecord(tensor).bytes.map(UInt64.init)
        }
    }

    /// The members of a zip: name, compression method and bytes.
    static func members(_ url: URL) throws -> [(name: String, stored: Bool, data: Data)] {
        let archive = try Archive(url: url, accessMode: .read)
        return try archive.map { entry in
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            return (entry.path, entry.isCompressed == false, data)
        }
    }

    /// Every group and dataset of an archive's `model.weights.h5`: groups with their `name`
    /// attribute, datasets with shape, dtype and (when `values`) the bit patterns.
    static func weightsTree(_ archive: URL, values: Bool = true, skipNamesUnder: [String] = []) throws -> [String] {
        let member = try members(archive).first { $0.name == "model.weights.h5" }!
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parity-tree-\(UUID().uuidString).h5")
        try member.data.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try HDF5File(url: url)
        var lines: [String] = []
        func walk(_ group: HDF5Group) throws {
            var line = "group \(group.path)"
            if try group.hasAttribute("name"), !skipNamesUnder.contains(where: { group.path.contains($0) }) {
                line += " name=\(try group.attribute("name"))"
            }
            lines.append(line + " attributes=\(try group.attributeNames)")
            for child in try group.children {
                switch try group.object(at: child) {
                case .group(let inner): try walk(inner)
                case .dataset(let dataset):
                    let tensor = try dataset.readTensor()
                    lines.append("dataset \(dataset.path) \(tensor.shape) \(try dataset.elementType)"
                                 + (values ? " \(bits(tensor))" : "") + " attributes=\(try dataset.attributeNames)")
                }
            }
        }
        try walk(file.root)
        return lines
    }

    @Test("every fixture model: load, write, load again: same config, bit-identical weights and outputs",
          arguments: models)
    func roundTrip(_ name: String) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = try KerasModel.load(KerasModelTests.folder.appendingPathComponent("\(name).keras"))
        let url = folder.appendingPathComponent("\(name).keras")
        try KerasArchiveWriter(model: original).write(to: url)
        let reloaded = try KerasModel.load(url)

        #expect(reloaded.config == original.config)
        #expect(reloaded.kerasVersion == original.kerasVersion)
        let before = Self.weights(original.network), after = Self.weights(reloaded.network)
        #expect(before.keys.sorted() == after.keys.sorted())
        for (key, tensors) in before {
            #expect(after[key]?.map(\.shape) == tensors.map(\.shape), "\(name) \(key)")
            #expect(after[key]?.map(Self.bits) == tensors.map(Self.bits), "\(name) \(key)")
        }
        let inputs = try Self.inputs(name)
        for (a, b) in zip(try original.run(inputs, mode: .eager), try reloaded.run(inputs, mode: .eager)) {
            #expect(Self.bits(a) == Self.bits(b), "\(name): outputs differ")
        }
    }

    @Test("the archive has Keras's members, stored, in Keras's order, and Keras's weight layout", arguments: models)
    func sameLayoutAsKeras(_ name: String) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = KerasModelTests.folder.appendingPathComponent("\(name).keras")
        let url = folder.appendingPathComponent("\(name).keras")
        try KerasArchiveWriter(model: try KerasModel.load(source)).write(to: url)
        let ours = try Self.members(url), keras = try Self.members(source)
        #expect(ours.map(\.name) == ["metadata.json", "config.json", "model.weights.h5"])
        #expect(ours.map(\.name) == keras.map(\.name) && ours.allSatisfy(\.stored) && keras.allSatisfy(\.stored))
        // The same groups, `name` attributes and datasets as Keras wrote (MultiHeadAttention's inner
        // dropout and softmax layers get numbered names in Keras, plain ones here: informational only).
        let skip = ["/_dropout_layer", "/_softmax"]
        #expect(try Self.weightsTree(url, skipNamesUnder: skip) == Self.weightsTree(source, skipNamesUnder: skip))
    }

    @Test("a model given as a config and weights by layer name (what a converter has)", arguments: ["two_towers", "sequence", "text"])
    func configAndLayerWeights(_ name: String) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = try KerasModel.load(KerasModelTests.folder.appendingPathComponent("\(name).keras"))
        var byName: [String: [Tensor]] = [:]
        func collect(_ network: KerasNetwork) {
            for layer in network.layers {
                if let nested = layer.model as? KerasNetwork { collect(nested) } else if !layer.weights.isEmpty { byName[layer.name] = layer.weights }
            }
        }
        collect(original.network)
        let url = folder.appendingPathComponent("\(name).keras")
        try KerasArchiveWriter(config: original.config, layerWeights: byName).write(to: url)
        let inputs = try Self.inputs(name)
        #expect(try KerasModel.load(url).run(inputs, mode: .eager).map(Self.bits) == original.run(inputs, mode: .eager).map(Self.bits))
        let skip = ["/_dropout_layer", "/_softmax"]
        #expect(try Self.weightsTree(url, skipNamesUnder: skip)
                 == Self.weightsTree(KerasModelTests.folder.appendingPathComponent("\(name).keras"), skipNamesUnder: skip))
        // Weights for a layer the config lacks, or that do not fit theirs, are refused.
        var extra = byName
        extra["nonexistent"] = [Tensor(scalar: Float(1))]
        #expect(throws: KerasError.self) { try KerasArchiveWriter(config: original.config, layerWeights: extra) }
        var wrong = byName
        wrong[byName.keys.sorted()[0]] = [Tensor(scalar: Float(1))]
        #expect(throws: KerasError.self) { try KerasArchiveWriter(config: original.config, layerWeights: wrong) }
    }

    @Test("a weights-only file loads onto the architecture")
    func weightsOnly() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = KerasModelTests.folder.appendingPathComponent("sequence.keras")
        let original = try KerasModel.load(source)
        let url = folder.appendingPathComponent("sequence.weights.h5")
        try KerasArchiveWriter(model: original).writeWeights(to: url)
        let reloaded = try KerasModel.load(architecture: source, weights: url)
        let inputs = try Self.inputs("sequence")
        #expect(try reloaded.run(inputs, mode: .eager).map(Self.bits) == original.run(inputs, mode: .eager).map(Self.bits))
    }

    @Test("metadata.json and config.json are the JSON Keras writes")
    func jsonMembers() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config: KerasJSON = .object([
            "class_name": .string("Sequential"), "module": .string("keras"), "registered_name": .null,
            "config": .object(["name": .string("m\u{e9}"), "layers": .array([]), "rate": .double(0.001),
                               "units": .int(8), "big": .double(1e300), "flag": .bool(true), "text": .string("a\"b\\c\n")]),
        ])
        let url = folder.appendingPathComponent("m.keras")
        try KerasArchiveWriter(config: config, metadata: KerasArchiveMetadata(kerasVersion: "3.15.1", dateSaved: "2026-11-27@10:11:12"),
                               weights: [KerasSavedVariables(path: [], name: "m", variables: [])]).write(to: url)
        let members = try Self.members(url)
        #expect(String(decoding: members[0].data, as: UTF8.self) == #"{"keras_version": "3.15.1", "date_saved": "2026-11-27@10:11:12"}"#)
        #expect(String(decoding: members[1].data, as: UTF8.self) == #"{"class_name": "Sequential", "module": "keras", "registered_name": null, "config": {"name": "m\u00e9", "layers": [], "rate": 0.001, "units": 8, "big": 1e+300, "flag": true, "text": "a\"b\\c\n"}}"#)
        #expect(try KerasJSON.parse(members[1].data) == config)
        #expect(try Self.weightsTree(url) == ["group / attributes=[]", "group /vars name=\"m\" attributes=[\"name\"]"])
        #expect(KerasArchiveMetadata.now().dateSaved.range(of: #"^\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d$"#, options: .regularExpression) != nil)
    }

    @Test("refusals say which file and what is wrong, and leave no file behind")
    func errors() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try KerasModel.load(KerasModelTests.folder.appendingPathComponent("mlp.keras"))
        let writer = try KerasArchiveWriter(model: model)
        func expectCannotWrite(_ url: URL, _ fragment: String, _ writer: KerasArchiveWriter) {
            do {
                try writer.write(to: url)
                Issue.record("wrote \(url.path)")
            } catch let error as KerasError {
                guard case .cannotWrite(let path, let message) = error else { Issue.record("\(error)"); return }
                #expect(path == url.path && message.contains(fragment), "\(error)")
            } catch {
                Issue.record("not a KerasError: \(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: url.path))
        }
        expectCannotWrite(folder.appendingPathComponent("missing/dir/m.keras"), "missing/dir", writer)
        var noConfig = writer
        noConfig.config = .object(["layers": .array([])])
        expectCannotWrite(folder.appendingPathComponent("a.keras"), "class_name", noConfig)
        var duplicate = writer
        duplicate.weights.append(duplicate.weights[1])
        expectCannotWrite(folder.appendingPathComponent("b.keras"), "two objects have the path 'layers/dense'", duplicate)
        var badPath = writer
        badPath.weights.append(KerasSavedVariables(path: ["layers", "a/b"], name: "x", variables: []))
        expectCannotWrite(folder.appendingPathComponent("c.keras"), "'x'", badPath)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        // Writing over an existing archive replaces it.
        let url = folder.appendingPathComponent("m.keras")
        try Data("old".utf8).write(to: url)
        try writer.write(to: url)
        #expect(try KerasModel.load(url).config == model.config)
    }

    // MARK: Archives Keras opened

    @Test("the writer still produces the archives Keras verified, config.json as Keras wrote it")
    func writerStillProducesTheVerifiedArchives() throws {
        for name in Self.models {
            let model = try KerasModel.load(KerasModelTests.folder.appendingPathComponent("\(name).keras"))
            let committed = Self.written.appendingPathComponent("\(name).keras")
            let writer = try KerasArchiveWriter(model: model, metadata: Self.fixtureMetadata)
            if Self.recording {
                try FileManager.default.createDirectory(at: Self.written, withIntermediateDirectories: true)
                try writer.write(to: committed)
                continue
            }
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let url = folder.appendingPathComponent("\(name).keras")
            try writer.write(to: url)
            let now = try Self.members(url), then = try Self.members(committed)
            #expect(now.map(\.name) == then.map(\.name), "\(name)")
            #expect(now.prefix(2).map(\.data) == then.prefix(2).map(\.data), "\(name): metadata.json / config.json changed")
            // One JSON writer keeping member order and Python's float repr: config.json is the bytes Keras wrote.
            let original = try Self.members(KerasModelTests.folder.appendingPathComponent("\(name).keras"))
            #expect(now.first { $0.name == "config.json" }?.data == original.first { $0.name == "config.json" }?.data, "\(name)")
            #expect(try Self.weightsTree(url) == Self.weightsTree(committed), "\(name): model.weights.h5 changed")
        }
    }

    /// `dtypes.weights.h5`: one variable of each type HDF5FileWriter writes, in Keras's layout
    /// (`layers/probe/vars/<i>`), plus attributes; the script reads it with Keras's own `H5IOStore`.
    static func writeDtypesFile(to url: URL) throws {
        let writer = try HDF5FileWriter(creating: url)
        let group = KerasSavedLayout.variablesGroup(["layers", "probe"])
        try writer.setAttribute("name", .string("größe ✓"), on: group)
        let variables: [HDF5Array] = [
            HDF5Array(Tensor(shape: [2, 2], values: [Float](arrayLiteral: 1.5, -0.0, .infinity, -3e-39))),
            HDF5Array(Tensor(scalar: Double.pi)),
            HDF5Array(shape: [3], elements: .int32([-2, 0, .max])),
            HDF5Array(Tensor(shape: [3], int64: [.min, -1, .max])),
            HDF5Array.float16(Tensor(shape: [4], values: [Float](arrayLiteral: 1, -2.5, 65504, 0.1))),
            HDF5Array.bfloat16(Tensor(shape: [4], values: [Float](arrayLiteral: 1, -2.5, 0.1, 3.0e38))),
            HDF5Array(Tensor(shape: [3, 0], values: [Float]())),
        ]
        for (index, variable) in variables.enumerated() { try writer.writeDataset("\(group)/\(index)", variable) }
        try writer.setAttribute("names", .strings(["a", "bé"]))
        try writer.setAttribute("count", .integer(4))
        try writer.setAttribute("ratios", .floats([0.5, 0.25]))
        try writer.close()
    }

    @Test("every element type the HDF5 writer has, in a file h5py and Keras read")
    func dtypesFile() throws {
        let committed = Self.written.appendingPathComponent("dtypes.weights.h5")
        if Self.recording { return try Self.writeDtypesFile(to: committed) }
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("dtypes.weights.h5")
        try Self.writeDtypesFile(to: url)
        func tree(_ url: URL) throws -> [String] {
            let file = try HDF5File(url: url)
            let vars = try file.group(at: "layers/probe/vars")
            func attributes(_ node: any HDF5Node) throws -> String {
                try node.attributeNames.map { "\($0)=\(try node.attribute($0))" }.joined(separator: " ")
            }
            return try [try attributes(file.root), try attributes(vars)] + vars.children.map { name in
                let dataset = try vars.dataset(named: name)
                return "\(name) \(try dataset.elementType) \(try attributes(dataset)) \(Self.bits(try dataset.readTensor()))"
            }
        }
        #expect(try tree(url) == tree(committed))
        let report = try Fixtures.json("keras/written_by_parity/verified.json")
        let entry = try #require(report["files"]?["dtypes.weights.h5"])
        #expect(entry["error"] == nil, "\(entry["error"]?.string ?? "")")
        #expect(entry["values_as_expected"]?.bool == true, "\(entry)")
    }

    @Test("Keras 3 opened every committed archive and predicted as the original model")
    func kerasOpenedThem() throws {
        let report = try Fixtures.json("keras/written_by_parity/verified.json")
        #expect(report["keras"]?.string == KerasArchiveMetadata.formatVersion)
        #expect(report["generator"]?.string?.hasPrefix("scripts/verify_keras_writer.py") == true)
        let files = try #require(report["files"])
        for name in Self.models {
            let entry = try #require(files["\(name).keras"], "\(name).keras is not in verified.json")
            #expect(entry["error"] == nil, "\(name): \(entry["error"]?.string ?? "")")
            #expect(entry["loaded"]?.bool == true, "\(name)")
            let difference = try #require(entry["max_abs_difference"]?.double, "\(name)")
            #expect(difference <= 1e-6, "\(name): \(difference)")
        }
    }
}
