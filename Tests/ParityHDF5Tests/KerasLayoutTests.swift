import Foundation
import ParityHDF5
import ParityTensor
import ParityTestSupport
import Testing

/// The two layouts Keras writes, walked the way the Keras loaders walk them (h5py-made fixtures
/// with Keras's own h5py calls; see `scripts/make_hdf5_fixtures.py`).
@Suite("Keras layouts: model.weights.h5 and legacy .h5")
struct KerasLayoutTests {
    /// Keras 3: `/layers/<name>/vars/<i>`, variables by index, nested models as nested `layers`.
    @Test func keras3WeightsFile() throws {
        let file = try HDF5Fixture.open("keras3_weights.h5")
        func variables(_ path: String) throws -> [Tensor] {
            let vars = try file.group(at: "\(path)/vars")
            let indices = try vars.children.compactMap { Int($0) }.sorted()
            return try indices.map { try vars.dataset(named: String($0)).readTensor() }
        }
        #expect(try variables("layers/dense").map(\.shape) == [[4, 3], [3]])
        #expect(try variables("layers/dense_1").map(\.shape) == [[3, 2], [2]])
        #expect(try variables("layers/batch_normalization").count == 4)
        #expect(try variables("layers/functional/layers/dense").map(\.shape) == [[2, 2]])
        #expect(try variables("layers/dropout").isEmpty)
        #expect(try variables("optimizer").map(\.dtype) == [.int64, .float32])
        #expect(try file.dataset(at: "optimizer/vars/0").readTensor() == Tensor(shape: [], int64: [10]))
        #expect(try file.group(at: "layers/dense/vars").attribute("name") == .string("dense"))
        #expect(try file.attributeNames.isEmpty)
    }

    /// Legacy `.h5`: root attributes, `model_weights` with `layer_names`, per layer `weight_names`
    /// naming datasets by relative path (`dense/kernel:0`).
    @Test func legacyFullModel() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        #expect(try file.attribute("keras_version") == .string("2.15.0"))
        #expect(try file.attribute("backend") == .string("tensorflow"))
        // Keras's calls through h5py 3: Python str → variable-length UTF-8, bytes (and lists of
        // bytes) → variable-length ASCII.
        #expect(try file.attributeType("keras_version") == .string(length: nil, encoding: .utf8))
        #expect(try file.attributeType("model_config") == .string(length: nil, encoding: .ascii))
        #expect(try file.group(at: "model_weights").attributeType("layer_names") == .string(length: nil, encoding: .ascii))

        let configText = try #require(try file.attribute("model_config").string)  // |S bytes, fixed-length
        let config = try JSONValue.parse(configText)
        #expect(config["class_name"]?.string == "Sequential")
        #expect(config["config"]?["layers"]?.array?.count == 4)

        let weights = try file.group(at: "model_weights")
        let layerNames = try #require(try weights.attribute("layer_names").strings)
        #expect(layerNames == ["dense", "dropout", "dense_1"])
        #expect(try weights.children == ["dense", "dense_1", "dropout"])  // name order; layer_names is the truth

        var loaded: [String: [Tensor]] = [:]
        for layer in layerNames {
            let group = try weights.group(named: layer)
            // An empty weight_names list is written as an empty float64 array, not as strings.
            let names = try group.attribute("weight_names").strings ?? []
            loaded[layer] = try names.map { try group.dataset(named: $0).readTensor() }
        }
        #expect(loaded["dense"]?.map(\.shape) == [[4, 3], [3]])
        #expect(loaded["dropout"]?.isEmpty == true)
        #expect(loaded["dense_1"]?.map(\.shape) == [[3, 2], [2]])
        #expect(try weights.group(named: "dropout").attribute("weight_names") == .floats([]))

        let kernel = try file.dataset(at: "model_weights/dense/dense/kernel:0").readTensor()
        #expect(kernel == loaded["dense"]?.first)
        #expect(try file.dataset(at: "optimizer_weights/Adam/iter:0").readTensor() == Tensor(shape: [], int64: [7]))
    }

    /// The same layout as Keras 2 with h5py 2 wrote it: fixed-length `|S` strings everywhere, and
    /// `layer_names` split into `layer_names0`, `layer_names1` (as for lists over 64512 bytes).
    @Test func legacyFullModelFromH5py2() throws {
        let file = try HDF5Fixture.open("legacy_model_h5py2.h5")
        #expect(try file.attributeType("model_config") == .string(length: 172, encoding: .ascii))
        let config = try JSONValue.parse(try #require(try file.attribute("model_config").string))
        #expect(config["class_name"]?.string == "Sequential")
        let weights = try file.group(at: "model_weights")
        #expect(try !weights.hasAttribute("layer_names"))
        var layerNames: [String] = []
        var chunk = 0
        while try weights.hasAttribute("layer_names\(chunk)") {
            layerNames += try #require(try weights.attribute("layer_names\(chunk)").strings)
            chunk += 1
        }
        #expect(layerNames == ["dense", "no_weights"])
        #expect(try weights.group(named: "no_weights").attribute("weight_names") == .strings([]))
        let names = try #require(try weights.group(named: "dense").attribute("weight_names").strings)
        #expect(names == ["dense/kernel:0"])
        #expect(try weights.group(named: "dense").dataset(named: names[0]).readTensor().shape == [2, 2])
    }
}
