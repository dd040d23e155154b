import Foundation
import ParityFormats
import ParityHDF5
import ZIPFoundation

/// A Keras model read from the files Keras writes, ready to run with Keras semantics.
///
/// - `.keras` (Keras 3): a zip holding `config.json`, `metadata.json` and `model.weights.h5`
///   (`keras/src/saving/saving_lib.py`);
/// - legacy `.h5` (Keras 2, tf.keras, Keras 3's legacy saver): root attributes `model_config`,
///   `keras_version`, `backend`, weights under `model_weights` (`keras/src/legacy/saving/legacy_h5_format.py`);
/// - `.weights.h5` (weights only), loaded onto an architecture from a `.keras` archive or a `config.json`.
public struct KerasModel: Sendable {
    /// Which kind of file the model was read from.
    public enum Format: String, Sendable {
        /// A Keras 3 `.keras` archive.
        case kerasArchive = ".keras"
        /// A legacy full-model `.h5` file.
        case legacyH5 = "legacy .h5"
        /// A `.weights.h5` file on an architecture from a `.keras` archive or a `config.json`.
        case weightsOnly = ".weights.h5 + architecture"
    }

    /// The model's layers as a graph, with their weights.
    public var network: KerasNetwork
    /// The model's config as the file holds it (`config.json`, or a legacy file's `model_config`):
    /// `{"class_name", "config", ...}`.
    public var config: KerasJSON { network.config }
    /// The kind of file it was read from.
    public var format: Format
    /// `keras_version` as the file records it, when it does.
    public var kerasVersion: String?

    /// Largest `config.json` / `model_config` accepted (a real model's config is kilobytes).
    static let maximumConfigBytes = 64 << 20

    /// Reads a `.keras` archive or a legacy full-model `.h5` file.
    public static func load(_ url: URL) throws -> KerasModel {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw KerasError.badFile(path: path, message: "no such file") }
        if try isZip(url) {
            let archive = try KerasArchive(url: url)
            let config = try archive.config()
            return try archive.withWeightsFile { tree in
                KerasModel(network: try KerasNetwork(config: config, weights: Keras3WeightFile(tree: tree, file: path)),
                           format: .kerasArchive, kerasVersion: try archive.metadata()["keras_version"]?.string)
            }
        }
        return try HDF5File.withTree(url) { tree in
            guard let text = try tree.stringAttribute("model_config", of: "/") else {
                throw KerasError.badFile(path: path, message: "has no model_config attribute: a weights-only file needs an architecture (.keras or config.json) as well")
            }
            let config = try parse(text, path: path, what: "model_config")
            let root = try tree.exists("model_weights") ? "model_weights" : ""
            return KerasModel(network: try KerasNetwork(config: config, weights: LegacyWeightFile(tree: tree, file: path, root: root)),
                              format: .legacyH5, kerasVersion: try tree.stringAttribute("keras_version", of: "/"))
        }
    }

    /// Loads `weights` (a `.weights.h5` file, Keras 3 or legacy layout) onto the architecture in
    /// `architecture` (a `.keras` archive or a `config.json`).
    public static func load(architecture: URL, weights: URL) throws -> KerasModel {
        let config: KerasJSON
        if try isZip(architecture) {
            config = try KerasArchive(url: architecture).config()
        } else {
            let data = try read(architecture, limit: maximumConfigBytes)
            config = try parse(String(decoding: data, as: UTF8.self), path: architecture.path, what: "config")
        }
        return try HDF5File.withTree(weights) { tree in
            let source: KerasWeightSource = try tree.exists("layers") || !(try tree.exists("model_weights")) && (try tree.stringArrayAttribute("layer_names", of: "/")) == nil
                ? Keras3WeightFile(tree: tree, file: weights.path)
                : LegacyWeightFile(tree: tree, file: weights.path, root: try tree.exists("model_weights") ? "model_weights" : "")
            return KerasModel(network: try KerasNetwork(config: config, weights: source), format: .weightsOnly,
                              kerasVersion: nil)
        }
    }

    static func isZip(_ url: URL) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw KerasError.badFile(path: url.path, message: "cannot be opened for reading")
        }
        defer { try? handle.close() }
        return (try handle.read(upToCount: 4) ?? Data()) == Data([0x50, 0x4B, 0x03, 0x04])
    }

    static func read(_ url: URL, limit: Int) throws -> Data {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attributes?[.size] as? Int, size > limit {
            throw KerasError.badFile(path: url.path, message: "is \(size) bytes, more than the \(limit) a config may have")
        }
        do { return try Data(contentsOf: url) } catch { throw KerasError.badFile(path: url.path, message: "cannot be read (\(error))") }
    }

    /// JSON as Python's `json.dumps` writes it, which spells non-finite floats `NaN`, `Infinity` and
    /// `-Infinity` (a `-inf` pad constant, a `Clip` bound): the one reader reads those (``JSONReader``).
    static func pythonJSON(_ data: Data) throws -> KerasJSON { try KerasJSON.parse(data) }

    static func parse(_ text: String, path: String, what: String) throws -> KerasJSON {
        let config: KerasJSON
        do { config = try pythonJSON(Data(text.utf8)) } catch {
            throw KerasError.badFile(path: path, message: "\(what) is not valid JSON (\(error))")
        }
        // A `config.json` may wrap the model as {"class_name": ..., "config": ...}; a legacy file's
        // model_config is that object itself.
        guard config["class_name"] != nil, config["config"] != nil else {
            throw KerasError.badFile(path: path, message: "\(what) does not describe a model (no class_name/config)")
        }
        return config
    }
}

