import Foundation
import ParityHDF5
import ZIPFoundation

/// Writes Keras 3 `.keras` archives (and `.weights.h5` files) that `keras.saving.load_model` opens.
///
/// The archive is what `saving_lib.save_model` writes (`keras/src/saving/saving_lib.py`): a zip
/// whose members are stored uncompressed, in this order: `metadata.json`, `config.json`,
/// `model.weights.h5`. The weights file has one `vars` group per saved object, with the attribute
/// `name` and datasets `0`, `1`, ... (see ``KerasSavedLayout``); it is written through
/// `HDF5FileWriter`, laid out as h5py writes it.
///
/// ```swift
/// let writer = KerasArchiveWriter(config: config, metadata: .now(), weights: [
///     KerasSavedVariables(path: [], name: "mlp", variables: []),
///     KerasSavedVariables(path: ["layers", "dense"], name: "dense", variables: [kernel, bias]),
/// ])
/// try writer.write(to: URL(fileURLWithPath: "out/model.keras"))
/// ```
///
/// Checked against Keras 3.15.1 on TensorFlow 2.21: every model in
/// `Tests/Fixtures/keras/written_by_parity/` loads and predicts as the original
/// (`scripts/verify_keras_writer.py`, results in `verified.json` there).
public struct KerasArchiveWriter: Sendable {
    /// The model's config as `config.json` holds it: `{"module", "class_name", "config",
    /// "registered_name", "build_config", "compile_config"}`.
    public var config: KerasJSON
    /// What `metadata.json` holds.
    public var metadata: KerasArchiveMetadata
    /// Every saved object's variables, in the order Keras saves them (the model first, then its
    /// layers depth first); ``KerasSavedLayout/entries(forLayer:className:config:weights:at:)``
    /// gives a layer's entries from its weights in `layer.weights` order.
    public var weights: [KerasSavedVariables]

    /// A writer; the parameters are the properties of the same names.
    public init(config: KerasJSON, metadata: KerasArchiveMetadata, weights: [KerasSavedVariables]) {
        self.config = config
        self.metadata = metadata
        self.weights = weights
    }

    /// A model Parity loaded, to be written back out: its config and the weights it was loaded
    /// with. `metadata` defaults to the model's `keras_version` (else
    /// ``KerasArchiveMetadata/formatVersion``) and the current time.
    public init(model: KerasModel, metadata: KerasArchiveMetadata? = nil) throws {
        self.init(config: model.config,
                  metadata: metadata ?? .now(kerasVersion: model.kerasVersion ?? KerasArchiveMetadata.formatVersion),
                  weights: try KerasSavedLayout.entries(for: model.network))
    }

    /// A model given as its config and each layer's weights by layer name (`config.name`), in
    /// `layer.weights` order. The config is first built into a ``KerasNetwork``, so a layer Parity
    /// cannot run, or weights that do not fit their layer, are refused before anything is written;
    /// the weights are then placed where Keras keeps them (``KerasSavedLayout``).
    ///
    /// - Throws: the ``KerasError`` of building the network, or
    ///   ``KerasError/weightMismatch(layer:message:)`` for weights named after no layer.
    public init(config: KerasJSON, layerWeights: [String: [Tensor]], metadata: KerasArchiveMetadata = .now()) throws {
        let network = try KerasNetwork(config: config, weights: WeightsByLayerName(weights: layerWeights))
        let names = Set(KerasModelSummary.flatten(network).map(\.name))
        if let unknown = layerWeights.keys.sorted().first(where: { !names.contains($0) }) {
            throw KerasError.weightMismatch(layer: unknown, message: "has weights, but the config has no layer of that name (layers: \(names.sorted().joined(separator: ", ")))")
        }
        self.init(config: config, metadata: metadata, weights: try KerasSavedLayout.entries(for: network))
    }

