import Foundation
import ParityHDF5

/// What the Keras loaders need from an HDF5 file, by slash-separated object path.
protocol HDF5Tree {
    func childNames(of group: String) throws -> [String]
    func isGroup(_ path: String) throws -> Bool
    func exists(_ path: String) throws -> Bool
    func read(_ dataset: String) throws -> Tensor
    /// A string attribute, or `nil` when absent.
    func stringAttribute(_ name: String, of path: String) throws -> String?
    /// A string-array attribute (Keras's `layer_names`, `weight_names`), or `nil` when absent.
    func stringArrayAttribute(_ name: String, of path: String) throws -> [String]?
}

/// Keras 3's `model.weights.h5`: each layer's variables at `<path>/vars/0, 1, …`, sub-objects (an RNN's
/// `cell`, a Bidirectional's `forward_layer` …) in sub-groups (`keras/src/saving/saving_lib.py`).
struct Keras3WeightFile: KerasWeightSource {
    let tree: any HDF5Tree
    let file: String

    func weights(for layer: KerasLayerLocation) throws -> [Tensor] {
        try variables(for: layer).flattened(subObjectOrder: KerasSavedLayout.subObjects(of: layer.className))
    }

    func variables(for layer: KerasLayerLocation) throws -> KerasVariables {
        let path = layer.path.joined(separator: "/")
        // Layers without variables may be absent; a layer with variables then fails its shape check.
        guard try tree.exists(path) else { return KerasVariables() }
        return try variables(at: path)
    }

    private func variables(at path: String) throws -> KerasVariables {
        var result = KerasVariables()
        let children = try tree.childNames(of: path)
        if children.contains("vars") {
            let vars = KerasSavedLayout.variablesGroup([path])
            let names = try tree.childNames(of: vars)
            let indices = names.compactMap(Int.init).sorted()
            guard indices == Array(0..<names.count) else {
                throw KerasError.badFile(path: file, message: "\(vars) holds \(names), not 0…\(names.count - 1)")
            }
            for index in indices { result.own.append(try tree.read("\(vars)/\(index)")) }
        }
        for child in children.sorted() where child != "vars" {
            if try tree.isGroup("\(path)/\(child)") { result.children[child] = try variables(at: "\(path)/\(child)") }
        }
        return result
    }
}

/// A legacy Keras `.h5` full model (`model_weights` group) or tf.keras weights file: per layer a group
/// with attribute `weight_names` listing its datasets in `layer.weights` order
/// (`keras/src/legacy/saving/legacy_h5_format.py`). Nested models list their layers' weights under the
/// outer layer's group, prefixed with the inner layer's name.
struct LegacyWeightFile: KerasWeightSource {
    let tree: any HDF5Tree
    let file: String
    /// `model_weights` for a full model, the root for a weights-only file.
    let root: String

    func weights(for layer: KerasLayerLocation) throws -> [Tensor] {
        let top = layer.parents.first ?? layer.name
        let group = root.isEmpty ? top : "\(root)/\(top)"
        guard try tree.exists(group) else { return [] }
        var names = try tree.stringArrayAttribute("weight_names", of: group) ?? []
        if !layer.parents.isEmpty {
            let prefix = (layer.parents + [layer.name]).joined(separator: "/") + "/"
            names = names.filter { $0.hasPrefix(prefix) }
        }
        return try names.map { try tree.read("\(group)/\($0)") }
    }
}

/// ``HDF5Tree`` over ParityHDF5, with libhdf5's errors turned into ``KerasError/badFile(path:message:)``.
struct HDF5FileTree: HDF5Tree {
    let file: HDF5File
    let path: String

    func childNames(of group: String) throws -> [String] { try wrap { try file.root.group(named: group).children } }

    func isGroup(_ path: String) throws -> Bool { try wrap { try file.object(at: path).group != nil } }

    func exists(_ path: String) throws -> Bool {
        path == "/" || path.isEmpty ? true : try wrap { try file.root.contains(path) }
    }

    func read(_ dataset: String) throws -> Tensor { try wrap { try file.dataset(at: dataset).readTensor() } }

    func stringAttribute(_ name: String, of path: String) throws -> String? {
        try wrap {
            let node = try file.object(at: path).node
            guard try node.hasAttribute(name) else { return nil }
            return try node.attribute(name).string
        }
    }

    func stringArrayAttribute(_ name: String, of path: String) throws -> [String]? {
        try wrap {
            let node = try file.object(at: path).node
            guard try node.hasAttribute(name) else { return nil }
            let value = try node.attribute(name)
            return value.strings ?? value.string.map { [$0] }
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as HDF5Error {
            throw KerasError.badFile(path: self.path, message: "\(error)")
        }
    }
}

extension HDF5File {
    /// Opens `url` and hands the loaders an ``HDF5Tree`` of it; `readsInPlace` false for a temporary file
    /// (its weights are copied, so that nothing maps it once it is removed).
    static func withTree<T>(_ url: URL, readsInPlace: Bool = true, _ body: (any HDF5Tree) throws -> T) throws -> T {
        let file: HDF5File
        do { file = try HDF5File(url: url, readsInPlace: readsInPlace) } catch {
            throw KerasError.badFile(path: url.path, message: "is not a readable HDF5 file (\(error))")
        }
        return try body(HDF5FileTree(file: file, path: url.path))
    }

    /// Opens the HDF5 file whose bytes are `image` (named `url` in messages) and hands the loaders an
    /// ``HDF5Tree`` of it.
    static func withTree<T>(image: Data, url: URL, _ body: (any HDF5Tree) throws -> T) throws -> T {
        let file: HDF5File
        do { file = try HDF5File(image: image, url: url) } catch {
            throw KerasError.badFile(path: url.path, message: "is not a readable HDF5 file (\(error))")
        }
        return try body(HDF5FileTree(file: file, path: url.path))
    }
}