/// The `.keras` zip: its entries read with size limits; its weights file read in place when stored
/// (Keras's `zipfile.ZipFile(..., "w")` default, `ZIP_STORED`), else extracted to a temporary file
/// for libhdf5 and removed afterwards.
struct KerasArchive {
    let url: URL
    let archive: Archive

    init(url: URL) throws {
        self.url = url
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw KerasError.badFile(path: url.path, message: "is not a readable zip archive (\(error))")
        }
    }

    func entry(_ name: String, limit: Int) throws -> Data {
        guard let entry = archive[name] else {
            throw KerasError.badFile(path: url.path, message: "has no \(name): not a Keras 3 .keras archive")
        }
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw KerasError.badFile(path: url.path, message: "\(name) claims \(entry.uncompressedSize) bytes, more than the \(limit) accepted")
        }
        var data = Data()
        do {
            _ = try archive.extract(entry) { chunk in
                guard data.count + chunk.count <= limit else { throw KerasError.badFile(path: url.path, message: "\(name) is larger than it claims") }
                data.append(chunk)
            }
        } catch let error as KerasError { throw error } catch {
            throw KerasError.badFile(path: url.path, message: "\(name) cannot be extracted (\(error))")
        }
        return data
    }

    func config() throws -> KerasJSON {
        try KerasModel.parse(String(decoding: entry("config.json", limit: KerasModel.maximumConfigBytes), as: UTF8.self),
                             path: url.path, what: "config.json")
    }

    func metadata() throws -> KerasJSON {
        guard archive["metadata.json"] != nil else { return .null }
        return (try? KerasJSON.parse(entry("metadata.json", limit: 1 << 20))) ?? .null
    }

    /// Hands `body` the weights file. A stored `model.weights.h5` is opened where it lies in the mapped
    /// archive (``ParityHDF5/HDF5File/init(image:url:maxReadBytes:)``): libhdf5 reads no byte outside
    /// the entry, and contiguous float datasets become tensors read in place from the mapping. Its CRC-32 is
    /// not checked (that would read every weight; libhdf5 still checks the structure it reads), where
    /// Keras's `zipfile` read checks it. A deflated entry is extracted to a temporary file.
    func withWeightsFile<T>(_ body: (any HDF5Tree) throws -> T) throws -> T {
        let name = "model.weights.h5"
        let zip: ZipContainer
        do { zip = try ZipContainer(contentsOf: url) } catch {
            throw KerasError.badFile(path: url.path, message: "is not a readable zip archive (\(error))")
        }
        guard let member = zip.member(named: name), let entry = archive[name] else {
            throw KerasError.badFile(path: url.path, message: "has no \(name)")
        }
        if member.isStored {
            let image: Data
            do { image = try zip.contents(of: member, verifyChecksum: false) } catch {
                throw KerasError.badFile(path: url.path, message: "\(name) cannot be read (\(error))")
            }
            return try HDF5File.withTree(image: image, url: url.appendingPathComponent(name), body)
        }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString).weights.h5")
        defer { try? FileManager.default.removeItem(at: temporary) }
        do { _ = try archive.extract(entry, to: temporary) } catch {
            throw KerasError.badFile(path: url.path, message: "model.weights.h5 cannot be extracted (\(error))")
        }
        return try HDF5File.withTree(temporary, readsInPlace: false, body)
    }
}