    /// Writes the `.keras` archive to `url`, replacing any file there. The archive is built next
    /// to `url` and moved into place, so a failed write leaves no partial file.
    ///
    /// - Throws: ``KerasError/cannotWrite(path:message:)`` naming `url` and what went wrong.
    public func write(to url: URL) throws {
        try checkConfig(for: url)
        let folder = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw KerasError.cannotWrite(path: url.path, message: "the directory '\(folder.path)' does not exist")
        }
        let partial = folder.appendingPathComponent(".\(url.lastPathComponent).parity-\(UUID().uuidString)")
        let weightsFile = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString).weights.h5")
        defer {
            try? FileManager.default.removeItem(at: partial)
            try? FileManager.default.removeItem(at: weightsFile)
        }
        try writeWeights(to: weightsFile, reportingAs: url)
        // The weights file is copied in chunks as the zip writer asks for them, neither read whole nor
        // mapped: a converted model's weights can be several GB, and mapped pages count in the
        // process's resident memory while they are copied.
        let weightsHandle: FileHandle, weightsSize: Int64
        do {
            weightsHandle = try FileHandle(forReadingFrom: weightsFile)
            weightsSize = Int64(try weightsHandle.seekToEnd())
        } catch {
            throw KerasError.cannotWrite(path: url.path, message: "the weights file written at \(weightsFile.path) cannot be read back (\(error))")
        }
        defer { try? weightsHandle.close() }
        let texts = [("metadata.json", Data(metadata.jsonText.utf8)), ("config.json", Data(config.pythonText.utf8))]
        // Stored members plus their zip headers (local, central, ZIP64 extras: well under 1 KB each).
        let needed = texts.reduce(weightsSize + 1024) { $0 + Int64($1.1.count) + 1024 }
        if let free = Self.freeBytes(in: folder), free < needed {
            throw KerasError.cannotWrite(path: url.path, message: "the archive needs \(Self.megabytes(needed)) and the volume holding \(folder.path) has \(Self.megabytes(free)) free")
        }
        errno = 0  // so that a failure below reports the system's reason (ZIPFoundation's errors do not)
        do {
            let archive = try Archive(url: partial, accessMode: .create)
            for (name, data) in texts {
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                     modificationDate: Self.entryDate, compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            try archive.addEntry(with: "model.weights.h5", type: .file, uncompressedSize: weightsSize,
                                 modificationDate: Self.entryDate, compressionMethod: .none) { position, size in
                try weightsHandle.seek(toOffset: UInt64(position))
                return try weightsHandle.read(upToCount: size) ?? Data()
            }
        } catch {
            let system = errno == 0 ? "" : ": \(String(cString: strerror(errno)))"
            throw KerasError.cannotWrite(path: url.path, message: "the zip archive cannot be written in \(folder.path) (\(error)\(system))")
        }
        guard rename(partial.path, url.path) == 0 else {  // atomic, replacing a file already there
            throw KerasError.cannotWrite(path: url.path, message: "the finished archive cannot be moved into place (\(String(cString: strerror(errno))))")
        }
    }

    /// Writes only the weights, as a Keras 3 `.weights.h5` file (what `model.save_weights` writes,
    /// and the archive's `model.weights.h5`).
    ///
    /// - Throws: ``KerasError/cannotWrite(path:message:)`` naming `url` and what went wrong.
    public func writeWeights(to url: URL) throws {
        try writeWeights(to: url, reportingAs: url)
    }

    // MARK: Internals

    /// The zip entries' modification time: 1980-01-01 (noon UTC, the same day in every time zone),
    /// the date `zipfile` gives the members Keras writes with `ZipFile.open(name, "w")`.
    static let entryDate = Date(timeIntervalSince1970: 315_576_000)

    /// Bytes an unprivileged process may still write on the volume holding `folder`, or nil when the
    /// system does not say.
    static func freeBytes(in folder: URL) -> Int64? {
        var stats = statvfs()
        guard statvfs(folder.path, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    private func checkConfig(for url: URL) throws {
        guard config["class_name"]?.string != nil, case .object = config["config"] ?? .null else {
            throw KerasError.cannotWrite(path: url.path, message: "the config has no class_name and config object, so Keras cannot rebuild a model from it (found \(config))")
        }
    }

    private func writeWeights(to file: URL, reportingAs destination: URL) throws {
        var seen = Set<[String]>()
        for entry in weights {
            guard entry.path.allSatisfy({ !$0.isEmpty && !$0.contains("/") && $0 != "vars" }) else {
                throw KerasError.cannotWrite(path: destination.path, message: "the object '\(entry.name)' has the path \(entry.path), whose components must be non-empty, without '/', and not 'vars'")
            }
            guard seen.insert(entry.path).inserted else {
                throw KerasError.cannotWrite(path: destination.path, message: "two objects have the path '\(entry.path.joined(separator: "/"))'")
            }
        }
        do throws(HDF5Error) {
            let writer = try HDF5FileWriter(creating: file)
            for entry in weights {
                let group = KerasSavedLayout.variablesGroup(entry.path)
                try writer.setAttribute("name", .string(entry.name), on: group)
                for (index, variable) in entry.variables.enumerated() {
                    try writer.writeDataset("\(group)/\(index)", variable)
                }
            }
            try writer.close()
        } catch {
            throw KerasError.cannotWrite(path: destination.path, message: "\(error)")
        }
    }
}

/// The archive's `metadata.json`: the Keras version and the time of saving. Keras writes it and
/// does not read it back when loading.
public struct KerasArchiveMetadata: Sendable, Equatable {
    /// The Keras version whose archive format ``KerasArchiveWriter`` writes, and against which its
    /// archives are verified.
    public static let formatVersion = "3.15.1"

    /// The Keras version recorded.
    public var kerasVersion: String
    /// `YYYY-MM-DD@HH:MM:SS`, local time, as Keras formats it.
    public var dateSaved: String

    /// Metadata; the parameters are the properties of the same names.
    public init(kerasVersion: String, dateSaved: String) {
        self.kerasVersion = kerasVersion
        self.dateSaved = dateSaved
    }

    /// `kerasVersion` and the current local time.
    public static func now(kerasVersion: String = formatVersion) -> KerasArchiveMetadata {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd@HH:mm:ss"
        return KerasArchiveMetadata(kerasVersion: kerasVersion, dateSaved: formatter.string(from: Date()))
    }

    /// `{"keras_version": ..., "date_saved": ...}`, keys in Keras's order.
    var jsonText: String {
        "{\"keras_version\": \(KerasJSON.string(kerasVersion).pythonText), \"date_saved\": \(KerasJSON.string(dateSaved).pythonText)}"
    }
}

/// Weights looked up by layer name, for ``KerasArchiveWriter/init(config:layerWeights:metadata:)``.
private struct WeightsByLayerName: KerasWeightSource {
    let weights: [String: [Tensor]]

    func weights(for layer: KerasLayerLocation) throws -> [Tensor] { weights[layer.name] ?? [] }
}
