import ParityHDF5
import Testing

@Suite("HDF5Group: children, link order, path lookup")
struct GroupTests {
    @Test func childrenOfKeras3Layout() throws {
        let file = try HDF5Fixture.open("keras3_weights.h5")
        #expect(try file.root.children == ["layers", "optimizer", "vars"])
        let layers = try file.group(at: "layers")
        #expect(try layers.children == ["batch_normalization", "dense", "dense_1", "dropout", "functional"])
        #expect(try layers.group(named: "dense").children == ["vars"])
        #expect(try file.group(at: "layers/dense/vars").children == ["0", "1"])
        #expect(try file.group(at: "layers/dropout/vars").children == [])
        #expect(try file.group(at: "vars").children == [])
    }

    @Test func linkOrder() throws {
        let file = try HDF5Fixture.open("types.h5")
        let byName = try file.group(at: "order/by_name")
        #expect(try byName.linkOrder == .name)
        #expect(try byName.children == ["alpha", "mid", "zeta"])
        let tracked = try file.group(at: "order/tracked")
        #expect(try tracked.linkOrder == .creation)
        #expect(try tracked.children == ["zeta", "alpha", "mid"])
    }

    @Test func pathForms() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        let kernel = "/model_weights/dense/dense/kernel:0"
        #expect(try file.object(at: "model_weights/dense/dense/kernel:0").path == kernel)
        #expect(try file.object(at: kernel).path == kernel)
        #expect(try file.object(at: "model_weights//dense/./dense/kernel:0").path == kernel)
        #expect(try file.object(at: "model_weights/dense/").group?.path == "/model_weights/dense")
        #expect(try file.object(at: "").group?.path == "/")
        #expect(try file.object(at: "/").group?.path == "/")
        let dense = try file.group(at: "model_weights/dense")
        #expect(try dense.dataset(named: "dense/kernel:0").path == kernel)
        #expect(try dense.object(at: "/model_weights").path == "/model_weights")  // absolute from a group
        #expect(try dense.dataset(named: "dense/kernel:0").name == "kernel:0")
        #expect(try dense.group(named: "dense").name == "dense")
    }

    @Test func namesWithColonsSpacesAndSoftLinks() throws {
        let file = try HDF5Fixture.open("types.h5")
        #expect(try file.dataset(at: "order/with:colon and space").readTensor().int64s == [1])
        let linked = try file.dataset(at: "order/link_to_float64")
        #expect(linked.path == "/order/link_to_float64")
        #expect(try linked.readTensor() == file.dataset(at: "dtypes/float64").readTensor())
        #expect(try file.group(at: "order").children.contains("dangling"))
        #expect(try file.group(at: "order").contains("dangling"))
        expectHDF5Error("no object '/order/dangling'", "cannot be followed", "types.h5") {
            _ = try file.object(at: "order/dangling")
        }
    }

    @Test func contains() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        #expect(try file.root.contains("model_weights"))
        #expect(try !file.root.contains("nope"))
        #expect(try file.root.contains("model_weights/dense/dense/kernel:0"))
        #expect(try !file.root.contains("model_weights/nope/kernel:0"))
        #expect(try !file.root.contains("model_weights/dense/dense/kernel:0/more"))
        #expect(try file.group(at: "model_weights").contains("dense/dense"))
        #expect(try file.group(at: "model_weights").contains("/model_weights"))
        #expect(try HDF5Fixture.open("types.h5").root.contains("order/dangling"))
    }

    @Test func missingPaths() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        let error = expectHDF5Error("no object '/model_weights/nope/kernel:0'", "group '/model_weights' has no member 'nope'",
                                    "legacy_model.h5") {
            _ = try file.object(at: "model_weights/nope/kernel:0")
        }
        guard case .objectNotFound? = error else { Issue.record("got \(String(describing: error))"); return }
        expectHDF5Error("group '/' has no member 'weights'") { _ = try file.dataset(at: "weights") }
        expectHDF5Error("'/model_weights/dense/dense/kernel:0' is a dataset, not a group") {
            _ = try file.object(at: "model_weights/dense/dense/kernel:0/more")
        }
        expectHDF5Error("group '/model_weights/dense/dense' has no member 'kernel'") {
            _ = try file.group(at: "model_weights/dense").dataset(named: "dense/kernel")
        }
    }

    @Test func wrongKind() throws {
        let file = try HDF5Fixture.open("legacy_model.h5")
        let error = expectHDF5Error("expected a group, found a dataset", "object '/model_weights/dense/dense/kernel:0'") {
            _ = try file.group(at: "model_weights/dense/dense/kernel:0")
        }
        #expect(error == .wrongObjectKind(expected: "group", found: "dataset",
                                          at: HDF5Location(file: file.url.path, object: "/model_weights/dense/dense/kernel:0")))
        expectHDF5Error("expected a dataset, found a group", "object '/model_weights/dense'") {
            _ = try file.dataset(at: "model_weights/dense")
        }
    }
}
